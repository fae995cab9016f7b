"""The simulator's tick decides as the daemon's tick does, over the same case states.

Each scenario is a few dozen cases in every state the tick meets — waiting on us or on the customer,
resolved, snoozed, opted out, bounced, at night where the customer is, around the Berlin holidays — with
due items of every kind, team promises (some at risk, some past due, some superseded by a delay notice)
and staff commitments. The same states go into an SQLite store (through ``repo``, read by
``duework``'s gather) and into the simulator's :class:`inboxd.service.simulate.TickWorld`; both ticks' decisions
must be identical, model fit and revised estimates included. No mail server is needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inboxd.config import load_config
from inboxd.core import tick
from inboxd.core.followups import DueKind
from inboxd.service import duework
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.service.simulate import TickWorld, team_calendar
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate

CONFIG = Path(__file__).resolve().parents[1] / "data" / "workloads" / "config.yaml"
PRIORITIES = ["urgent", "high", "normal", "normal", "normal", "low"]
OFFSETS = [None, None, 60, -480, -300, 540, 330]  # minutes east of UTC: Berlin, California, New York, Tokyo, India
# Instants around the team's calendar: a working morning, the evening before Christmas Eve (a closure
# day), Christmas Eve itself, a Friday evening, the day before New Year's Eve, and a working afternoon an hour
# or so before the morning in California (a delay notice, due within the next two hours, waits for it).
NOWS = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 23, 16, 30, tzinfo=UTC),
        datetime(2026, 12, 24, 10, 0, tzinfo=UTC), datetime(2026, 12, 4, 19, 45, tzinfo=UTC),
        datetime(2026, 12, 30, 7, 15, tzinfo=UTC), datetime(2026, 12, 2, 14, 45, tzinfo=UTC)]


@dataclass
class CaseSpec:
    opened: datetime
    priority: str
    answered: datetime | None = None
    status: str | None = None  # None: waiting on us until answered, then on the customer
    last_heard: datetime | None = None
    last_customer: datetime | None = None
    offset: int | None = None
    opted_out: bool = False
    bounced: bool = False
    snoozed_until: datetime | None = None


@dataclass
class PromiseSpec:
    case: int  # index into the cases
    made: datetime
    due: datetime
    owner: str = "team"
    first: bool = True
    superseded: bool = False
    predicted_bh: float | None = None
    spread_bh: float | None = None


@dataclass
class ItemSpec:
    case: int
    kind: DueKind
    due: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    now: datetime
    cases: list[CaseSpec]
    promises: list[PromiseSpec]  # in the order made
    items: list[ItemSpec]


def scenario(now: datetime, seed: int, count: int = 40) -> Scenario:
    """``count`` cases opened over the past week, in every state, with their promises and due items."""
    rng = random.Random(seed)
    cases: list[CaseSpec] = []
    promises: list[PromiseSpec] = []
    items: list[ItemSpec] = []
    # Distinct instants, so that "newest first" is one order in SQL and in the simulator alike.
    opened = sorted({now - timedelta(minutes=rng.randrange(30, 7 * 24 * 60)) for _ in range(count)})
    for index, at in enumerate(opened):
        spec = CaseSpec(opened=at, priority=rng.choice(PRIORITIES), offset=rng.choice(OFFSETS))
        if rng.random() < 0.35:
            spec.answered = at + (now - at) * rng.uniform(0.1, 0.9)
            spec.last_customer = at if rng.random() < 0.7 else spec.answered + (now - spec.answered) / 2
        spec.status = rng.choice([None, None, None, "resolved", "waiting_on_customer"]) if spec.answered else (
            rng.choice([None] * 8 + ["resolved"]))
        spec.last_heard = rng.choice([None, at + timedelta(seconds=5), now - timedelta(hours=rng.randrange(1, 30))])
        spec.opted_out = rng.random() < 0.1
        spec.bounced = rng.random() < 0.08
        spec.snoozed_until = rng.choice([None] * 6 + [now + timedelta(hours=5), now - timedelta(hours=1)])
        cases.append(spec)
        due = now + timedelta(minutes=rng.choice([-90, -5, 20, 45, 70, 100, 150, 240, 600, 2000]))
        promises.append(PromiseSpec(index, at + timedelta(seconds=1), max(due, at + timedelta(minutes=10)),
                                    predicted_bh=rng.uniform(0.5, 8), spread_bh=rng.uniform(0.2, 3)))
        if rng.random() < 0.15:
            promises[-1].superseded = True
            promises.append(PromiseSpec(index, at + (now - at) / 2, now + timedelta(hours=rng.randrange(1, 30)),
                                        first=False, predicted_bh=rng.uniform(1, 9), spread_bh=rng.uniform(0.2, 3)))
        # Waiting since the case opened, since the staff reply (nothing newer: a nudge or resolve goes out), or
        # since two days ago.
        since = rng.choice([at, (spec.answered or at) + timedelta(minutes=1), now - timedelta(days=2)]).isoformat()
        for kind in rng.sample(list(DueKind), 3):
            when = now - timedelta(minutes=rng.randrange(0, 600)) if rng.random() < 0.85 else now + timedelta(hours=3)
            payload: dict[str, Any] = {"since": since}
            if kind is DueKind.WAITING_NOTICE:
                payload |= {"who": "the carrier", "until": (now + timedelta(days=2)).isoformat()}
            elif kind is DueKind.NOTE_REMINDER:
                payload = {"to": rng.choice(["bob@example.com", ""]), "text": "call the ISP"}
            elif kind in (DueKind.REMINDER, DueKind.ESCALATION):
                promises.append(PromiseSpec(index, now - timedelta(hours=rng.randrange(2, 48), seconds=index),
                                            now + timedelta(hours=rng.choice([-2, 1, 5])), owner="bob@example.com"))
                payload = {"promise": -len(promises)}  # numbered once the promises are sorted by when made
            elif kind is DueKind.DIGEST:
                continue  # the digest reads the staff's day across cases, not one case (duework applies it)
            items.append(ItemSpec(index, kind, when, payload))
    order = sorted(range(len(promises)), key=lambda i: promises[i].made)
    number = {old: new + 1 for new, old in enumerate(order)}
    for item in items:
        if "promise" in item.payload:
            item.payload = {"promise": number[-item.payload["promise"] - 1]}
    return Scenario(now, cases, [promises[i] for i in order], items)


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return build_runtime(load_config(CONFIG), CONFIG.parent)


@pytest.fixture
def store(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'inboxd.db'}")
    migrate(engine)
    yield repo.Store(engine)
    engine.dispose()


def load_store(store: repo.Store, s: Scenario) -> None:
    """The scenario as ingest and the staff would have left it in the database."""
    with store.begin() as conn:
        refs = []
        for index, spec in enumerate(s.cases):
            customer = f"customer{index}@example.org"
            ref, number = repo.insert_case(conn, mailbox="support", customer=customer, customer_name="",
                                           subject=f"Case {index}", priority=spec.priority, language="en",
                                           now=spec.opened)
            status = spec.status or ("waiting_on_us" if spec.answered is None else "waiting_on_customer")
            repo.update_case(conn, number, status=status, first_response_at=spec.answered,
                             last_staff_reply_at=spec.answered, last_heard_at=spec.last_heard,
                             last_customer_at=spec.last_customer, customer_utc_offset=spec.offset,
                             updates_opted_out=spec.opted_out, snoozed_until=spec.snoozed_until)
            if spec.bounced:
                repo.record_bounce(conn, customer, spec.opened, case_id=ref, status="5.1.1", message_ref=None)
            refs.append(ref)
        for p in s.promises:
            answered = s.cases[p.case].answered
            promise_id = repo.add_promise(conn, case_id=refs[p.case], owner=p.owner,
                                          source="ack" if p.first else "delay_notice", text="by then",
                                          made_at=p.made, due_at=p.due, predicted_bh=p.predicted_bh,
                                          spread_bh=p.spread_bh)
            # What a staff response settles (the team's promises, earlier commitments) and what a notice did.
            if p.superseded:
                repo.settle_promise(conn, promise_id, "superseded", p.made)
            elif answered is not None and (p.owner == "team" or p.made < answered):
                repo.settle_promise(conn, promise_id, "kept", answered)
        for item in s.items:
            repo.schedule(conn, key=f"{item.kind}:{item.case}:{item.due.timestamp()}", kind=item.kind,
                          case_id=refs[item.case], due_at=item.due, payload=item.payload, now=s.now)


def load_world(rt: Runtime, s: Scenario) -> TickWorld:
    """The same scenario in the simulator's in-memory view."""
    world = TickWorld(rt.config, team_calendar(rt.config), first_number=1001)
    cases = []
    for index, spec in enumerate(s.cases):
        cases.append(world.open_case(
            spec.opened.timestamp(), spec.priority, status=spec.status, customer=f"customer{index}@example.org",
            subject=f"Case {index}", last_customer_at=spec.last_customer, customer_utc_offset=spec.offset,
            opted_out=spec.opted_out, unreachable=spec.bounced, snoozed_until=spec.snoozed_until))
        cases[-1].last_heard = spec.last_heard
    for index in sorted((i for i, spec in enumerate(s.cases) if spec.answered), key=lambda i: s.cases[i].answered):
        answered = s.cases[index].answered
        assert answered is not None
        world.answer(cases[index], answered.timestamp())
    for p in s.promises:
        promise = world.add_promise(cases[p.case], p.made.timestamp(), p.due, owner=p.owner, text="by then",
                                    first=p.first, predicted_bh=p.predicted_bh, spread_bh=p.spread_bh)
        promise.superseded = p.superseded
    for item in s.items:
        world.schedule(cases[item.case], duework.f.Schedule(item.kind, item.due,
                                                            f"{item.kind}:{item.case}:{item.due.timestamp()}",
                                                            item.payload))
    return world


def daemon_decisions(store: repo.Store, rt: Runtime, now: datetime) -> list[Any]:
    settings = duework.tick_settings(rt)
    with store.begin() as conn:
        due = [duework.gather_due(conn, rt, claimed) for claimed in repo.claim_due(conn, now, "test", 1000)]
        decided: list[Any] = [(w.due.item.key, tick.decide_due_work(w.due, settings, now)) for w in due if w]
        decided += tick.decide_delay_notices(duework.gather_risk(conn, rt, now), settings, now)
        decided += tick.decide_overdue(repo.overdue_team_promises(conn, now), now)
    return decided


def simulator_decisions(world: TickWorld, now: datetime) -> list[Any]:
    stamp = now.timestamp()
    settings = world.tick_settings
    decided: list[Any] = [(d.item.key, tick.decide_due_work(d, settings, now)) for d in world.due_cases(stamp)]
    decided += tick.decide_delay_notices(world.risk_context(stamp), settings, now)
    decided += tick.decide_overdue(world.overdue_promises(stamp), now)
    return decided


def comparable(decisions: list[Any]) -> list[Any]:
    """Decisions without the case's row id (the store's, which the simulator has no use for)."""
    return [replace(d, promise=replace(d.promise, case_ref=0)) if isinstance(d, tick.DelayNotice | tick.DeferDelay)
            else d for d in decisions]


def kinds_of(decisions: list[Any]) -> set[str]:
    found = set()
    for decision in decisions:
        if isinstance(decision, tuple):
            found |= {f"{type(a).__name__}:{getattr(a, 'template', '')}" for a in decision[1]}
        else:
            found.add(type(decision).__name__)
    return found


@pytest.mark.parametrize("seed", range(len(NOWS)))
def test_the_simulator_and_the_daemon_make_the_same_tick_decisions(rt: Runtime, store: repo.Store, seed: int) -> None:
    s = scenario(NOWS[seed], seed)
    load_store(store, s)
    daemon = daemon_decisions(store, rt, s.now)
    simulated = simulator_decisions(load_world(rt, s), s.now)
    assert comparable(simulated) == comparable(daemon)
    assert len([d for d in daemon if isinstance(d, tuple)]) == len([i for i in s.items if i.due <= s.now])


def test_the_scenarios_cover_every_decision(rt: Runtime, tmp_path: Path) -> None:
    """Not a vacuous proof: across the scenarios, every kind of decision the tick makes is made."""
    found: set[str] = set()
    for seed, now in enumerate(NOWS):
        engine = make_engine(f"sqlite:///{tmp_path / f'{seed}.db'}")
        migrate(engine)
        store = repo.Store(engine)
        s = scenario(now, seed)
        load_store(store, s)
        found |= kinds_of(daemon_decisions(store, rt, now))
        engine.dispose()
    assert found >= {"CustomerMail:update", "CustomerMail:nudge", "CustomerMail:resolved", "CustomerMail:waiting",
                     "SetCaseStatus:", "Schedule:", "StaffMail:reminder", "StaffMail:escalation",
                     "StaffMail:note_reminder", "SettlePromise:", "Skip:", "DelayNotice", "DeferDelay"}, found
