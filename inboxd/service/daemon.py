"""The daemon's lifecycle: start, watch, send, tick, reload on SIGHUP, stop on SIGTERM.

Threads: one watcher per watched folder (IMAP IDLE, or polling where the server has no IDLE),
one outbox sender, and APScheduler's timers, which hold no state — they only wake the watchers
(poll fallback), the sender (retries that came due), the tick (promises that came due) and the
systemd watchdog. Everything that matters lives in the database, so a restart loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from inboxd.config import Config, MailboxConfig, load_config, resolve_secret
from inboxd.core.backoff import Backoff
from inboxd.core.clock import Clock, SystemClock
from inboxd.core.language import load_detector
from inboxd.core.status import HEARTBEAT_SECONDS
from inboxd.core.status import status_line as format_status_line
from inboxd.errors import AuthError, ConfigError, FolderMissing, ImapError, InboxdError, SecretError, TransientError
from inboxd.mail.classify import FolderRole
from inboxd.service.detector import use_cached_detector
from inboxd.service.duework import run_tick
from inboxd.service.forecast import TickForecast
from inboxd.service.ingest import Processor
from inboxd.service.mailer import queue_template_mail, staff_recipients
from inboxd.service.nodes import CLAIM_SECONDS, Coordinator, DaemonLock
from inboxd.service.outbox import Sender
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.service.sdnotify import Notifier
from inboxd.service.weekly import run_weekly_report
from inboxd.store import nodes as store_nodes
from inboxd.store import repo
from inboxd.store import status as status_store
from inboxd.store.db import _sqlite_path, make_engine, migrate
from inboxd.store.schema import watch_status
from inboxd.transport.imap import FolderStatus as ImapFolderStatus
from inboxd.transport.imap import ImapConnection, ImapSettings
from inboxd.transport.oauth import TokenSource
from inboxd.transport.smtp import SmtpConnection, SmtpSettings
from inboxd.transport.tokens import TokenSources, expiring_logins, grant_fingerprint, state_directory
from inboxd.web.server import Metrics, StatusServer

log = structlog.get_logger("inboxd.service.daemon")

FETCH_BATCH = 100
# Re-issue IDLE well inside the 29 minutes RFC 2177 allows, and often enough that a connection that died
# without a word (a NAT or firewall dropping it) is noticed within this and one IMAP timeout.
IDLE_RENEW_SECONDS = 120.0
# A watcher whose loop has not come round for this long (and at least three IMAP timeouts) is wedged: the
# daemon stops feeding systemd's watchdog, so that systemd restarts it. Waiting out a backoff is not wedged:
# the wait beats too.
WEDGED_SECONDS = 90.0
# After IDLE begins, look again at these intervals (doubling) up to the last: see FolderWatcher._idle.
IDLE_RECHECK_FIRST = 0.2
IDLE_RECHECK_LAST = 3.2
START_GRACE = timedelta(minutes=1)


def imap_settings(mailbox: MailboxConfig, token: TokenSource | None = None) -> ImapSettings:
    imap = mailbox.imap
    oauth = mailbox.auth is not None and token is not None
    return ImapSettings(host=imap.host, port=int(imap.port or 993), security=imap.security,
                        username=mailbox.oauth_username if oauth else imap.username,
                        secret="" if oauth else resolve_secret(imap), oauth2=imap.oauth2,
                        timeout=imap.timeout.as_timedelta().total_seconds(), verify_tls=imap.verify_tls,
                        ca_file=imap.ca_file, token=token.token if oauth and token is not None else None,
                        mechanism=mailbox.auth.imap_mechanism if mailbox.auth is not None else "xoauth2")


def smtp_settings(mailbox: MailboxConfig, token: TokenSource | None = None) -> SmtpSettings:
    smtp = mailbox.smtp
    secret = resolve_secret(smtp) if smtp.username and smtp.secret_keys else None
    username = smtp.username
    login_with: Callable[[bool], str] | None = None
    if mailbox.auth is not None and token is not None:
        username, login_with = smtp.username or mailbox.oauth_username, token.token
    elif smtp.oauth2 and secret is not None:
        # The deprecated static access token (smtp.oauth2): used as it is, with XOAUTH2.
        static = secret
        login_with = lambda _force: static  # noqa: E731
    return SmtpSettings(host=smtp.host, port=int(smtp.port or 587), security=smtp.security,
                        username=username, secret=secret,
                        timeout=smtp.timeout.as_timedelta().total_seconds(), verify_tls=smtp.verify_tls,
                        ca_file=smtp.ca_file, token=login_with)


def watched_folders(config: Config) -> list[tuple[str, FolderRole, str]]:
    """(mailbox name, role, folder) for every folder inboxd watches."""
    result: list[tuple[str, FolderRole, str]] = []
    for mailbox in config.mailboxes:
        result.append((mailbox.name, "inbox", mailbox.imap.folders.inbox))
        if mailbox.imap.folders.sent:
            result.append((mailbox.name, "sent", mailbox.imap.folders.sent))
    return result


@dataclass
class FolderStatus:
    up: bool = False
    idle: bool = False
    last_poll: datetime | None = None
    error: str | None = None
    processed: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    connects: int = 0  # connection attempts, successful or not
    heartbeat: float = field(default_factory=time.monotonic)  # time.monotonic() of the loop's last round


def sync_folder(conn: ImapConnection, processor: Processor, mailbox: MailboxConfig, role: FolderRole,
                folder: str, store: repo.Store, clock: Clock,
                should_stop: Callable[[], bool] = lambda: False) -> int:
    """Fetch and process every message above the watermark; return how many were processed.

    Raises FolderMissing when the folder does not exist (the caller reports it and retries later).
    """
    status = conn.select(folder)
    with store.connect() as db:
        state = repo.get_folder_state(db, mailbox.name, folder)
        started_at = status_store.first_start(db, mailbox.name, folder)
    if state is None:
        # First sync of this folder: "all" takes every message; "new" the mail that arrived since inboxd was
        # first started (recorded before any login), even when the first login succeeded only later.
        start = 0 if mailbox.imap.initial_sync == "all" else _start_after(conn, status, started_at)
        with store.begin() as db:
            repo.set_folder_state(db, mailbox.name, folder, status.uidvalidity, start, clock.now())
        log.info("folder.first_sync", mailbox=mailbox.name, folder=folder, starting_after_uid=start,
                 initial_sync=mailbox.imap.initial_sync, first_started=started_at)
        last_uid = start
    elif state.uidvalidity != status.uidvalidity:
        # The server renumbered the folder: rescan it all; Message-ID + content hash dedupe.
        log.warning("folder.uidvalidity_changed", mailbox=mailbox.name, folder=folder,
                    old=state.uidvalidity, new=status.uidvalidity)
        last_uid = 0
    else:
        last_uid = state.last_uid
        with store.begin() as db:
            repo.touch_folder(db, mailbox.name, folder, clock.now())
    if status.uidnext is not None and status.uidnext - 1 <= last_uid:
        return 0
    uids = conn.uids_above(last_uid)
    done = 0
    for start in range(0, len(uids), FETCH_BATCH):
        chunk = uids[start:start + FETCH_BATCH]
        fetched = conn.fetch_arrived(chunk)
        for uid in chunk:
            if should_stop():
                return done
            if uid not in fetched:
                continue  # expunged between SEARCH and FETCH
            raw, arrived_at = fetched[uid]
            processor.process(mailbox, role, folder, status.uidvalidity, uid, raw, arrived_at=arrived_at,
                              watch_started_at=started_at)
            done += 1
    return done


def _start_after(conn: ImapConnection, status: ImapFolderStatus, started_at: datetime | None) -> int:
    """The UID after which "initial_sync: new" starts: before the first message that arrived since ``started_at``.

    IMAP's SEARCH SINCE takes a date (in the server's zone), so the day before is searched and the arrival
    times (INTERNALDATE, whole seconds) filtered here.
    """
    if status.uidnext is not None:
        newest = status.uidnext - 1
    else:
        uids = conn.uids_above(0)
        newest = uids[-1] if uids else 0
    if started_at is None:
        return max(0, newest)
    # A minute's grace for a server clock running behind ours: rather take a message from just before the start.
    since = started_at.replace(microsecond=0) - START_GRACE
    arrived = conn.arrival_times_since((since - timedelta(days=1)).date())
    new = [uid for uid, at in arrived.items() if at >= since]
    return max(0, min(new) - 1) if new else max(0, newest)


class FolderWatcher(threading.Thread):
    """Keeps one folder in sync: IDLE where the server has it, polling otherwise; reconnects with backoff.

    The backoff grows with every failure (a connection that fails, drops, or a sync that cannot complete) and
    is reset only when a sync completed: a login that succeeds while processing keeps failing (the database is
    full, say) must not turn into a login a second.
    """

    def __init__(self, daemon: Daemon, mailbox_name: str, role: FolderRole, folder: str) -> None:
        super().__init__(name=f"watch-{mailbox_name}-{role}", daemon=True)
        self.d = daemon
        self.mailbox_name, self.role, self.folder = mailbox_name, role, folder
        self.status = FolderStatus()
        self.wake_event = threading.Event()
        self.stop_event = threading.Event()
        self._conn: ImapConnection | None = None
        self._busy = False  # processing fetched messages: let the message in hand finish
        self._backoff = Backoff(base=1.0, cap=300.0)
        self._shown = (False, True)  # (idle, never polled) as last published
        self._retry_event = threading.Event()

    def wake(self) -> None:
        self.wake_event.set()

    def retry_now(self) -> None:
        """Cut a backoff short (the admin reloaded the configuration, perhaps with a fixed password)."""
        self._retry_event.set()
        self.wake_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()
        conn = self._conn
        if conn is not None and not self._busy:
            conn.interrupt()

    def alive(self, wedged_after: float = WEDGED_SECONDS) -> bool:
        """Whether the thread runs and its loop came round recently (for systemd's watchdog)."""
        return self.is_alive() and time.monotonic() - self.status.heartbeat < wedged_after

    def _beat(self) -> None:
        self.status.heartbeat = time.monotonic()

    def _set(self, up: bool, error: str | None = None) -> None:
        """Record the folder's state; tell the daemon when it changed, so status shows it at once."""
        status = self.status
        changed = (status.up, status.error, status.idle, status.last_poll is None) != (up, error, *self._shown)
        status.up, status.error = up, error
        self._shown = (status.idle, status.last_poll is None)
        if error is not None:
            status.last_error, status.last_error_at = error, self.d.clock.now()
            self.d.metrics.imap_errors.labels(self.mailbox_name).inc()
        if changed:
            self.d.publish_status()

    def _pause(self, seconds: float) -> None:
        """Wait (a backoff), beating the heartbeat, until the time is up or the watcher is stopped."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            self._beat()
            remaining = deadline - time.monotonic()
            if self._retry_event.is_set():
                self._retry_event.clear()
                return
            if remaining <= 0:
                return
            self.stop_event.wait(min(remaining, 1.0))

    def run(self) -> None:
        backoff = self._backoff
        while not self.stop_event.is_set():
            self._beat()
            mailbox = self.d.runtime.mailbox(self.mailbox_name)
            conn: ImapConnection | None = None
            connected = False
            try:
                conn = self._conn = ImapConnection(imap_settings(mailbox, self.d.tokens.get(mailbox)))
                self.status.connects += 1
                conn.connect()
                connected = True
                self._set(True)
                log.info("imap.connected", mailbox=self.mailbox_name, folder=self.folder, idle=conn.idle_supported)
                self._serve(conn, mailbox)
            except FolderMissing as exc:
                self._set(False, str(exc))
                log.warning("folder.missing", mailbox=self.mailbox_name, folder=self.folder, error=str(exc))
                self._pause(60.0)
            except (TransientError, AuthError, SecretError) as exc:
                if self.stop_event.is_set():
                    break
                self._set(False, str(exc))
                delay = backoff.next_delay() * (5 if isinstance(exc, AuthError | SecretError) else 1)
                # A connection that was up and dropped is a disconnection; one that could not be made, unavailable.
                event = "imap.disconnected" if connected else "imap.unavailable"
                log.warning(event, mailbox=self.mailbox_name, folder=self.folder, error=str(exc),
                            retry_in=round(delay, 1))
                self._pause(delay)
            except Exception:  # noqa: BLE001 - a bug must not silently end the watcher
                self._set(False, "internal error")
                log.exception("watcher.crashed", mailbox=self.mailbox_name, folder=self.folder)
                self._pause(backoff.next_delay())
            finally:
                self._conn = None
                if conn is not None:
                    conn.close()
        self.status.up = False
        self.d.publish_status()

    def _serve(self, conn: ImapConnection, mailbox: MailboxConfig) -> None:
        use_idle = conn.idle_supported and mailbox.imap.idle
        self.status.idle = use_idle
        poll = mailbox.imap.poll_interval.as_timedelta().total_seconds()

        def should_stop() -> bool:
            self._beat()
            # Several daemons: a mailbox is served only while this daemon's lease on it stands.
            return self.stop_event.is_set() or not self.d.may_watch(self.mailbox_name)

        while not self.stop_event.is_set():
            self._beat()
            self.wake_event.clear()
            self._busy = True
            try:
                count = sync_folder(conn, self.d.processor, mailbox, self.role, self.folder, self.d.store,
                                    self.d.clock, should_stop)
            except ImapError:
                raise
            except (TransientError, DBAPIError) as exc:
                # Processing failed for a reason of our own (the database, the disk): the watermark stayed, so
                # the same messages are tried again after a backoff, over the same connection while it lasts.
                delay = self._backoff.next_delay()
                error = str(exc) if isinstance(exc, TransientError) else f"database: {str(exc).splitlines()[0]}"
                self._set(True, f"processing: {error}")
                log.warning("ingest.deferred", mailbox=self.mailbox_name, folder=self.folder, error=error,
                            retry_in=round(delay, 1))
                self._pause(delay)
                continue
            finally:
                self._busy = False
            if not self.d.may_watch(self.mailbox_name):
                # This daemon's lease is in doubt (a heartbeat is late): the sync stopped short. Wait until the
                # heartbeat renews it (then sync again) or the coordinator hands the mailbox over (stop).
                self._pause(1.0)
                continue
            self._backoff.reset()
            self.status.last_poll = self.d.clock.now()
            self.status.processed += count
            self._set(True)
            if self.d.runtime.mailbox(self.mailbox_name) is not mailbox:
                return  # the configuration was reloaded: reconnect with the new settings
            if count:
                # Mail that arrived while this sync ran was announced (EXISTS) during its FETCHes, not in the
                # IDLE that follows: look again until a sync finds nothing new.
                continue
            if use_idle:
                if conn.arrived_since_last_command():
                    continue  # mail arrived after the sync looked: sync again before going to IDLE
                self._idle(conn)
            else:
                deadline = time.monotonic() + poll
                while not self.wake_event.is_set() and time.monotonic() < deadline:
                    self._beat()
                    self.wake_event.wait(min(1.0, max(0.0, deadline - time.monotonic())))

    def _idle(self, conn: ImapConnection) -> None:
        """Wait in IDLE until the server announces mail; look again (end IDLE, NOOP) 0.2 s, 0.6 s, 1.4 s … after
        it began: mail delivered just before IDLE is not always announced in it (the server watches for changes
        from then on, and Dovecot holds its notification back half a second), and mail comes in bursts."""
        started = time.monotonic()
        recheck: float | None = IDLE_RECHECK_FIRST
        next_check = started + IDLE_RECHECK_FIRST
        try:
            while not self.stop_event.is_set() and not self.wake_event.is_set():
                self._beat()
                wait = 1.0 if recheck is None else min(1.0, max(0.02, next_check - time.monotonic()))
                if conn.idle_wait(timeout=wait):
                    return
                if recheck is not None and time.monotonic() >= next_check:
                    if conn.recheck():
                        return
                    recheck *= 2
                    if recheck > IDLE_RECHECK_LAST:
                        recheck = None
                    next_check = time.monotonic() + (recheck or 0.0)
                if time.monotonic() - started > IDLE_RENEW_SECONDS:
                    return
        finally:
            conn.end_idle()


class Daemon:
    """The running service."""

    def __init__(self, config_path: Path, database_url: str, clock: Clock | None = None) -> None:
        self.config_path = config_path
        self.database_url = database_url
        self.clock: Clock = clock or SystemClock()
        config = load_config(config_path)
        self.runtime: Runtime = build_runtime(config, config_path.parent)
        self.store = repo.Store(make_engine(database_url))
        self.outbox_event = threading.Event()
        self.stop_event = threading.Event()
        self.processor = Processor(self.store, lambda: self.runtime, self.clock, self.outbox_event.set)
        self.forecast = TickForecast()  # the tick's model for delay notices, refitted when its inputs change
        self.sender = Sender(self.store, lambda: self.runtime, self.clock, self._smtp_for, self._imap_for)
        self.watchers: list[FolderWatcher] = []
        self.notifier = Notifier()
        self.scheduler: BackgroundScheduler | None = None
        self._sender_thread: threading.Thread | None = None
        self._reload_requested = threading.Event()
        self.reload_rejected: str | None = None  # why the last reload was refused: the old config runs
        self.node = f"{socket.gethostname()}:{os.getpid()}"
        self._status_lock = threading.Lock()
        self.wedged_after: float | None = None  # how long a watcher may go without coming round; None: default
        self.sender.on_state_change = self.publish_status
        self.metrics = Metrics(self.store)
        self.sender.on_error = lambda mailbox: self.metrics.smtp_errors.labels(mailbox).inc()
        self.http: StatusServer | None = None
        self._chart_cache: Any = None  # inboxd.web.page.ChartCache, made on the first view of the page
        self.tokens = TokenSources(state_directory(database_url), self._token_changed)
        # Several daemons on PostgreSQL: membership, mailbox leases and the tick's leader (inboxd.service.nodes).
        self.cluster: Coordinator | None = None
        self._daemon_lock: DaemonLock | None = None  # SQLite: one daemon per database file
        self._watchers_lock = threading.RLock()

    # -- connections -----------------------------------------------------------------------------

    def _smtp_for(self, mailbox: str) -> SmtpConnection:
        config = self.runtime.mailbox(mailbox)
        return SmtpConnection(smtp_settings(config, self.tokens.get(config)))

    def _imap_for(self, mailbox: str) -> ImapConnection:
        config = self.runtime.mailbox(mailbox)
        return ImapConnection(imap_settings(config, self.tokens.get(config)))

    def _token_changed(self, mailbox: str, source: TokenSource) -> None:
        """A mailbox's OAuth tokens failed or recovered: show it, and tell the leads once about a lost grant."""
        if source.error is None:
            log.info("oauth.token_recovered", mailbox=mailbox)
        else:
            log.warning("oauth.token_failed", mailbox=mailbox, error=source.error)
        self.publish_status()
        if source.grant_error is not None:
            try:
                self._alert_grant(mailbox, source.grant_error)
            except Exception as exc:  # noqa: BLE001 - the alert waits for the next failure; status shows it
                log.warning("oauth.alert_failed", mailbox=mailbox, error=str(exc))

    def _check_login_expiry(self) -> None:
        """Tell the leads once about a stored sign-in whose refresh token expires within a week."""
        try:
            for name, expiry in expiring_logins(self.runtime.config.mailboxes, self.tokens.state_dir, time.time()):
                when = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%d %H:%M UTC")
                self._alert(name, key=f"alert:oauth_expiry:{name}:{int(expiry) // 3600}",
                            subject=f"Mailbox {name}: its OAuth sign-in expires {when}",
                            headline=f"The stored sign-in of {self.runtime.mailbox(name).address} expires {when}; "
                                     "after that inboxd cannot read or send its mail.",
                            lines=[f"To renew it: inboxd auth login {name}, then: systemctl reload inboxd"])
        except Exception as exc:  # noqa: BLE001 - checked again on the next tick
            log.warning("oauth.expiry_check_failed", error=str(exc))

    def _alert(self, mailbox: str, *, key: str, subject: str, headline: str, lines: list[str]) -> None:
        rt = self.runtime
        recipients = staff_recipients(rt)
        if not recipients:
            return
        # Send through a mailbox whose login works, if there is one: this one's may be the one that fails.
        failing = {name for name, source in self.tokens.items() if source.error is not None}
        sender = next((m for m in rt.config.mailboxes if m.name not in failing), rt.mailbox(mailbox))
        with self.store.begin() as conn:
            queued = queue_template_mail(
                conn, rt, sender, key=key, kind="alert", to=recipients, template="alert",
                language=rt.config.team.language_for(recipients),
                now=self.clock.now(), case_id=None, from_name=f"inboxd ({rt.config.team.name})",
                context={"subject": subject, "headline": headline, "lines": lines, "token": None})
        if queued:
            log.warning("oauth.lead_alerted", mailbox=mailbox, about=key.split(":")[1])
            self.outbox_event.set()

    def _alert_grant(self, mailbox: str, error: Exception) -> None:
        config = self.runtime.mailbox(mailbox)
        if config.auth is None:
            return
        fix = (f"inboxd auth login {mailbox}" if config.auth.flow == "delegated"
               else "grant the application access again (see the README's OAuth section), then: "
                    "systemctl reload inboxd")
        self._alert(mailbox, key=f"alert:oauth_grant:{mailbox}:{grant_fingerprint(config, self.tokens.state_dir)}",
                    subject=f"Mailbox {mailbox} cannot log in: its OAuth grant was refused",
                    headline=f"inboxd cannot get an access token for {config.address}; mail to it waits on the "
                             "server and nothing is lost.",
                    lines=[f"Reason: {str(error)[:300]}", f"To fix it: {fix}"])

    # -- lifecycle -------------------------------------------------------------------------------

    def prepare(self) -> None:
        before, after = migrate(self.store.engine)
        if before != after:
            log.info("database.migrated", before=before, after=after)
        with self.store.begin() as conn:
            secret = repo.message_id_secret(conn)
        self.runtime = replace(self.runtime, message_id_secret=secret)
        # Other daemons open cases too: the forecast counts the queue in the database, not in this process.
        self.processor.forecaster.shared = self.store.engine.dialect.name == "postgresql"
        # The language detector's model, loaded while the watchers log in and fetch (the first message waits
        # for it, if it comes first).
        use_cached_detector()  # before any watcher runs: the first message may load it
        threading.Thread(target=self._load_detector, name="load-detector", daemon=True).start()
        if self.store.engine.dialect.name == "sqlite":
            # One daemon per SQLite file: claims left by a previous run of this daemon are ours to retry.
            with self.store.begin() as conn:
                released = repo.release_sending(conn, self.clock.now())
                repo.release_claims(conn)
            if released:
                log.warning("outbox.released_after_restart", count=released)
        self._record_first_starts()

    @staticmethod
    def _load_detector() -> None:
        try:
            load_detector()
        except Exception:  # noqa: BLE001 - the first message tries again, and is quarantined if it fails
            log.exception("language.detector_failed")

    def _record_first_starts(self) -> None:
        """Record when each folder was first watched ("initial_sync: new" starts there), before any login."""
        with self.store.begin() as conn:
            for name, _role, folder in watched_folders(self.runtime.config):
                status_store.record_first_start(conn, name, folder, self.clock.now())

    def start(self) -> None:
        path = _sqlite_path(self.database_url) if self.store.engine.dialect.name == "sqlite" else None
        if path is not None:
            self._daemon_lock = DaemonLock(path)
            self._daemon_lock.acquire()  # before prepare(): it hands the outbox claims of a previous run back
        self.prepare()
        self._start_http()
        if self.store.engine.dialect.name == "postgresql":
            self._join_cluster()
        else:
            self._start_watchers()
        self._sender_thread = threading.Thread(target=self._sender_loop, name="outbox", daemon=True)
        self._sender_thread.start()
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler.add_job(self.outbox_event.set, "interval", seconds=5, id="outbox")
        self.scheduler.add_job(self._poll_all, "interval", seconds=self._poll_seconds(), id="poll")
        self.scheduler.add_job(self.tick, "interval", seconds=30, id="tick")
        self.scheduler.add_job(self._report, "interval", seconds=self._report_seconds(), id="report")
        self.publish_status()
        self.scheduler.start()
        self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
        self._check_login_expiry()
        log.info("daemon.started", mailboxes=[m.name for m in self.runtime.config.mailboxes],
                 folders=len(self.watchers), database=self.store.engine.dialect.name)
        for mailbox in self.runtime.config.mailboxes:
            if mailbox.imap.oauth2 or mailbox.smtp.oauth2:
                log.warning("config.deprecated", mailbox=mailbox.name,
                            problem="imap.oauth2/smtp.oauth2 take a static access token that expires; use auth "
                                    "(OAuth 2.0, see the README)")

    def _start_http(self) -> None:
        address = self.runtime.config.status_page.address
        if address is None:
            return
        try:
            self.http = StatusServer(*address, health=self.health, metrics=self.metrics, page=self.status_page)
        except OSError as exc:  # the port is taken, or the address is not this host's
            raise ConfigError([f"status_page.listen: cannot listen on {self.runtime.config.status_page.listen}: "
                               f"{exc.strerror or exc}"]) from None
        self.http.start()
        log.info("http.listening", host=self.http.host, port=self.http.port)

    def status_page(self) -> str:
        from inboxd.web.page import ChartCache, gather, render_page

        if self._chart_cache is None:
            self._chart_cache = ChartCache()
        with self.store.connect() as conn:
            return render_page(gather(conn, self.runtime, self.clock.now(), chart_cache=self._chart_cache))

    def _poll_seconds(self) -> float:
        return min(m.imap.poll_interval.as_timedelta().total_seconds() for m in self.runtime.config.mailboxes)

    def _report_seconds(self) -> float:
        interval = self.notifier.watchdog_interval()
        return max(1.0, min(interval, HEARTBEAT_SECONDS)) if interval else HEARTBEAT_SECONDS

    def _join_cluster(self) -> None:
        """Several daemons may share this database: serve the mailboxes whose lease this daemon holds."""
        cluster = self.cluster = Coordinator(
            self.store, mailboxes=lambda: [m.name for m in self.runtime.config.mailboxes],
            on_acquire=self._serve_mailbox, on_release=self._leave_mailbox, renew_claims=self._renew_claims)
        self.sender.worker = cluster.name
        self.processor.fence = cluster.fence
        self.sender.claim_lease = timedelta(seconds=CLAIM_SECONDS)
        self.sender.owns = cluster.serves
        # Each daemon sends the mail of the mailboxes it serves: one SMTP session per mailbox and batch, as alone.
        self.sender.sends_for = lambda: [m.name for m in self.runtime.config.mailboxes if cluster.serves(m.name)]
        cluster.start()
        log.info("nodes.joined", node=cluster.name, serving=sorted(cluster.held()))

    def may_watch(self, mailbox: str) -> bool:
        """Whether this daemon serves the mailbox now (always, alone with its database)."""
        return self.cluster is None or self.cluster.serves(mailbox)

    def _renew_claims(self, conn: Any) -> None:
        assert self.cluster is not None
        store_nodes.renew_outbox_claims(conn, self.sender.in_flight, self.cluster.name,
                                        self.clock.now() + timedelta(seconds=CLAIM_SECONDS))

    def _serve_mailbox(self, name: str) -> None:
        log.info("mailbox.serving", mailbox=name, node=self.cluster.name if self.cluster else self.node)
        self._start_watchers(only={name})
        self.outbox_event.set()

    def _leave_mailbox(self, name: str) -> None:
        with self._watchers_lock:
            leaving = [w for w in self.watchers if w.mailbox_name == name]
        # Bounded: the heartbeat waits meanwhile. A watcher still busy after this is fenced out by the lease.
        self._join_watchers(leaving, timeout=5.0)
        log.info("mailbox.left", mailbox=name, node=self.cluster.name if self.cluster else self.node)
        self.publish_status()

    def _start_watchers(self, only: set[str] | None = None) -> None:
        with self._watchers_lock:
            for name, role, folder in watched_folders(self.runtime.config):
                if only is not None and name not in only:
                    continue
                watcher = FolderWatcher(self, name, role, folder)
                watcher.start()
                self.watchers.append(watcher)

    def _stop_watchers(self, timeout: float = 20.0) -> None:
        with self._watchers_lock:
            leaving = list(self.watchers)
        self._join_watchers(leaving, timeout)

    def _join_watchers(self, watchers: list[FolderWatcher], timeout: float = 20.0) -> None:
        """Stop these watchers and wait for them (each reports itself down on the way out), then forget them."""
        for watcher in watchers:
            watcher.stop()
        deadline = time.monotonic() + timeout
        for watcher in watchers:
            watcher.join(max(0.1, deadline - time.monotonic()))
        with self._watchers_lock:
            self.watchers = [w for w in self.watchers if w not in watchers]

    def _poll_all(self) -> None:
        for watcher in self.watchers:
            if not watcher.status.idle:
                watcher.wake()

    def _sender_loop(self) -> None:
        while not self.stop_event.is_set():
            self.outbox_event.wait(5.0)
            self.outbox_event.clear()
            if self.stop_event.is_set():
                break
            if self.cluster is not None and not self.cluster.alive():
                continue  # cut off from the database: our claims may lapse, so nothing is sent
            try:
                result = self.sender.flush(should_stop=self._sender_should_stop)
                if result.sent == 200:
                    self.outbox_event.set()  # more may be waiting
            except TransientError as exc:  # the database is down or full: nothing was lost, it is tried again
                log.warning("outbox.flush_deferred", error=str(exc))
                self.stop_event.wait(5.0)
            except Exception:  # noqa: BLE001
                log.exception("outbox.flush_failed")
                self.stop_event.wait(5.0)
        self.sender.close()

    def _sender_should_stop(self) -> bool:
        return self.stop_event.is_set() or (self.cluster is not None and not self.cluster.alive())

    def tick(self) -> None:
        if self.cluster is not None and not self.cluster.leads():
            return  # another daemon holds the tick
        with self.metrics.tick_seconds.time():
            self._tick()

    def _tick(self) -> None:
        """Logins about to expire, then the tick's three steps (:func:`inboxd.service.duework.run_tick`)."""
        self._check_login_expiry()
        if self.cluster is None:
            queued = run_tick(self.store, lambda: self.runtime, self.clock, forecast=self.forecast)
        else:  # several daemons: due items are claimed in the node's name, with a lease its heartbeat renews
            queued = run_tick(self.store, lambda: self.runtime, self.clock, worker=self.cluster.name,
                              lease=timedelta(seconds=CLAIM_SECONDS), forecast=self.forecast)
        if queued:
            self.outbox_event.set()
        try:
            if run_weekly_report(self.store, self.runtime, self.clock.now()):
                self.outbox_event.set()
        except TransientError as exc:  # the database is down or full: nothing was lost, it is tried again
            log.warning("report.deferred", error=str(exc))
        except Exception:  # noqa: BLE001 - tried again on the next tick; the idempotency key keeps it to one
            log.exception("report.failed")

    def status_line(self) -> str:
        try:
            with self.store.connect() as conn:
                counts = repo.outbox_counts(conn, ("pending", "sending", "failed"))
                quarantined = sum(status_store.quarantine_counts(conn).values())
            queue = counts.get("pending", 0) + counts.get("sending", 0)
            failed = counts.get("failed", 0)
        except Exception:  # noqa: BLE001
            queue, failed, quarantined = -1, 0, 0
        folders = [(w.status.up, w.status.last_poll, w.status.error) for w in self.watchers]
        smtp = [state.error for state in self.sender.smtp_state.values() if state.error]
        line = format_status_line(folders, queue, failed, quarantined, smtp)
        cluster = self.cluster
        if cluster is not None:  # several daemons: what this one serves of the configured mailboxes
            names = [m.name for m in self.runtime.config.mailboxes]
            served = sum(1 for name in names if cluster.serves(name))
            line += f"; serving {served} of {len(names)} mailboxes{', tick leader' if cluster.leads() else ''}"
        return f"{line}; {self.reload_rejected}, running on the previous one" if self.reload_rejected else line

    def status_rows(self) -> list[dict[str, Any]]:
        """The rows ``inboxd status`` reads: one per watched folder and one per mailbox's SMTP server."""
        # Wall-clock time, whatever clock the daemon runs on: another process compares it with its own now.
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        for w in list(self.watchers):
            s = w.status
            rows.append({"mailbox": w.mailbox_name, "channel": f"imap:{w.folder}", "node": self.node,
                         "up": s.up, "mode": "idle" if s.idle else "poll", "last_poll_at": s.last_poll,
                         "error": s.error, "last_error": s.last_error, "last_error_at": s.last_error_at,
                         "updated_at": now})
        for name, state in list(self.sender.smtp_state.items()):
            rows.append({"mailbox": name, "channel": "smtp", "node": self.node, "up": state.error is None,
                         "mode": None, "last_poll_at": None, "error": state.error, "last_error": state.last_error,
                         "last_error_at": state.last_error_at, "updated_at": now})
        for name, source in self.tokens.items():
            rows.append({"mailbox": name, "channel": "oauth", "node": self.node, "up": source.error is None,
                         "mode": None, "last_poll_at": None, "error": source.error, "last_error": source.error,
                         "last_error_at": None, "updated_at": now})
        return rows

    def publish_status(self) -> None:
        """Write the watchers' state for ``inboxd status`` (on change and on the heartbeat); never raises."""
        try:
            config = self.runtime.config
            keep = {(name, f"imap:{folder}") for name, _role, folder in watched_folders(config)}
            keep |= {(m.name, "smtp") for m in config.mailboxes}
            keep |= {(m.name, "oauth") for m in config.mailboxes if m.auth is not None}
            with self._status_lock, self.store.begin() as conn:
                status_store.write_status(conn, self.status_rows(), keep)
        except Exception as exc:  # noqa: BLE001 - status must not take a watcher down (the database may be full)
            log.warning("status.write_failed", error=str(exc))

    def healthy(self) -> bool:
        """Every watcher and the outbox sender run and none is wedged (a watcher in backoff is healthy)."""
        imap_timeout = max((m.imap.timeout.as_timedelta().total_seconds() for m in self.runtime.config.mailboxes),
                           default=30.0)
        wedged_after = self.wedged_after or max(WEDGED_SECONDS, 3 * imap_timeout)
        sender_ok = self._sender_thread is None or self._sender_thread.is_alive()
        return sender_ok and all(w.alive(wedged_after) for w in self.watchers)

    def health(self) -> tuple[bool, str]:
        """For ``/healthz``: every watcher alive and the database answering, else why not."""
        try:
            with self.store.connect() as conn:
                conn.execute(select(watch_status.c.id).limit(1)).all()
        except Exception as exc:  # noqa: BLE001 - any failure to answer is the database being unavailable
            return False, repo.describe_fault(exc)
        if not self.healthy():
            stuck = [w.name for w in self.watchers if not w.alive(self.wedged_after or WEDGED_SECONDS)]
            return False, f"not healthy: {', '.join(stuck) or 'outbox sender'} not running"
        return True, "ok"

    def _report(self) -> None:
        self.publish_status()
        if self.healthy():
            self.notifier.notify("WATCHDOG=1", f"STATUS={self.status_line()}")
        else:
            stuck = [w.name for w in self.watchers if not w.alive(self.wedged_after or WEDGED_SECONDS)]
            log.error("watchdog.withheld", stuck=stuck)
            self.notifier.notify(f"STATUS=not healthy ({', '.join(stuck) or 'outbox'}); {self.status_line()}")

    def reload(self) -> bool:
        """Load the configuration again; keep the old one when the new one is invalid."""
        self.notifier.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            config = load_config(self.config_path)
            runtime = build_runtime(config, self.config_path.parent)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config.reload_rejected", problem=problem)
            self.reload_rejected = f"config reload rejected ({exc.problems[0] if exc.problems else exc})"[:300]
            self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return False
        except Exception as exc:  # noqa: BLE001
            log.error("config.reload_rejected", problem=str(exc))
            self.reload_rejected = f"config reload rejected ({exc})"[:300]
            self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
            return False
        self.reload_rejected = None
        old = self.runtime.config
        self.runtime = replace(runtime, message_id_secret=self.runtime.message_id_secret)
        if watched_folders(config) != watched_folders(old) or [m.imap for m in config.mailboxes] != [
                m.imap for m in old.mailboxes]:
            with self.cluster.lock if self.cluster is not None else contextlib.nullcontext():
                self._restart_watchers(config)
        else:
            for watcher in self.watchers:
                watcher.retry_now()
        self.tokens.retry_now()  # perhaps after `inboxd auth login` or a new secret
        log.info("config.reloaded", path=str(self.config_path))
        self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
        return True

    def _restart_watchers(self, config: Config) -> None:
        """Watch the folders of a reloaded configuration (with several daemons, while no mailbox changes hands)."""
        self._stop_watchers()
        try:
            self._record_first_starts()  # a mailbox or folder added by this reload starts now
        except Exception as exc:  # noqa: BLE001 - its first sync then starts from the mail there at login
            log.warning("folder.first_start_not_recorded", error=str(exc))
        cluster = self.cluster
        if cluster is None:
            self._start_watchers()
        else:  # the mailboxes this daemon holds; the next heartbeat takes or gives up the others
            names = {m.name for m in config.mailboxes}
            self._start_watchers(only={name for name in names if cluster.serves(name)})

    def shutdown(self) -> None:
        self.notifier.notify("STOPPING=1")
        self.stop_event.set()
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.cluster is not None:
            self.cluster.halt()
        self._stop_watchers()
        self.outbox_event.set()
        if self._sender_thread is not None:
            self._sender_thread.join(20)
        if self.cluster is not None:
            self.cluster.leave()  # the others take its mailboxes at once
        if self._daemon_lock is not None:
            self._daemon_lock.release()
        self.store.dispose()
        log.info("daemon.stopped")

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; SIGHUP reloads. Return the exit code."""
        stopping = threading.Event()

        def on_term(signum: int, _frame: Any) -> None:
            log.info("daemon.stopping", signal=signal.Signals(signum).name)
            stopping.set()
            self.stop_event.set()

        def on_hup(_signum: int, _frame: Any) -> None:
            self._reload_requested.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)
        self.start()
        while not stopping.is_set():
            stopping.wait(0.5)
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload()
        self.shutdown()
        return 0

    # -- for tests and the demo: one synchronous pass ---------------------------------------------

    def run_once(self) -> dict[str, int]:
        """Sync every folder once and flush the outbox, without threads."""
        processed = 0
        for name, role, folder in watched_folders(self.runtime.config):
            mailbox = self.runtime.mailbox(name)
            with ImapConnection(imap_settings(mailbox, self.tokens.get(mailbox))) as conn:
                try:
                    processed += sync_folder(conn, self.processor, mailbox, role, folder, self.store, self.clock)
                except FolderMissing as exc:
                    log.warning("folder.missing", mailbox=name, folder=folder, error=str(exc))
        self.tick()
        result = self.sender.flush()
        return {"processed": processed, "sent": result.sent, "retried": result.retried, "failed": result.failed}


__all__ = ["Daemon", "InboxdError", "sync_folder", "watched_folders"]
