"""Imported history (mail already old when inboxd first started watching) gets a case but no acknowledgement."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from inboxd.core.decide import Acknowledge, HoldAck, Note, OpenCase, decide_message
from tests.unit.test_decide import NOW, context, of_type

START = NOW - timedelta(hours=1)


@pytest.mark.parametrize(("before_start", "acknowledged"), [
    (timedelta(minutes=-30), True), (timedelta(minutes=5), True), (timedelta(days=3), True),
    (timedelta(days=3, seconds=1), False), (timedelta(days=400), False)])
def test_mail_long_older_than_the_first_start_opens_a_case_without_an_acknowledgement(
        before_start: timedelta, acknowledged: bool) -> None:
    ctx = replace(context(), arrived_at=START - before_start, watch_started_at=START,
                  acknowledge_max_age=timedelta(days=3))
    actions = decide_message(ctx)
    assert of_type(actions, OpenCase)
    assert bool(of_type(actions, Acknowledge)) is acknowledged
    assert not of_type(actions, HoldAck)  # no staff alert per imported message
    assert any(isinstance(a, Note) and a.kind == "not_acknowledged.history" for a in actions) is not acknowledged


def test_mail_delivered_during_a_long_outage_is_still_acknowledged() -> None:
    ctx = replace(context(), arrived_at=NOW - timedelta(days=10), watch_started_at=NOW - timedelta(days=30),
                  acknowledge_max_age=timedelta(days=3))
    assert of_type(decide_message(ctx), Acknowledge)


def test_without_an_arrival_time_the_age_does_not_matter() -> None:
    ctx = replace(context(), watch_started_at=START, acknowledge_max_age=timedelta(days=3))
    assert of_type(decide_message(ctx), Acknowledge)
