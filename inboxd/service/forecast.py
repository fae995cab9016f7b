"""Fills the estimator's inputs from the store and keeps the fitted model for a few seconds.

The estimate itself (``inboxd.core.eta``) is pure; this is the shell around it: three indexed queries
(waiting cases, recent first responses, recent team promises), then :func:`inboxd.core.eta.fit`. Fitting
for every message of a backlog would be wasted work, so a fitted model is reused for
``REFIT_SECONDS``; cases opened since are added to its queue, so each acknowledgement still counts every case
ahead of it: counted in memory by a daemon alone with its database, read from the database (one primary-key
range) where several daemons share it (``Forecaster(shared=True)``): each opens only its own mailboxes' cases.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from inboxd.core import eta
from inboxd.service.runtime import Runtime
from inboxd.store import repo

HISTORY = timedelta(days=28)
REFIT_SECONDS = 10.0


def queue_snapshot(conn: Connection) -> eta.QueueSnapshot:
    return eta.QueueSnapshot(tuple(repo.waiting_for_first_response(conn)))


def fit_model(conn: Connection, rt: Runtime, now: datetime) -> tuple[eta.PaceModel, eta.QueueSnapshot]:
    """The model as of ``now`` and the queue it was fitted on."""
    since = now - HISTORY
    queue = queue_snapshot(conn)
    history = eta.PaceHistory(since=since, responses=tuple(repo.recent_first_responses(conn, since)))
    calibration = tuple(repo.recent_team_promises(conn, since))
    model = eta.fit(now, queue, history, calibration, rt.calendar, rt.coverage, eta.EtaConfig.from_config(rt.config))
    return model, queue


class Forecaster:
    """A fitted model, refitted every few seconds; thread-safe."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared  # other daemons open cases too: count the newer ones in the database
        self._last_id = 0  # the newest case id when the model was fitted
        self._lock = threading.Lock()
        self._model: eta.PaceModel | None = None
        self._queue: eta.QueueSnapshot | None = None
        # Cases opened since the fit (number → priority): they are all ahead of any newer case of equal or lower
        # priority. Counting them avoids rebuilding the queue for every message of a backlog.
        self._opened_since: dict[int, str] = {}
        # The case each thread's open transaction estimated for: counted once it commits (see settle).
        self._pending: dict[int, tuple[int, str]] = {}
        self._fitted_at: datetime | None = None
        self._runtime: Any = None

    def estimate(self, conn: Connection, rt: Runtime, now: datetime, priority: str, number: int) -> eta.Estimate:
        """The promise for a case opened now (in the caller's transaction, so the case itself is visible)."""
        with self._lock:
            stale = (self._model is None or self._queue is None or self._fitted_at is None
                     or self._runtime is not rt or abs((now - self._fitted_at).total_seconds()) > REFIT_SECONDS)
            if stale:
                self._model, self._queue = fit_model(conn, rt, now)
                self._fitted_at, self._runtime, self._opened_since, self._pending = now, rt, {}, {}
                self._last_id = repo.last_case_id(conn) if self.shared else 0
                ahead = self._queue.ahead_of(now, priority, number=number)
            elif self.shared:
                assert self._queue is not None
                rank = eta.PRIORITIES.index(priority) if priority in eta.PRIORITIES else 2
                newer = repo.waiting_opened_after(conn, self._last_id, besides=number)
                ahead = self._queue.ahead_of(now, priority, number=number) + sum(
                    count for name, count in newer.items()
                    if (eta.PRIORITIES.index(name) if name in eta.PRIORITIES else 2) <= rank)
            else:
                assert self._queue is not None
                rank = eta.PRIORITIES.index(priority) if priority in eta.PRIORITIES else 2
                self._promote(threading.get_ident())  # an earlier estimate of this thread not settled: committed
                ahead = self._queue.ahead_of(now, priority, number=number) + sum(
                    1 for opened, name in self._opened_since.items()
                    if opened != number and (eta.PRIORITIES.index(name) if name in eta.PRIORITIES else 2) <= rank)
                self._pending[threading.get_ident()] = (number, priority)
            assert self._model is not None
            return self._model.promise(now, priority, self._model.predict(now, ahead, priority))

    def settle(self, committed: bool) -> None:
        """The calling thread's transaction ended: its case counts ahead of later ones only if it committed."""
        with self._lock:
            if committed:
                self._promote(threading.get_ident())
            else:
                self._pending.pop(threading.get_ident(), None)

    def _promote(self, thread: int) -> None:
        pending = self._pending.pop(thread, None)
        if pending is not None:
            self._opened_since[pending[0]] = pending[1]
