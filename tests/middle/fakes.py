"""The middle layer's rig: the real ingest, store and outbox over SQLite in a temp dir, a fake SMTP server.

No Dovecot and no network: a message goes straight to :class:`inboxd.service.ingest.Processor` (what the IMAP
watcher hands it), due work runs when the test ticks (``Rig.tick``), and the outbox "sends" to
:class:`FakeSmtp`, which records what it accepted. Like
httpx's ``MockTransport`` beside its transport, the fake stands where the one I/O seam is
(``outbox.Sender``'s ``smtp_factory``), so everything between the mailbox and the wire is the daemon's own.

Fixtures (``tests/middle/conftest.py``):

``rig`` (function)
    A :class:`Rig` on the example configuration (``inboxd/examples/inboxd.yaml``: support@example.com,
    staff alice@ and bob@example.com, mx.example.com trusted), a fresh migrated SQLite file in ``tmp_path``
    and a frozen clock on a Tuesday morning in the team's hours.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

from inboxd.cli.main import explain_message
from inboxd.config import load_config
from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.mail.parse import parse_message
from inboxd.mail.render import default_template_dirs
from inboxd.service.duework import run_due_work
from inboxd.service.ingest import Outcome, Processor
from inboxd.service.outbox import FlushResult, Sender
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate

# A Tuesday, 10:00 in Berlin (the example team's zone): within business hours.
TUESDAY_MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


# What the trusted server (mx.example.com) writes on genuine mail from the team's domain.
PASSING_AUTH = (b"Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
                b"spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com\r\n")


def staff_mail(sender: str, to: str, subject: str, body: str, **headers: str) -> bytes:
    """Mail from a staff member as it reaches the support inbox: with the trusted server's passing verdict."""
    name = sender.partition("@")[0].title()
    return PASSING_AUTH + sample_mail(sender, name, to, subject, body, **headers)


@dataclass(frozen=True)
class SentMail:
    mail_from: str
    rcpt_to: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class FakeSmtp:
    """An SMTP server that accepts everything and remembers it (``outbox.Sender``'s connection)."""

    sent: list[SentMail] = field(default_factory=list)
    connected: bool = False

    def connect(self) -> FakeSmtp:
        self.connected = True
        return self

    def send(self, mail_from: str, rcpt_to: list[str] | tuple[str, ...], raw: bytes) -> None:
        assert self.connected, "send before connect"
        self.sent.append(SentMail(mail_from, tuple(rcpt_to), raw))

    def close(self) -> None:
        self.connected = False

    def __enter__(self) -> FakeSmtp:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


EXAMPLE_CONFIG = default_template_dirs()[0].parent / "examples" / "inboxd.yaml"


@cache
def example_runtime() -> Runtime:
    """The example configuration's runtime (templates checked once per session)."""
    return build_runtime(load_config(EXAMPLE_CONFIG), EXAMPLE_CONFIG.parent)


@cache
def _migrated_template(directory: str) -> Path:
    """A migrated, empty database file, made once per session and copied for each rig (migrating is slow)."""
    path = Path(directory) / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


class Rig:
    """The daemon's message path and outbox on one store, driven by hand: receive, explain, flush."""

    def __init__(self, tmp_path: Path, template_dir: Path, rt: Runtime | None = None,
                 start: datetime = TUESDAY_MORNING) -> None:
        path = tmp_path / "inboxd.sqlite"
        shutil.copyfile(_migrated_template(str(template_dir)), path)
        self.database_url = f"sqlite:///{path}"
        self.store = repo.Store(make_engine(self.database_url))
        self.rt = rt or example_runtime()
        self.clock = FrozenClock(start)
        self.smtp = FakeSmtp()
        self.processor = Processor(self.store, lambda: self.rt, self.clock)
        self.sender = Sender(self.store, lambda: self.rt, self.clock, smtp_factory=lambda mailbox: self.smtp)
        self.uid = 0

    @property
    def mailbox(self) -> Any:
        return self.rt.config.mailboxes[0]

    def receive(self, raw: bytes, role: str = "inbox") -> Outcome:
        """The message arrives in the support mailbox's inbox (or its Sent folder, ``role="sent"``).

        The server received it when it was written (its Date; now if it has none or names the future).
        """
        self.uid += 1
        folder = "Sent" if role == "sent" else "INBOX"
        written = parse_message(raw).date
        now = self.clock.now()
        return self.processor.process(self.mailbox, role, folder, 1, self.uid, raw,  # type: ignore[arg-type]
                                      arrived_at=min(written, now) if written else now)

    def explain(self, raw: bytes) -> dict[str, Any]:
        """What ``inboxd explain`` says of the message now, against this store."""
        return explain_message(self.rt, raw, self.store, now=self.clock.now(), mailbox=self.mailbox)

    def flush(self) -> FlushResult:
        return self.sender.flush()

    def tick(self) -> int:
        """The daemon's clock tick: every due item (updates, notices, reminders) handled now."""
        return run_due_work(self.store, lambda: self.rt, self.clock)

    def sent_messages(self, expected: int | None = None) -> list[EmailMessage]:
        """Everything sent so far (flushing the outbox first); with ``expected``, exactly that many."""
        self.flush()
        messages = [m.message for m in self.smtp.sent]
        if expected is not None:
            assert len(messages) == expected, [(m["To"], m["Subject"]) for m in messages]
        return messages

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def close(self) -> None:
        self.store.dispose()
