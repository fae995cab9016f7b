"""The case state machine. Pure.

    new → waiting_on_us ⇄ waiting_on_customer → resolved → closed
                                     ↑________________________| (reopen)

Every status change a message causes is one of the transitions below (:mod:`inboxd.core.decide`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["waiting_on_us", "waiting_on_customer", "resolved", "closed"]
OPEN_STATUSES: tuple[Status, ...] = ("waiting_on_us", "waiting_on_customer")


@dataclass(frozen=True)
class CaseState:
    """What decisions need to know about a case, as the store has it."""

    number: int
    status: Status
    customer: str
    priority: str
    language: str
    subject: str
    opened_at: datetime
    first_response_at: datetime | None = None
    acknowledged: bool = False
    resolved_at: datetime | None = None
    last_activity_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def reopenable(self, now: datetime, reopen_within: timedelta) -> bool:
        """A customer's reply reopens a resolved or closed case only within ``reopen_within``."""
        if self.is_open:
            return True
        since = self.resolved_at or self.last_activity_at or self.opened_at
        return now - since <= reopen_within


def after_customer_message(status: Status) -> Status:
    """A customer wrote: the ball is in our court again (a resolved case reopens)."""
    return "waiting_on_us"


def after_staff_reply(status: Status) -> Status:
    """Staff answered the customer: we wait on them (a resolved or closed case stays so)."""
    return status if status in ("resolved", "closed") else "waiting_on_customer"


def resolved_by_staff(status: Status) -> Status:
    """A staff note's #resolve: the case is resolved, whatever it waited on."""
    return "resolved"


def reopened_by_staff(status: Status) -> Status:
    """A staff note's #reopen: the ball is in our court again."""
    return "waiting_on_us"
