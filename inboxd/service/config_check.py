"""``inboxd check-config``: a configuration checked as the daemon would load it — its YAML, its secrets,
warnings an admin should see, and every template rendered.
"""

from __future__ import annotations

from pathlib import Path

from inboxd.config.loader import load_config
from inboxd.config.models import Config, rule_problems
from inboxd.config.secrets import check_secrets
from inboxd.errors import ConfigError


def _other_warnings(config: Config) -> list[str]:
    warnings: list[str] = []
    if config.reminders.escalate_to == "lead" and not config.team.leads:
        warnings.append(
            "reminders.escalate_to: lead, but no team.staff member has role: lead; escalations go nowhere"
        )
    if not config.team.staff and not config.team.staff_domains:
        warnings.append("team: neither staff nor staff_domains is set; no reply will be recognised as staff")
    elif not config.team.trusted_authserv_ids and not config.team.trusted_exchange_org_auth:
        warnings.append(
            "team.trusted_authserv_ids: not set, so staff replies and staff-note commands are accepted on a bare "
            "From header, which anyone can forge; list the authserv-id of your mail server's "
            "Authentication-Results (see README, Proving who wrote)"
        )
    templates = config.templates.resolved_directory()
    if not templates.is_dir():
        warnings.append(f"templates.directory: {templates} does not exist")
    for index, mailbox in enumerate(config.mailboxes):
        for section in (mailbox.imap, mailbox.smtp):
            if section.ca_file is not None and not Path(section.ca_file).is_file():
                name = "imap" if section is mailbox.imap else "smtp"
                warnings.append(f"mailboxes[{index}].{name}.ca_file: {section.ca_file} does not exist")
    return warnings


def check_config(path: str | Path, strict: bool = False) -> tuple[list[str], list[str]]:
    """What ``inboxd check-config`` reports: (errors, warnings).

    With ``strict`` (run by the service itself, e.g. ``ExecStartPre=``), an unreadable secret is an error.
    """
    try:
        config = load_config(path)
    except ConfigError as exc:
        return exc.problems, []
    secrets = check_secrets(config, strict)
    rule_errors, rule_warnings = rule_problems(config, Path(path).absolute().parent)
    warnings = _other_warnings(config) + rule_warnings
    templates = _template_problems(config, Path(path).absolute().parent) + rule_errors
    if strict:
        return templates + secrets, warnings
    return templates, secrets + warnings


def _template_problems(config: Config, config_dir: Path) -> list[str]:
    """Every template compiled and rendered as the daemon would (``path:line: what`` per broken one)."""
    from inboxd.service.runtime import build_runtime

    try:
        build_runtime(config, config_dir)
    except ConfigError as exc:
        return exc.problems
    return []

