"""Local mail servers on loopback, for the test suite and ``inboxd demo``.

:class:`Dovecot` runs a private Dovecot (IMAP, LMTP and the Sieve vacation responder) from a generated
configuration in a directory of its own; :class:`SmtpHub` is an aiosmtpd server that accepts whatever it is
sent and delivers each recipient into that Dovecot over LMTP, so customers and staff are real IMAP mailboxes,
and a customer's out-of-office reply to inboxd's acknowledgement really arrives::

    hub = SmtpHub().start()                          # bind the hub first: Dovecot must know where it listens
    dovecot = Dovecot(base_dir, smtp_port=hub.port).start()
    hub.dovecot = dovecot                            # now the hub can deliver into Dovecot
    dovecot.add_user("support@example.com")
    ...
    hub.stop(); dovecot.stop()

The recipe, and why each setting is there, is in ``notes/dovecot-test-server.md``.

This module is development tooling, not part of the daemon. It is the one place outside ``inboxd.transport``
that talks IMAP and SMTP directly, and it imports aiosmtpd (a dev/demo dependency) only when a hub is started.
Every process and thread it starts is stopped by ``stop()``, by a finalizer when the object is collected,
and at interpreter exit; the Dovecot master also dies with the thread that started it (Linux), so even a
killed test run leaves no Dovecot behind.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import email
import email.message
import email.policy
import errno
import grp
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import structlog
from imapclient import IMAPClient

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

__all__ = ["DevmailError", "Dovecot", "HubMessage", "SmtpHub", "find_dovecot", "free_port", "parse_message"]

log = structlog.get_logger(__name__)

LOOPBACK = "127.0.0.1"
# Unix sockets live under {base_dir}/run; their paths must fit in sun_path (108 bytes) with room for names
# such as "login/imap-urlauth".
_MAX_BASE_DIR_LENGTH = 80
# Dovecot's own name for this machine in greetings, and ours in EHLO/LHLO: a fixed name avoids a slow
# reverse DNS lookup (socket.getfqdn) per connection.
_HOSTNAME = "devmail.localhost"
_SIEVE_REQUIRE = 'require ["vacation"];\n'
_START_ATTEMPTS = 3

Predicate = Callable[[email.message.EmailMessage], bool]


class DevmailError(RuntimeError):
    """A local mail server could not be set up, started or used."""


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now.

    Another process may take it before the caller binds it; the window is small on a test machine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def find_dovecot() -> Path | None:
    """Return the ``dovecot`` binary from PATH or the usual sbin directories; None if it is not installed."""
    found = shutil.which("dovecot")
    if found:
        return Path(found)
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def parse_message(raw: bytes) -> email.message.EmailMessage:
    """Parse raw RFC 5322 bytes with the modern policy (``email.policy.default``).

    Line endings become ``\\n`` first, as Python's email package expects, so ``get_content()`` of a message
    that crossed SMTP or IMAP (CRLF on the wire) reads like the text that was sent.
    """
    text = raw.replace(b"\r\n", b"\n")
    return email.message_from_bytes(text, policy=email.policy.default)


def _crlf(raw: bytes) -> bytes:
    """Give every line a CRLF ending: smtplib sends bytes unchanged, and SMTP wants CRLF."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _sieve_string(text: str) -> str:
    """Quote text as a Sieve string (RFC 5228 section 2.4.2)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_address(address: str) -> None:
    # The address becomes a passwd-file line and a directory name, so it must be harmless in both.
    if (
        "@" not in address
        or address.startswith(".")
        or any(ch in address for ch in ':/\\"')
        or any(ch.isspace() or ord(ch) < 32 for ch in address)
    ):
        raise ValueError(f"not a usable mailbox address: {address!r}")


def _read_greeting(host: str, port: int, timeout: float) -> bytes:
    """Connect and return the server's first line; Dovecot accepts connections before it can greet."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
        return data


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """Return a preexec_fn that makes the child die with the thread that spawns it, where Linux allows it.

    The signal is tied to the spawning *thread*, so it is only used from the main thread; otherwise a
    Dovecot started from a short-lived worker thread would die with it.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return preexec


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a Dovecot master: SIGTERM (all ``doveadm stop`` does) lets it stop its children; SIGKILL if stuck.

    Dovecot takes about a second to shut down.
    """
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


class Dovecot:
    """A private Dovecot (IMAP + LMTP + Sieve) in a temp dir on free loopback ports.

    ``base_dir`` holds everything: the config (``dovecot.conf``), the log (``dovecot.log``), passwd-files
    (``users/<address>``), maildirs (``mail/<address>``) and homes with Sieve scripts (``home/<address>``).
    When run as root, Dovecot's mail processes run as the ``dovecot`` user, which must be able to enter every
    parent of ``base_dir``: use a directory made with ``tempfile.mkdtemp()`` under /tmp, not pytest's
    ``tmp_path`` (``/tmp/pytest-of-root`` is mode 0700).

    ``smtp_port`` is where Sieve sends vacation replies (the :class:`SmtpHub`); without it they are dropped
    and Dovecot logs an error.
    """

    host = LOOPBACK

    def __init__(self, base_dir: Path, *, smtp_port: int | None = None,
                 oauth2_introspection_url: str | None = None) -> None:
        self.base_dir = Path(base_dir).absolute()
        self.smtp_port = smtp_port
        # With it, logins may also use XOAUTH2/OAUTHBEARER, their tokens checked there (RFC 7662).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._as_root = os.geteuid() == 0
        # As root, mail is stored as the dovecot user (looked up in start(), so that constructing this object
        # works without Dovecot installed); otherwise as ourselves.
        self._mail_uid, self._mail_gid = os.getuid(), os.getgid()
        self._prepared = False

    # Paths ------------------------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """The generated ``dovecot.conf``."""
        return self.base_dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        """Dovecot's log: every process, including Sieve, writes here."""
        return self.base_dir / "dovecot.log"

    @property
    def users_dir(self) -> Path:
        """One passwd-file per user, named after the address, holding ``address:{PLAIN}password``."""
        return self.base_dir / "users"

    def home(self, address: str) -> Path:
        """Return the home directory of a user: where ``active.sieve`` and the vacation memory live."""
        _check_address(address)
        return self.base_dir / "home" / address

    @property
    def running(self) -> bool:
        """Whether the Dovecot master process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # Lifecycle --------------------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> Self:
        """Write the configuration, start Dovecot and wait until IMAP and LMTP greet.

        Raises DevmailError, with the tail of Dovecot's log, if it is not installed, exits or does not greet
        in time. Returns self, so ``dovecot = Dovecot(path).start()`` reads naturally.
        """
        if self.running:
            raise DevmailError(f"Dovecot in {self.base_dir} is already running")
        binary = find_dovecot()
        if binary is None:
            raise DevmailError(
                "the dovecot binary is not installed "
                "(apt-get install dovecot-imapd dovecot-lmtpd dovecot-sieve)"
            )
        started = time.monotonic()
        self._prepare_directories()
        for attempt in range(_START_ATTEMPTS):
            try:
                self._launch(binary, started + timeout)
                break
            except DevmailError as exc:
                # free_port() cannot reserve a port: if another process took one meanwhile, pick new ones.
                if "Address already in use" not in str(exc) or attempt == _START_ATTEMPTS - 1:
                    raise
                log.info("dovecot.port_taken", imap_port=self.imap_port, lmtp_port=self.lmtp_port)
                self.imap_port, self.lmtp_port = free_port(), free_port()
        self.startup_seconds = time.monotonic() - started
        log.info(
            "dovecot.started",
            imap_port=self.imap_port,
            lmtp_port=self.lmtp_port,
            seconds=round(self.startup_seconds, 3),
            base_dir=str(self.base_dir),
        )
        return self

    def _launch(self, binary: Path, deadline: float) -> None:
        self.config_path.write_text(self._render_config(), encoding="utf-8")
        with open(self.base_dir / "dovecot.stderr", "wb") as stderr:
            # -F keeps the master in the foreground, so this Popen is the master: we know its pid, see it
            # die, and it is not left running if our process is killed (see _pdeathsig_preexec). A new session
            # keeps a terminal's Ctrl-C away from it: its lifetime is ours to manage.
            proc = subprocess.Popen(
                [str(binary), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(),
            )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _terminate, proc)
        try:
            self._wait_for_greeting("IMAP", self.imap_port, b"* OK", deadline)
            self._wait_for_greeting("LMTP", self.lmtp_port, b"220", deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Dovecot and its children; safe to call more than once, or before start()."""
        if self._finalizer is not None:
            self._finalizer()

    def restart(self, *, down: Callable[[], None] | None = None) -> None:
        """Restart Dovecot on the same ports, as an admin's ``systemctl restart dovecot`` would.

        Every IMAP session is disconnected first (``doveadm kick``: the client reads ``* BYE`` and then the
        end of the connection); stopping only the master would leave the sessions' processes serving. ``down``
        runs while Dovecot is stopped.
        """
        self._require_running()
        doveadm = shutil.which("doveadm") or shutil.which("doveadm", path="/usr/bin:/usr/local/bin")
        if doveadm is not None:
            subprocess.run([doveadm, "-c", str(self.config_path), "kick", "*"], capture_output=True,
                           timeout=30, check=False)
        self.stop()
        try:
            if down is not None:
                down()
        finally:
            self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _prepare_directories(self) -> None:
        """Create base_dir's layout and config; idempotent, so users can be added before start()."""
        if self._prepared:
            return
        if self._as_root:
            try:
                entry = pwd.getpwnam("dovecot")
            except KeyError:
                raise DevmailError("the dovecot user does not exist; is Dovecot installed?") from None
            self._mail_uid, self._mail_gid = entry.pw_uid, entry.pw_gid
        if len(str(self.base_dir)) > _MAX_BASE_DIR_LENGTH:
            raise DevmailError(
                f"base_dir is too long for Dovecot's unix sockets (max {_MAX_BASE_DIR_LENGTH} "
                f"characters): {self.base_dir}"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)
        if self._as_root:
            self._check_traversable()
        for name in ("mail", "home"):
            directory = self.base_dir / name
            directory.mkdir(exist_ok=True)
            self._give_to_mail_user(directory)
        (self.base_dir / "state").mkdir(exist_ok=True)
        self.users_dir.mkdir(exist_ok=True)
        # Test passwords, but still: only root and the auth process (running as dovecot) need to read them.
        self.users_dir.chmod(0o750)
        if self._as_root:
            os.chown(self.users_dir, 0, self._mail_gid)
        # sievec (set_vacation) reads the config too.
        self.config_path.write_text(self._render_config(), encoding="utf-8")
        self._prepared = True

    def _check_traversable(self) -> None:
        # As root, Dovecot's mail processes run as the dovecot user and must be able to reach base_dir.
        for parent in self.base_dir.parents:
            st = parent.stat()
            if not st.st_mode & stat.S_IXOTH and st.st_uid != self._mail_uid:
                raise DevmailError(
                    f"the dovecot user cannot enter {parent} (mode {stat.filemode(st.st_mode)}), so it "
                    f"cannot reach {self.base_dir}; use a directory such as tempfile.mkdtemp() under /tmp"
                )

    def _give_to_mail_user(self, path: Path) -> None:
        if self._as_root:
            os.chown(path, self._mail_uid, self._mail_gid)

    def _render_config(self) -> str:
        base = self.base_dir
        if self._as_root:
            # Login processes refuse to run as root; mail processes run as the dovecot user.
            users = (
                "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
                "default_internal_group = dovecot\n"
            )
        else:
            # As any other user, Dovecot runs every process as that user; naming it keeps Dovecot from looking
            # up dovenull and dovecot, which need not exist. (A uid without a name keeps the defaults.)
            try:
                me = pwd.getpwuid(os.getuid()).pw_name
                group = grp.getgrgid(os.getgid()).gr_name
                users = (
                    f"default_login_user = {me}\ndefault_internal_user = {me}\n"
                    f"default_internal_group = {group}\n"
                )
            except KeyError:
                users = ""
        if self.smtp_port is not None:
            submission = f"submission_host = {LOOPBACK}:{self.smtp_port}\n"
        else:
            # Never fall back to the machine's own sendmail.
            submission = f"sendmail_path = {shutil.which('false') or '/bin/false'}\n"
        mechanisms, oauth_passdb = "plain login", ""
        if self.oauth2_introspection_url is not None:
            mechanisms = "plain login xoauth2 oauthbearer"
            (base / "dovecot-oauth2.conf.ext").write_text(
                f"introspection_mode = post\nintrospection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                encoding="utf-8")
            oauth_passdb = (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                            f"  args = {base}/dovecot-oauth2.conf.ext\n}}\n")
        return f"""\
# Generated by inboxd.dev.mailserver for a private test instance; see notes/dovecot-test-server.md.
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
instance_name = devmail-{self.imap_port}
hostname = {_HOSTNAME}
protocols = imap lmtp
listen = {LOOPBACK}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
# Tests log in with wrong passwords on purpose; the default 2 s penalty would only slow them down.
auth_failure_delay = 0
mail_location = maildir:{base}/mail/%u
{users}first_valid_uid = 1
first_valid_gid = 1
{submission}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=plain username_format=%u {base}/users/%u
}}
userdb {{
  driver = static
  args = uid={self._mail_uid} gid={self._mail_gid} home={base}/home/%u
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {LOOPBACK}
    port = {self.lmtp_port}
  }}
}}
service anvil {{
  chroot =
}}
protocol lmtp {{
  mail_plugins = sieve
}}
plugin {{
  sieve = file:{base}/home/%u/sieve;active={base}/home/%u/active.sieve
}}
"""

    def _wait_for_greeting(self, protocol: str, port: int, expected: bytes, deadline: float) -> None:
        last: object = "no attempt"
        delay = 0.005
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise DevmailError(
                    f"dovecot exited with status {self._proc.returncode} while starting\n{self.log_tail()}"
                )
            try:
                remaining = deadline - time.monotonic()
                greeting = _read_greeting(self.host, port, timeout=max(0.1, min(2.0, remaining)))
                if greeting.startswith(expected):
                    return
                last = f"unexpected greeting {greeting!r}"
            except OSError as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise DevmailError(
                    f"dovecot did not greet on {protocol} port {port} in time (last: {last})\n"
                    f"{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _require_running(self) -> None:
        if not self.running:
            raise DevmailError(f"Dovecot in {self.base_dir} is not running")

    # Diagnostics -------------------------------------------------------------------------------------------

    def log_tail(self, lines: int = 25) -> str:
        """Return the last lines of Dovecot's log and of its stderr, for error messages."""
        parts = []
        for path in (self.log_path, self.base_dir / "dovecot.stderr"):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            if text.strip():
                tail = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- {path.name} (last {lines} lines) ---\n{tail}")
        return "\n".join(parts) or f"(nothing logged in {self.base_dir})"

    def log_problems(self, lines: int = 10) -> list[str]:
        """Return the last warnings and errors Dovecot logged (Sieve reports its failures only there)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        problems = [line for line in text.splitlines() if re.search(r"\b(Warning|Error|Fatal|Panic):", line)]
        return problems[-lines:]

    # Users and Sieve ---------------------------------------------------------------------------------------

    def add_user(self, address: str, password: str = "secret") -> None:
        """Create a mailbox user; it can log in and receive mail at once, also while Dovecot runs.

        Each user has a passwd-file of its own: Dovecot checks a passwd-file for changes at most once a
        second, so a user appended to a shared file just after a lookup would stay unknown for up to a second,
        whereas a new file is read on its first lookup. (For the same reason, changing an existing user's
        password may take a second to be seen.)
        """
        _check_address(address)
        if any(ch in password for ch in ":\r\n"):
            raise ValueError("the password must not contain ':' or a line break")
        self._prepare_directories()
        home = self.home(address)
        home.mkdir(parents=True, exist_ok=True)
        self._give_to_mail_user(home)
        # Write, then rename: the auth process must never read a half-written file.
        path = self.users_dir / address
        partial = path.with_name(f".{address}.tmp")
        partial.write_text(f"{address}:{{PLAIN}}{password}\n", encoding="utf-8")
        partial.chmod(0o640)
        if self._as_root:
            os.chown(partial, 0, self._mail_gid)
        partial.replace(path)

    def set_vacation(
        self, address: str, text: str = "I am away until Monday.", subject: str = "Out of office"
    ) -> None:
        """Give a user a Sieve vacation responder (``:days 1``), compiled now so mistakes fail here.

        Sieve answers mail delivered over LMTP, replying to the envelope sender (Return-Path) through
        ``smtp_port``, with ``Auto-Submitted: auto-replied``, and stays silent for automatic mail.
        """
        home = self.home(address)
        self._prepare_directories()
        home.mkdir(parents=True, exist_ok=True)
        self._give_to_mail_user(home)
        script = home / "active.sieve"
        script.write_text(
            f"{_SIEVE_REQUIRE}vacation :days 1 :subject {_sieve_string(subject)} {_sieve_string(text)};\n",
            encoding="utf-8",
        )
        # A stale binary could win over a script rewritten within the same second; compile afresh.
        compiled = home / "active.svbin"
        compiled.unlink(missing_ok=True)
        sievec = shutil.which("sievec") or shutil.which("sievec", path="/usr/bin:/usr/local/bin")
        if sievec is not None:
            result = subprocess.run(
                [sievec, "-c", str(self.config_path), str(script), str(compiled)],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if result.returncode != 0:
                raise DevmailError(
                    f"sievec rejected the vacation script for {address}:\n{result.stdout}{result.stderr}"
                )
        for path in (home, script, compiled):
            if path.exists():
                self._give_to_mail_user(path)

    # Mail --------------------------------------------------------------------------------------------------

    def deliver(self, recipient: str, raw: bytes, sender: str = "") -> None:
        """Deliver a message to one user over LMTP, as an MTA would: Sieve runs, Return-Path is ``sender``.

        smtplib's exceptions propagate (SMTPRecipientsRefused for an unknown user).
        """
        self._require_running()
        with smtplib.LMTP(self.host, self.lmtp_port, local_hostname=_HOSTNAME, timeout=30) as lmtp:
            lmtp.sendmail(sender, [recipient], _crlf(raw))

    @contextmanager
    def imap(self, address: str, password: str = "secret") -> Iterator[IMAPClient]:
        """Yield an IMAPClient logged in as ``address``; logs out afterwards."""
        self._require_running()
        with IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10) as client:
            client.login(address, password)
            yield client

    def append(self, address: str, folder: str, raw: bytes, password: str = "secret",
               received_at: datetime | None = None) -> int:
        """IMAP APPEND a message to ``folder`` (created if missing) and return its UID (from UIDPLUS).

        ``received_at`` sets its INTERNALDATE (when the server says it arrived), e.g. for mail from long ago.
        """
        with self.imap(address, password) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, _crlf(raw), msg_time=received_at)
        text = response.decode("ascii", "replace") if isinstance(response, bytes) else str(response)
        match = re.search(r"APPENDUID \d+ (\d+)", text)
        if match is None:
            raise DevmailError(f"the server did not return APPENDUID: {text!r}")
        return int(match.group(1))

    def fetch_all(
        self, address: str, folder: str = "INBOX", password: str = "secret"
    ) -> list[email.message.EmailMessage]:
        """Return every message in ``folder``, oldest UID first, without marking any as \\Seen."""
        with self.imap(address, password) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return []
            fetched = client.fetch(uids, ["BODY.PEEK[]"])
        return [parse_message(fetched[uid][b"BODY[]"]) for uid in sorted(fetched)]

    def wait_for(
        self,
        address: str,
        folder: str = "INBOX",
        count: int = 1,
        timeout: float = 10.0,
        predicate: Predicate | None = None,
        password: str = "secret",
    ) -> list[email.message.EmailMessage]:
        """Poll until ``folder`` holds at least ``count`` messages (matching ``predicate``); return those.

        Raises AssertionError describing what is there (and what Dovecot complained about) on timeout.
        A folder that does not exist yet counts as empty.
        """
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            problem = ""
            try:
                messages = self.fetch_all(address, folder, password)
            except IMAPClient.Error as exc:
                messages, problem = [], f" ({exc})"
            matching = [m for m in messages if predicate is None or predicate(m)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)
        seen = "\n".join(
            f"  - From: {m['From']!s} | Subject: {m['Subject']!s} | Auto-Submitted: {m['Auto-Submitted']!s}"
            for m in messages
        )
        complaints = "\n".join(f"  {line}" for line in self.log_problems())
        raise AssertionError(
            f"expected at least {count} message(s){' matching the predicate' if predicate else ''} in "
            f"{address} {folder} within {timeout}s; {len(matching)} matching of {len(messages)}{problem}"
            + (f":\n{seen}" if seen else "")
            + (f"\nDovecot log problems:\n{complaints}" if complaints else "")
        )


@dataclass(frozen=True)
class HubMessage:
    """One message the hub accepted: the SMTP envelope, the raw bytes, and who authenticated (if anyone)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None = None

    @property
    def message(self) -> email.message.EmailMessage:
        """The message parsed with ``email.policy.default``."""
        return parse_message(self.data)


class _DeliveryFailed(Exception):
    """Dovecot could not take a message for a reason other than an unknown user."""


class _HubHandler:
    """aiosmtpd handler hooks; the hub itself keeps the state."""

    def __init__(self, hub: SmtpHub) -> None:
        self._hub = hub

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        # AUTH is enforced here rather than with aiosmtpd's auth_required, which warns on every connection
        # when TLS is not required too.
        if self._hub.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._hub._take_failure()
        if failure is not None:
            return failure
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        login = session.auth_data if isinstance(session.auth_data, str) else None
        # aiosmtpd hands over the null reverse-path (vacation replies, bounces) as "<>"; record it as "".
        mail_from = "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from)
        message = HubMessage(mail_from, list(envelope.rcpt_tos), data, login)
        arrival = self._hub._next_arrival()
        dovecot = self._hub.dovecot
        if dovecot is not None:
            # Deliver in a worker thread: Sieve may send a vacation reply to this very hub while the LMTP
            # transaction is open, and the event loop must be free to accept it. Answering and recording
            # only afterwards means that once the client sees 250, or a test sees the message in
            # `messages`, it (and any vacation reply it caused) is in Dovecot.
            try:
                await asyncio.to_thread(_deliver_each, dovecot, message)
            except _DeliveryFailed as exc:
                return f"451 4.3.0 Delivery into Dovecot failed: {exc}"
        self._hub._record(arrival, message)
        return "250 2.0.0 Message accepted"


class _OAuthHubHandler(_HubHandler):
    """The hub's hooks plus AUTH XOAUTH2, checking the bearer token at the introspection endpoint."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> Any:  # noqa: N802 - aiosmtpd's naming
        from aiosmtpd.smtp import AuthResult

        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            fields = dict(part.split("=", 1) for part in base64.b64decode(args[1]).decode().split("\x01") if part)
        except (ValueError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        answer = await asyncio.to_thread(_introspect, str(self._hub.oauth2_introspection_url), token)
        if answer.get("active") is not True or answer.get("username") != user:
            return AuthResult(success=False, handled=False)
        self._hub.oauth_logins += 1
        self._hub.oauth_tokens.add(token)
        return AuthResult(success=True, auth_data=user)


def _introspect(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode({"token": token}).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a loopback test URL
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _deliver_each(dovecot: Dovecot, message: HubMessage) -> None:
    """Deliver to each recipient on its own (smtplib's LMTP mishandles per-recipient DATA replies)."""
    for rcpt in message.rcpt_tos:
        if not (dovecot.users_dir / rcpt.lower()).exists():
            # Not a Dovecot user (a customer elsewhere): recorded by the hub, not delivered.
            continue
        try:
            dovecot.deliver(rcpt, message.data, sender=message.mail_from)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(rcpt, (0, b""))
            if code >= 500:
                # Not a Dovecot user (a customer elsewhere): recorded by the hub, not delivered.
                log.info(
                    "hub.recipient_skipped", recipient=rcpt, code=code, reply=reply.decode("utf-8", "replace")
                )
                continue
            raise _DeliveryFailed(f"{rcpt}: {code} {reply.decode('utf-8', 'replace')}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                log.warning("hub.delivery_refused", recipient=rcpt, code=exc.smtp_code)
                continue
            raise _DeliveryFailed(f"{rcpt}: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException, DevmailError) as exc:
            raise _DeliveryFailed(f"{rcpt}: {exc}") from exc


def _stop_controller(controller: Controller) -> None:
    controller.stop(no_assert=True)


class SmtpHub:
    """An aiosmtpd server on loopback that accepts any mail and delivers each recipient into Dovecot (LMTP).

    A message is delivered before the hub answers 250 and records it in :attr:`messages`, so whatever a test
    sees there is already in the recipients' mailboxes. Recipients that are not Dovecot users (5xx over LMTP)
    are skipped, and logged; if Dovecot cannot be reached, or answers 4xx, the hub answers 451 and records
    nothing. ``dovecot`` may be given later (assign :attr:`dovecot`), which lets the hub bind its port before
    Dovecot is configured to send vacation replies to it.

    AUTH PLAIN/LOGIN is always offered without TLS and accepts any credentials unless ``credentials`` maps
    logins to passwords; ``require_auth`` refuses MAIL FROM before AUTH. ``smtputf8`` offers SMTPUTF8
(RFC 6531), for addresses with a non-ASCII local part. Dovecot's vacation replies never
    authenticate, so point ``Dovecot(smtp_port=...)`` at a hub without ``require_auth``.
    """

    host = LOOPBACK

    def __init__(
        self,
        dovecot: Dovecot | None = None,
        *,
        port: int = 0,
        require_auth: bool = False,
        credentials: dict[str, str] | None = None,
        smtputf8: bool = False,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.dovecot = dovecot
        # With it, AUTH XOAUTH2 is offered and its tokens checked there (RFC 7662 introspection).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.oauth_logins = 0
        self.oauth_tokens: set[str] = set()  # the distinct tokens that logged in (tests: were they refreshed?)
        self.require_auth = require_auth
        self.smtputf8 = smtputf8
        self.credentials = credentials
        self._requested_port = port
        self.port = port
        # (arrival number, message): kept in arrival order although a vacation reply, sent while the
        # message that caused it is still being delivered, is recorded first.
        self._messages: list[tuple[int, HubMessage]] = []
        self._arrivals = itertools.count()
        self._changed = threading.Condition()
        self._failures: list[str] = []
        self._controller: Controller | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def messages(self) -> list[HubMessage]:
        """A snapshot of everything accepted (and delivered) so far, in arrival order; see :meth:`clear`."""
        with self._changed:
            return [message for _, message in self._messages]

    def clear(self) -> None:
        """Forget the messages accepted so far."""
        with self._changed:
            self._messages.clear()

    def fail_next(self, count: int = 1, code: int = 451) -> None:
        """Answer the DATA of the next ``count`` transactions with ``code`` (4xx or 5xx) instead of 250."""
        if not 400 <= code <= 599:
            raise ValueError("code must be a 4xx or 5xx SMTP reply code")
        enhanced = "4.3.0" if code < 500 else "5.3.0"
        with self._changed:
            self._failures.extend([f"{code} {enhanced} Failure injected by the test hub"] * count)

    def wait_for(
        self, count: int, timeout: float = 10.0, predicate: Callable[[HubMessage], bool] | None = None
    ) -> list[HubMessage]:
        """Wait until at least ``count`` accepted messages (matching ``predicate``) exist and return them.

        Raises AssertionError listing what arrived on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                everything = [message for _, message in self._messages]
                matching = [m for m in everything if predicate is None or predicate(m)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        if len(matching) >= count:
            return matching
        seen = "\n".join(
            f"  - MAIL FROM:<{m.mail_from}> RCPT TO:{m.rcpt_tos} Subject: {m.message['Subject']!s}"
            for m in everything
        )
        matching_text = " matching the predicate" if predicate else ""
        raise AssertionError(
            f"expected at least {count} message(s){matching_text} at the hub within {timeout}s; "
            f"got {len(matching)} of {len(everything)}" + (f":\n{seen}" if seen else "")
        )

    def start(self) -> Self:
        """Start serving in a background thread; with ``port=0`` pick a free port (see :attr:`port`)."""
        if self._controller is not None:
            raise DevmailError("the hub is already running")
        from aiosmtpd.controller import Controller

        attempts = 5 if self._requested_port == 0 else 1
        for attempt in range(attempts):
            port = self._requested_port or free_port()
            controller = Controller(
                _OAuthHubHandler(self) if self.oauth2_introspection_url else _HubHandler(self),
                hostname=LOOPBACK,
                port=port,
                server_hostname=_HOSTNAME,
                ready_timeout=10.0,
                auth_require_tls=False,
                authenticator=self._authenticate,
                decode_data=False,
                enable_SMTPUTF8=self.smtputf8,
            )
            try:
                controller.start()
            except OSError as exc:
                # Another process took the port between free_port() and bind(): try another one.
                if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
                continue
            break
        self.port = port
        self._controller = controller
        self._finalizer = weakref.finalize(self, _stop_controller, controller)
        log.info("hub.started", port=self.port, require_auth=self.require_auth)
        return self

    def stop(self) -> None:
        """Stop serving; safe to call more than once, or before start()."""
        if self._finalizer is not None:
            self._finalizer()
        self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        if self.credentials is not None and self.credentials.get(login) != password:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=login)

    def _take_failure(self) -> str | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _next_arrival(self) -> int:
        with self._changed:
            return next(self._arrivals)

    def _record(self, arrival: int, message: HubMessage) -> None:
        with self._changed:
            bisect.insort(self._messages, (arrival, message), key=lambda entry: entry[0])
            self._changed.notify_all()
