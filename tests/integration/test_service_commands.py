"""Running inboxd as a service: ``inboxd init``, ``check-config --connect`` and ``inboxd backup``, as a process."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from inboxd.dev.demo import config_yaml
from inboxd.dev.mailserver import SmtpHub
from tests.integration.harness import cases, make_setup, wait_until

ROOT = Path(__file__).resolve().parents[2]


def inboxd(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real command line in its own process, without the caller's INBOXD_ and systemd variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("INBOXD_") and k != "CREDENTIALS_DIRECTORY"}
    return subprocess.run([sys.executable, "-m", "inboxd.cli.main", *args], capture_output=True, text=True,
                          env=dict(base, PYTHONPATH=str(ROOT), **(env or {})), timeout=60, cwd=cwd)


# -- inboxd init ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["password", "microsoft", "google", "generic"])
def test_init_writes_a_config_that_checks_with_only_the_secrets_missing(tmp_path: Path, provider: str) -> None:
    target = tmp_path / "etc-inboxd"
    done = inboxd("init", "--provider", provider, "--dir", str(target))
    assert done.returncode == 0, done.stderr
    config = target / "inboxd.yaml"

    checked = inboxd("check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    warnings = checked.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: ") for w in warnings), warnings
    assert "imap.password_credential: credential 'imap'" in warnings[0]
    assert "smtp.password_credential: credential 'smtp'" in warnings[1]

    # The credentials: one empty file (0600) per credential the configuration names, in a 0700 directory,
    # and a drop-in that loads exactly those.
    text = config.read_text()
    names = re.findall(r"password_credential: (\S+)", text)
    assert names == ["imap", "smtp"]
    credentials = target / "credentials"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o700
    for name in names:
        assert (credentials / name).read_bytes() == b""
        assert stat.S_IMODE((credentials / name).stat().st_mode) == 0o600
    drop_in = (target / "inboxd.service.d" / "credentials.conf").read_text()
    loaded = re.findall(r"(?m)^LoadCredential=(\S+):(\S+)$", drop_in)
    assert loaded == [(name, str(credentials / name)) for name in names]
    assert "\nLoadCredential=\n" in drop_in  # the unit's own lines are replaced, not added to

    # With the systemd layout in place, the service would find each secret: empty until the admin writes it.
    strict = inboxd("check-config", "--strict", str(config), env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert strict.returncode == 1
    assert f"password_credential: {credentials / 'imap'} is empty" in strict.stderr

    mailbox = yaml.safe_load(text)["mailboxes"][0]
    if provider == "password":
        assert "# auth:" not in text and "oauth-client-secret" not in drop_in
    else:
        # The OAuth block is there for the admin to fill in, commented, so the file validates either way.
        assert "auth" not in mailbox
        assert re.search(r"(?m)^    # auth:\n    #   type: oauth2\n    #   provider: " + provider, text)
        assert (credentials / "oauth-client-secret").exists()
        assert "# LoadCredential=oauth-client-secret:" in drop_in
    if provider == "microsoft":
        assert mailbox["imap"]["host"] == "outlook.office365.com"
        assert mailbox["imap"]["folders"]["sent"] == "Sent Items"
    if provider == "google":
        assert mailbox["smtp"]["host"] == "smtp.gmail.com"
        assert mailbox["imap"]["folders"]["sent"] == "[Gmail]/Sent Mail"


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    target = tmp_path / "etc"
    target.mkdir()
    (target / "credentials").mkdir()
    (target / "credentials" / "smtp").write_text("the real password")
    done = inboxd("init", "--dir", str(target))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {target / 'credentials' / 'smtp'} exists; inboxd init never overwrites a file (nothing written)"]
    assert (target / "credentials" / "smtp").read_text() == "the real password"
    assert sorted(p.name for p in target.rglob("*")) == ["credentials", "smtp"]


# -- inboxd check-config --connect ------------------------------------------------------------------------


@pytest.fixture
def auth_hub(dovecot, mailboxes):
    """A second SMTP hub that wants a login; it accepts the support address with the password "secret"."""
    support = mailboxes("support")
    with SmtpHub(dovecot, require_auth=True, credentials={support: "secret"}) as hub:
        yield support, hub


def _connect_config(tmp_path: Path, dovecot, support: str, smtp_port: int, *, imap_password: str = "secret",
                    smtp_password: str = "secret", sent_folder: str = "Sent") -> Path:
    imap_secret, smtp_secret = tmp_path / "imap-password", tmp_path / "smtp-password"
    imap_secret.write_text(imap_password + "\n")
    smtp_secret.write_text(smtp_password + "\n")
    text = config_yaml(support=support, imap_port=dovecot.imap_port, smtp_port=smtp_port, password_file=imap_secret,
                       staff=["alice@example.com"], sent_folder=sent_folder)
    text = text.replace("security: none, save_copy:",
                        f"security: none, username: {support}, password_file: {smtp_secret}, save_copy:")
    config = tmp_path / "inboxd.yaml"
    config.write_text(text)
    return config


def test_connect_logs_in_and_finds_the_folders(tmp_path, dovecot, auth_hub):
    support, hub = auth_hub
    with dovecot.imap(support) as client:
        client.create_folder("Sent")
    config = _connect_config(tmp_path, dovecot, support, hub.port)
    done = inboxd("check-config", "--connect", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-5:] == [
        f"support: IMAP login ok ({support} at 127.0.0.1)",
        "support: folder INBOX ok",
        "support: folder Sent ok",
        "support: SMTP login ok (127.0.0.1)",
        f"{config}: all checks passed"]


def test_connect_reports_wrong_passwords_and_a_missing_folder(tmp_path, dovecot, auth_hub):
    support, hub = auth_hub
    config = _connect_config(tmp_path, dovecot, support, hub.port, smtp_password="not-the-password",
                             sent_folder="Sent")
    done = inboxd("check-config", "--connect", str(config))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "support: folder Sent missing" in lines
    assert "support: IMAP login ok" in done.stdout
    assert re.search(r"(?m)^support: SMTP login failed: SMTP connect: login rejected \(535\)$", done.stdout)
    assert lines[-1] == f"{config}: 2 check(s) failed"

    (tmp_path / "imap-password").write_text("wrong-imap-password\n")
    done = inboxd("check-config", "--connect", str(config))
    assert done.returncode == 1
    assert re.search(r"(?m)^support: IMAP login failed: IMAP connect: login rejected", done.stdout)
    assert "folder" not in done.stdout  # nothing to look in without a login
    # No secret in what the command says.
    assert "wrong-imap-password" not in done.stdout + done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


def test_connect_with_a_secret_it_cannot_read_says_which(tmp_path, dovecot, smtp_hub, mailboxes):
    support = mailboxes("support")
    config = _connect_config(tmp_path, dovecot, support, smtp_hub.port)
    (tmp_path / "smtp-password").unlink()
    done = inboxd("check-config", "--connect", str(config))
    assert done.returncode == 1
    assert re.search(r"(?m)^support: SMTP login failed: mailboxes\[0\]\.smtp\.password_file: cannot read ", done.stdout)


# -- inboxd backup ----------------------------------------------------------------------------------------


def test_backup_while_the_daemon_writes_is_a_sound_copy(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                daemon.run_once()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    writer = threading.Thread(target=work)
    writer.start()
    try:
        customers = [mailboxes(f"customer{i}") for i in range(12)]
        for customer in customers[:4]:
            setup.deliver(setup.customer_mail(customer, "Printer broken"), sender=customer)
        wait_until(lambda: len(cases(daemon)) >= 4, timeout=20)
        for customer in customers[4:]:  # the daemon keeps writing while the copy is taken
            setup.deliver(setup.customer_mail(customer, "Printer broken"), sender=customer)
        copy = tmp_path / "backup" / "inboxd-copy.db"
        copy.parent.mkdir()
        done = inboxd("backup", str(copy), env={"INBOXD_DATABASE_URL": setup.database_url})
        wait_until(lambda: len(cases(daemon)) == 12, timeout=30)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not errors
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up {tmp_path / 'inboxd.db'} to {copy} (")

    # One self-contained file, readable only by its owner, that SQLite finds sound.
    assert sorted(p.name for p in copy.parent.iterdir()) == ["inboxd-copy.db"]
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        copied = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert 4 <= copied <= 12
    # And inboxd itself reads it.
    listed = inboxd("cases", "list", "--json", env={"INBOXD_DATABASE_URL": f"sqlite:///{copy}"})
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == copied


def test_backup_never_overwrites_a_file(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    setup.started()
    existing = tmp_path / "yesterday.db"
    existing.write_bytes(b"yesterday's backup")
    done = inboxd("backup", str(existing), env={"INBOXD_DATABASE_URL": setup.database_url})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: {existing} exists; inboxd backup never overwrites a file"]
    assert existing.read_bytes() == b"yesterday's backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_backup_of_postgresql_points_to_pg_dump(tmp_path):
    target = tmp_path / "copy.db"
    done = inboxd("backup", str(target), "--database-url", "postgresql://inboxd:hunter2@db.example/inboxd")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "pg_dump" in line and "hunter2" not in line
    assert not target.exists()


def test_backup_without_a_database_says_so(tmp_path):
    done = inboxd("backup", str(tmp_path / "copy.db"), "--database-url", f"sqlite:///{tmp_path}/none.db")
    assert done.returncode == 1
    assert done.stderr.startswith("error: no SQLite database at ")
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "none.db").exists()
