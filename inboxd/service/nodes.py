"""Several daemons on one PostgreSQL database: who serves which mailbox, and who runs the tick.

Built on the database's own primitives, no consensus of our own: a row per daemon in ``nodes`` with a heartbeat,
and lease rows in ``leases`` ("mailbox:<name>", "tick") whose expiry the holder extends on every heartbeat. Times
are the database's (``now()``), so the daemons' clocks do not matter. A lease is taken with one conditional
UPDATE (free, or lapsed), which PostgreSQL serialises on the row: of two daemons trying at once, one gets it. Each
new holder gets a higher fencing ``token``.

- Mailboxes: every daemon computes the same spread (:func:`assign`) from the live nodes and the current holders;
  it takes the mailboxes assigned to it that are free, and gives up — after stopping its watchers — the ones
  assigned to another live daemon (a daemon joined). A daemon that dies stops renewing: its leases lapse after
  ``LEASE_SECONDS`` and the others take its mailboxes on their next heartbeat.
- A daemon serves a mailbox only while its lease is good by its own clock too: it counts from *before* its last
  successful renewal and stops ``SAFETY_SECONDS`` short of the lease's end, so that a daemon cut off from the
  database stops before anybody else may start.
- The tick (due work, delay notices, broken promises) runs on the holder of "tick" alone.
- Claims (outbox messages being sent) are renewed by the heartbeat while in flight, with a lease of
  ``CLAIM_SECONDS``; completion is checked against the claim's owner (``repo.mark_sent(worker=…)``).

On SQLite there is one daemon per database file (``DaemonLock``): none of this runs.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import IO

import structlog
from sqlalchemy import Connection

from inboxd.errors import DatabaseConfigError, DatabaseReadOnly, TransientError
from inboxd.store import nodes as store_nodes
from inboxd.store.repo import Store

log = structlog.get_logger("inboxd.service.nodes")

HEARTBEAT_SECONDS = 3.0
LEASE_SECONDS = 15.0  # a dead daemon's mailboxes move after this and one heartbeat at most
SAFETY_SECONDS = 3.0  # a daemon stops serving this long before its lease could lapse
CLAIM_SECONDS = 15.0  # an outbox claim or a due item's claim of a dead daemon is free after this
FORGET_AFTER = timedelta(minutes=10)  # a gone daemon's row is shown (as gone) this long
TICK = "tick"
MAILBOX_PREFIX = "mailbox:"


def mailbox_lease(name: str) -> str:
    return f"{MAILBOX_PREFIX}{name}"


def assign(mailboxes: Collection[str], nodes: Mapping[str, Collection[str]],
           holders: Mapping[str, str]) -> dict[str, str]:
    """Which live node should serve each mailbox (pure): spread evenly, moving as few as possible.

    ``nodes`` maps each live node to the mailboxes its configuration names (only those it can serve);
    ``holders`` maps a mailbox to the node holding it now. A holder keeps its mailbox while it has no more
    than its share; the rest go to the least loaded node that can serve them (then by name).
    """
    live = sorted(nodes)
    if not live:
        return {}
    share = ceil(len(mailboxes) / len(live))
    load = dict.fromkeys(live, 0)
    result: dict[str, str] = {}
    for mailbox in sorted(mailboxes):
        holder = holders.get(mailbox)
        if holder in load and mailbox in nodes[holder] and load[holder] < share:
            result[mailbox] = holder
            load[holder] += 1
    for mailbox in sorted(mailboxes):
        if mailbox in result:
            continue
        candidates = [node for node in live if mailbox in nodes[node]]
        if candidates:
            chosen = min(candidates, key=lambda node: (load[node], node))
            result[mailbox] = chosen
            load[chosen] += 1
    return result


class Coordinator:
    """This daemon's membership: heartbeat, leases taken and given up, claims renewed (a thread)."""

    def __init__(self, store: Store, *, mailboxes: Callable[[], list[str]], on_acquire: Callable[[str], None],
                 on_release: Callable[[str], None], renew_claims: Callable[[Connection], None] = lambda conn: None,
                 name: str | None = None) -> None:
        self.store = store
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.name = name or f"{self.host}:{self.pid}:{os.urandom(3).hex()}"
        self.started_at = datetime.now(UTC)
        self.mailboxes = mailboxes
        self.on_acquire = on_acquire  # start serving a mailbox (its lease is ours)
        self.on_release = on_release  # stop serving it; returns once its watchers stopped
        self.renew_claims = renew_claims
        self._held: dict[str, int] = {}  # lease name → fencing token
        self._serving: set[str] = set()  # mailboxes whose watchers run
        self._valid_until = 0.0  # time.monotonic() until which our leases are good
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the daemon asks ----------------------------------------------------------------------

    def alive(self) -> bool:
        """Whether our last heartbeat is recent enough that our leases and claims are still ours."""
        return time.monotonic() < self._valid_until

    def serves(self, mailbox: str) -> bool:
        return self.alive() and mailbox_lease(mailbox) in self._held

    def leads(self) -> bool:
        """Whether this daemon runs the tick."""
        return self.alive() and TICK in self._held

    @property
    def lock(self) -> threading.RLock:
        """Held while mailboxes change hands; hold it to change the watchers otherwise (a reload)."""
        return self._lock

    def held(self) -> dict[str, int]:
        return dict(self._held)

    def fence(self, conn: Connection, mailbox: str) -> None:
        """Inside a transaction that records a message of ``mailbox``: go on only under this daemon's lease, with
        the fencing token it was given (the lease row is share-locked until the transaction ends)."""
        lease = mailbox_lease(mailbox)
        token = self._held.get(lease)
        if token is None or not store_nodes.holds_lease(conn, lease, self.name, token,
                                                        store_nodes.database_now(conn)):
            raise TransientError(f"mailbox {mailbox}: this daemon no longer holds it (lease lapsed or handed over)")

    # -- the loop ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="nodes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the database is away: our leases lapse, see _expire
                log.warning("nodes.heartbeat_failed", error=str(exc))
            self._expire()

    def _expire(self) -> None:
        """No heartbeat got through for too long: stop serving before anybody else may start."""
        with self._lock:
            if self.alive() or not (self._held or self._serving):
                return
            log.warning("nodes.leases_lapsed", node=self.name, leases=sorted(self._held))
            self._held = {}
            for mailbox in sorted(self._serving):
                self._stop_serving(mailbox)

    def beat(self) -> None:
        """One heartbeat: renew, then take and give up mailboxes as the spread says."""
        with self._lock:
            self._beat()

    def _beat(self) -> None:
        started = time.monotonic()
        configured = self.mailboxes()
        with self.store.begin() as conn:
            now = store_nodes.database_now(conn)
            store_nodes.beat(conn, name=self.name, host=self.host, pid=self.pid, started_at=self.started_at,
                             mailboxes=configured, now=now)
            held = store_nodes.renew_leases(conn, self.name, now, timedelta(seconds=LEASE_SECONDS))
            self.renew_claims(conn)
            live = store_nodes.live_nodes(conn, now - timedelta(seconds=LEASE_SECONDS))
            holders = store_nodes.current_holders(conn, now)
            store_nodes.forget_nodes(conn, now - FORGET_AFTER)
        self._valid_until = started + LEASE_SECONDS - SAFETY_SECONDS
        for name in sorted(set(self._held) - set(held)):
            log.warning("nodes.lease_lost", node=self.name, lease=name)
        self._held = held
        for mailbox in sorted(self._serving):
            if mailbox_lease(mailbox) not in held:
                self._stop_serving(mailbox)
        by_mailbox = {name[len(MAILBOX_PREFIX):]: holder for name, holder in holders.items()
                      if name.startswith(MAILBOX_PREFIX)}
        wanted = assign(configured, live, by_mailbox)
        for mailbox in sorted(configured):
            lease = mailbox_lease(mailbox)
            if lease in self._held and wanted.get(mailbox, self.name) != self.name:
                self._give_up(mailbox, to=wanted[mailbox])
            elif lease not in self._held and wanted.get(mailbox) == self.name:
                self._take(lease)
        for name in sorted(self._held):  # a mailbox no longer configured here
            if name.startswith(MAILBOX_PREFIX) and name[len(MAILBOX_PREFIX):] not in configured:
                self._give_up(name[len(MAILBOX_PREFIX):], to=None)
        if TICK not in self._held:
            self._take(TICK)
        for mailbox in sorted(configured):
            if mailbox_lease(mailbox) in self._held and mailbox not in self._serving and self.alive():
                self._serving.add(mailbox)
                self.on_acquire(mailbox)

    def _take(self, lease: str) -> None:
        with self.store.begin() as conn:
            now = store_nodes.database_now(conn)
            token = store_nodes.acquire_lease(conn, lease, self.name, now, timedelta(seconds=LEASE_SECONDS))
        if token is not None:
            self._held[lease] = token
            log.info("nodes.lease_taken", node=self.name, lease=lease, token=token)

    def _give_up(self, mailbox: str, *, to: str | None) -> None:
        """Hand a mailbox over: its watchers stop first, then the lease goes (never two servers at once)."""
        self._stop_serving(mailbox)
        lease = mailbox_lease(mailbox)
        with self.store.begin() as conn:
            store_nodes.release_lease(conn, lease, self.name)
        self._held.pop(lease, None)
        log.info("nodes.lease_given_up", node=self.name, lease=lease, to=to)

    def _stop_serving(self, mailbox: str) -> None:
        if mailbox in self._serving:
            self._serving.discard(mailbox)
            self.on_release(mailbox)

    def halt(self) -> None:
        """Stop the heartbeat loop (shutting down): nothing more is taken; what is held stays held until ``leave``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def leave(self) -> None:
        """Stop serving, give every lease and claim back at once (the others need not wait them out).

        Called once this daemon's sender stopped: a claim given back is not in flight any more.
        """
        self.halt()
        with self._lock:
            for mailbox in sorted(self._serving):
                self._stop_serving(mailbox)
            try:
                with self.store.begin() as conn:
                    for lease in sorted(self._held):
                        store_nodes.release_lease(conn, lease, self.name)
                    store_nodes.release_claims_of(conn, self.name, datetime.now(UTC))
                    store_nodes.remove_node(conn, self.name)
            except Exception as exc:  # noqa: BLE001 - the leases then lapse on their own
                log.warning("nodes.leave_failed", error=str(exc))
            self._held = {}
            self._valid_until = 0.0
        log.info("nodes.left", node=self.name)


class DaemonLock:
    """One daemon per SQLite file: an exclusive lock on ``<database>.daemon.lock``, held while it runs.

    Two daemons on one SQLite file would both process every message and hand each other's outbox claims back;
    the second is refused instead (PostgreSQL is the database for several daemons). The kernel drops the lock
    when the process ends, however it ends.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".daemon.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as exc:
            where = self.path.parent
            raise DatabaseReadOnly(f"database: cannot write {where}: {exc.strerror or exc}; check that {where} "
                                   "exists and that inboxd's user may write there") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            handle.close()
            raise DatabaseConfigError(
                f"database: another inboxd daemon ({other}) runs on {self.database}; "
                "one daemon per SQLite database — for several daemons use PostgreSQL (see the README)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
