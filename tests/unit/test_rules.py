"""The admin's rules, written as YAML and loaded the way the daemon loads them, applied to real messages.

What the admin sees: a matching rule sets the priority (and so the promised response time) or the language
of the acknowledgement; later rules override earlier ones; ``action: ignore`` means no case and no ack.
"""

from __future__ import annotations

import pytest

from inboxd.config import RuleConfig, load_config_text
from inboxd.core.rules import apply_rules, rule_matches
from inboxd.mail.parse import ParsedMessage, parse_message

CONFIG = """\
team:
  timezone: Europe/Berlin
  business_hours:
    mon-fri: "09:00-17:00"
mailboxes:
  - name: support
    address: support@example.com
    imap:
      host: imap.example.com
      username: support@example.com
      password_env: IMAP_PASSWORD
    smtp:
      host: smtp.example.com
      username: support@example.com
      password_env: SMTP_PASSWORD
rules:
"""


def rules(yaml: str) -> list[RuleConfig]:
    """Rules as the admin writes them under ``rules:`` (indented by two spaces)."""
    return list(load_config_text(CONFIG + yaml).rules)


def mail(subject: str = "Question", sender: str = "Ann <ann@customer.example>", to: str = "support@example.com",
         extra: str = "", body: str = "Hello\n") -> ParsedMessage:
    headers = f"From: {sender}\nTo: {to}\nSubject: {subject}\n{extra}".rstrip("\n")
    return parse_message((headers + "\n\n" + body).encode("utf-8"))


SHIPPED = rules("""\
  - name: outage
    match: {subject: "(?i)outage|down"}
    set: {priority: urgent}
  - name: vendors
    match: {from: "@billing\\\\.vendor\\\\.example$"}
    action: ignore
  - name: german
    match:
      header: {Content-Language: "^de"}
    set: {language: de}
""")


@pytest.mark.parametrize(
    ("msg", "matched", "priority", "language", "ignored_by"),
    [
        pytest.param(mail(), (), None, None, None, id="nothing matches"),
        pytest.param(mail("Site is DOWN"), ("outage",), "urgent", None, None, id="subject, case-insensitive"),
        pytest.param(mail("Re: [#1042] total outage since 9:00"), ("outage",), "urgent", None, None,
                     id="subject searched anywhere"),
        pytest.param(mail(sender="Billing <invoices@billing.vendor.example>"), ("vendors",), None, None,
                     "vendors", id="from address"),
        pytest.param(mail(sender="invoices@billing.vendor.example.evil.example"), (), None, None, None,
                     id="anchored from does not match a look-alike"),
        pytest.param(mail(extra="Content-Language: de-DE"), ("german",), None, "de", None, id="header"),
        pytest.param(mail(extra="Content-Language: en-US"), (), None, None, None, id="header, other value"),
        pytest.param(mail("Server down", extra="Content-Language: de"), ("outage", "german"), "urgent", "de",
                     None, id="two rules add up"),
        pytest.param(mail("Server down", sender="x@billing.vendor.example"), ("outage", "vendors"), "urgent",
                     None, "vendors", id="ignore after a set"),
    ],
)
def test_shipped_example_rules(msg: ParsedMessage, matched: tuple[str, ...], priority: str | None,
                               language: str | None, ignored_by: str | None) -> None:
    outcome = apply_rules(SHIPPED, msg)
    assert (outcome.matched, outcome.priority, outcome.language, outcome.ignored_by) == (
        matched, priority, language, ignored_by)


def test_later_rules_override_earlier_ones_key_by_key() -> None:
    ruleset = rules("""\
  - name: vip
    match: {from: "@bigcustomer\\\\.example$"}
    set: {priority: high, language: fr}
  - name: newsletter-reply
    match: {subject: "(?i)newsletter"}
    set: {priority: low}
""")
    outcome = apply_rules(ruleset, mail("Re: your newsletter", sender="ceo@bigcustomer.example"))
    assert outcome.matched == ("vip", "newsletter-reply")
    assert outcome.priority == "low"  # the later rule wins for priority
    assert outcome.language == "fr"  # and leaves the language the earlier rule set


def test_ignore_stops_processing() -> None:
    ruleset = rules("""\
  - name: spam
    match: {subject: "(?i)viagra"}
    action: ignore
  - name: urgent
    match: {subject: "(?i)urgent"}
    set: {priority: urgent}
""")
    outcome = apply_rules(ruleset, mail("URGENT viagra offer"))
    assert outcome.ignored_by == "spam"
    assert outcome.matched == ("spam",)  # the later rule never ran
    assert outcome.priority is None


def test_a_rule_needs_every_condition_it_names() -> None:
    [rule] = rules("""\
  - name: partner-outage
    match:
      subject: "(?i)outage"
      from: "@partner\\\\.example$"
      header: {X-Priority: "^1"}
    set: {priority: urgent}
""")
    everything = dict(subject="Outage", sender="ops@partner.example", extra="X-Priority: 1 (Highest)")
    assert rule_matches(rule, mail(**everything))
    assert not rule_matches(rule, mail(**{**everything, "subject": "Question"}))
    assert not rule_matches(rule, mail(**{**everything, "sender": "ops@other.example"}))
    assert not rule_matches(rule, mail(**{**everything, "extra": "X-Priority: 3"}))
    assert not rule_matches(rule, mail(**{**everything, "extra": ""}))  # a missing header never matches


@pytest.mark.parametrize(
    ("pattern", "msg", "expected"),
    [
        ("^Billing Team", mail(sender="Billing Team <b@vendor.example>"), True),  # the display name counts too
        ("(?i)^ann@", mail(sender="ANN@Customer.Example"), True),  # addresses are lower-cased
        ("@customer\\\\.example$", mail(sender="Ann <ann@customer.example>"), True),
        ("@customer\\\\.example$", mail(sender="Ann <ann@customer.example.org>"), False),
    ],
)
def test_from_matches_address_and_name(pattern: str, msg: ParsedMessage, expected: bool) -> None:
    [rule] = rules(f'  - name: r\n    match: {{from: "{pattern}"}}\n    set: {{priority: high}}\n')
    assert rule_matches(rule, msg) is expected


@pytest.mark.parametrize(
    ("yaml_match", "msg", "expected"),
    [
        ('{to: "^sales@"}', mail(to="sales@example.com"), True),
        ('{to: "^sales@"}', mail(to="support@example.com", extra="Cc: Sales <sales@example.com>"), True),
        ('{to: "^sales@"}', mail(to="support@example.com"), False),
        ('{body: "(?i)invoice"}', mail(body="Where is my INVOICE?\n"), True),
        ('{body: "(?i)invoice"}', mail(body="Where is my parcel?\n"), False),
        ('{header: {X-Mailer: "Outlook"}}', mail(extra="X-Mailer: Microsoft Outlook 16.0"), True),
        ('{header: {x-mailer: "Outlook"}}', mail(extra="X-Mailer: Microsoft Outlook 16.0"), True),
        ('{header: {X-Tag: "^b$"}}', mail(extra="X-Tag: a\nX-Tag: b"), True),  # any of repeated headers
        ('{subject: "Grüße"}', mail("=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Köln"), True),  # decoded before matching
    ],
)
def test_to_body_and_header_conditions(yaml_match: str, msg: ParsedMessage, expected: bool) -> None:
    [rule] = rules(f"  - name: r\n    match: {yaml_match}\n    set: {{language: de}}\n")
    assert rule_matches(rule, msg) is expected
    assert (apply_rules([rule], msg).language == "de") is expected


def test_rules_built_directly_behave_like_loaded_ones() -> None:
    rule = RuleConfig.model_validate({"name": "outage", "match": {"subject": "(?i)outage"},
                                      "set": {"priority": "urgent"}})
    assert apply_rules([rule], mail("Outage!")).priority == "urgent"
    assert apply_rules([rule], mail("Question")).priority is None
