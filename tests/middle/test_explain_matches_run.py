"""``inboxd explain`` says what ``inboxd run`` does: the same decisions, message by message.

Several hundred messages — customers, staff replies and notes, machines (bounces, auto-replies, lists,
reports), loop-guard cases, stop requests, bounced senders, strangers citing a case, forged staff
mail, and every message of the corpus in ``tests/data/mail`` — arrive one after another. Before each
is processed, ``explain`` is asked about it against the same store at the same instant; then the
daemon's message path processes it. The actions explain lists must be the actions run applied.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inboxd.cli.main import main
from inboxd.core.decide import describe
from inboxd.core.durations import Duration, Rate
from inboxd.dev.demo import sample_mail
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.store.schema import metadata
from inboxd.store.status import record_first_start
from tests.middle.fakes import EXAMPLE_CONFIG, PASSING_AUTH, Rig, example_runtime, staff_mail

CORPUS = Path(__file__).parents[1] / "data" / "mail"
SUPPORT = "support@example.com"


def guarded_runtime() -> Runtime:
    """The example configuration with a global limit low enough for this stream to reach it."""
    rt = example_runtime()
    guard = rt.config.loop_guard.model_copy(update={"acks_total": Rate(30, Duration(1, "h"))})
    return build_runtime(rt.config.model_copy(update={"loop_guard": guard}), check_templates=False)


@pytest.fixture
def guarded_rig(tmp_path: Path, template_dir: Path) -> Iterator[Rig]:
    made = Rig(tmp_path, template_dir, rt=guarded_runtime())
    yield made
    made.close()


class Stream:
    """Messages written at the rig's current time, each fed through explain and then run."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.seen: Counter[str] = Counter()
        self.count = 0

    def date(self) -> str:
        return format_datetime(self.rig.clock.now())

    def customer(self, sender: str, subject: str, body: str = "Please help.", **headers: str) -> bytes:
        return sample_mail(sender, sender.partition("@")[0].title(), SUPPORT, subject, body,
                           **{"Date": self.date(), **headers})

    def staff(self, sender: str, to: str, subject: str, body: str, **headers: str) -> bytes:
        return staff_mail(sender, to, subject, body, **{"Date": self.date(), **headers})

    def feed(self, raw: bytes, role: str = "inbox", step: timedelta = timedelta(seconds=40)) -> dict[str, object]:
        """Explain the message, process it, and require the same decision; the clock then moves on by ``step``."""
        explained = self.rig.explain(raw) if role == "inbox" else None
        outcome = self.rig.receive(raw, role)
        decided = [describe(a) for a in outcome.actions]
        if explained is not None:
            assert explained["actions"] == decided, raw[:400]
            assert explained["would_acknowledge"] == any(a["action"] == "acknowledge" for a in decided)
            assert explained["would_acknowledge"] == outcome.acknowledged
            if outcome.status == "processed":
                assert explained["kind"] == outcome.kind or outcome.kind == "own"
            self.count += 1
        for action in decided:
            name = str(action["action"])
            self.seen[f"{name}:{action['kind']}" if name == "note" else name] += 1
            if name == "hold_ack":
                self.seen[f"hold_ack:{action['guard']}"] += 1
            if name == "acknowledge" and action["neutral"]:
                self.seen["acknowledge:neutral"] += 1
        self.rig.advance(step)
        return {"outcome": outcome, "explained": explained}

    def ack_to(self, address: str) -> dict[str, str]:
        """The mail (an acknowledgement, a notice) last sent to ``address``: its Message-ID and subject."""
        acks = [m for m in self.rig.sent_messages() if m["To"] == address]
        assert acks, f"no mail to {address}"
        return {"id": acks[-1]["Message-ID"], "subject": acks[-1]["Subject"]}


def bounce_for(ack: dict[str, str], recipient: str, date: str) -> bytes:
    """A DSN reporting that our acknowledgement to ``recipient`` failed for good, carrying its headers."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {date}\r\nMessage-ID: <dsn-{recipient}>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: {recipient}\r\nSubject: {ack['subject']}\r\nMessage-ID: {ack['id']}\r\n"
        "--B--\r\n").encode()


def story(s: Stream) -> None:
    """Customers, the team, machines and the loop guards, in an order where each one matters."""
    # Thirty customers open cases; a third of them write again on theirs.
    for n in range(30):
        s.feed(s.customer(f"c{n}@customer{n % 7}.example", f"Order {n} missing"))
    for n in range(0, 30, 3):
        address = f"c{n}@customer{n % 7}.example"
        ack = s.ack_to(address)
        s.feed(s.customer(address, f"Re: {ack['subject']}", "Any news?\n\n> quoted", In_Reply_To=ack["id"]))
    # The team answers, some with a promise of their own; a later reply keeps the earlier promise.
    for number in range(1001, 1011):
        s.feed(s.staff("alice@example.com", f"c{number - 1001}@customer.example", f"Re: [#{number}] Order",
                       "I'll call you tomorrow at 2pm.", Cc=SUPPORT))
    for number in range(1001, 1006):
        s.feed(s.staff("bob@example.com", f"c{number - 1001}@customer.example", f"Re: [#{number}] Order",
                       "Here is the tracking number.", Cc=SUPPORT), role="sent")
    for number in range(1006, 1011):
        s.feed(s.staff("bob@example.com", "someone@customer.example", f"Re: [#{number}] Order",
                       "Done, see attached.", Cc=SUPPORT))
    # Staff notes: every command, one not understood, one without a case.
    notes = ["#remind tomorrow 10:00 call the courier", "#followup friday", "#waiting the courier until monday",
             "#snooze until tomorrow 09:00", "#priority high", "#assign bob@example.com", "#resolve",
             "#reopen", "#done", "#frobnicate now", "#resolve\n#priority urgent"]
    for offset, body in enumerate(notes):
        s.feed(s.staff("alice@example.com", SUPPORT, f"[#{1011 + offset}] note", body + "\n"))
    s.feed(s.staff("alice@example.com", SUPPORT, "no case here", "#priority high\n"))
    # The tick sends what the notes scheduled (the resolved notice asks for feedback); the customer answers it.
    s.rig.tick()
    notice = s.ack_to("c16@customer2.example")
    s.feed(s.customer("c16@customer2.example", f"Re: {notice['subject']}", "5\n\nGreat help, thanks!",
                      In_Reply_To=notice["id"]))
    s.feed(s.staff("alice@example.com", "someone@customer.example", "Hello there", "Checking in.", Cc=SUPPORT))
    # Forged staff mail: our domain in the From, no trusted verdict or a failing one.
    s.feed(sample_mail("alice@example.com", "Alice", SUPPORT, "Re: [#1001] Order", "Refund it all.",
                       Date=s.date()))
    s.feed(b"Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
           + sample_mail("bob@example.com", "Bob", SUPPORT, "Urgent wire", "Pay now.", Date=s.date()))
    s.feed(b"Authentication-Results: mx.example.com; dmarc=fail header.from=bank.example\r\n"
           + s.customer("alerts@bank.example", "Your account"))
    # Strangers citing a case: a token, a Message-ID, a plus address.
    s.feed(s.customer("stranger@else.example", "Re: [#1002] Order 1 missing", "Me too."))
    s.feed(s.customer("other@else.example", "About your ticket", "Hi", In_Reply_To=s.ack_to(
        "c3@customer3.example")["id"]))
    s.feed(sample_mail("guess@else.example", "Guess", "support+1004@example.com", "Hello", "Hi", Date=s.date()))
    # Stop requests: to the stop address, and in words.
    s.feed(sample_mail("c5@customer5.example", "C5", "support+stop-1006@example.com", "unsubscribe", "stop",
                       Date=s.date()))
    s.feed(s.customer("c6@customer6.example", "Re: [#1007] Order 6 missing", "Please stop sending me updates."))
    # Reply-To elsewhere (a neutral ack), to ourselves, to nobody sensible: an hour on, the global limit
    # the first thirty reached has passed.
    s.rig.advance(timedelta(hours=1))
    s.feed(s.customer("sales@shop.example", "Quote", **{"Reply-To": "victim@elsewhere.example"}))
    s.feed(s.customer("loop@shop.example", "Loop", **{"Reply-To": SUPPORT}))
    s.feed(s.customer("weird@shop.example", "Weird", **{"Reply-To": "nobody@localhost"}))
    # Loop guards: a burst, many acknowledgements to one sender, many Froms naming one Reply-To.
    for n in range(5):
        s.feed(s.customer("burst@fast.example", f"Burst {n}"), step=timedelta(seconds=5))
    for n in range(7):
        s.feed(s.customer("chatty@slow.example", f"Question {n}"), step=timedelta(minutes=15))
    for n in range(7):
        s.feed(s.customer(f"from{n}@many.example", f"Form {n}", **{"Reply-To": "target@many.example"}),
               step=timedelta(minutes=15))
    # An auto-responder answering our acknowledgement at once, and one naming a case it is not on.
    ack = s.ack_to("c9@customer2.example")
    s.feed(s.customer("c9@customer2.example", f"Re: {ack['subject']}", "I am away.", In_Reply_To=ack["id"],
                      Auto_Submitted="auto-replied"))
    s.feed(s.customer("robot@else.example", "Re: [#1003] Order", "Out of office", Auto_Submitted="auto-replied"))
    s.feed(s.customer("news@list.example", "Weekly news", "News", List_Id="<news.list.example>"))
    # Bounced senders: our acknowledgements bounce; then mail naming those addresses.
    for n in (11, 12, 13):
        address = f"c{n}@customer{n % 7}.example"
        s.feed(bounce_for(s.ack_to(address), address, s.date()))
    s.feed(s.customer("new@customer4.example", "New", **{"Reply-To": "c11@customer4.example"}))
    s.feed(s.customer("c12@customer5.example", "I am back", "My mailbox works again."))
    s.feed(s.customer("c13@customer6.example", "Re: [#1014] Order 13 missing", "Still there?"))
    # The same message fetched twice.
    twice = s.customer("twice@customer.example", "Twice")
    s.feed(twice)
    s.feed(twice)
    # Enough new customers within the hour to reach the global limit (30 here).
    s.rig.advance(timedelta(hours=1))
    for n in range(40):
        s.feed(s.customer(f"wave{n}@wave.example", f"Wave {n}"), step=timedelta(seconds=20))


def corpus_messages() -> list[Path]:
    return sorted(CORPUS.rglob("*.eml"))


def test_explain_and_run_make_the_same_decisions_for_every_message(guarded_rig: Rig) -> None:
    s = Stream(guarded_rig)
    story(s)
    guarded_rig.advance(timedelta(hours=2))  # past the global limit's period
    for path in corpus_messages():
        s.feed(path.read_bytes(), step=timedelta(minutes=3))
    # A staff member's genuine mail through the inbox, after all that.
    s.feed(PASSING_AUTH + sample_mail("alice@example.com", "Alice", "c0@customer0.example",
                                      "Re: [#1001] Order 0 missing", "All sorted.", Cc=SUPPORT))
    assert s.count >= 400
    # Every kind of decision came up, so the comparison covered each of them.
    expected = {
        "open_case", "join_case", "acknowledge", "set_status", "mark_first_response", "keep_team_promises",
        "keep_promises", "record_commitment", "schedule", "snooze", "set_priority", "assign", "confirm_note",
        "reject_note", "record_feedback", "opt_out", "mark_unreachable", "clear_bounced", "already_recorded",
        "hold_ack:acks_per_sender", "hold_ack:acks_per_recipient", "hold_ack:sender_burst", "hold_ack:acks_total",
        "note:not_acknowledged.forged_sender", "note:not_acknowledged.auto_reply", "note:not_acknowledged.bounce",
        "note:not_acknowledged.list", "note:ack.held", "note:ack.suppressed", "note:staff_message_without_case",
        "note:case.waiting", "acknowledge:neutral",
    }
    assert expected <= set(s.seen), sorted(expected - set(s.seen))


def table_counts(rig: Rig) -> dict[str, int]:
    with rig.store.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables}


def test_explain_writes_nothing(rig: Rig) -> None:
    s = Stream(rig)
    s.feed(s.customer("ann@customer.example", "Help"))
    messages = [s.customer("bob@customer.example", "Help too"),
                s.staff("alice@example.com", SUPPORT, "[#1001] note", "#resolve\n#priority high\n"),
                bounce_for(s.ack_to("ann@customer.example"), "ann@customer.example", s.date())]
    before = table_counts(rig)
    explained = [rig.explain(raw) for raw in messages]
    assert table_counts(rig) == before and before["cases"] == 1
    assert [rig.explain(raw) for raw in messages] == explained  # nothing explain did changed what it sees
    assert [x["would_acknowledge"] for x in explained] == [True, False, False]
    assert rig.receive(messages[0]).acknowledged
    assert rig.explain(messages[0])["actions"] == [{"action": "already_recorded"}]


def test_the_explain_command_follows_the_loop_guards_and_bounced_addresses(
        rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``inboxd explain`` against the daemon's database: a burst and a bounced Reply-To get no acknowledgement."""
    s = Stream(rig)
    for n in range(3):
        s.feed(s.customer("burst@fast.example", f"Burst {n}"), step=timedelta(seconds=5))
    s.feed(s.customer("gone@customer.example", "Hello"))
    s.feed(bounce_for(s.ack_to("gone@customer.example"), "gone@customer.example", s.date()))
    files = {"burst.eml": s.customer("burst@fast.example", "Burst 3"),
             "bounced.eml": s.customer("new@customer.example", "Hi", **{"Reply-To": "gone@customer.example"}),
             "fine.eml": s.customer("fine@customer.example", "Hi")}
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    args = ["explain", "--config", str(EXAMPLE_CONFIG), "--database-url", rig.database_url]
    capsys.readouterr()
    assert main([*args, "--json", *(str(tmp_path / name) for name in files)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(Path(x["file"]).name, x["would_acknowledge"]) for x in lines] == [
        ("burst.eml", False), ("bounced.eml", False), ("fine.eml", True)]
    assert lines[0]["actions"][-2]["guard"] == "sender_burst"
    assert "address bounced" in lines[1]["action"]
    assert main([*args, str(tmp_path / "burst.eml")]) == 0
    human = capsys.readouterr().out
    assert "open a case, but no acknowledgement: burst@fast.example sent 4 messages" in human
    assert "decided: open_case, hold_ack, keep_timeline" in human


def test_explain_and_run_leave_history_unacknowledged(rig: Rig) -> None:
    """Mail older than ``acknowledge_max_age`` (3d) when inboxd first watched the inbox: a case, no ack."""
    with rig.store.begin() as conn:
        record_first_start(conn, "support", "INBOX", rig.clock.now())
    s = Stream(rig)
    old = sample_mail("old@customer.example", "Old", SUPPORT, "From last month", "Hello?",
                      Date=format_datetime(rig.clock.now() - timedelta(days=30)))
    fed = s.feed(old)
    assert fed["explained"]["would_acknowledge"] is False  # type: ignore[index]
    assert s.seen["note:not_acknowledged.history"] == 1
    s.feed(s.customer("new@customer.example", "Today"))
    assert s.seen["acknowledge"] == 1
