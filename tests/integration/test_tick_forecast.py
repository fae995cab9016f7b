"""The tick's forecast is fitted again only when its inputs change, and is then the model a fresh fit gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inboxd.config import load_config
from inboxd.core.refit import REFIT_MAX_AGE
from inboxd.dev.demo import config_yaml
from inboxd.service.forecast import TickForecast, fit_model
from inboxd.service.runtime import build_runtime
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate
from inboxd.store.schema import cases

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday, 11:00 in Berlin (the demo configuration's zone)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield repo.Store(engine)
    engine.dispose()


@pytest.fixture
def rt(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x\n")
    (tmp_path / "inboxd.yaml").write_text(config_yaml(support="s@x.example", imap_port=1, smtp_port=2,
                                                      password_file=secret, staff=[]))
    return build_runtime(load_config(tmp_path / "inboxd.yaml"), tmp_path)


def open_case(conn, n: int, opened: datetime, answered: datetime | None) -> int:
    case_id, number = repo.insert_case(conn, mailbox="support", customer=f"c{n}@x.example", customer_name="C",
                                       subject="s", priority=("high", "normal", "low")[n % 3], language="en",
                                       now=opened)
    repo.add_promise(conn, case_id=case_id, owner="team", source="ack", text="", made_at=opened,
                     due_at=opened + timedelta(hours=4 + n % 5), predicted_bh=2.0 + n % 3, spread_bh=1.0)
    if answered is None:
        repo.update_case(conn, number, status="waiting_on_us")
    else:
        repo.update_case(conn, number, status="waiting_on_customer", first_response_at=answered)
    return number


def history(store, count: int = 40) -> None:
    with store.begin() as conn:
        for n in range(count):
            opened = T0 - timedelta(hours=7 * (count - n))
            open_case(conn, n, opened, opened + timedelta(minutes=30 + 17 * (n % 11)) if n < count - 6 else None)


def fresh(store, rt, at: datetime):
    with store.connect() as conn:
        return fit_model(conn, rt, at)


def tick_fit(store, forecast: TickForecast, rt, at: datetime):
    with store.connect() as conn:
        return forecast.fit(conn, rt, at)


def test_the_same_inputs_give_the_fitted_model_which_is_a_fresh_fit(store, rt):
    history(store)
    forecast = TickForecast()
    model, queue = tick_fit(store, forecast, rt, T0)
    assert forecast.fits == 1
    assert (model, queue) == fresh(store, rt, T0)
    for seconds in (5, 60, 240):
        again, queue_again = tick_fit(store, forecast, rt, T0 + timedelta(seconds=seconds))
        assert again is model and queue_again == queue
    assert forecast.fits == 1
    assert again == fresh(store, rt, T0)[0]  # the inputs did not change: a fresh fit at its time is the same model
    assert len(queue) == 6


@pytest.mark.parametrize("change", ["answered", "opened", "promise", "unanswered", "age", "day", "earlier"])
def test_a_change_of_inputs_fits_again(store, rt, change):
    history(store)
    forecast = TickForecast()
    model, _queue = tick_fit(store, forecast, rt, T0)
    at = T0 + timedelta(seconds=30)
    with store.begin() as conn:
        waiting = sorted(c.number for c in repo.waiting_for_first_response(conn))
        if change == "answered":
            repo.update_case(conn, waiting[0], first_response_at=T0 + timedelta(seconds=20),
                             status="waiting_on_customer")
        elif change == "opened":
            open_case(conn, 100, T0 + timedelta(seconds=10), None)
        elif change == "promise":
            case_id = repo.insert_case(conn, mailbox="support", customer="p@x.example", customer_name="P",
                                       subject="s", priority="normal", language="en", now=T0)[0]
            repo.add_promise(conn, case_id=case_id, owner="team", source="ack", text="", made_at=T0,
                             due_at=T0 + timedelta(hours=3), predicted_bh=1.0, spread_bh=0.5)
        elif change == "unanswered":  # an answer taken back (its case waits again)
            answered = [r.first_response_at for r in repo.recent_first_responses(conn, T0 - timedelta(days=28))]
            number = conn.execute(select(cases.c.number).where(cases.c.first_response_at == answered[10])).scalar()
            repo.update_case(conn, number, first_response_at=None, status="waiting_on_customer")
        elif change == "age":
            at = T0 + REFIT_MAX_AGE + timedelta(seconds=1)
        elif change == "day":  # midnight in Berlin
            model, _queue = tick_fit(store, forecast, rt, datetime(2026, 12, 1, 22, 59, 30, tzinfo=UTC))
            at = datetime(2026, 12, 1, 23, 0, 30, tzinfo=UTC)
        elif change == "earlier":
            at = T0 - timedelta(seconds=30)
    fits = forecast.fits
    refitted, queue = tick_fit(store, forecast, rt, at)
    assert forecast.fits == fits + 1
    assert (refitted, queue) == fresh(store, rt, at)
    assert refitted is not model


def test_a_response_leaving_the_window_fits_again(store, rt):
    history(store, count=8)  # fewer answered cases than the query's limit: the oldest leaves the window first
    forecast = TickForecast()
    tick_fit(store, forecast, rt, T0)
    with store.connect() as conn:
        oldest = min(r.first_response_at for r in repo.recent_first_responses(conn, T0 - timedelta(days=28)))
    leaves = oldest + timedelta(days=28)
    assert leaves - T0 > REFIT_MAX_AGE  # else the age alone would refit
    before = leaves - timedelta(seconds=1)
    tick_fit(store, forecast, rt, before - timedelta(minutes=1))
    fits = forecast.fits
    tick_fit(store, forecast, rt, before)
    assert forecast.fits == fits
    model, queue = tick_fit(store, forecast, rt, leaves + timedelta(seconds=1))
    assert forecast.fits == fits + 1
    assert (model, queue) == fresh(store, rt, leaves + timedelta(seconds=1))
