"""The admin's configuration: the shipped example loads, and every mistake is reported where it is.

Broken configs are variants of ``BASE`` (one text replacement each). A problem must name the key path
and the line the admin has to fix, like ``inboxd.yaml:14: mailboxes[0].imap.port: …``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from inboxd.config import (
    INLINE_SECRET_MESSAGE,
    Config,
    ImapConfig,
    Settings,
    SmtpConfig,
    check_secrets,
    load_config,
    load_config_text,
    resolve_secret,
)
from inboxd.core.durations import Duration, Rate
from inboxd.errors import ConfigError, SecretError
from inboxd.service.config_check import check_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "inboxd.yaml"

BASE = """\
team:
  timezone: Europe/Berlin
  business_hours:
    mon-fri: "09:00-17:00"
  holidays:
    country: DE
    subdivision: BE
  staff:
    - email: alice@example.com
      role: lead
    - email: bob@example.com
      absent: ["2026-12-21..2026-12-31"]
mailboxes:
  - name: support
    address: support@example.com
    imap:
      host: imap.example.com
      username: support@example.com
      password_env: IMAP_PASSWORD
      folders:
        sent: Sent
    smtp:
      host: smtp.example.com
      username: support@example.com
      password_env: SMTP_PASSWORD
reminders:
  escalate_to: lead
cases:
  subject_token: "[#{number}]"
rules:
  - name: outage
    match:
      subject: "(?i)outage"
      header:
        X-Priority: "^1"
    set:
      priority: urgent
updates:
  while_waiting_on_us: 1bd
loop_guard:
  acks_per_sender: 5/1d
"""

SECOND_MAILBOX = """\
  - name: support
    address: help@example.com
    imap:
      host: imap.example.com
      username: help@example.com
      password_env: IMAP_PASSWORD
    smtp:
      host: smtp.example.com
"""


def variant(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the base config"
    return text.replace(old, new)


def line_of(marker: str, text: str) -> int:
    """The 1-based line of the first line containing ``marker``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in the config text")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "inboxd.yaml")
    return caught.value.problems


# --------------------------------------------------------------------------- what loads


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)

    assert config.team.timezone == "Europe/Berlin"
    assert config.team.holidays.country == "DE" and config.team.holidays.subdivision == "BE"
    assert [member.email for member in config.team.staff] == ["alice@example.com", "bob@example.com"]
    assert config.team.leads[0].name == "Alice"
    assert config.team.weekly_hours[0] and not config.team.weekly_hours[6]
    mailbox = config.mailbox("support")
    assert mailbox.imap.password_file == "/run/credentials/inboxd.service/imap"
    assert mailbox.smtp.password_env == "SMTP_PASSWORD"
    assert config.promises.fallback["urgent"] == Duration(4, "h")
    assert config.loop_guard.sender_burst == Rate(3, Duration(10, "m"))
    assert [rule.name for rule in config.rules] == ["outage", "vendors", "german", "newsletter-signups"]
    assert config.rules[1].match.from_ == r"@billing\.vendor\.example$"
    assert config.rules[1].action == "ignore"
    assert config.rules[2].set_ is not None and config.rules[2].set_.language == "de"


def test_example_config_passes_check_config_with_secret_warnings_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    errors, warnings = check_config(EXAMPLE)

    assert errors == []
    assert any(w.startswith("mailboxes[0].imap.password_file:") for w in warnings)
    assert any(w.startswith("mailboxes[0].smtp.password_env:") and "SMTP_PASSWORD" in w for w in warnings)


def test_base_config_loads_with_defaults() -> None:
    config = load_config_text(BASE, "inboxd.yaml")

    assert config.team.name == "Support"
    assert config.mailboxes[0].imap.port == 993
    assert config.mailboxes[0].smtp.port == 587
    assert config.mailboxes[0].imap.poll_interval == Duration(60, "s")
    assert config.mailboxes[0].imap.initial_sync == "new"
    # Priorities left out of promises.fallback keep their defaults.
    assert config.promises.fallback == {
        "urgent": Duration(4, "h"),
        "high": Duration(1, "bd"),
        "normal": Duration(2, "bd"),
        "low": Duration(5, "bd"),
    }
    assert config.reminders.digest_at == "08:30"
    assert config.message_id_domain() == "example.com"
    assert config.cases.format_subject_token(1042) == "[#1042]"
    match = config.cases.subject_token_pattern.search("Re: [#1042] printer on fire")
    assert match is not None and match.group("number") == "1042"


def test_durations_and_rates_dump_as_text() -> None:
    config = load_config_text(BASE, "inboxd.yaml")

    dumped = config.model_dump(mode="json", by_alias=True)

    assert dumped["updates"]["while_waiting_on_us"] == "1bd"
    assert dumped["loop_guard"]["acks_per_sender"] == "5/1d"
    assert dumped["rules"][0]["set"] == {"priority": "urgent", "language": None, "updates": None, "tags": None,
                                         "assignee": None, "template_set": None, "acknowledge": None}


@pytest.mark.parametrize(
    ("security", "imap_port", "smtp_port"),
    [("tls", 993, 465), ("starttls", 143, 587)],
)
def test_ports_default_from_security(security: str, imap_port: int, smtp_port: int) -> None:
    text = variant(
        "      host: imap.example.com\n", f"      host: imap.example.com\n      security: {security}\n"
    )
    text = variant(
        "      host: smtp.example.com\n", f"      host: smtp.example.com\n      security: {security}\n", text
    )

    config = load_config_text(text, "inboxd.yaml")

    assert (config.mailboxes[0].imap.port, config.mailboxes[0].smtp.port) == (imap_port, smtp_port)


def test_yaml_reads_values_as_admins_mean_them() -> None:
    # YAML 1.1 would read NO (Norway) as false, 9:30 as 570 and an unquoted date as a date.
    text = variant("country: DE\n    subdivision: BE", "country: NO")
    text = variant("  escalate_to: lead\n", "  escalate_to: lead\n  digest_at: 9:30\n", text)
    text = variant('absent: ["2026-12-21..2026-12-31"]', "absent: [2026-12-24]", text)

    config = load_config_text(text, "inboxd.yaml")

    assert config.team.holidays.country == "NO"
    assert config.reminders.digest_at == "09:30"
    assert config.team.staff[1].absent == ["2026-12-24"]


def test_security_none_is_fine_on_loopback() -> None:
    text = variant("host: smtp.example.com\n", "host: localhost\n      security: none\n")
    text = variant("host: imap.example.com\n", "host: 127.0.0.1\n      security: none\n", text)

    config = load_config_text(text, "inboxd.yaml")

    assert config.mailboxes[0].smtp.port == 25
    assert config.mailboxes[0].imap.port == 143


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    text = (
        variant("password_env: IMAP_PASSWORD", "password_file: secrets/imap")
        + "templates:\n  directory: tpl\n"
    )
    (tmp_path / "inboxd.yaml").write_text(text)

    config = load_config(tmp_path / "inboxd.yaml")

    assert config.mailboxes[0].imap.password_file == str(tmp_path / "secrets" / "imap")
    assert config.templates.resolved_directory() == tmp_path / "tpl"


def test_default_templates_are_the_bundled_ones() -> None:
    config = load_config_text(BASE, "inboxd.yaml")

    assert config.templates.resolved_directory() == EXAMPLE.resolve().parents[1] / "templates"


# --------------------------------------------------------------------------- what is refused, and where

BROKEN = [
    # (id, old, new, key path, marker on the offending line, part of the message)
    ("bad timezone", "Europe/Berlin", "Europe/Berlinn", "team.timezone", "Berlinn", "unknown timezone"),
    ("unknown top-level key", "cases:\n", "colour: blue\ncases:\n", "colour", "colour", "unknown key"),
    (
        "unknown nested key",
        "      host: imap.example.com\n",
        "      host: imap.example.com\n      prot: 993\n",
        "mailboxes[0].imap.prot",
        "prot:",
        "did you mean port?",
    ),
    (
        "port not a number",
        "      host: imap.example.com\n",
        "      host: imap.example.com\n      port: abc\n",
        "mailboxes[0].imap.port",
        "port: abc",
        "Input should be a valid integer",
    ),
    (
        "bad duration",
        "while_waiting_on_us: 1bd",
        "while_waiting_on_us: 1 day",
        "updates.while_waiting_on_us",
        "while_waiting_on_us",
        "invalid duration",
    ),
    (
        "duration without unit",
        "      folders:\n",
        "      poll_interval: 60\n      folders:\n",
        "mailboxes[0].imap.poll_interval",
        "poll_interval",
        "add a unit",
    ),
    (
        "polling too often",
        "      folders:\n",
        "      poll_interval: 1s\n      folders:\n",
        "mailboxes[0].imap.poll_interval",
        "poll_interval",
        "at most every 5s",
    ),
    (
        "bad rate",
        "acks_per_sender: 5/1d",
        "acks_per_sender: five a day",
        "loop_guard.acks_per_sender",
        "acks_per_sender",
        "invalid rate",
    ),
    (
        "bad business hours",
        '"09:00-17:00"',
        '"09:00-25:00"',
        "team.business_hours.mon-fri",
        "mon-fri",
        "invalid time '25:00'",
    ),
    (
        "unknown day",
        'mon-fri: "09:00-17:00"',
        'mon-fri: "09:00-17:00"\n    sun-day: "10:00-12:00"',
        "team.business_hours.sun-day",
        "sun-day",
        "unknown day",
    ),
    (
        "bad absence",
        '["2026-12-21..2026-12-31"]',
        '["2026-12-31..2026-12-21"]',
        "team.staff[1].absent[0]",
        "absent",
        "ends before it starts",
    ),
    ("unknown country", "country: DE", "country: XX", "team.holidays.country", "country", "unknown country"),
    (
        "unknown subdivision",
        "subdivision: BE",
        "subdivision: XX",
        "team.holidays.subdivision",
        "subdivision",
        "known: BB, BE",
    ),
    (
        "bad staff email",
        "email: bob@example.com",
        "email: Bob <bob@example.com>",
        "team.staff[1].email",
        "Bob <",
        "bare address",
    ),
    (
        "inline password",
        "password_env: IMAP_PASSWORD",
        "password: hunter2",
        "mailboxes[0].imap.password",
        "hunter2",
        INLINE_SECRET_MESSAGE,
    ),
    (
        "inline token",
        "password_env: SMTP_PASSWORD",
        "token: hunter2",
        "mailboxes[0].smtp.token",
        "hunter2",
        INLINE_SECRET_MESSAGE,
    ),
    (
        "no imap secret",
        "      password_env: IMAP_PASSWORD\n",
        "",
        "mailboxes[0].imap",
        "imap:",
        "the IMAP login needs a secret",
    ),
    (
        "two secrets",
        "password_env: IMAP_PASSWORD",
        "password_env: IMAP_PASSWORD\n      password_credential: imap",
        "mailboxes[0].imap.password_credential",
        "password_credential",
        "set only one of",
    ),
    (
        "security none on a remote host",
        "host: smtp.example.com\n",
        "host: smtp.example.com\n      security: none\n",
        "mailboxes[0].smtp.security",
        "security: none",
        "only for a loopback host",
    ),
    (
        "bad mailbox name",
        "- name: support",
        "- name: Support Team",
        "mailboxes[0].name",
        "Support Team",
        "lower-case letters",
    ),
    (
        "save_copy without a sent folder",
        "      folders:\n        sent: Sent\n",
        "",
        "mailboxes[0].smtp.save_copy",
        "save_copy",
        "needs a sent folder",
    ),
    (
        "bad regex in a rule",
        '"(?i)outage"',
        '"(?i)outage|(down"',
        "rules[0].match.subject",
        "outage|(",
        "invalid regular expression",
    ),
    (
        "bad header regex",
        '"^1"',
        '"^[1"',
        "rules[0].match.header.X-Priority",
        "X-Priority",
        "invalid regular expression",
    ),
    (
        "unknown priority",
        "priority: urgent",
        "priority: critical",
        "rules[0].set.priority",
        "critical",
        "'urgent', 'high', 'normal' or 'low'",
    ),
    (
        "rule with nothing to do",
        "    set:\n      priority: urgent\n",
        "",
        "rules[0]",
        "- name: outage",
        "needs set",
    ),
    (
        "look-ahead the linear-time engine cannot take",
        '"(?i)outage"',
        '"(?i)outage(?!s)"',
        "rules[0].match.subject",
        "outage(?!s)",
        "RE2",
    ),
    (
        "time of week that is no day",
        '"(?i)outage"',
        '"(?i)outage"\n      time: "someday 09:00-17:00"',
        "rules[0].match.time[0]",
        "someday",
        "is not a day",
    ),
    (
        "escalation to a stranger",
        "escalate_to: lead",
        "escalate_to: carol@example.com",
        "reminders.escalate_to",
        "escalate_to",
        "not in team.staff",
    ),
    (
        "subject token without number",
        '"[#{number}]"',
        '"[#{num}]"',
        "cases.subject_token",
        "subject_token",
        "must contain {number}",
    ),
    (
        "duplicate key",
        "  escalate_to: lead\n",
        "  escalate_to: lead\n  escalate_to: alice@example.com\n",
        "reminders.escalate_to",
        "escalate_to: alice",
        "duplicate key (first at line",
    ),
    (
        "staff using the support address",
        "email: bob@example.com",
        "email: support@example.com",
        "team.staff[1].email",
        "email: support@",
        "staff need their own addresses",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "marker", "message"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_config_names_key_path_and_line(
    old: str, new: str, path: str, marker: str, message: str
) -> None:
    text = variant(old, new)
    if "save_copy" in path:
        text = variant(
            "      password_env: SMTP_PASSWORD\n",
            "      password_env: SMTP_PASSWORD\n      save_copy: true\n",
            text,
        )

    problems = problems_of(text)

    expected = f"inboxd.yaml:{line_of(marker, text)}: {path}: "
    assert any(p.startswith(expected) and message in p for p in problems), problems


def test_inline_secret_value_is_never_shown() -> None:
    text = variant("password_env: IMAP_PASSWORD", "password: hunter2\n      pasword_file: hunter3")

    problems = problems_of(text)

    assert len(problems) == 2
    assert not any("hunter" in p for p in problems)


def test_duplicate_mailbox_names_and_addresses() -> None:
    text = variant("reminders:\n", SECOND_MAILBOX + "reminders:\n")
    text_same_address = text.replace("address: help@example.com", "address: SUPPORT@example.com")

    problems = problems_of(text_same_address)

    second = line_of("address: SUPPORT@", text_same_address)
    assert (
        f"inboxd.yaml:{second - 1}: mailboxes[1].name: support is used twice (also mailboxes[0])" in problems
    )
    assert any(
        p.startswith(f"inboxd.yaml:{second}: mailboxes[1].address: support@example.com") for p in problems
    )


def test_duplicate_rule_names() -> None:
    text = variant("updates:\n", "  - name: outage\n    match: {body: x}\n    action: ignore\nupdates:\n")

    problems = problems_of(text)

    line = line_of("match: {body: x}", text) - 1
    assert problems == [f"inboxd.yaml:{line}: rules[1].name: rule 'outage' is defined twice (also rules[0])"]


def test_every_error_is_reported_at_once_in_file_order() -> None:
    text = variant("Europe/Berlin", "Mars/Olympus")
    text = variant("      host: imap.example.com\n", "      host: imap.example.com\n      prot: 993\n", text)
    text = variant('"(?i)outage"', '"(?i)outage|(down"', text)
    text = variant("while_waiting_on_us: 1bd", "while_waiting_on_us: soon", text)

    problems = problems_of(text)

    assert [p.split(": ")[1] for p in problems] == [
        "team.timezone",
        "mailboxes[0].imap.prot",
        "rules[0].match.subject",
        "updates.while_waiting_on_us",
    ]
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines)


def test_missing_sections_are_named() -> None:
    problems = problems_of("promises:\n  target_kept_rate: 0.9\n")

    assert "inboxd.yaml: team: required but missing" in problems
    assert "inboxd.yaml: mailboxes: required but missing" in problems


def test_missing_nested_key_points_at_its_section() -> None:
    text = variant(
        "      username: support@example.com\n      password_env: IMAP", "      password_env: IMAP"
    )

    problems = problems_of(text)

    assert problems == [
        f"inboxd.yaml:{line_of('imap:', text)}: mailboxes[0].imap.username: required but missing"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "inboxd.yaml: the file is empty"),
        ("# nothing but a comment\n", "inboxd.yaml: the file is empty"),
        ("team:\n  timezone: [UTC\nmailboxes: []\n", "inboxd.yaml:3: YAML syntax error"),
        ("team:\n\ttimezone: UTC\n", "inboxd.yaml:2: YAML syntax error"),
        ("- team\n- mailboxes\n", "inboxd.yaml:1: expected a mapping of sections"),
    ],
    ids=["empty", "only comments", "unclosed bracket", "tab", "not a mapping"],
)
def test_unparsable_files_get_one_clear_problem(text: str, expected: str) -> None:
    problems = problems_of(text)

    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.yaml")

    assert caught.value.problems == [
        f"{tmp_path / 'missing.yaml'}: cannot read the configuration: No such file or directory"
    ]


def test_problems_carry_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "inboxd.yaml"
    path.write_text(variant("Europe/Berlin", "Nowhere/Town"))

    errors, warnings = check_config(path)

    assert errors == [
        f"{path}:2: team.timezone: unknown timezone 'Nowhere/Town': use an IANA name such as "
        "Europe/Berlin or America/New_York"
    ]
    assert warnings == []


def test_models_refuse_what_yaml_refuses() -> None:
    with pytest.raises(ValidationError):
        ImapConfig.model_validate({"host": "imap.example.com", "username": "u", "password": "x"})
    with pytest.raises(ValidationError):
        ImapConfig(host="imap.example.com", username="u", password_env="X", security="none")


# --------------------------------------------------------------------------- secrets


def _imap(**secret: str) -> ImapConfig:
    return ImapConfig.model_validate({"host": "imap.example.com", "username": "u", **secret})


def test_secret_from_file_loses_its_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "imap").write_text("s3cret pass\n")

    assert resolve_secret(_imap(password_file=str(tmp_path / "imap"))) == "s3cret pass"


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_PASSWORD", "from-env")

    assert resolve_secret(_imap(password_env="IMAP_PASSWORD")) == "from-env"


def test_secret_from_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "imap").write_text("from-credential")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))

    assert resolve_secret(_imap(password_credential="imap")) == "from-credential"


def test_unavailable_secrets_name_the_key_never_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "empty").write_text("\n")

    cases = {
        "password_file": _imap(password_file=str(tmp_path / "absent")),
        "password_env": _imap(password_env="IMAP_PASSWORD"),
        "password_credential": _imap(password_credential="imap"),
    }
    for key, owner in cases.items():
        with pytest.raises(SecretError, match=f"^imap.{key}: "):
            resolve_secret(owner)
    with pytest.raises(SecretError, match="is empty"):
        resolve_secret(_imap(password_file=str(tmp_path / "empty")))


def test_secret_errors_carry_the_mailbox_key_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    config = load_config_text(BASE, "inboxd.yaml")

    with pytest.raises(
        SecretError, match=r"^mailboxes\[0\]\.smtp\.password_env: environment variable SMTP_PASSWORD"
    ):
        resolve_secret(config.mailboxes[0].smtp)


def test_check_secrets_lists_each_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_PASSWORD", "top-secret-value")
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    config = load_config_text(BASE, "inboxd.yaml")

    warnings = check_secrets(config, strict=False)

    assert warnings == ["mailboxes[0].smtp.password_env: environment variable SMTP_PASSWORD is not set"]


def test_smtp_without_login_needs_no_secret() -> None:
    smtp = SmtpConfig.model_validate({"host": "localhost", "security": "none"})

    assert smtp.secret_keys == []


def test_strict_check_makes_missing_secrets_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    path = tmp_path / "inboxd.yaml"
    path.write_text(BASE)

    lenient = check_config(path)
    strict = check_config(path, strict=True)

    assert lenient[0] == [] and len([w for w in lenient[1] if "password_env" in w]) == 2
    assert len(strict[0]) == 2 and all("password_env" in error for error in strict[0])


# --------------------------------------------------------------------------- environment


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("INBOXD_CONFIG", "INBOXD_DATABASE_URL", "INBOXD_LOG_FORMAT", "STATE_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_settings_defaults_use_the_working_directory(clean_env: Path) -> None:
    settings = Settings()

    assert settings.config_path() == Path("/etc/inboxd/inboxd.yaml")
    assert settings.resolved_database_url() == f"sqlite:///{clean_env}/inboxd.db"
    assert settings.log_format is None


def test_settings_prefer_a_local_config(clean_env: Path) -> None:
    (clean_env / "config").mkdir()
    (clean_env / "config" / "inboxd.yaml").write_text(BASE)

    assert Settings().config_path() == Path("config/inboxd.yaml")


def test_settings_under_systemd(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/inboxd:/var/lib/other")
    monkeypatch.setenv("INBOXD_CONFIG", "/etc/inboxd/custom.yaml")
    monkeypatch.setenv("INBOXD_LOG_FORMAT", "json")

    settings = Settings()

    assert settings.state_directory == Path("/var/lib/inboxd")
    assert settings.config_path() == Path("/etc/inboxd/custom.yaml")
    assert settings.resolved_database_url() == "sqlite:////var/lib/inboxd/inboxd.db"
    assert settings.log_format == "json"


def test_settings_database_url_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/inboxd")
    monkeypatch.setenv("INBOXD_DATABASE_URL", "postgresql+psycopg://inboxd@db/inboxd")

    assert Settings().resolved_database_url() == "postgresql+psycopg://inboxd@db/inboxd"


def test_settings_refuse_an_unknown_log_format(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOXD_LOG_FORMAT", "xml")

    with pytest.raises(ValidationError):
        Settings()


def test_config_is_frozen() -> None:
    config = load_config_text(BASE, "inboxd.yaml")

    with pytest.raises(ValidationError):
        config.team.name = "Other"  # type: ignore[misc]
    assert isinstance(config, Config)


def test_anchors_can_live_under_x_keys() -> None:
    text = variant(
        "    smtp:\n      host: smtp.example.com\n      username: support@example.com\n"
        "      password_env: SMTP_PASSWORD\n",
        "    smtp:\n      <<: *smtp\n      port: 2525\n",
    )
    text = "x-smtp: &smtp {host: smtp.example.com, username: support@example.com, password_env: P}\n" + text

    config = load_config_text(text, "inboxd.yaml")

    assert (config.mailboxes[0].smtp.host, config.mailboxes[0].smtp.port) == ("smtp.example.com", 2525)


# --------------------------------------------------------------------------- proving who wrote


@pytest.mark.parametrize(
    ("team_extra", "warned"),
    [
        pytest.param("", True, id="no trusted server: staff mail is believed on its From"),
        pytest.param("  trusted_authserv_ids: [mx.example.com]\n", False, id="trusted authserv-id"),
        pytest.param("  trusted_exchange_org_auth: true\n", False, id="Microsoft 365 organisation"),
    ],
)
def test_check_config_warns_when_a_bare_from_proves_staff(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, team_extra: str, warned: bool) -> None:
    monkeypatch.setenv("IMAP_PASSWORD", "x")
    monkeypatch.setenv("SMTP_PASSWORD", "x")
    path = tmp_path / "inboxd.yaml"
    path.write_text(variant("mailboxes:\n", team_extra + "mailboxes:\n"))

    errors, warnings = check_config(path)

    assert errors == []
    forgeable = [w for w in warnings if w.startswith("team.trusted_authserv_ids:")]
    assert bool(forgeable) == warned
    if warned:
        assert "forge" in forgeable[0]


def test_acks_total_is_a_validated_rate(tmp_path: Path) -> None:
    config = load_config_text(BASE, "inboxd.yaml")
    assert (config.loop_guard.acks_total.count, str(config.loop_guard.acks_total.period)) == (200, "1h")
    config = load_config_text(variant("  acks_per_sender: 5/1d\n", "  acks_per_sender: 5/1d\n  acks_total: 50/2h\n"),
                              "inboxd.yaml")
    assert config.loop_guard.acks_total.count == 50
    with pytest.raises(ConfigError, match="loop_guard.acks_total"):
        load_config_text(variant("  acks_per_sender: 5/1d\n", "  acks_per_sender: 5/1d\n  acks_total: lots\n"),
                         "inboxd.yaml")


# --------------------------------------------------------------------------- languages


def with_cases(lines: str) -> str:
    return BASE.replace("cases:\n", "cases:\n" + lines, 1)


def test_languages_default_to_the_shipped_ones_and_the_default() -> None:
    config = load_config_text(BASE, "inboxd.yaml")
    assert config.cases.served_languages() == ("en", "de", "fr", "es", "it", "nl", "pt")
    config = load_config_text(with_cases("  default_language: sv\n"), "inboxd.yaml")
    assert config.cases.served_languages()[0] == "sv"
    # With a template directory of its own, the languages it has an acknowledgement in.
    assert config.cases.served_languages(["de", "en"]) == ("sv", "de", "en")


def test_languages_listed_are_the_served_ones() -> None:
    config = load_config_text(with_cases("  languages: [en, de, pt-BR]\n"), "inboxd.yaml")
    assert config.cases.served_languages() == ("en", "de", "pt-BR")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("  languages: [de, fr]\n", "cases.default_language: 'en' is not one of cases.languages (de, fr)"),
        ("  languages: [en, de, de]\n", "cases.languages: 'de' is listed twice"),
        ("  languages: []\n", "cases.languages: list at least one language"),
        ("  languages: [en, deutsch]\n", "cases.languages[1]: 'deutsch' is not a language code"),
    ],
)
def test_languages_are_validated(section: str, expected: str) -> None:
    problems = problems_of(with_cases(section))
    assert any(expected in problem for problem in problems), problems


def test_staff_language_is_the_recipients_own_or_the_teams() -> None:
    text = BASE.replace("    - email: alice@example.com\n", "    - email: alice@example.com\n      language: de\n")
    config = load_config_text(text.replace("  timezone: Europe/Berlin\n",
                                           "  timezone: Europe/Berlin\n  staff_language: fr\n"), "inboxd.yaml")
    assert config.team.language_for(["alice@example.com"]) == "de"
    assert config.team.language_for(["Bob@example.com", "alice@example.com"]) == "fr"
    assert config.team.language_for([]) == "fr"
