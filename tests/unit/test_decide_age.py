"""Old mail (imported history, a long outage) gets a case but no acknowledgement."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from inboxd.decide import Acknowledge, HoldAck, Note, OpenCase, decide_message
from tests.unit.test_decide import NOW, context, of_type


@pytest.mark.parametrize(("age", "acknowledged"), [
    (timedelta(minutes=5), True), (timedelta(days=3), True), (timedelta(days=3, seconds=1), False),
    (timedelta(days=400), False)])
def test_mail_older_than_the_limit_opens_a_case_without_an_acknowledgement(age: timedelta, acknowledged: bool) -> None:
    ctx = replace(context(), arrived_at=NOW - age, acknowledge_max_age=timedelta(days=3))
    actions = decide_message(ctx)
    assert of_type(actions, OpenCase)
    assert bool(of_type(actions, Acknowledge)) is acknowledged
    assert not of_type(actions, HoldAck)  # no staff alert per imported message
    assert any(isinstance(a, Note) and a.kind == "not_acknowledged.too_old" for a in actions) is not acknowledged


def test_without_an_arrival_time_the_age_does_not_matter() -> None:
    assert of_type(decide_message(replace(context(), acknowledge_max_age=timedelta(days=3))), Acknowledge)
