"""OAuth 2.0 against real servers: the `inboxd run` process logs in to Dovecot (``oauth2`` passdb) and to the SMTP
hub with XOAUTH2, both checking each token at a local authorization server's introspection endpoint.

Tokens live a few seconds, so they expire during the run; the grant is revoked and restored. Each test checks what a
user would notice: mail keeps flowing, a lost grant shows in ``inboxd status`` and reaches the lead once, nothing is
lost, and no token appears in inboxd's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from inboxd.dev.mailserver import Dovecot, HubMessage, SmtpHub, find_dovecot
from inboxd.dev.oauthserver import AuthServer
from tests.e2e.test_daemon_process import Process
from tests.integration.harness import Setup, make_setup, wait_until

pytestmark = pytest.mark.e2e

LIFETIME = 6.0  # seconds an access token lives here


@dataclass
class Rig:
    base_dir: Path
    auth: AuthServer
    dovecot: Dovecot
    hub: SmtpHub

    def mailbox(self, name: str = "user", password: str = "secret") -> str:
        address = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        self.dovecot.add_user(address, password)
        return address

    def to(self, address: str) -> list[HubMessage]:
        return [m for m in self.hub.messages if address in m.rcpt_tos]

    def kick(self) -> None:
        """End every IMAP session (what a server restart does): inboxd must log in again, with a valid token."""
        subprocess.run(["doveadm", "-c", str(self.dovecot.config_path), "kick", "*"], capture_output=True,
                       timeout=30, check=False)


@pytest.fixture
def rig() -> Iterator[Rig]:
    if find_dovecot() is None:
        pytest.skip("Dovecot is not installed")
    base_dir = Path(tempfile.mkdtemp(prefix="inboxd-oauth-"))
    auth = AuthServer(lifetime=LIFETIME).start()
    hub = SmtpHub(require_auth=True, oauth2_introspection_url=auth.introspection_endpoint).start()
    dovecot = Dovecot(base_dir, oauth2_introspection_url=auth.introspection_endpoint).start()
    hub.dovecot = dovecot
    try:
        yield Rig(base_dir, auth, dovecot, hub)
    finally:
        hub.stop()
        dovecot.stop()
        auth.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def setup(tmp_path: Path, rig: Rig) -> Setup:
    """``support`` logs in with OAuth (client credentials at the local server); ``sales`` with a password."""
    setup = make_setup(tmp_path, rig.dovecot, rig.hub, rig.mailbox)
    rig.auth.add_client("inboxd", "client-secret-value", setup.support)
    (tmp_path / "client-secret").write_text("client-secret-value\n")
    sales = rig.mailbox("sales")
    text = setup.config_path.read_text()
    text = text.replace(f"password_file: {tmp_path / 'imap-password'}, ", "", 1)
    smtp_line = next(line for line in text.splitlines() if line.startswith("    smtp: "))
    auth = (f"    auth: {{type: oauth2, provider: generic, client_id: inboxd, "
            f"client_secret_file: {tmp_path / 'client-secret'}, token_endpoint: {rig.auth.token_endpoint}}}\n"
            f"  - name: sales\n    address: {sales}\n"
            f"    imap: {{host: 127.0.0.1, port: {rig.dovecot.imap_port}, security: none, username: {sales}, "
            f"password_file: {tmp_path / 'imap-password'}}}\n"
            f"    smtp: {{host: 127.0.0.1, port: {rig.hub.port}, security: none, username: {sales}, "
            f"password_file: {tmp_path / 'imap-password'}}}")
    text = text.replace(smtp_line, smtp_line + "\n" + auth, 1)
    setup.config_path.write_text(text)
    return setup


def start(setup: Setup, tmp_path: Path) -> Process:
    process = Process(setup, tmp_path)
    process.wait_log('"folder.first_sync"', count=3)
    return process


def deliver(setup: Setup, rig: Rig, subject: str) -> str:
    customer = rig.mailbox("customer")
    setup.deliver(setup.customer_mail(customer, subject), sender=customer)
    return customer


def status(setup: Setup) -> dict[str, Any]:
    env = dict(os.environ, INBOXD_CONFIG=str(setup.config_path), INBOXD_DATABASE_URL=setup.database_url)
    out = subprocess.run([sys.executable, "-m", "inboxd.cli.main", "status", "--json"], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    report: dict[str, Any] = json.loads(out.stdout)
    return next(m for m in report["mailboxes"] if m["name"] == "support")


def assert_no_token_logged(rig: Rig, *logs: str) -> None:
    assert rig.auth.issued
    for token in rig.auth.issued:
        for text in logs:
            assert token not in text


def test_tokens_expire_during_the_run_and_mail_still_flows(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    process = start(setup, tmp_path)
    try:
        customers = []
        for round_ in range(3):
            issued = list(rig.auth.issued)
            customer = deliver(setup, rig, f"Round {round_}")
            customers.append(customer)
            wait_until(lambda c=customer: rig.to(c), timeout=30)
            # Every token issued so far expires; then the IMAP sessions end, so the next logins need new ones.
            wait_until(lambda i=issued: all(not rig.auth.introspect(t)["active"] for t in i), timeout=30)
            rig.kick()
        last = deliver(setup, rig, "After the last expiry")
        customers.append(last)
        wait_until(lambda: rig.to(last), timeout=30)
        assert all(len(rig.to(c)) == 1 for c in customers)  # every customer acknowledged once
        assert rig.auth.token_requests >= 3  # tokens were fetched again as they expired
        assert len(rig.hub.oauth_tokens) >= 2  # and SMTP logged in with a new one after the first expired
        assert status(setup)["oauth_error"] is None
    finally:
        assert process.stop() == 0
    print(f"\nOAUTH tokens fetched {rig.auth.token_requests}, introspected {rig.auth.introspections}, "
          f"SMTP XOAUTH2 logins {rig.hub.oauth_logins}")
    assert_no_token_logged(rig, process.text(), rig.dovecot.log_tail(10_000))


def test_a_revoked_grant_is_reported_once_and_nothing_is_lost(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    process = start(setup, tmp_path)
    try:
        before = deliver(setup, rig, "Before the revocation")
        wait_until(lambda: rig.to(before), timeout=30)
        rig.auth.revoke()
        rig.kick()
        # The lost grant shows in status, and the lead hears of it once, by mail sent through the sales mailbox.
        wait_until(lambda: status(setup)["oauth_error"], timeout=30)
        assert "invalid_grant" in status(setup)["oauth_error"]
        alerts = wait_until(lambda: rig.to(setup.staff), timeout=30)
        meanwhile = [deliver(setup, rig, f"While revoked {n}") for n in range(2)]
        # The daemon keeps trying (with backoff) and fails again, but tells nobody twice.
        process.wait_log('"oauth.token_failed"', timeout=60, count=1)
        failures = rig.auth.token_requests
        wait_until(lambda: rig.auth.token_requests > failures, timeout=60)
        assert all(not rig.to(c) for c in meanwhile)
        # The admin grants again and reloads the service (what the alert says to do).
        rig.auth.restore()
        process.proc.send_signal(signal.SIGHUP)
        for customer in meanwhile:
            wait_until(lambda c=customer: rig.to(c), timeout=120)
        wait_until(lambda: status(setup)["oauth_error"] is None, timeout=30)
        assert len(rig.to(setup.staff)) == len(alerts) == 1
        alert = rig.to(setup.staff)[0].message
        assert "cannot log in" in str(alert["Subject"])
        assert all(len(rig.to(c)) == 1 for c in [before, *meanwhile])
    finally:
        assert process.stop() == 0
    assert_no_token_logged(rig, process.text(), rig.dovecot.log_tail(10_000))


def test_delegated_login_then_the_daemon_uses_and_rotates_the_stored_refresh_token(setup: Setup, rig: Rig,
                                                                                    tmp_path: Path) -> None:
    text = setup.config_path.read_text()
    text = text.replace(f"client_id: inboxd, client_secret_file: {tmp_path / 'client-secret'}, ",
                        f"client_id: inboxd, flow: delegated, device_endpoint: {rig.auth.device_endpoint}, ", 1)
    setup.config_path.write_text(text)
    env = dict(os.environ, INBOXD_CONFIG=str(setup.config_path), INBOXD_DATABASE_URL=setup.database_url)
    env.pop("STATE_DIRECTORY", None)
    login = subprocess.run([sys.executable, "-m", "inboxd.cli.main", "auth", "login", "support"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert login.returncode == 0, login.stderr
    stored = tmp_path / "oauth" / "support.json"  # beside the SQLite database
    first = json.loads(stored.read_text())["refresh_token"]
    process = start(setup, tmp_path)
    try:
        customer = deliver(setup, rig, "Over a delegated login")
        wait_until(lambda: rig.to(customer), timeout=30)
        assert json.loads(stored.read_text())["refresh_token"] != first  # rotated, and the new one kept
        # The user's consent is withdrawn: the lead is told to sign in again.
        rig.auth.revoke()
        rig.kick()
        alert = wait_until(lambda: rig.to(setup.staff), timeout=30)[0].message
        assert "inboxd auth login support" in alert.get_content()
    finally:
        assert process.stop() == 0
    assert_no_token_logged(rig, process.text(), login.stdout, login.stderr)


def test_a_sign_in_about_to_expire_is_announced_once(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    rig.auth.refresh_lifetime = 90 * 86400.0
    text = setup.config_path.read_text()
    text = text.replace(f"client_id: inboxd, client_secret_file: {tmp_path / 'client-secret'}, ",
                        f"client_id: inboxd, flow: delegated, device_endpoint: {rig.auth.device_endpoint}, ", 1)
    setup.config_path.write_text(text)
    env = dict(os.environ, INBOXD_CONFIG=str(setup.config_path), INBOXD_DATABASE_URL=setup.database_url)
    env.pop("STATE_DIRECTORY", None)
    login = subprocess.run([sys.executable, "-m", "inboxd.cli.main", "auth", "login", "support"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert login.returncode == 0, login.stderr
    stored = tmp_path / "oauth" / "support.json"
    # The sign-in was made 87 days ago and ends in 3 days (a provider whose sign-ins do not slide).
    data = json.loads(stored.read_text())
    data["expires_at"] = data["saved_at"] + 3 * 86400
    data["saved_at"] -= 87 * 86400
    stored.write_text(json.dumps(data))
    for _run in range(2):  # a restart does not tell the lead again
        process = Process(setup, tmp_path)
        try:
            process.wait_log('"daemon.started"')
            alerts = wait_until(lambda: rig.to(setup.staff), timeout=30)
        finally:
            assert process.stop() == 0
    # The second start checked (before it logged daemon.started) and queued nothing new.
    with sqlite3.connect(setup.database_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'alert'").fetchone() == (1,)
    assert len(alerts) == len(rig.to(setup.staff)) == 1
    body = alerts[0].message.get_content()
    assert "expires" in str(alerts[0].message["Subject"]) and "inboxd auth login support" in body


def test_status_and_log_never_show_a_token(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    """A token the server refuses (a revoked grant mid-session) is not echoed in errors either."""
    process = start(setup, tmp_path)
    try:
        rig.auth.revoke()
        rig.kick()
        wait_until(lambda: status(setup)["oauth_error"], timeout=30)
        text = json.dumps(status(setup))
    finally:
        assert process.stop() == 0
    assert_no_token_logged(rig, process.text(), text)
