"""Staff promise something in a Reply-All; inboxd reminds them before it is due and escalates a miss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from tests.integration.harness import case_detail, cases, make_setup

pytestmark = pytest.mark.integration

# Monday 23 November 2026, 10:00 in Berlin (09:00 UTC).
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def flow(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    clock = FrozenClock(MONDAY_10)

    def restarted() -> Daemon:
        # A new daemon process for every step: restarting between any two steps changes nothing.
        daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
        daemon.prepare()
        return daemon

    restarted().run_once()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Router keeps dropping"), sender=customer)
    restarted().run_once()
    (ack,) = setup.dovecot.wait_for(customer, count=1)
    clock.advance(timedelta(minutes=30))
    promise = sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}",
                          "Hi,\n\nsorry for the trouble. I'll call you tomorrow at 2pm to go through the settings.\n\n"
                          "Best\nStaff", Cc=setup.support, In_Reply_To=ack["Message-ID"],
                          Date="Mon, 23 Nov 2026 10:30:00 +0100")
    setup.deliver(promise, sender=setup.staff)
    restarted().run_once()
    return setup, clock, restarted, customer


def staff_mail(setup, subject_start: str):
    return [m for m in setup.dovecot.fetch_all(setup.staff) if str(m["Subject"]).startswith(subject_start)]


def test_commitment_is_recorded_with_its_due_time(flow):
    setup, clock, restarted, customer = flow
    daemon = restarted()
    (case,) = cases(daemon)
    detail = case_detail(daemon, case["number"])
    staff_promises = [p for p in detail["promises"] if p["owner"] == setup.staff]
    assert len(staff_promises) == 1
    assert "call you tomorrow at 2pm" in staff_promises[0]["text"]
    assert staff_promises[0]["due_at"] == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # Tuesday 14:00 Berlin
    assert [s["kind"] for s in detail["scheduled"] if s["kind"] in ("reminder", "escalation")] == [
        "reminder", "escalation"]


def test_reminder_before_due_then_kept_by_a_follow_up_and_no_escalation(flow):
    setup, clock, restarted, customer = flow
    clock.set(datetime(2026, 11, 24, 10, 59, tzinfo=UTC))  # Tuesday 11:59 Berlin: not yet
    restarted().run_once()
    assert staff_mail(setup, "Reminder") == []
    clock.set(datetime(2026, 11, 24, 11, 0, tzinfo=UTC))  # 12:00 Berlin = due 14:00 minus the 2 h lead time
    restarted().run_once()
    (reminder,) = staff_mail(setup, "Reminder")
    assert "I'll call you tomorrow at 2pm" in reminder.get_content()
    assert reminder["In-Reply-To"]  # threaded to the staff member's own message
    # The staff member writes to the customer after the call: that keeps the commitment.
    clock.set(datetime(2026, 11, 24, 12, 30, tzinfo=UTC))
    (ack,) = setup.dovecot.fetch_all(customer)[:1]
    setup.deliver(sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}", "As discussed on the phone.",
                              Cc=setup.support, In_Reply_To=ack["Message-ID"]), sender=setup.staff)
    restarted().run_once()
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))
    restarted().run_once()
    assert staff_mail(setup, "Missed") == []
    daemon = restarted()
    detail = case_detail(daemon, cases(daemon)[0]["number"])
    assert [p["state"] for p in detail["promises"] if p["owner"] == setup.staff] == ["kept"]
    restarted().run_once()
    assert len(staff_mail(setup, "Reminder")) == 1  # nothing twice


def test_missed_commitment_escalates_to_the_lead_at_its_due_time(flow):
    setup, clock, restarted, customer = flow
    clock.set(datetime(2026, 11, 24, 11, 0, tzinfo=UTC))
    restarted().run_once()
    clock.set(datetime(2026, 11, 24, 12, 59, tzinfo=UTC))
    restarted().run_once()
    assert staff_mail(setup, "Missed") == []
    clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # 14:00 Berlin
    restarted().run_once()
    (escalation,) = staff_mail(setup, "Missed")
    assert setup.staff in str(escalation["Subject"]) and "call you tomorrow at 2pm" in escalation.get_content()
    daemon = restarted()
    detail = case_detail(daemon, cases(daemon)[0]["number"])
    assert [p["state"] for p in detail["promises"] if p["owner"] == setup.staff] == ["broken"]
    clock.advance(timedelta(hours=1))
    restarted().run_once()
    assert len(staff_mail(setup, "Missed")) == 1


def test_morning_digest_lists_what_is_due_and_is_sent_once(flow):
    setup, clock, restarted, customer = flow
    clock.set(datetime(2026, 11, 24, 7, 29, tzinfo=UTC))
    restarted().run_once()
    assert staff_mail(setup, "Your support day") == []
    clock.set(datetime(2026, 11, 24, 7, 30, tzinfo=UTC))  # 08:30 Berlin, a business day
    restarted().run_once()
    (digest,) = staff_mail(setup, "Your support day")
    body = digest.get_content()
    assert "I'll call you tomorrow at 2pm" in body and "due today" in body
    restarted().run_once()
    assert len(staff_mail(setup, "Your support day")) == 1
    # Saturday: no digest at all; Monday brings the next one (the commitment is overdue by then).
    clock.set(datetime(2026, 11, 28, 7, 30, tzinfo=UTC))
    restarted().run_once()
    assert len(staff_mail(setup, "Your support day")) == 1
