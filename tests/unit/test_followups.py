"""Due-work decisions: reminders, escalations, updates, nudges, resolve, feedback, opt-out, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from inboxd.core import followups as f
from inboxd.core.cases import CaseState
from inboxd.core.durations import parse_duration

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)
POLICY = f.UpdatePolicy(parse_duration("1bd"), parse_duration("3bd"), parse_duration("7bd"), feedback=True)


def case(status: str = "waiting_on_us") -> CaseState:
    return CaseState(number=1001, status=status, customer="ann@x.example", priority="normal", language="en",
                     subject="VPN", opened_at=SINCE)


def item(kind: str, since: datetime = SINCE) -> f.DueItem:
    return f.DueItem(id=7, key=f"{kind}:1001:1", kind=kind, case_number=1001, due_at=NOW,
                     payload={"since": since.isoformat()})


def decide(kind: str, status: str, timeline: f.CaseTimeline, now: datetime = NOW) -> list[f.FollowupAction]:
    return f.decide_update(item(kind), case(status), timeline, POLICY, next_due=lambda at: at + timedelta(days=1),
                           now=now)


def test_update_is_sent_and_the_next_one_scheduled() -> None:
    actions = decide("update", "waiting_on_us", f.CaseTimeline())
    assert [type(a).__name__ for a in actions] == ["CustomerMail", "Schedule"]
    assert actions[0].template == "update" and actions[1].due_at == NOW + timedelta(days=1)


@pytest.mark.parametrize(("status", "timeline", "why"), [
    ("waiting_on_customer", f.CaseTimeline(), "no longer waits on us"),
    ("waiting_on_us", f.CaseTimeline(last_staff_reply_at=SINCE + timedelta(hours=1)), "staff replied"),
    ("waiting_on_us", f.CaseTimeline(opted_out=True), "opted out"),
    ("waiting_on_us", f.CaseTimeline(unreachable=True), "unreachable"),
])
def test_update_is_skipped_when_moot(status: str, timeline: f.CaseTimeline, why: str) -> None:
    (action,) = decide("update", status, timeline)
    assert isinstance(action, f.Skip) and why in action.reason


def test_mail_from_us_in_between_restarts_the_cadence() -> None:
    heard = SINCE + timedelta(hours=1)  # e.g. a delay notice
    skip, schedule = decide("update", "waiting_on_us", f.CaseTimeline(last_heard_at=heard))
    assert isinstance(skip, f.Skip) and "heard from us" in skip.reason
    assert isinstance(schedule, f.Schedule) and schedule.kind == "update"
    assert schedule.due_at == heard + timedelta(days=1) and schedule.payload == {"since": heard.isoformat()}


def test_snoozed_update_waits_for_the_snooze() -> None:
    until = NOW + timedelta(days=3)
    (action,) = decide("update", "waiting_on_us", f.CaseTimeline(snoozed_until=until))
    assert isinstance(action, f.Schedule) and action.due_at == until


@pytest.mark.parametrize(("offset", "now", "expected"), [
    (60, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),  # 10:00 Berlin
    (-480, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), datetime(2026, 11, 24, 16, 0, tzinfo=UTC)),  # 01:00 LA → 08:00
    (-480, datetime(2026, 11, 25, 5, 0, tzinfo=UTC), datetime(2026, 11, 25, 16, 0, tzinfo=UTC)),  # 21:00 LA → 08:00
    (540, datetime(2026, 11, 24, 12, 0, tzinfo=UTC), datetime(2026, 11, 24, 23, 0, tzinfo=UTC)),  # 21:00 Tokyo
    (None, datetime(2026, 11, 24, 3, 0, tzinfo=UTC), datetime(2026, 11, 24, 3, 0, tzinfo=UTC)),  # unknown offset
])
def test_quiet_hours_in_the_customers_own_offset(offset: int | None, now: datetime, expected: datetime) -> None:
    assert f.reasonable_hour(now, offset, POLICY) == expected


def test_night_update_is_moved_to_the_morning() -> None:
    (action,) = decide("update", "waiting_on_us", f.CaseTimeline(customer_utc_offset=-480))
    assert isinstance(action, f.Schedule) and action.due_at == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_nudge_then_resolve_while_waiting_on_the_customer() -> None:
    (nudge,) = decide("nudge", "waiting_on_customer", f.CaseTimeline())
    assert isinstance(nudge, f.CustomerMail) and nudge.template == "nudge"
    resolve = decide("auto_resolve", "waiting_on_customer", f.CaseTimeline())
    assert [type(a).__name__ for a in resolve] == ["SetCaseStatus", "CustomerMail"]
    assert resolve[1].context == {"feedback": True, "automatic": True}


def test_a_customer_reply_cancels_nudge_and_resolve() -> None:
    moved = f.CaseTimeline(last_customer_at=SINCE + timedelta(hours=2))
    assert isinstance(decide("nudge", "waiting_on_customer", moved)[0], f.Skip)
    assert isinstance(decide("auto_resolve", "waiting_on_customer", moved)[0], f.Skip)


def test_opted_out_case_is_still_resolved_but_silently() -> None:
    actions = decide("auto_resolve", "waiting_on_customer", f.CaseTimeline(opted_out=True))
    assert [type(a).__name__ for a in actions] == ["SetCaseStatus"]


def test_waiting_schedule_per_status() -> None:
    add = lambda at, d: at + d.as_timedelta()  # noqa: E731 - calendar time is enough here
    assert [s.kind for s in f.waiting_schedule(1001, "waiting_on_us", SINCE, POLICY, add)] == ["update"]
    assert [s.kind for s in f.waiting_schedule(1001, "waiting_on_customer", SINCE, POLICY, add)] == [
        "nudge", "auto_resolve"]
    assert f.waiting_schedule(1001, "resolved", SINCE, POLICY, add) == []


@pytest.mark.parametrize(("text", "score", "rest"), [
    ("5", 5, ""),
    ("4/5 thanks", 4, "thanks"),
    ("Great!", 5, ""),
    ("sehr gut, danke\nweiter so", 5, "danke\nweiter so"),
    ("not good at all", 2, "at all"),
    ("schlecht", 1, ""),
    ("It broke again, 5 times today", None, "It broke again, 5 times today"),
    ("Thanks a lot", None, "Thanks a lot"),
])
def test_feedback_score(text: str, score: int | None, rest: str) -> None:
    assert f.feedback_score(text) == (score, rest)


@pytest.mark.parametrize(("text", "stop"), [
    ("Stop", True), ("Please stop sending updates", True), ("No more updates, please", True),
    ("Keine Updates mehr, danke", True), ("unsubscribe", True),
    ("Stop charging my card twice", False), ("When will you stop the outage?", False), ("Thanks!", False),
    # The word every language's templates ask for, with a polite word in the customer's own.
    ("Stop, merci", True), ("stop por favor", True), ("Stop, grazie!", True), ("Stop, dank u wel", True),
    ("Stop, obrigada", True), ("Merci", False), ("Stop le prélèvement", False),
])
def test_opt_out_requests(text: str, stop: bool) -> None:
    assert f.asks_to_stop_updates(text, "Re: [#1001] VPN") is stop


def test_commitment_schedule_and_escalation() -> None:
    made = NOW
    items = f.commitment_schedule(42, made, made + timedelta(hours=5), timedelta(hours=2))
    assert [(i.kind, i.due_at - made) for i in items] == [("reminder", timedelta(hours=3)),
                                                         ("escalation", timedelta(hours=5))]
    hour = f.commitment_schedule(42, made, made + timedelta(hours=1), timedelta(hours=2))
    assert [(i.kind, i.due_at - made) for i in hour] == [("reminder", timedelta(minutes=30)),
                                                        ("escalation", timedelta(hours=1))]
    soon = f.commitment_schedule(42, made, made + timedelta(minutes=20), timedelta(hours=2))
    assert [(i.kind, i.due_at - made) for i in soon] == [("escalation", timedelta(minutes=20))]


def test_a_commitment_recorded_after_its_time_escalates_at_once_never_in_the_past() -> None:
    late = f.commitment_schedule(42, NOW, NOW - timedelta(hours=16), timedelta(hours=2))
    assert [(i.kind, i.due_at) for i in late] == [("escalation", NOW)]


def test_digest_time_skips_weekends() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    at = f.next_digest_at(saturday, time(8, 30), lambda d: d.weekday() < 5, UTC)
    assert at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


def config_with(updates: str, rules: str = ""):
    from pathlib import Path

    from inboxd.config import load_config_text

    text = (Path(__file__).resolve().parents[2] / "config" / "inboxd.yaml").read_text()
    start = text.index("updates:")
    end = text.index("reminders:")
    text = text[:start] + updates + "\n" + text[end:]
    if rules:
        text = text.replace("rules:", "rules:\n" + rules, 1)
    return load_config_text(text, "inboxd.yaml")


def test_cadence_per_priority_and_per_rule_and_off() -> None:
    config = config_with("updates:\n  while_waiting_on_us: 1bd\n  nudge_customer_after: 3bd\n"
                         "  resolve_after: 7bd\n  by_priority:\n    urgent: {while_waiting_on_us: 2bh}\n"
                         "    low: {while_waiting_on_us: off}\n")
    assert str(f.update_policy(config, "normal").while_waiting_on_us) == "1bd"
    assert str(f.update_policy(config, "urgent").while_waiting_on_us) == "2bh"
    assert f.update_policy(config, "low").while_waiting_on_us is None
    # A rule's cadence (stored on the case) wins over the priority's.
    ruled = f.update_policy(config, "urgent", {"while_waiting_on_us": "off", "resolve_after": "2bd", "feedback": False})
    assert ruled.while_waiting_on_us is None and str(ruled.resolve_after) == "2bd" and ruled.feedback is False
    # Off means nothing of that kind is scheduled.
    add = lambda at, d: at + d.as_timedelta()  # noqa: E731
    assert f.waiting_schedule(1001, "waiting_on_us", SINCE, f.update_policy(config, "low"), add) == []


def test_rules_set_update_cadences() -> None:
    from inboxd.core.rules import apply_rules
    from inboxd.mail.parse import parse_message

    config = config_with("updates:\n  while_waiting_on_us: 1bd\n",
                         '  - {name: quiet, match: {subject: "(?i)bulletin"}, '
                         "set: {updates: {while_waiting_on_us: off, nudge_customer_after: 5bd}}}")
    msg = parse_message(b"From: a@x.example\r\nSubject: Quarterly bulletin\r\n\r\nHi\r\n")
    assert apply_rules(config.rules, msg).updates == {"while_waiting_on_us": "off", "nudge_customer_after": "5bd"}
