"""Fixtures shared by every test layer.

Integration fixtures start real servers on loopback (see ``inboxd.dev.mailserver`` and
``notes/dovecot-test-server.md``); they start only when a test asks for them, so unit tests stay fast.

``dovecot`` (session)
    A running :class:`inboxd.dev.mailserver.Dovecot` (IMAP + LMTP + Sieve) in a fresh temp dir, shared by the
    whole session. Its vacation replies go to ``hub``. Tests must not share mailboxes: use ``mailboxes``.
    When the ``dovecot`` binary (or aiosmtpd) is missing the test is skipped with the reason, except when the
    ``CI`` environment variable is set: CI installs Dovecot, so there a missing one fails the test.

``hub`` (session)
    The :class:`inboxd.dev.mailserver.SmtpHub` that delivers into ``dovecot`` over LMTP; point inboxd's SMTP
    settings at ``hub.host``/``hub.port``. It is started before Dovecot so Dovecot can send vacation replies
    to it, and every message it accepts for a Dovecot user is in that user's INBOX before the client sees
    250, including any vacation reply the message triggered.

``smtp_hub`` (function)
    The same hub with its record of accepted messages cleared at the start of the test, so
    ``smtp_hub.messages`` and ``smtp_hub.wait_for(n)`` only see this test's mail.

``mailboxes`` (function)
    A factory: ``mailboxes("support")`` creates a Dovecot user with a unique address such as
    ``support-1a2b3c4d@example.com`` and password ``"secret"`` and returns the address.

Set ``INBOXD_KEEP_DEVMAIL=1`` to keep Dovecot's directory (config, ``dovecot.log``, maildirs) after the
session, for a post-mortem; it is printed in the ``dovecot.started`` log line.

Integration test modules mark themselves with ``pytestmark = pytest.mark.integration`` so that
``pytest -m "not integration"`` runs everything else.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn, Protocol

import pytest

from inboxd.dev.mailserver import Dovecot, SmtpHub, find_dovecot

MAILBOX_DOMAIN = "example.com"
MAILBOX_PASSWORD = "secret"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, in case pytest runs without the project's pyproject.toml."""
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    if "integration" not in registered:
        config.addinivalue_line("markers", "integration: talks to a real Dovecot and SMTP hub on loopback")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, where a missing server means a broken setup rather than a missing option."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _mail_servers() -> Iterator[tuple[Dovecot, SmtpHub]]:
    """Start the hub, then Dovecot pointed at it, then let the hub deliver into Dovecot; stop both after."""
    if find_dovecot() is None:
        _unavailable("Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd dovecot-sieve)")
    if importlib.util.find_spec("aiosmtpd") is None:
        _unavailable("aiosmtpd is not installed (pip install -e '.[dev]')")
    with ExitStack() as stack:
        # Not pytest's tmp_path: as root, Dovecot's mail processes run as the dovecot user, which cannot enter
        # /tmp/pytest-of-root (mode 0700). The path also stays short enough for Dovecot's unix sockets.
        base_dir = Path(tempfile.mkdtemp(prefix="inboxd-devmail-"))
        if not os.environ.get("INBOXD_KEEP_DEVMAIL"):
            stack.callback(shutil.rmtree, base_dir, ignore_errors=True)
        hub = stack.enter_context(SmtpHub())
        dovecot = stack.enter_context(Dovecot(base_dir, smtp_port=hub.port))
        hub.dovecot = dovecot
        yield dovecot, hub


@pytest.fixture(scope="session")
def dovecot(_mail_servers: tuple[Dovecot, SmtpHub]) -> Dovecot:
    """The session's Dovecot (IMAP on ``dovecot.imap_port``, LMTP on ``dovecot.lmtp_port``)."""
    return _mail_servers[0]


@pytest.fixture(scope="session")
def hub(_mail_servers: tuple[Dovecot, SmtpHub]) -> SmtpHub:
    """The session's SMTP hub, delivering into ``dovecot``; ``smtp_hub`` shows only this test's mail."""
    return _mail_servers[1]


@pytest.fixture
def smtp_hub(hub: SmtpHub) -> SmtpHub:
    """The session hub, with the messages of earlier tests forgotten."""
    hub.clear()
    return hub


class MailboxFactory(Protocol):
    """Signature of the ``mailboxes`` fixture."""

    def __call__(self, name: str = "user", password: str = MAILBOX_PASSWORD) -> str: ...


@pytest.fixture
def mailboxes(dovecot: Dovecot) -> MailboxFactory:
    """Return a factory that creates a Dovecot user unique to this test and returns its address."""

    def create(name: str = "user", password: str = MAILBOX_PASSWORD) -> str:
        address = f"{name}-{uuid.uuid4().hex[:8]}@{MAILBOX_DOMAIN}"
        dovecot.add_user(address, password)
        return address

    return create


# -- databases -----------------------------------------------------------------------------------------------

POSTGRES_URL_ENV = "INBOXD_TEST_POSTGRES_URL"


def _postgres_schema_url(base_url: str) -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database, as a URL whose connections use it; dropped after."""
    from sqlalchemy import text

    from inboxd.store.db import make_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base_url else "?"
    yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, and PostgreSQL when INBOXD_TEST_POSTGRES_URL is set.

    CI sets INBOXD_TEST_POSTGRES_URL, so there the PostgreSQL variant never skips.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/inboxd.db"
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    yield from _postgres_schema_url(base)
