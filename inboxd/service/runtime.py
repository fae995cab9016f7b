"""Everything derived from one loaded configuration, built once and swapped whole on reload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from inboxd.config import Config, MailboxConfig
from inboxd.core.calendar import BusinessCalendar
from inboxd.errors import ConfigError
from inboxd.mail.classify import TeamIdentity
from inboxd.mail.render import Renderer, resolve_template_dir

if TYPE_CHECKING:
    from inboxd.core.eta import Coverage
    from inboxd.core.rules import CompiledRule


@dataclass(frozen=True)
class Runtime:
    config: Config
    calendar: BusinessCalendar
    team: TeamIdentity
    renderer: Renderer
    message_id_domain: str
    # The store's secret that keys inboxd's Message-IDs (repo.message_id_secret), read once at start;
    # None: read from the store where a Message-ID is made. Kept out of repr, so never logged.
    message_id_secret: bytes | None = field(default=None, repr=False)

    @cached_property
    def coverage(self) -> Coverage:
        """Who is on shift when, from the configuration: built once per configuration, it caches each day."""
        from inboxd.core.eta import Coverage

        return Coverage.from_config(self.config, self.calendar)

    @cached_property
    def rules(self) -> tuple[CompiledRule, ...]:
        """The admin's rules with every pattern compiled (once per configuration, at load)."""
        from inboxd.core.rules import compile_rules

        return compile_rules(self.config.rules)

    @cached_property
    def served_languages(self) -> tuple[str, ...]:
        """The languages customers are answered in (``cases.languages``, or what the templates offer)."""
        return self.config.cases.served_languages(self.renderer.languages())

    def mailbox(self, name: str) -> MailboxConfig:
        for mailbox in self.config.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise LookupError(f"no mailbox {name!r} in the configuration")


def build_runtime(config: Config, config_dir: Path | None = None, *, check_templates: bool = True) -> Runtime:
    """Everything derived from ``config``; a ConfigError when a template does not compile or render.

    Every template of every language is rendered with the contexts the daemon passes
    (:mod:`inboxd.service.template_samples`), so a broken set is rejected at start, by ``check-config`` and
    by a reload (which then keeps the previous set) instead of failing on a customer's mail.
    """
    team = config.team
    calendar = BusinessCalendar.build(
        team.timezone, team.business_hours, country=team.holidays.country,
        subdivision=team.holidays.subdivision, extra_closed=team.holidays.extra)
    identity = TeamIdentity(
        our_addresses=frozenset(m.address.lower() for m in config.mailboxes),
        staff=frozenset(s.email.lower() for s in team.staff),
        staff_domains=frozenset(d.lower() for d in team.staff_domains),
        trusted_authserv_ids=frozenset(i.lower() for i in team.trusted_authserv_ids),
        trusted_exchange_org_auth=team.trusted_exchange_org_auth,
    )
    domain = config.cases.message_id_domain or config.mailboxes[0].address.rpartition("@")[2]
    renderer = Renderer(resolve_template_dir(config.templates.directory, config_dir))
    runtime = Runtime(config=config, calendar=calendar, team=identity, renderer=renderer, message_id_domain=domain)
    runtime.rules  # noqa: B018 - compile every pattern now, not on the first message
    if check_templates:
        from inboxd.service.template_samples import check_templates as check

        problems = check(runtime, datetime.now(UTC))
        if problems:
            raise ConfigError(problems)
    return runtime
