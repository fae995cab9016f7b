"""A seeded history for the status page and the report: answered cases with kept and broken promises over the
last weeks, delay notices, a queue waiting on us, staff commitments due today and overdue, and one team promise
about to break (its case is the newest and lowest-priority one waiting, its due time minutes away)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from inboxd.store.schema import cases, promises


@dataclass(frozen=True)
class Seeded:
    at_risk_number: int
    at_risk_due: datetime
    staff: str
    answered: int
    waiting: int


def seed_history(engine: Engine, now: datetime, *, answered: int = 300, waiting: int = 20, days: int = 30,
                 staff: str = "agent@example.com", seed: int = 7, mailbox: str = "support") -> Seeded:
    rng = random.Random(seed)
    with engine.begin() as conn:
        first = max(int(conn.execute(select(func.max(cases.c.number))).scalar() or 1000) + 1, 1001)
    case_rows: list[dict[str, object]] = []
    promise_rows: list[dict[str, object]] = []
    number = first
    for _ in range(answered):
        opened = now - timedelta(days=days) * rng.random() - timedelta(hours=1)
        first_response = min(now, opened + timedelta(hours=rng.lognormvariate(1.5, 0.8)))
        due = opened + timedelta(hours=rng.choice([8, 16, 24, 40]))
        case_rows.append(_case(number, mailbox, "waiting_on_customer", rng.choice(["normal"] * 6 + ["high", "low"]),
                               opened, first_response))
        promise_rows.append(_promise(number, "team", "ack", opened, due, "kept" if first_response <= due else "broken"))
        if rng.random() < 0.1:  # a delay notice superseded the first promise; the new time was kept
            promise_rows[-1]["state"] = "superseded"
            promise_rows.append(_promise(number, "team", "delay_notice", opened + (due - opened) / 2,
                                         max(due, first_response) + timedelta(hours=2), "kept"))
        if rng.random() < 0.15:
            promise_rows.append(_promise(number, staff, "reply", first_response, first_response + timedelta(days=1),
                                         "kept" if rng.random() < 0.8 else "broken"))
        number += 1
    for index in range(waiting):
        opened = now - timedelta(hours=2 + 3 * (waiting - index))
        priority = rng.choice(["normal", "high", "urgent"])
        case_rows.append(_case(number, mailbox, "waiting_on_us", priority, opened, None))
        promise_rows.append(_promise(number, "team", "ack", opened, now + timedelta(days=7), "open"))
        number += 1
    # Staff commitments on two of the waiting cases: one overdue, one due later today.
    promise_rows.append(_promise(number - 1, staff, "reply", now - timedelta(hours=5), now - timedelta(hours=1),
                                 "open", text="send the corrected invoice"))
    promise_rows.append(_promise(number - 2, staff, "reply", now - timedelta(hours=1), now + timedelta(minutes=20),
                                 "open", text="call back about the outage"))
    # The promise about to break: the newest, lowest-priority case, due in a few minutes.
    at_risk_due = now + timedelta(minutes=6)
    case_rows.append(_case(number, mailbox, "waiting_on_us", "low", now - timedelta(minutes=30), None,
                           subject="Invoice copy needed"))
    promise_rows.append(_promise(number, "team", "ack", now - timedelta(minutes=30), at_risk_due, "open"))
    with engine.begin() as conn:
        for start in range(0, len(case_rows), 5000):
            conn.execute(insert(cases), case_rows[start:start + 5000])
        for start in range(0, len(promise_rows), 5000):
            conn.execute(insert(promises), promise_rows[start:start + 5000])
    return Seeded(number, at_risk_due, staff, answered, waiting + 1)


def _case(number: int, mailbox: str, status: str, priority: str, opened: datetime, answered: datetime | None,
          subject: str | None = None) -> dict[str, object]:
    return {"id": number, "number": number, "mailbox": mailbox, "status": status, "priority": priority,
            "language": "en", "customer": f"c{number}@customer.example", "subject": subject or f"Question {number}",
            "opened_at": opened, "first_response_at": answered, "last_activity_at": answered or opened,
            "last_customer_at": opened}


def _promise(case: int, owner: str, source: str, made: datetime, due: datetime, state: str,
             text: str = "by then") -> dict[str, object]:
    return {"case_id": case, "owner": owner, "source": source, "text": text, "made_at": made, "due_at": due,
            "state": state, "settled_at": None if state == "open" else due, "predicted_bh": 4.0, "spread_bh": 2.0}
