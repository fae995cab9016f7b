"""When a fitted forecast may be used again instead of fitting anew. Pure: the caller passes ``now``.

Fitting the model (:func:`inboxd.core.eta.fit`) on four weeks of history is most of an idle tick's work, and the
tick runs every few seconds while its inputs mostly stay the same. The daemon's tick
(:class:`inboxd.service.forecast.TickForecast`) and ``inboxd simulate`` both ask this policy, so they refit at
the same moments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.eta import Coverage

# A model whose inputs did not change is refitted at least this often: its pace and the capacity ahead drift
# with the clock alone.
REFIT_MAX_AGE = timedelta(minutes=5)


class RefitPolicy:
    """When a fitted model may be used again instead of fitting anew: the same inputs (``key``), the same local
    day and people on shift, at most ``max_age`` old and before ``expires`` (an input leaving the history window).
    The daemon's tick (``inboxd.service.forecast.TickForecast``) and ``inboxd simulate`` decide by it alike."""

    def __init__(self, max_age: timedelta = REFIT_MAX_AGE) -> None:
        self.max_age = max_age
        self._fitted_at: datetime | None = None
        self._key: object = None
        self._expires: datetime | None = None

    def _full_key(self, key: object, now: datetime, calendar: BusinessCalendar, coverage: Coverage) -> object:
        return key, now.astimezone(calendar.tz).date(), coverage.on_shift(now)

    def due(self, key: object, now: datetime, calendar: BusinessCalendar, coverage: Coverage) -> bool:
        """Whether a fit is needed at ``now`` for inputs ``key``."""
        at = self._fitted_at
        return (at is None or now < at or now - at > self.max_age
                or (self._expires is not None and now >= self._expires)
                or self._full_key(key, now, calendar, coverage) != self._key)

    def fitted(self, key: object, now: datetime, calendar: BusinessCalendar, coverage: Coverage,
               expires: datetime | None) -> None:
        """A fit on inputs ``key`` was made at ``now``."""
        self._key, self._fitted_at = self._full_key(key, now, calendar, coverage), now
        self._expires = expires
