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
from inboxd.core.refit import REFIT_MAX_AGE, RefitPolicy
from inboxd.service.runtime import Runtime
from inboxd.store import repo

HISTORY = timedelta(days=28)
REFIT_SECONDS = 10.0


def queue_snapshot(conn: Connection) -> eta.QueueSnapshot:
    return eta.QueueSnapshot(tuple(repo.waiting_for_first_response(conn)))


def fit_model(conn: Connection, rt: Runtime, now: datetime) -> tuple[eta.PaceModel, eta.QueueSnapshot]:
    """The model as of ``now`` and the queue it was fitted on."""
    model, queue, _history, _calibration = _fit(conn, rt, now, queue_snapshot(conn))
    return model, queue


def _fit(conn: Connection, rt: Runtime, now: datetime, queue: eta.QueueSnapshot
         ) -> tuple[eta.PaceModel, eta.QueueSnapshot, eta.PaceHistory, tuple[eta.PromiseRecord, ...]]:
    since = now - HISTORY
    history = eta.PaceHistory(since=since, responses=tuple(repo.recent_first_responses(conn, since)))
    calibration = tuple(repo.recent_team_promises(conn, since))
    model = eta.fit(now, queue, history, calibration, rt.calendar, rt.coverage, eta.EtaConfig.from_config(rt.config))
    return model, queue, history, calibration


class TickForecast:
    """The tick's model (delay notices), refitted only when its inputs changed (:class:`RefitPolicy`).

    Each call reads the queue (the waiting cases: a short indexed list) and one statement of aggregates
    (:func:`inboxd.store.repo.forecast_inputs_mark`: the first responses from the oldest one the last fit read,
    counted, and the newest promise id); the two history queries and the fit run only when something differs
    (a case opened or answered, a new promise, another configuration, day or shift) or an input leaves the
    history window, and at least every ``max_age``. With the same inputs and fit time the model is the one
    :func:`fit_model` returns. Thread-safe.
    """

    def __init__(self, max_age: timedelta = REFIT_MAX_AGE) -> None:
        self.policy = RefitPolicy(max_age)
        self._lock = threading.Lock()
        self._model: eta.PaceModel | None = None
        self._responses_from: datetime | None = None  # the oldest first response the last fit read
        self.fits = 0  # how many times it fitted (the benchmark and the tests read it)

    def fit(self, conn: Connection, rt: Runtime, now: datetime) -> tuple[eta.PaceModel, eta.QueueSnapshot]:
        """The model and the current queue: the last fit's model when its inputs are still the same."""
        with self._lock:
            queue = queue_snapshot(conn)
            config = (id(rt.config), id(rt.calendar), id(rt.coverage))
            mark = repo.forecast_inputs_mark(conn, self._responses_from or now - HISTORY)
            key = (config, queue, self._responses_from, mark)
            if self._model is not None and not self.policy.due(key, now, rt.calendar, rt.coverage):
                return self._model, queue
            model, _queue, history, calibration = _fit(conn, rt, now, queue)
            # The key the next call compares with, from the rows this fit read (what was committed later makes
            # the next call refit): the responses from the oldest read, how many and the newest; the newest
            # promise id as read before the fit.
            responses = history.responses
            oldest = responses[-1].first_response_at if responses else history.since
            self._responses_from = oldest
            read = (len(responses), responses[0].first_response_at if responses else None, mark[2])
            leaving = [stamp for stamp in (responses[-1].first_response_at if responses else None,
                                           calibration[-1].made_at if calibration else None) if stamp is not None]
            self.policy.fitted((config, queue, oldest, read), now, rt.calendar, rt.coverage,
                               min(leaving) + HISTORY if leaving else None)
            self._model = model
            self.fits += 1
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
