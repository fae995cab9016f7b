"""Which daemon serves which mailbox (inboxd.service.nodes.assign), and how ``inboxd status`` shows the daemons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inboxd.core.status import build_report, format_report
from inboxd.service.nodes import assign

BOXES = ["a", "b", "c", "d"]


def test_one_daemon_serves_every_mailbox() -> None:
    assert assign(BOXES, {"n1": BOXES}, {}) == dict.fromkeys(BOXES, "n1")


def test_mailboxes_are_spread_evenly_over_the_live_daemons() -> None:
    result = assign(BOXES, {"n1": BOXES, "n2": BOXES}, {})
    assert sorted(result.values()) == ["n1", "n1", "n2", "n2"]
    assert len(set(assign(["a", "b"], {"n1": BOXES, "n2": BOXES, "n3": BOXES}, {}).values())) == 2


def test_a_joining_daemon_takes_only_the_excess_of_the_others() -> None:
    before = dict.fromkeys(BOXES, "n1")
    after = assign(BOXES, {"n1": BOXES, "n2": BOXES}, before)
    moved = {box for box in BOXES if after[box] != before[box]}
    assert len(moved) == 2 and all(after[box] == "n2" for box in moved)


def test_a_dead_daemon_s_mailboxes_go_to_the_least_loaded_and_nothing_else_moves() -> None:
    holders = {"a": "n1", "b": "n2", "c": "n3"}
    after = assign(["a", "b", "c"], {"n2": BOXES, "n3": BOXES}, holders)  # n1 is gone
    assert after["b"] == "n2" and after["c"] == "n3" and after["a"] in ("n2", "n3")


def test_a_daemon_whose_configuration_lacks_a_mailbox_is_not_given_it() -> None:
    result = assign(["a", "b"], {"n1": ["a"], "n2": ["a", "b"]}, {})
    assert result == {"a": "n1", "b": "n2"}
    assert assign(["b"], {"n1": ["a"]}, {}) == {}
    assert assign(BOXES, {}, {}) == {}


def test_every_daemon_computes_the_same_spread() -> None:
    nodes = {"n3": BOXES, "n1": BOXES, "n2": BOXES}
    holders = {"a": "n2"}
    assert assign(BOXES, nodes, holders) == assign(list(reversed(BOXES)), dict(reversed(nodes.items())), holders)


NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _row(mailbox: str, node: str) -> dict[str, object]:
    return {"mailbox": mailbox, "channel": "imap:INBOX", "node": node, "up": True, "mode": "idle",
            "last_poll_at": NOW, "error": None, "last_error": None, "last_error_at": None, "updated_at": NOW}


def test_status_shows_the_daemons_what_they_hold_and_the_tick_leader() -> None:
    nodes = [{"name": "h1:10:aa", "host": "h1", "pid": 10, "started_at": NOW, "heartbeat_at": NOW},
             {"name": "h2:20:bb", "host": "h2", "pid": 20, "started_at": NOW, "heartbeat_at": NOW},
             {"name": "h3:30:cc", "host": "h3", "pid": 30, "started_at": NOW,
              "heartbeat_at": NOW - timedelta(minutes=1)}]
    until = NOW + timedelta(seconds=10)
    leases = [{"name": "mailbox:a", "holder": "h1:10:aa", "token": 3, "acquired_at": NOW, "expires_at": until},
              {"name": "mailbox:b", "holder": "h2:20:bb", "token": 1, "acquired_at": NOW, "expires_at": until},
              {"name": "tick", "holder": "h2:20:bb", "token": 7, "acquired_at": NOW, "expires_at": until},
              {"name": "mailbox:c", "holder": "h3:30:cc", "token": 2, "acquired_at": NOW,
               "expires_at": NOW - timedelta(seconds=45)}]
    report = build_report([_row("a", "h1:10"), _row("b", "h2:20"), _row("c", "h3:30")], {}, {}, NOW, nodes, leases)
    assert report["tick_leader"] == "h2:20:bb"
    assert [(n["name"], n["alive"], n["mailboxes"], n["tick_leader"]) for n in report["nodes"]] == [
        ("h1:10:aa", True, ["a"], False), ("h2:20:bb", True, ["b"], True), ("h3:30:cc", False, [], False)]
    assert {m["name"]: m["holder"] for m in report["mailboxes"]} == {"a": "h1:10:aa", "b": "h2:20:bb", "c": None}
    text = "\n".join(format_report(report))
    assert "daemons: 2 alive, tick led by h2:20:bb" in text
    assert "h3:30:cc: GONE" in text and "serves no mailbox (standby)" in text


def test_alone_with_its_database_status_lists_no_daemons() -> None:
    report = build_report([_row("a", "h1:10")], {}, {}, NOW)
    assert report["nodes"] == [] and report["tick_leader"] is None and report["mailboxes"][0]["holder"] is None
    assert not any(line.startswith("daemons:") for line in format_report(report))
