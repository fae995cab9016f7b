"""The tick's decisions (inboxd.core.tick): each due kind, delay notices and the customer's night, promises past due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxd.core import eta, tick
from inboxd.core import followups as f
from inboxd.core.calendar import BusinessCalendar
from inboxd.core.cases import CaseState
from inboxd.core.durations import parse_duration

CALENDAR = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE")
POLICY = f.UpdatePolicy(parse_duration("1bd"), parse_duration("3bd"), parse_duration("7bd"), feedback=True)
SETTINGS = tick.TickSettings(calendar=CALENDAR, escalate_to=("lead@example.com",),
                             delay_notice_before=parse_duration("2h"), quiet=POLICY)
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
CASE = CaseState(number=1001, status="waiting_on_us", customer="ann@x.example", priority="normal", language="en",
                 subject="VPN", opened_at=MONDAY - timedelta(days=1))


def item(kind: f.DueKind, **payload: object) -> f.DueItem:
    return f.DueItem(id=3, key=f"{kind}:1001", kind=kind, case_number=1001, due_at=MONDAY,
                     payload={"since": (MONDAY - timedelta(days=1)).isoformat(), **payload})


def test_kinds_are_the_column_values_and_strings_become_the_enum() -> None:
    assert f.DueItem(id=1, key="k", kind="nudge", case_number=None, due_at=MONDAY).kind is f.DueKind.NUDGE  # type: ignore[arg-type]
    assert f.DueKind.UPDATE == "update" and f"{f.DueKind.AUTO_RESOLVE}.skipped" == "auto_resolve.skipped"
    with pytest.raises(ValueError):
        f.Schedule("bogus", MONDAY, "k")  # type: ignore[arg-type]


def test_the_digest_is_sent_by_the_shell() -> None:
    assert tick.decide_due_work(tick.DueCase(item(f.DueKind.DIGEST)), SETTINGS, MONDAY) == [
        tick.SendDigests("digest:1001")]


@pytest.mark.parametrize("kind", sorted(f.DueKind.customer_kinds()))
def test_customer_kinds_without_their_case_are_skipped(kind: f.DueKind) -> None:
    assert tick.decide_due_work(tick.DueCase(item(kind)), SETTINGS, MONDAY) == [f.Skip("no such case")]


def test_an_update_is_sent_and_the_next_one_falls_a_business_day_later_over_the_weekend() -> None:
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    due = tick.DueCase(item(f.DueKind.UPDATE), CASE, "[#1001]", timeline=f.CaseTimeline(), policy=POLICY)
    mail, following = tick.decide_due_work(due, SETTINGS, friday)
    assert isinstance(mail, f.CustomerMail) and mail.template == "update"
    assert isinstance(following, f.Schedule) and following.due_at == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_an_escalation_breaks_the_commitment_and_tells_the_lead_and_the_owner() -> None:
    promise = f.PromiseView(id=9, owner="bob@example.com", source="reply", text="I'll call.", made_at=MONDAY,
                            due_at=MONDAY, state="open")
    due = tick.DueCase(item(f.DueKind.ESCALATION, promise=9), CASE, "[#1001]", promise=promise)
    settle, mail = tick.decide_due_work(due, SETTINGS, MONDAY)
    assert settle == f.SettlePromise(9, "broken")
    assert isinstance(mail, f.StaffMail) and mail.to == ("lead@example.com", "bob@example.com")


def rush(now: datetime, count: int = 12) -> tick.Forecast:
    """``count`` cases opened in the last hour and no history: the queue takes the rest of the day and more."""
    queue = eta.QueueSnapshot(tuple(eta.WaitingCase(now - timedelta(minutes=5 * i), "normal", 1001 + i)
                                    for i in range(count)))
    history = eta.PaceHistory(since=now - timedelta(days=28), responses=())
    model = eta.fit(now, queue, history, (), CALENDAR, eta.Coverage(CALENDAR), eta.EtaConfig())
    return tick.Forecast(model, queue)


def promise(number: int, due: datetime, offset: int | None = None) -> tick.OpenTeamPromise:
    return tick.OpenTeamPromise(id=number, case_number=number, case_ref=number, made_at=MONDAY - timedelta(hours=1),
                                due_at=due, customer_utc_offset=offset)


def test_a_promise_that_will_break_gets_a_revised_one_now() -> None:
    # Three cases ahead and fifty minutes to go: a break is about 90 % likely.
    due = MONDAY + timedelta(minutes=50)
    ctx = tick.RiskContext((promise(1009, due),), rush(MONDAY))
    (notice,) = tick.decide_delay_notices(ctx, SETTINGS, MONDAY)
    assert isinstance(notice, tick.DelayNotice) and notice.revised.due > notice.promise.due_at
    assert notice.miss_probability >= eta.risk_level(due, MONDAY, SETTINGS.delay_notice_before, CALENDAR)
    # The staff alert and the audit log say how likely the break was.
    assert f"{notice.miss_probability:.0%} likely to break" in notice.revised.basis


def test_a_break_about_as_likely_as_not_waits_for_the_queue_to_show_it() -> None:
    # The oldest case, fifty minutes to go: about 60 % likely to break, not enough at this lead; a quarter of an
    # hour before the due time, with the case still unanswered, a smaller likelihood is enough.
    due = MONDAY + timedelta(minutes=50)
    assert tick.decide_delay_notices(tick.RiskContext((promise(1012, due),), rush(MONDAY)), SETTINGS, MONDAY) == []
    late = due - timedelta(minutes=15)
    (notice,) = tick.decide_delay_notices(tick.RiskContext((promise(1012, due),), rush(late)), SETTINGS, late)
    assert isinstance(notice, tick.DelayNotice) and notice.miss_probability >= eta.LATE_RISK_LEVEL


def test_a_promise_that_holds_gets_no_notice() -> None:
    ctx = tick.RiskContext((promise(1001, MONDAY + timedelta(days=5)),), rush(MONDAY))
    assert tick.decide_delay_notices(ctx, SETTINGS, MONDAY) == []


def test_at_night_where_the_customer_is_the_notice_waits_for_their_morning() -> None:
    # 15:00 UTC is seven in the morning in California: the notice goes out at 08:00 there, before the due time.
    now = MONDAY + timedelta(hours=6)
    due = now + timedelta(minutes=90)
    # The newest of twenty cases, last in line: its break is all but certain.
    ctx = tick.RiskContext((promise(1001, due, offset=-480),), rush(now, 20))
    (deferred,) = tick.decide_delay_notices(ctx, SETTINGS, now)
    assert isinstance(deferred, tick.DeferDelay) and deferred.notice_at == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    # Where it is day, or when the morning would come too late, the notice goes out now.
    for offset, at in ((60, due), (-480, now + timedelta(minutes=45))):
        (told,) = tick.decide_delay_notices(tick.RiskContext((promise(1001, at, offset),), rush(now, 20)), SETTINGS,
                                            now)
        assert isinstance(told, tick.DelayNotice)
    # Hours before delay_notice_before ahead of the due time, nobody is told yet: the queue may still move.
    assert tick.decide_delay_notices(tick.RiskContext((promise(1001, due + timedelta(hours=3)),), rush(now, 20)),
                                     SETTINGS, now) == []


def test_promises_of_cases_out_of_the_queue_are_not_judged() -> None:
    ctx = tick.RiskContext((promise(4242, MONDAY + timedelta(minutes=50)),), rush(MONDAY))
    assert tick.decide_delay_notices(ctx, SETTINGS, MONDAY) == []


def test_team_promises_past_their_due_time_break() -> None:
    overdue = [tick.OverduePromise(1, 1, "team", MONDAY - timedelta(minutes=1)),
               tick.OverduePromise(2, 1, "team", MONDAY)]
    assert tick.decide_overdue(overdue, MONDAY) == [f.SettlePromise(1, "broken")]
