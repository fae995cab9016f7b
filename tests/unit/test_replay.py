"""``replay_message``: what the current rules would do with a message, against what was recorded. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inboxd.config import load_config_text
from inboxd.service.replay import Recorded, describe_change, replay_message
from inboxd.service.runtime import build_runtime

from .test_rules import CONFIG

RULES = """\
  - name: vip
    match: {from: '@vip\\.example$'}
    set: {priority: high, tags: [vip], assignee: lead@example.com}
  - name: invoices
    match: {subject: '(?i)invoice'}
    set: {tags: [billing]}
    action: no_ack
  - name: robots
    match: {subject: '^Nightly export'}
    action: ignore
"""
RT = build_runtime(load_config_text(CONFIG + RULES), check_templates=False)
ARRIVED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def raw(subject: str, sender: str = "ann@customer.example") -> bytes:
    return (f"From: Ann <{sender}>\nTo: support@example.com\nSubject: {subject}\nMessage-ID: <m1@customer.example>\n"
            f"Date: Tue, 01 Dec 2026 10:59:00 +0100\n\nHello\n").encode()


OPENED = Recorded(kind="customer", case=1001, opened=True, priority="normal", acknowledged=True)

# (message, what was recorded, fields that changed, what the listing says)
CASES = [
    pytest.param(raw("Question"), OPENED, (), "no change", id="nothing matches now or then"),
    pytest.param(raw("Question", "boss@vip.example"), OPENED, ("priority", "tags", "assignee"),
                 "priority: normal → high; tags: - → vip; assignee: - → lead@example.com", id="a new set"),
    pytest.param(raw("Invoice 12"), OPENED, ("tags", "acknowledged"),
                 "tags: - → billing; acknowledged: yes → no (rule invoices)", id="no_ack"),
    pytest.param(raw("Nightly export"), OPENED, ("kind", "priority", "acknowledged"),
                 "kind: customer → ignored; priority: normal → -; acknowledged: yes → no", id="now ignored"),
    pytest.param(raw("Question"), Recorded(kind="ignored"), ("kind", "priority", "acknowledged"),
                 "kind: ignored → customer; priority: - → normal; acknowledged: no → yes",
                 id="ignored then, a case now"),
    pytest.param(raw("Question"), Recorded(kind="customer", case=1001, opened=True, priority="normal", held=True),
                 (), "no change", id="held by a loop guard then: held again"),
    pytest.param(raw("Invoice 12"), Recorded(kind="customer", case=1001), (), "no change",
                 id="a reply joins its case: rules set nothing on it"),
    pytest.param(raw("Nightly export"), Recorded(kind="customer", case=1001), ("kind",),
                 "kind: customer → ignored", id="a reply now ignored"),
    pytest.param(raw("Question"), None, (), "not processed yet", id="not on record"),
]


@pytest.mark.parametrize(("message", "recorded", "changed", "listing"), CASES)
def test_replay_message(message: bytes, recorded: Recorded | None, changed: tuple[str, ...], listing: str) -> None:
    row = replay_message(RT, message, mailbox="support", uid=7, arrived=ARRIVED, recorded=recorded)
    assert row.changed == changed
    assert describe_change(row) == listing
    assert row.as_dict()["changed"] == list(changed)
