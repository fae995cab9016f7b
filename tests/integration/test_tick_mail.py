"""From a due item to a sent mail, without a mail server: the tick over SQLite in a temp dir, the outbox
over a fake SMTP transport.

The Dovecot stories (test_updates, test_commitments_flow) prove the edges; these prove the tick's shell
(``duework``: gather, apply) and the outbox between them, in a fraction of a second each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from inboxd.config import load_config
from inboxd.core import followups as f
from inboxd.core.clock import FrozenClock
from inboxd.service import duework
from inboxd.service.outbox import Sender
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate

CONFIG = Path(__file__).resolve().parents[1] / "data" / "workloads" / "config.yaml"
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, the team's timezone
CUSTOMER = "ann@customer.example"


@dataclass
class FakeSmtp:
    """Stands in for ``transport.smtp.SmtpConnection``: keeps what it was asked to send."""

    sent: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    def connect(self) -> None:
        pass

    def send(self, mail_from: str, rcpt_to: list[str], raw: bytes) -> None:
        self.sent.append((mail_from, list(rcpt_to), raw))

    def close(self) -> None:
        pass


@dataclass
class Tick:
    """The daemon's tick (``duework.run_tick``, as ``Daemon.tick`` runs it) and its outbox sender over one
    store, on a frozen clock."""

    store: repo.Store
    rt: Runtime
    clock: FrozenClock
    smtp: FakeSmtp

    def run(self, at: datetime) -> list[EmailMessage]:
        """Tick at ``at`` (due work, delay notices, promises past due) and send what it queued."""
        self.clock.set(at)
        duework.run_tick(self.store, lambda: self.rt, self.clock)
        before = len(self.smtp.sent)
        Sender(self.store, lambda: self.rt, self.clock, smtp_factory=lambda _mailbox: self.smtp).flush()
        return [message_from_bytes(raw, _class=EmailMessage, policy=policy.default)  # type: ignore[misc]
                for _from, _to, raw in self.smtp.sent[before:]]


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return build_runtime(load_config(CONFIG), CONFIG.parent)


@pytest.fixture
def tick(tmp_path: Path, rt: Runtime) -> Iterator[Tick]:
    engine = make_engine(f"sqlite:///{tmp_path / 'inboxd.db'}")
    migrate(engine)
    yield Tick(repo.Store(engine), rt, FrozenClock(MONDAY), FakeSmtp())
    engine.dispose()


def open_case(store: repo.Store, at: datetime, *, customer: str = CUSTOMER, due: datetime | None = None,
              priority: str = "normal") -> tuple[int, int]:
    """A case as ingest leaves it: waiting on us, with the acknowledgement's promise."""
    with store.begin() as conn:
        ref, number = repo.insert_case(conn, mailbox="support", customer=customer, customer_name="Ann",
                                       subject="VPN fails", priority=priority, language="en", now=at)
        repo.add_promise(conn, case_id=ref, owner="team", source="ack", text="by Tuesday", made_at=at,
                         due_at=due or at + timedelta(days=3), predicted_bh=4.0, spread_bh=1.0)
    return ref, number


def scheduled(store: repo.Store, ref: int) -> list[tuple[str, datetime, bool]]:
    with store.connect() as conn:
        return [(row["kind"], row["due_at"], row["done_at"] is not None) for row in repo.scheduled_for_case(conn, ref)]


def test_an_update_goes_out_after_a_business_day_and_the_next_is_scheduled(tick: Tick, rt: Runtime) -> None:
    ref, number = open_case(tick.store, MONDAY)
    with tick.store.begin() as conn:
        for item in f.waiting_schedule(number, "waiting_on_us", MONDAY, f.update_policy(rt.config), rt.calendar.add):
            repo.schedule(conn, key=item.key, kind=item.kind, case_id=ref, due_at=item.due_at, payload=item.payload,
                          now=MONDAY)
    assert tick.run(MONDAY + timedelta(hours=23, minutes=59)) == []
    (update,) = tick.run(MONDAY + timedelta(days=1, minutes=1))
    assert update["To"] == CUSTOMER and "[#1001]" in str(update["Subject"])
    assert update["Auto-Submitted"] == "auto-generated" and update["List-Unsubscribe"].startswith("<mailto:")
    # The next update a business day on; the first is done, and nothing goes twice.
    assert scheduled(tick.store, ref) == [("update", MONDAY + timedelta(days=1), True),
                                          ("update", MONDAY + timedelta(days=2, minutes=1), False)]
    assert tick.run(MONDAY + timedelta(days=1, minutes=2)) == []
    with tick.store.connect() as conn:
        state = repo.tick_case(conn, ref)
    assert state is not None and state.last_heard_at == MONDAY + timedelta(days=1, minutes=1)


def test_a_bounced_customer_gets_no_update(tick: Tick, rt: Runtime) -> None:
    ref, number = open_case(tick.store, MONDAY)
    with tick.store.begin() as conn:
        repo.record_bounce(conn, CUSTOMER, MONDAY, case_id=ref, status="5.1.1", message_ref=None)
        repo.schedule(conn, key=f"update:{number}:1", kind=f.DueKind.UPDATE, case_id=ref,
                      due_at=MONDAY + timedelta(hours=1), payload={"since": MONDAY.isoformat()}, now=MONDAY)
    assert tick.run(MONDAY + timedelta(hours=2)) == []
    with tick.store.connect() as conn:
        events = repo.case_detail(conn, number)["events"]  # type: ignore[index]
    assert [(e["kind"], e["data"]) for e in events] == [("update.skipped", {"reason": "the customer is unreachable"})]


def test_a_staff_commitment_is_reminded_then_escalated_and_broken(tick: Tick, rt: Runtime) -> None:
    ref, number = open_case(tick.store, MONDAY)
    due = MONDAY + timedelta(hours=6)
    with tick.store.begin() as conn:
        promise = repo.add_promise(conn, case_id=ref, owner="bob@example.com", source="reply",
                                   text="I'll call you this afternoon.", made_at=MONDAY, due_at=due)
        for item in f.commitment_schedule(promise, MONDAY, due, rt.config.reminders.lead_time.as_timedelta()):
            repo.schedule(conn, key=item.key, kind=item.kind, case_id=ref, due_at=item.due_at, payload=item.payload,
                          now=MONDAY)
    (reminder,) = tick.run(due - timedelta(hours=2))
    assert reminder["To"] == "bob@example.com" and "[#1001]" in reminder.get_body(("plain",)).get_content()
    (escalation,) = tick.run(due + timedelta(minutes=1))
    assert {a.strip() for a in str(escalation["To"]).split(",")} == {"alice@example.com", "bob@example.com"}
    with tick.store.connect() as conn:
        assert repo.promise_view(conn, promise).state == "broken"  # type: ignore[union-attr]


def test_promises_at_risk_get_a_delay_notice_and_the_lead_is_told(tick: Tick) -> None:
    # Twelve cases arrive in an hour on a Monday morning, each promised within the hour: the queue cannot
    # be cleared in time, so the model flags promises as at risk before they break.
    for index in range(12):
        opened = MONDAY - timedelta(hours=1) + timedelta(minutes=5 * index)
        open_case(tick.store, opened, customer=f"c{index}@customer.example", due=MONDAY + timedelta(minutes=50))
    mails = tick.run(MONDAY)
    delays = [m for m in mails if "alert" not in str(m["Message-ID"]) and m["To"].endswith("@customer.example")]
    alerts = [m for m in mails if m["To"] == "alice@example.com"]
    assert delays and len(alerts) == len(delays)
    with tick.store.connect() as conn:
        promises = [p for number in range(1001, 1013) for p in repo.case_detail(conn, number)["promises"]]  # type: ignore[index]
    assert sum(p["state"] == "superseded" for p in promises) == len(delays)
    assert sum(p["source"] == "delay_notice" and p["state"] == "open" for p in promises) == len(delays)
    # The promises not superseded break when their time passes; the revised ones stay open.
    assert duework.break_overdue_promises(tick.store, MONDAY + timedelta(hours=1)) == 12 - len(delays)
    assert duework.break_overdue_promises(tick.store, MONDAY + timedelta(hours=1)) == 0


def test_a_delay_notice_waits_for_the_customers_morning(tick: Tick) -> None:
    # A rush promised by half past eight in California (UTC−8), where the customers are: at seven there, within
    # the notice lead of that due time, the notices wait until eight, half an hour before it.
    now = MONDAY + timedelta(hours=6)
    for index in range(12):
        opened = now - timedelta(hours=1) + timedelta(minutes=5 * index)
        ref, number = open_case(tick.store, opened, customer=f"c{index}@customer.example",
                                due=now + timedelta(minutes=90))
        with tick.store.begin() as conn:
            repo.update_case(conn, number, customer_utc_offset=-480)
    with tick.store.connect() as conn:
        at_risk, _model, _queue = duework.promises_at_risk(conn, tick.rt, now)
    assert at_risk and all(risk.notice_at == datetime(2026, 11, 30, 16, 0, tzinfo=UTC) for risk in at_risk)
    assert tick.run(now) == []
    later = tick.run(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    # Those at risk at seven in the morning hear at eight (with others the closer due time now puts at risk).
    assert {m["To"] for m in later if m["To"].endswith("@customer.example")} >= {
        f"c{risk.promise.case_number - 1001}@customer.example" for risk in at_risk}


def test_the_daily_digest_tells_each_person_their_day(tick: Tick, rt: Runtime) -> None:
    ref, number = open_case(tick.store, MONDAY - timedelta(days=3), due=MONDAY + timedelta(days=2))
    with tick.store.begin() as conn:
        repo.add_promise(conn, case_id=ref, owner="bob@example.com", source="reply", text="I'll call Ann.",
                         made_at=MONDAY - timedelta(days=3), due_at=MONDAY + timedelta(hours=5))
    assert tick.run(MONDAY - timedelta(hours=3)) == []  # 07:00 in Berlin: the 08:30 digest is scheduled, not due
    digests = {m["To"]: m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
               for m in tick.run(MONDAY)}
    assert "I'll call Ann." in digests["bob@example.com"] and "[#1001]" in digests["bob@example.com"]
    assert "[#1001]" in digests["alice@example.com"]  # the lead sees the case waiting and the team's promise
    assert tick.run(MONDAY + timedelta(minutes=1)) == []  # once a day


def test_an_item_of_a_kind_this_version_does_not_know_is_set_aside(tick: Tick) -> None:
    ref, _number = open_case(tick.store, MONDAY)
    with tick.store.begin() as conn:
        repo.schedule(conn, key="survey:1001", kind="survey", case_id=ref, due_at=MONDAY, payload={}, now=MONDAY)
    assert tick.run(MONDAY + timedelta(minutes=1)) == []
    assert scheduled(tick.store, ref) == [("survey", MONDAY, True)]
