"""Helpers for integration tests: a configured inboxd against the session's Dovecot and hub."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from inboxd.core.clock import Clock, FrozenClock
from inboxd.dev.demo import config_yaml, sample_mail
from inboxd.dev.mailserver import Dovecot, SmtpHub
from inboxd.service.daemon import Daemon
from inboxd.store import repo


@dataclass
class Setup:
    support: str
    staff: str
    config_path: Path
    database_url: str
    dovecot: Dovecot
    hub: SmtpHub

    def daemon(self, clock: Clock | None = None) -> Daemon:
        return Daemon(self.config_path, self.database_url, clock=clock)

    def trust_authserv(self, authserv_id: str = "mx.example.com") -> None:
        """Require staff mail to carry this server's passing Authentication-Results (team.trusted_authserv_ids)."""
        text = self.config_path.read_text()
        holidays = "  holidays: {country: DE, subdivision: BE}\n"
        self.config_path.write_text(text.replace(holidays, f"{holidays}  trusted_authserv_ids: [{authserv_id}]\n"))

    def started(self, clock: Clock | None = None) -> Daemon:
        """A daemon past its first sync: from here on, mail delivered to support is new to it."""
        daemon = self.daemon(clock)
        daemon.prepare()
        daemon.run_once()
        return daemon

    def open_case(self, daemon: Daemon, customer: str, subject: str = "Help") -> EmailMessage:
        """The customer writes, the daemon runs once; return the acknowledgement the customer got."""
        self.deliver(self.customer_mail(customer, subject), sender=customer)
        daemon.run_once()
        (ack,) = self.dovecot.wait_for(customer, count=1)
        return ack

    def customer_mail(self, sender: str, subject: str = "Help", body: str = "Please help.", **headers: str) -> bytes:
        return sample_mail(sender, "A Customer", self.support, subject, body, **headers)

    def deliver(self, raw: bytes, sender: str = "someone@customer.example") -> None:
        self.dovecot.deliver(self.support, raw, sender=sender)

    def acks_for(self, address: str) -> list[EmailMessage]:
        return [m for m in self.dovecot.fetch_all(address) if m["Auto-Submitted"]]


# A Tuesday morning in Berlin: the team is at work.
TUESDAY_MORNING = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def frozen_start(setup: Setup, at: datetime = TUESDAY_MORNING) -> tuple[Setup, Daemon, FrozenClock]:
    """The setup, a daemon on a frozen clock past its first sync, and that clock."""
    clock = FrozenClock(at)
    return setup, setup.started(clock), clock


def make_setup(tmp_path: Path, dovecot: Dovecot, hub: SmtpHub, mailboxes: Callable[..., str],
               *, sent_folder: str | None = "Sent", initial_sync: str = "new", extra: str = "",
               database_url: str | None = None) -> Setup:
    support = mailboxes("support")
    staff = mailboxes("staff")
    if sent_folder:
        with dovecot.imap(support) as client:
            client.create_folder(sent_folder)
    secret = tmp_path / "imap-password"
    secret.write_text("secret\n")
    config = tmp_path / "inboxd.yaml"
    config.write_text(config_yaml(support=support, imap_port=dovecot.imap_port, smtp_port=hub.port,
                                  password_file=secret, staff=[staff], sent_folder=sent_folder,
                                  initial_sync=initial_sync, poll_interval="5s", extra=extra))
    return Setup(support, staff, config, database_url or f"sqlite:///{tmp_path}/inboxd.db", dovecot, hub)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def cases(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.store.connect() as conn:
        return repo.list_cases(conn)


def case_detail(daemon: Daemon, number: int) -> dict[str, Any]:
    with daemon.store.connect() as conn:
        detail = repo.case_detail(conn, number)
    assert detail is not None
    return detail


def many_mailboxes_config(tmp_path: Path, addresses: list[str], imap_port: int, smtp_port: int, *,
                          sent_copies: bool = False) -> Path:
    """A configuration with one mailbox per address (``box0``, ``box1`` …) on one Dovecot and SMTP hub."""
    secret = tmp_path / "imap-password"
    secret.write_text("secret\n")
    folders = "{inbox: INBOX, sent: Sent}" if sent_copies else "{inbox: INBOX}"
    lines = ["team:", "  name: Example Support", "  timezone: Europe/Berlin",
             '  business_hours: {mon-fri: "09:00-17:00"}', "  holidays: {country: DE, subdivision: BE}",
             "  staff: []", "mailboxes:"]
    for index, address in enumerate(addresses):
        lines += [f"  - name: box{index}",
                  f"    address: {address}",
                  f"    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {address},",
                  f"           password_file: {secret}, folders: {folders}, idle: true,",
                  "           poll_interval: 5s, initial_sync: all}",
                  f"    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, "
                  f"save_copy: {'true' if sent_copies else 'false'}}}"]
    config = tmp_path / "inboxd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config
