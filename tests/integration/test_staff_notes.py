"""Commands in staff notes: applied all together and confirmed, or not at all with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from tests.integration.harness import case_detail, cases, make_setup

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    clock = FrozenClock(MONDAY_10)
    daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
    daemon.prepare()
    daemon.run_once()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Server down"), sender=customer)
    daemon.run_once()
    (case,) = cases(daemon)
    return setup, daemon, clock, case["number"]


def note(setup, number: int, body: str, **headers: str) -> bytes:
    # Dated at the frozen clock's Monday: "tomorrow" and "Wednesday" in a note are read from its Date.
    headers.setdefault("Date", "Mon, 23 Nov 2026 10:05:00 +0100")
    return sample_mail(setup.staff, "Staff", setup.support, f"[#{number}] note", body, **headers)


def replies_to_staff(setup, start: str):
    return [m for m in setup.dovecot.fetch_all(setup.staff) if str(m["Subject"]).startswith(start)]


def test_note_commands_are_applied_and_confirmed(env):
    setup, daemon, clock, number = env
    setup.deliver(note(setup, number, "Checked the logs.\n#priority urgent\n#remind tomorrow 10:00 call the ISP\n"
                                      f"#assign {setup.staff}"), sender=setup.staff)
    daemon.run_once()
    detail = case_detail(daemon, number)
    assert detail["priority"] == "urgent" and detail["assignee"] == setup.staff
    (confirmation,) = replies_to_staff(setup, "Re: [#")
    body = confirmation.get_body(("plain",)).get_content()
    assert "#priority urgent" in body and "#remind tomorrow 10:00 call the ISP" in body
    assert len(setup.dovecot.fetch_all(cases(daemon)[0]["customer"])) == 1  # a note never reaches the customer
    # The reminder comes at the time the note named, once.
    clock.set(datetime(2026, 11, 24, 8, 59, tzinfo=UTC))
    daemon.run_once()
    assert replies_to_staff(setup, "Reminder") == []
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # 10:00 Berlin
    daemon.run_once()
    (reminder,) = replies_to_staff(setup, "Reminder")
    assert "call the ISP" in reminder.get_body(("plain",)).get_content()
    clock.advance(timedelta(hours=1))
    daemon.run_once()
    assert len(replies_to_staff(setup, "Reminder")) == 1


def test_a_note_with_a_bad_line_changes_nothing_and_says_why(env):
    setup, daemon, _, number = env
    setup.deliver(note(setup, number, "#priority urgent\n#remind whenever you like\n#resolve"), sender=setup.staff)
    daemon.run_once()
    detail = case_detail(daemon, number)
    assert detail["priority"] == "normal" and detail["status"] == "waiting_on_us"
    (answer,) = replies_to_staff(setup, "Re: [#")
    body = answer.get_body(("plain",)).get_content()
    assert "Nothing in your note was applied" in body and "#remind whenever you like" in body


def test_done_keeps_open_commitments_and_resolve_closes(env):
    setup, daemon, clock, number = env
    customer = cases(daemon)[0]["customer"]
    (ack,) = setup.dovecot.fetch_all(customer)
    setup.deliver(sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}",
                              "I will send you the report by Friday.", Cc=setup.support,
                              In_Reply_To=ack["Message-ID"]), sender=setup.staff)
    daemon.run_once()
    clock.advance(timedelta(hours=1))
    setup.deliver(note(setup, number, "Sent by post instead.\n#done\n#resolve"), sender=setup.staff)
    daemon.run_once()
    detail = case_detail(daemon, number)
    assert [p["state"] for p in detail["promises"] if p["owner"] == setup.staff] == ["kept"]
    assert detail["status"] == "resolved"


def test_forged_note_does_nothing(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    setup.trust_authserv("mx.example.com")
    daemon = Daemon(setup.config_path, setup.database_url, clock=FrozenClock(MONDAY_10))
    daemon.prepare()
    daemon.run_once()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Account"), sender=customer)
    daemon.run_once()
    number = cases(daemon)[0]["number"]
    setup.deliver(note(setup, number, "#resolve\n#priority low"), sender=setup.staff)
    daemon.run_once()
    detail = case_detail(daemon, number)
    assert detail["status"] == "waiting_on_us" and detail["priority"] == "normal"


def test_waiting_on_a_third_party_tells_the_customer_and_follows_up(env):
    setup, daemon, clock, number = env
    customer = cases(daemon)[0]["customer"]
    setup.deliver(note(setup, number, "Asked the carrier.\n#waiting the carrier until Wednesday 12:00"),
                  sender=setup.staff)
    daemon.run_once()
    told = [m for m in setup.dovecot.fetch_all(customer)
            if "waiting on the carrier" in m.get_body(("plain",)).get_content()]
    assert len(told) == 1 and "Wednesday" in told[0].get_body(("plain",)).get_content()
    # Wednesday noon: staff are reminded; two business hours later, staff still silent: the customer gets news.
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    daemon.run_once()
    assert any("waiting on the carrier" in m.get_body(("plain",)).get_content()
               for m in setup.dovecot.fetch_all(setup.staff))
    before = len(setup.dovecot.fetch_all(customer))
    clock.set(datetime(2026, 11, 25, 13, 1, tzinfo=UTC))
    daemon.run_once()
    assert len(setup.dovecot.fetch_all(customer)) == before + 1


def test_followup_friday_written_after_close_on_friday_is_due_next_friday(env):
    # Seen with NeoMutt: "#followup Friday" on a Friday at 17:40 CET came due that day at 17:00, 40 minutes in
    # the past, and its escalation went out at once. Friday then means next Friday.
    setup, daemon, clock, number = env
    clock.set(datetime(2026, 11, 27, 16, 40, tzinfo=UTC))  # Friday 17:40 Berlin
    setup.deliver(note(setup, number, "#followup Friday", Date="Fri, 27 Nov 2026 17:40:00 +0100"), sender=setup.staff)
    daemon.run_once()
    (promise,) = [p for p in case_detail(daemon, number)["promises"] if p["source"] == "note"]
    assert promise["due_at"] == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # next Friday 17:00 Berlin
    assert promise["due_at"] > promise["made_at"]
    # Nothing falls due at once: an hour later the promise is still open and nobody was told it is broken.
    clock.advance(timedelta(hours=1))
    daemon.run_once()
    (promise,) = [p for p in case_detail(daemon, number)["promises"] if p["source"] == "note"]
    assert promise["state"] == "open"


def test_a_note_read_after_the_time_it_named_is_due_now_and_escalates_once(env):
    # Written on Monday at 16:30 ("today" is Monday 17:00), read on Tuesday at 09:00: the daemon was down overnight.
    setup, daemon, clock, number = env
    setup.deliver(note(setup, number, "#followup today", Date="Mon, 23 Nov 2026 16:30:00 +0100"), sender=setup.staff)
    tuesday_9 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    clock.set(tuesday_9)
    daemon.run_once()
    detail = case_detail(daemon, number)
    (promise,) = [p for p in detail["promises"] if p["source"] == "note"]
    assert promise["due_at"] >= promise["made_at"] and promise["due_at"] >= tuesday_9
    assert all(item["due_at"] >= tuesday_9 for item in detail["scheduled"])
    clock.advance(timedelta(minutes=1))
    daemon.run_once()
    escalations = replies_to_staff(setup, "Missed")
    assert len(escalations) == 1
    (promise,) = [p for p in case_detail(daemon, number)["promises"] if p["source"] == "note"]
    assert promise["state"] == "broken"
    clock.advance(timedelta(hours=1))
    daemon.run_once()
    assert len(replies_to_staff(setup, "Missed")) == 1
