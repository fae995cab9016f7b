"""Faults a real server meets, caused for real while the `inboxd run` process works.

Each test gets a private Dovecot and SMTP hub (so they can be stopped and started again without disturbing
the session's), runs the daemon as a process with a ``NOTIFY_SOCKET``, causes one fault and checks that

- the fault shows in ``STATUS=`` (what ``systemctl status inboxd`` shows) within seconds,
- mail that came in during the fault is handled once the fault ends: nothing lost, nothing sent twice.

Each test prints how long detection and recovery took: ``pytest -s tests/e2e/test_faults.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from inboxd.dev.mailserver import Dovecot, HubMessage, SmtpHub, find_dovecot
from inboxd.service.daemon import IDLE_RENEW_SECONDS
from tests.e2e.test_daemon_process import NotifySocket, Process
from tests.integration.harness import Setup, make_setup, wait_until

pytestmark = pytest.mark.e2e

DETECT_WITHIN = 15.0  # seconds: a fault must show in STATUS= well within this
RECOVER_WITHIN = 30.0  # seconds: mail that waited must be handled well within this after the fault ends


@dataclass
class Rig:
    """A private Dovecot and a hub on a fixed port, both of which a test may stop and start again."""

    base_dir: Path
    dovecot: Dovecot
    hub: SmtpHub
    earlier: list[HubMessage] = field(default_factory=list)

    def mailbox(self, name: str = "user", password: str = "secret") -> str:
        address = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        self.dovecot.add_user(address, password)
        return address

    def messages(self) -> list[HubMessage]:
        """Everything every incarnation of the hub accepted."""
        return [*self.earlier, *self.hub.messages]

    def stop_hub(self) -> None:
        self.earlier.extend(self.hub.messages)
        self.hub.stop()

    def start_hub(self) -> None:
        self.hub = SmtpHub(self.dovecot, port=self.hub.port).start()

    def acks_to(self, address: str) -> list[HubMessage]:
        return [m for m in self.messages() if m.rcpt_tos == [address]]


@pytest.fixture
def rig() -> Iterator[Rig]:
    if find_dovecot() is None:
        pytest.skip("Dovecot is not installed")
    base_dir = Path(tempfile.mkdtemp(prefix="inboxd-faults-"))
    hub = SmtpHub().start()
    dovecot = Dovecot(base_dir, smtp_port=hub.port).start()
    hub.dovecot = dovecot
    rig = Rig(base_dir, dovecot, hub)
    try:
        yield rig
    finally:
        rig.hub.stop()
        dovecot.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def setup(tmp_path: Path, rig: Rig) -> Setup:
    return make_setup(tmp_path, rig.dovecot, rig.hub, rig.mailbox)


@dataclass
class Running:
    """The daemon process and its notify socket."""

    process: Process
    notify: NotifySocket

    def status(self) -> str:
        """The newest STATUS= the daemon sent."""
        lines = [m for m in self.notify.drain() if "STATUS=" in m]
        return lines[-1].split("STATUS=", 1)[1].splitlines()[0] if lines else ""

    def wait_status(self, predicate: Callable[[str], bool], timeout: float) -> float:
        """Seconds until a new STATUS= satisfies ``predicate``."""
        started = time.monotonic()
        self.notify.received.clear()
        wait_until(lambda: predicate(self.status()), timeout, interval=0.1)
        return time.monotonic() - started


@pytest.fixture
def daemon(setup: Setup, tmp_path: Path) -> Iterator[Running]:
    running = start(setup, tmp_path)
    try:
        yield running
    finally:
        code = running.process.stop(signal.SIGTERM)
        running.notify.close()
        assert "Traceback" not in running.process.text()
        assert code == 0


def start(setup: Setup, tmp_path: Path, *, synced: bool = True) -> Running:
    notify = NotifySocket(tmp_path / f"notify-{time.monotonic_ns()}")
    process = Process(setup, tmp_path, notify)
    notify.wait_for("READY=1")
    running = Running(process, notify)
    if synced:
        process.wait_synced()
        running.wait_status(all_up, timeout=DETECT_WITHIN)
    return running


def all_up(status: str) -> bool:
    return status.startswith("folders up 2/2") and "error" not in status


def report(fault: str, detect: float, recover: float, lost: int, twice: int) -> None:
    print(f"\nFAULT {fault:<34} detect {detect:6.2f} s  recover {recover:6.2f} s  lost {lost}  twice {twice}")


def settle_and_count(rig: Rig, customers: list[str]) -> tuple[int, int]:
    """(lost, sent twice) among the acknowledgements these customers should each get once."""
    time.sleep(1.0)  # a second ack, if one were coming, would come now
    counts = [len(rig.acks_to(c)) for c in customers]
    return sum(1 for n in counts if n == 0), sum(n - 1 for n in counts if n > 1)


def deliver(setup: Setup, rig: Rig, subject: str) -> str:
    customer = rig.mailbox("customer")
    setup.deliver(setup.customer_mail(customer, subject), sender=customer)
    return customer


@pytest.mark.parametrize("sessions", ["kicked", "left running"])
def test_dovecot_restarted_mid_idle(setup: Setup, rig: Rig, daemon: Running, sessions: str) -> None:
    before = deliver(setup, rig, "Before the restart")
    wait_until(lambda: rig.acks_to(before), timeout=15)
    if sessions == "kicked":
        # What `systemctl restart dovecot` does: every session is told BYE and closed.
        subprocess.run(["doveadm", "-c", str(rig.dovecot.config_path), "kick", "*"], capture_output=True,
                       timeout=30, check=False)
        within = DETECT_WITHIN
    else:
        # Only the master stops: the sessions' processes linger until they notice, as after a crash. A connection
        # that says nothing is found out at the latest when IDLE is renewed.
        within = IDLE_RENEW_SECONDS + 60.0
    rig.dovecot.stop()
    detect = daemon.wait_status(lambda s: s.startswith("folders up 0/2"), timeout=within)
    assert "imap" in daemon.status().lower()
    assert '"imap.disconnected"' in daemon.process.text() or '"imap.unavailable"' in daemon.process.text()
    # Down for a while: the watchers wait with backoff instead of spinning.
    cpu_before = process_cpu_seconds(daemon.process.proc.pid)
    time.sleep(3.0)
    cpu_down = process_cpu_seconds(daemon.process.proc.pid) - cpu_before
    started = time.monotonic()
    rig.dovecot.start()
    after = deliver(setup, rig, "After the restart")
    wait_until(lambda: rig.acks_to(after), timeout=RECOVER_WITHIN)
    recover = time.monotonic() - started
    daemon.wait_status(all_up, timeout=DETECT_WITHIN)
    lost, twice = settle_and_count(rig, [before, after])
    report(f"Dovecot restarted, sessions {sessions}", detect, recover, lost, twice)
    print(f"      CPU used by the daemon during 3 s without Dovecot: {cpu_down:.2f} s")
    assert (lost, twice) == (0, 0)
    assert cpu_down < 1.5, "the watchers spin while the server is down"


def test_smtp_hub_down_and_back(setup: Setup, rig: Rig, daemon: Running) -> None:
    rig.stop_hub()
    customers = [deliver(setup, rig, f"While SMTP is down {i}") for i in range(3)]
    detect = daemon.wait_status(lambda s: "smtp" in s.lower(), timeout=DETECT_WITHIN)
    started = time.monotonic()
    rig.start_hub()
    wait_until(lambda: all(rig.acks_to(c) for c in customers), timeout=RECOVER_WITHIN)
    recover = time.monotonic() - started
    daemon.wait_status(lambda s: "smtp" not in s.lower() and " 0 queued" in s, timeout=DETECT_WITHIN)
    lost, twice = settle_and_count(rig, customers)
    report("SMTP hub down and back", detect, recover, lost, twice)
    assert (lost, twice) == (0, 0)


def test_wrong_password_then_fixed(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    password = tmp_path / "imap-password"
    password.write_text("wrong\n")
    running = start(setup, tmp_path, synced=False)
    try:
        detect = running.wait_status(lambda s: "login rejected" in s, timeout=DETECT_WITHIN)
        # Mail that comes in before inboxd ever logged in is new to it all the same.
        customer = deliver(setup, rig, "Sent while the password was wrong")
        time.sleep(1.0)
        assert not rig.acks_to(customer)
        started = time.monotonic()
        password.write_text("secret\n")
        running.process.proc.send_signal(signal.SIGHUP)  # what `systemctl reload inboxd` does
        wait_until(lambda: rig.acks_to(customer), timeout=RECOVER_WITHIN)
        recover = time.monotonic() - started
        running.wait_status(all_up, timeout=DETECT_WITHIN)
        lost, twice = settle_and_count(rig, [customer])
        report("wrong IMAP password, then fixed", detect, recover, lost, twice)
        assert (lost, twice) == (0, 0)
    finally:
        assert running.process.stop() == 0
        running.notify.close()


def test_broken_template_is_rejected_and_the_old_one_kept(setup: Setup, rig: Rig, daemon: Running,
                                                          tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(bundled_templates(), templates)
    config = setup.config_path.read_text()
    setup.config_path.write_text(config + f"templates: {{directory: {templates}}}\n")
    daemon.process.proc.send_signal(signal.SIGHUP)
    daemon.process.wait_log('"config.reloaded"')
    ack = templates / "en" / "ack.txt.j2"
    good = ack.read_text()
    ack.write_text(good.replace("{{ promise.phrase }}", "{{ promis.phrase }}", 1))
    assert ack.read_text() != good, "the template no longer says {{ promise.phrase }}: update this test"
    check = subprocess.run([sys.executable, "-m", "inboxd.cli.main", "check-config", str(setup.config_path)],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    assert check.returncode == 1
    assert "ack.txt.j2:" in check.stdout + check.stderr
    started = time.monotonic()
    daemon.process.proc.send_signal(signal.SIGHUP)
    daemon.process.wait_log("config.reload_rejected")
    detect = time.monotonic() - started
    assert "ack.txt.j2" in daemon.process.text()
    started = time.monotonic()
    customer = deliver(setup, rig, "After a broken template")
    wait_until(lambda: rig.acks_to(customer), timeout=RECOVER_WITHIN)
    recover = time.monotonic() - started
    (sent,) = rig.acks_to(customer)
    assert "promis" not in sent.message.get_body(("plain",)).get_content()
    lost, twice = settle_and_count(rig, [customer])
    report("broken template reloaded", detect, recover, lost, twice)
    assert (lost, twice) == (0, 0)


def test_disk_full_under_the_database(setup: Setup, rig: Rig, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        setup.database_url = f"sqlite:///{disk}/inboxd.db"
        running = start(setup, tmp_path)
        try:
            fill(disk / "filler")
            customers = [deliver(setup, rig, f"While the disk is full {i}") for i in range(3)]
            detect = running.wait_status(lambda s: "disk" in s.lower() or "database" in s.lower(),
                                         timeout=DETECT_WITHIN)
            assert not any(rig.acks_to(c) for c in customers)
            started = time.monotonic()
            (disk / "filler").unlink()
            wait_until(lambda: all(rig.acks_to(c) for c in customers), timeout=RECOVER_WITHIN)
            recover = time.monotonic() - started
            running.wait_status(all_up, timeout=DETECT_WITHIN)
            lost, twice = settle_and_count(rig, customers)
            report("disk full under the database", detect, recover, lost, twice)
            assert (lost, twice) == (0, 0)
            quarantined = subprocess.run(
                [sys.executable, "-m", "inboxd.cli.main", "quarantine", "list", "--json"], capture_output=True,
                text=True, timeout=60, env=dict(os.environ, INBOXD_CONFIG=str(setup.config_path),
                                                INBOXD_DATABASE_URL=setup.database_url,
                                                PYTHONPATH=str(Path(__file__).resolve().parents[2])))
            assert quarantined.returncode == 0, quarantined.stderr
            assert quarantined.stdout.strip() in ("", "[]")
        finally:
            assert running.process.stop() == 0
            running.notify.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(path: Path) -> None:
    """Write until the filesystem is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
        try:
            os.fsync(f.fileno())
        except OSError:
            pass


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bundled_templates() -> Path:
    from inboxd.mail.render import resolve_template_dir

    return Path(resolve_template_dir(None))
