"""Due work in one transaction (``duework.handle_batch``): items handled together behave as if each had its own
transaction, and one item that fails does not keep the others from being handled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inboxd.core import followups as f
from inboxd.core.clock import FrozenClock
from inboxd.service import duework
from inboxd.service.runtime import Runtime
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate
from tests.integration.test_tick_mail import CUSTOMER, MONDAY, FakeSmtp, Tick, open_case, rt  # noqa: F401

AT = MONDAY + timedelta(days=1, minutes=1)


@pytest.fixture
def tick(tmp_path: Path, database_url: str, rt: Runtime) -> Iterator[Tick]:  # noqa: F811
    engine = make_engine(database_url)
    migrate(engine)
    yield Tick(repo.Store(engine), rt, FrozenClock(MONDAY), FakeSmtp())
    engine.dispose()


def _update(store: repo.Store, ref: int, number: int, n: int) -> None:
    with store.begin() as conn:
        repo.schedule(conn, key=f"update:{number}:{n}", kind=f.DueKind.UPDATE, case_id=ref, due_at=AT - timedelta(
            minutes=n), payload={"since": MONDAY.isoformat()}, now=MONDAY)


def _done(store: repo.Store, ref: int) -> list[tuple[str | None, bool]]:
    with store.connect() as conn:
        return [(row["key"], row["done_at"] is not None) for row in repo.scheduled_for_case(conn, ref)]


def test_the_second_item_on_a_case_sees_what_the_first_wrote(tick: Tick) -> None:
    """Two updates due at once on one case: the first goes out and the case was heard from just now, so the
    second, handled in the same tick, is skipped — as when each item had its own transaction."""
    ref, number = open_case(tick.store, MONDAY)
    other_ref, other = open_case(tick.store, MONDAY, customer="bob@customer.example")
    _update(tick.store, ref, number, 1)
    _update(tick.store, ref, number, 2)
    _update(tick.store, other_ref, other, 1)
    mails = tick.run(AT)
    assert sorted(str(m["To"]) for m in mails) == sorted([CUSTOMER, "bob@customer.example"])
    with tick.store.connect() as conn:
        events = [e["kind"] for e in repo.case_detail(conn, number)["events"]]  # type: ignore[index]
    assert events.count("update.queued") == 1 and "update.skipped" in events
    assert all(done for key, done in _done(tick.store, ref) if key in (f"update:{number}:1", f"update:{number}:2"))


def test_an_item_that_fails_leaves_the_others_handled(tick: Tick, monkeypatch: pytest.MonkeyPatch) -> None:
    refs = [open_case(tick.store, MONDAY, customer=f"c{i}@customer.example") for i in range(3)]
    for ref, number in refs:
        _update(tick.store, ref, number, 1)
    bad_ref = refs[1][0]
    apply_due = duework.apply_due

    def failing(conn: Any, runtime: Runtime, work: duework.DueWork, *args: Any, **kwargs: Any) -> None:
        if work.claimed.case_ref == bad_ref:
            raise RuntimeError("this item cannot be handled")
        apply_due(conn, runtime, work, *args, **kwargs)

    monkeypatch.setattr(duework, "apply_due", failing)
    mails = tick.run(AT)
    assert sorted(str(m["To"]) for m in mails) == ["c0@customer.example", "c2@customer.example"]
    assert [done for _key, done in _done(tick.store, bad_ref) if _key and _key.endswith(":1")] == [False]
    for ref, number in (refs[0], refs[2]):
        assert (f"update:{number}:1", True) in _done(tick.store, ref)
