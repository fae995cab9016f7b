"""What one incoming message causes: who is acknowledged, which case moves, and when the loop guards hold.

Every row states what a customer or a staff member would see: an acknowledgement or none, a new case or
none, a case that now waits on the customer, staff told that an ack was held back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.cases import CaseState, Status
from inboxd.core.decide import (
    Acknowledge,
    Action,
    AlreadyRecorded,
    Assign,
    ClearBounced,
    ConfirmNote,
    HoldAck,
    JoinCase,
    KeepPromises,
    KeepTeamPromises,
    KeepTimeline,
    Limits,
    MarkFirstResponse,
    MessageContext,
    Note,
    OpenCase,
    RecordCommitment,
    Schedule,
    SenderHistory,
    SetPriority,
    SetStatus,
    Snooze,
    decide_message,
)
from inboxd.core.durations import Duration
from inboxd.core.followups import PromiseView
from inboxd.core.notes import NoteCommand
from inboxd.core.rules import RuleOutcome
from inboxd.mail.classify import Classification, Kind
from inboxd.mail.parse import parse_message

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

CUSTOMER_MAIL = parse_message(
    b"From: Ann Customer <ann@customer.example>\nTo: support@example.com\nSubject: Invoice missing\n"
    b"Message-ID: <m1@customer.example>\n\nWhere is my invoice?\n"
)
STAFF_MAIL = parse_message(
    b"From: Alice <alice@example.com>\nTo: ann@customer.example\nCc: support@example.com\n"
    b"Subject: Re: [#1042] Invoice missing\nMessage-ID: <m2@example.com>\n\nAttached.\n"
)


def case(status: Status = "waiting_on_us", first_response_at: datetime | None = None) -> CaseState:
    return CaseState(number=1042, status=status, customer="ann@customer.example", priority="normal",
                     language="en", subject="Invoice missing", opened_at=OPENED,
                     first_response_at=first_response_at, acknowledged=True)


def context(kind: Kind = "customer", *, case_state: CaseState | None = None, rules: RuleOutcome | None = None,
            history: SenderHistory | None = None, own: bool = False) -> MessageContext:
    msg = STAFF_MAIL if kind in ("staff", "staff_note") else CUSTOMER_MAIL
    return MessageContext(
        msg=msg, classification=Classification(kind, "test"), rules=rules or RuleOutcome(), case=case_state,
        thread_how="references" if case_state else None, history=history or SenderHistory(),
        limits=Limits(acks_per_sender=5, sender_burst=3, acks_total=200), default_priority="normal",
        default_language="en",
        own_message=own, now=NOW)


def of_type(actions: list[Action], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------

def test_a_new_customer_gets_a_case_and_an_acknowledgement() -> None:
    actions = decide_message(context())
    [opened] = of_type(actions, OpenCase)
    assert opened == OpenCase("ann@customer.example", "Ann Customer", "Invoice missing", "normal", "en")
    [ack] = of_type(actions, Acknowledge)
    assert isinstance(ack, Acknowledge) and ack.priority == "normal"
    assert not of_type(actions, HoldAck)


@pytest.mark.parametrize(
    ("status", "new_status"),
    [("waiting_on_us", None), ("waiting_on_customer", "waiting_on_us"), ("resolved", "waiting_on_us"),
     ("closed", "waiting_on_us")],
)
def test_a_customer_on_an_existing_case_is_not_acknowledged_again(status: Status, new_status: str | None) -> None:
    actions = decide_message(context(case_state=case(status)))
    assert not of_type(actions, Acknowledge)
    assert not of_type(actions, OpenCase)
    assert JoinCase(1042, "references") in actions
    assert of_type(actions, SetStatus) == ([SetStatus(new_status)] if new_status else [])


@pytest.mark.parametrize("kind", ["auto_reply", "bounce", "list", "ignored"])
@pytest.mark.parametrize("on_case", [False, True])
def test_machines_and_ignored_mail_are_never_acknowledged(kind: Kind, on_case: bool) -> None:
    actions = decide_message(context(kind, case_state=case() if on_case else None))
    assert not of_type(actions, Acknowledge)
    assert not of_type(actions, OpenCase)
    assert not of_type(actions, HoldAck)
    # An auto-reply on a case neither counts as a response nor moves the case.
    assert not of_type(actions, MarkFirstResponse)
    assert not of_type(actions, KeepTeamPromises)
    assert not of_type(actions, SetStatus)
    assert of_type(actions, Note)


# --------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------

def test_the_first_staff_reply_is_the_first_response() -> None:
    actions = decide_message(context("staff", case_state=case()))
    assert MarkFirstResponse(NOW, "alice@example.com") in actions
    assert KeepTeamPromises(NOW) in actions
    assert SetStatus("waiting_on_customer") in actions
    assert not of_type(actions, Acknowledge) and not of_type(actions, OpenCase)


def test_a_later_staff_reply_keeps_the_first_response_time() -> None:
    actions = decide_message(context("staff", case_state=case("waiting_on_us", first_response_at=OPENED)))
    assert not of_type(actions, MarkFirstResponse)
    assert KeepTeamPromises(NOW) in actions
    assert SetStatus("waiting_on_customer") in actions


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_staff_reply_does_not_reopen_a_finished_case(status: Status) -> None:
    actions = decide_message(context("staff", case_state=case(status, first_response_at=OPENED)))
    assert of_type(actions, SetStatus) in ([], [SetStatus(status)])


def test_a_staff_message_without_a_case_opens_nothing() -> None:
    actions = decide_message(context("staff"))
    assert not of_type(actions, OpenCase) and not of_type(actions, Acknowledge)
    assert all(isinstance(a, Note) for a in actions)


@pytest.mark.parametrize("on_case", [False, True])
def test_a_staff_note_is_only_noted(on_case: bool) -> None:
    actions = decide_message(context("staff_note", case_state=case() if on_case else None))
    assert [type(a) for a in actions if not isinstance(a, JoinCase)] == [Note]


@pytest.mark.parametrize("kind", ["customer", "staff", "auto_reply"])
@pytest.mark.parametrize("on_case", [False, True])
def test_our_own_message_coming_back_is_only_noted(kind: Kind, on_case: bool) -> None:
    actions = decide_message(context(kind, case_state=case() if on_case else None, own=True))
    assert [type(a) for a in actions] == [Note]


# --------------------------------------------------------------------------------------------
# Loop guards
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("history", "guard"),
    [
        (SenderHistory(acks_in_window=0, messages_in_burst_window=0), None),
        (SenderHistory(acks_in_window=4, messages_in_burst_window=0), None),
        (SenderHistory(acks_in_window=5, messages_in_burst_window=0), "acks_per_sender"),
        (SenderHistory(acks_in_window=50, messages_in_burst_window=0), "acks_per_sender"),
        (SenderHistory(acks_in_window=0, messages_in_burst_window=2), None),
        (SenderHistory(acks_in_window=0, messages_in_burst_window=3), "sender_burst"),
        (SenderHistory(acks_in_window=5, messages_in_burst_window=3), "acks_per_sender"),
        (SenderHistory(acks_to_recipient=4), None),
        (SenderHistory(acks_to_recipient=5), "acks_per_recipient"),
        (SenderHistory(acks_total=199), None),
        (SenderHistory(acks_total=200), "acks_total"),
        (SenderHistory(acks_in_window=5, acks_total=200), "acks_per_sender"),
    ],
)
def test_loop_guards_hold_the_ack_but_still_open_the_case(history: SenderHistory, guard: str | None) -> None:
    actions = decide_message(context(history=history))
    assert len(of_type(actions, OpenCase)) == 1  # the request itself is never lost
    holds = of_type(actions, HoldAck)
    if guard is None:
        assert not holds
        assert len(of_type(actions, Acknowledge)) == 1
    else:
        assert [h.guard for h in holds if isinstance(h, HoldAck)] == [guard]
        assert not of_type(actions, Acknowledge)


@pytest.mark.parametrize(
    ("ack_to", "to", "neutral"),
    [
        pytest.param("", "ann@customer.example", False, id="no Reply-To: the sender"),
        pytest.param("Ann@Customer.example", "ann@customer.example", False, id="Reply-To the sender herself"),
        pytest.param("team@customer.example", "team@customer.example", False, id="Reply-To in the sender's domain"),
        pytest.param("victim@elsewhere.example", "victim@elsewhere.example", True,
                     id="Reply-To elsewhere: nothing the sender wrote"),
    ],
)
def test_an_ack_to_another_domain_is_neutral(ack_to: str, to: str, neutral: bool) -> None:
    [ack] = of_type(decide_message(replace(context(), ack_to=ack_to)), Acknowledge)
    assert ack == Acknowledge("normal", "en", to, neutral)


def test_the_recipient_limit_names_the_recipient_and_the_global_one_nobody() -> None:
    ctx = replace(context(history=SenderHistory(acks_to_recipient=5)), ack_to="victim@elsewhere.example")
    [hold] = of_type(decide_message(ctx), HoldAck)
    assert isinstance(hold, HoldAck) and hold.address == "victim@elsewhere.example"
    [hold] = of_type(decide_message(context(history=SenderHistory(acks_total=500))), HoldAck)
    assert isinstance(hold, HoldAck) and hold.address == ""


def test_a_forged_sender_gets_a_case_but_no_ack_and_no_alert() -> None:
    actions = decide_message(replace(context(), forged="mx.example.com says dmarc=fail header.from=bank.example"))
    assert len(of_type(actions, OpenCase)) == 1
    assert not of_type(actions, Acknowledge) and not of_type(actions, HoldAck)
    assert [a.kind for a in of_type(actions, Note) if isinstance(a, Note)] == ["not_acknowledged.forged_sender"]


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rules", "priority", "language"),
    [
        (RuleOutcome(), "normal", "en"),
        (RuleOutcome(("outage",), priority="urgent"), "urgent", "en"),
        (RuleOutcome(("german",), language="de"), "normal", "de"),
        (RuleOutcome(("outage", "german"), priority="urgent", language="de"), "urgent", "de"),
    ],
)
def test_rules_set_priority_and_language_of_the_new_case(rules: RuleOutcome, priority: str, language: str) -> None:
    actions = decide_message(context(rules=rules))
    [opened] = of_type(actions, OpenCase)
    assert isinstance(opened, OpenCase)
    assert (opened.priority, opened.language) == (priority, language)
    [ack] = of_type(actions, Acknowledge)
    # The promise uses the rule's priority, and the ack is written in the case's language.
    assert isinstance(ack, Acknowledge) and (ack.priority, ack.language) == (priority, language)


def test_defaults_come_from_the_configuration() -> None:
    ctx = replace(context(), default_priority="low", default_language="fr")
    [opened] = of_type(decide_message(ctx), OpenCase)
    assert isinstance(opened, OpenCase)
    assert (opened.priority, opened.language) == ("low", "fr")


# --------------------------------------------------------------------------------------------
# Where an acknowledgement may go (facts gather reads; decide judges them, explain shows them)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("facts", "why"),
    [
        pytest.param({"ack_to": "support@example.com", "ack_to_ours": True}, ("ack.held", "own_address"),
                     id="a Reply-To naming our own address would loop"),
        pytest.param({"ack_to": "nobody@localhost"}, ("ack.suppressed", "not a plain mailbox address"),
                     id="an address no mail can reach"),
        pytest.param({"ack_to": "gone@customer.example", "ack_to_bounced": True}, ("ack.suppressed", "address bounced"),
                     id="a Reply-To that bounced before"),
        pytest.param({"ack_to_bounced": True, "sender_bounced": True}, None,
                     id="the bounced sender writes again: their address works"),
    ],
)
def test_an_acknowledgement_goes_only_where_mail_can_arrive(facts: dict[str, object],
                                                             why: tuple[str, str] | None) -> None:
    actions = decide_message(replace(context(), **facts))  # type: ignore[arg-type]
    assert len(of_type(actions, OpenCase)) == 1
    if why is None:
        assert len(of_type(actions, Acknowledge)) == 1
        assert ClearBounced("ann@customer.example") in actions
        return
    assert not of_type(actions, Acknowledge)
    notes = [a for a in actions if isinstance(a, Note) and a.kind == why[0]]
    assert len(notes) == 1 and why[1] in notes[0].data.values()


def test_a_message_on_record_already_causes_nothing() -> None:
    assert decide_message(replace(context(), duplicate=True)) == [AlreadyRecorded()]


# --------------------------------------------------------------------------------------------
# Promises a staff reply keeps
# --------------------------------------------------------------------------------------------

def promise(id: int, owner: str, made_at: datetime) -> PromiseView:
    return PromiseView(id=id, owner=owner, source="ack" if owner == "team" else "reply", text="…",
                       made_at=made_at, due_at=NOW + timedelta(days=1), state="open")


def test_a_staff_reply_keeps_the_teams_promises_and_earlier_commitments() -> None:
    promises = (promise(1, "team", OPENED), promise(2, "bob@example.com", OPENED),
                promise(3, "bob@example.com", NOW), promise(4, "team", NOW))
    actions = decide_message(replace(context("staff", case_state=case()), open_promises=promises))
    # A commitment made with this very reply (made_at == now) is not kept by it.
    assert KeepTeamPromises(NOW, (1, 2, 4)) in actions


# --------------------------------------------------------------------------------------------
# What a staff note's commands mean
# --------------------------------------------------------------------------------------------

CALENDAR = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"})
MONDAY_10 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def note(*commands: NoteCommand, status: Status = "waiting_on_us",
         promises: tuple[PromiseView, ...] = ()) -> list[Action]:
    ctx = replace(context("staff_note", case_state=case(status)), note_commands=commands, calendar=CALENDAR,
                  open_promises=promises, update_after_waiting=Duration(3, "bh"))
    return decide_message(ctx)


def test_a_waiting_note_tells_the_customer_now_and_updates_them_after_the_configured_time() -> None:
    actions = note(NoteCommand("waiting", "#waiting the bank until monday 10:00", MONDAY_10, "the bank"))
    schedules = {a.kind: a for a in actions if isinstance(a, Schedule)}
    assert schedules["waiting_notice"].due_at == NOW
    assert schedules["note_reminder"].due_at == MONDAY_10
    assert schedules["update"].due_at == CALENDAR.add(MONDAY_10, Duration(3, "bh"))
    assert schedules["update"].due_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
    [confirm] = of_type(actions, ConfirmNote)
    assert isinstance(confirm, ConfirmNote) and confirm.done[0].startswith("#waiting the bank")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (NoteCommand("snooze", "#snooze until monday", MONDAY_10), Snooze(MONDAY_10)),
        (NoteCommand("priority", "#priority high", None, "high"), SetPriority("high")),
        (NoteCommand("assign", "#assign bob", None, "bob@example.com"), Assign("bob@example.com")),
        (NoteCommand("followup", "#followup monday", MONDAY_10),
         RecordCommitment("alice@example.com", "Follow up with the customer", MONDAY_10, source="note")),
        (NoteCommand("resolve", "#resolve"), SetStatus("resolved", resolved_at=NOW)),
        (NoteCommand("reopen", "#reopen"), SetStatus("waiting_on_us", forget_resolved=True)),
    ],
)
def test_each_note_command_is_one_action(command: NoteCommand, expected: Action) -> None:
    actions = note(command, status="resolved" if command.name == "reopen" else "waiting_on_us")
    assert expected in actions
    assert Note(f"note.{command.name}", {"by": "alice@example.com", "line": command.line,
                                         "when": command.when.isoformat() if command.when else None}) in actions


def test_done_keeps_the_open_staff_commitments_only() -> None:
    promises = (promise(1, "team", OPENED), promise(2, "bob@example.com", OPENED))
    assert KeepPromises((2,), NOW) in note(NoteCommand("done", "#done"), promises=promises)


# --------------------------------------------------------------------------------------------
# The case's timeline
# --------------------------------------------------------------------------------------------

def test_a_new_case_waits_on_us_and_a_staff_reply_makes_it_wait_on_the_customer() -> None:
    [opened] = of_type(decide_message(context()), KeepTimeline)
    assert isinstance(opened, KeepTimeline)
    assert (opened.status, opened.customer_at, opened.heard_at) == ("waiting_on_us", NOW, NOW)
    [replied] = of_type(decide_message(context("staff", case_state=case())), KeepTimeline)
    assert isinstance(replied, KeepTimeline)
    assert (replied.status, replied.staff_at, replied.heard_at) == ("waiting_on_customer", NOW, NOW)
