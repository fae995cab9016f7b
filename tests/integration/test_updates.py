"""A week of case life over real IMAP and SMTP: ack, update, staff reply, nudge, auto-resolve, feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from tests.integration.harness import case_detail, cases, make_setup

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@pytest.fixture
def env(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    clock = FrozenClock(MONDAY_10)

    def step(at: datetime) -> Daemon:
        clock.set(at)
        daemon = Daemon(setup.config_path, setup.database_url, clock=clock)  # a restart at every step
        daemon.prepare()
        daemon.run_once()
        return daemon

    step(MONDAY_10)
    return setup, step


def subjects_for(setup, address: str) -> list[str]:
    return [str(m["Subject"]) for m in setup.dovecot.fetch_all(address)]


def test_a_week_of_case_life(env, mailboxes):
    setup, step = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "VPN fails", Date="Mon, 23 Nov 2026 10:00:00 +0100"), sender=ann)
    daemon = step(MONDAY_10 + timedelta(minutes=1))
    (ack,) = setup.dovecot.fetch_all(ann)
    # One business day without news: an update, threaded to the case, with the honest time.
    step(datetime(2026, 11, 24, 8, 59, tzinfo=UTC))
    assert len(setup.dovecot.fetch_all(ann)) == 1
    step(datetime(2026, 11, 24, 9, 2, tzinfo=UTC))
    mails = setup.dovecot.fetch_all(ann)
    assert len(mails) == 2
    update = mails[1]
    assert "[#1001]" in str(update["Subject"]) and "still with us" in update.get_body(("plain",)).get_content()
    assert update["In-Reply-To"] and update["List-Unsubscribe"].startswith("<mailto:")
    # Staff answer and ask a question: the case now waits on Ann; no more updates.
    reply = sample_mail(setup.staff, "Staff", ann, f"Re: {ack['Subject']}", "Which client version do you use?",
                        Cc=setup.support, In_Reply_To=ack["Message-ID"])
    setup.deliver(reply, sender=setup.staff)
    setup.dovecot.deliver(ann, reply, sender=setup.staff)  # Reply-All: Ann gets it, support a copy
    step(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    # Three business days later: one friendly nudge.
    step(datetime(2026, 11, 27, 9, 59, tzinfo=UTC))
    assert len(setup.dovecot.fetch_all(ann)) == 3  # ack, update, staff reply
    step(datetime(2026, 11, 27, 10, 1, tzinfo=UTC))
    mails = setup.dovecot.fetch_all(ann)
    assert len(mails) == 4 and "check in" in mails[3].get_body(("plain",)).get_content()
    # Seven business days after the staff reply: resolved, with a feedback question.
    step(datetime(2026, 12, 3, 10, 1, tzinfo=UTC))
    mails = setup.dovecot.fetch_all(ann)
    assert len(mails) == 5 and "closed case [#1001]" in mails[4].get_body(("plain",)).get_content()
    assert "1 (poor) to 5" in mails[4].get_body(("plain",)).get_content()
    assert case_detail(daemon, 1001)["status"] == "resolved"
    # Ann answers the feedback question: recorded; the case stays resolved; her words reach staff.
    resolved = mails[4]
    setup.deliver(sample_mail(ann, "Ann", setup.support, f"Re: {resolved['Subject']}", "5\nQuick and friendly!",
                              In_Reply_To=resolved["Message-ID"]), sender=ann)
    daemon = step(datetime(2026, 12, 3, 11, 0, tzinfo=UTC))
    detail = case_detail(daemon, 1001)
    assert detail["status"] == "resolved" and detail["feedback_score"] == 5
    assert any("Feedback 5/5" in s for s in subjects_for(setup, setup.staff))
    # Nothing more, ever, and nothing twice across all those restarts.
    step(datetime(2026, 12, 20, 11, 0, tzinfo=UTC))
    assert len(setup.dovecot.fetch_all(ann)) == 5


def test_no_update_at_night_in_the_customers_offset(env, mailboxes):
    setup, step = env
    bea = mailboxes("bea")
    # Bea writes from Los Angeles (UTC-8): 10:00 Berlin next day is 01:00 for her.
    setup.deliver(setup.customer_mail(bea, "Billing", Date="Mon, 23 Nov 2026 01:00:00 -0800"), sender=bea)
    step(MONDAY_10 + timedelta(minutes=1))
    step(datetime(2026, 11, 24, 9, 2, tzinfo=UTC))  # due, but 01:02 for her
    assert len(setup.dovecot.fetch_all(bea)) == 1
    step(datetime(2026, 11, 24, 15, 59, tzinfo=UTC))  # 07:59 for her
    assert len(setup.dovecot.fetch_all(bea)) == 1
    step(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))  # 08:00 for her: the update (and any delay notice) now
    later = setup.dovecot.fetch_all(bea)[1:]
    assert later and any("still with us" in m.get_body(("plain",)).get_content() for m in later)


def test_stop_means_no_more_proactive_mail(env, mailboxes):
    setup, step = env
    cem = mailboxes("cem")
    setup.deliver(setup.customer_mail(cem, "Question"), sender=cem)
    step(MONDAY_10 + timedelta(minutes=1))
    (ack,) = setup.dovecot.fetch_all(cem)
    setup.deliver(sample_mail(cem, "Cem", setup.support, f"Re: {ack['Subject']}", "Stop",
                              In_Reply_To=ack["Message-ID"]), sender=cem)
    daemon = step(MONDAY_10 + timedelta(minutes=5))
    assert "updates.opted_out" in [e["kind"] for e in case_detail(daemon, cases(daemon)[0]["number"])["events"]]
    step(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    assert len(setup.dovecot.fetch_all(cem)) == 1


def test_delay_notice_comes_before_the_promise_breaks_and_only_once(env, mailboxes):
    setup, step = env
    dan = mailboxes("dan")
    setup.deliver(setup.customer_mail(dan, "Export broken", Date="Mon, 23 Nov 2026 10:00:00 +0100"), sender=dan)
    daemon = step(MONDAY_10 + timedelta(minutes=1))
    (first,) = [p for p in case_detail(daemon, 1001)["promises"]]
    old_due = first["due_at"]
    # Nobody answers. Walk the clock up to the promised time, an hour at a time.
    at = MONDAY_10 + timedelta(hours=1)
    notice_at = None
    while at < old_due:
        step(at)
        delays = [m for m in setup.dovecot.fetch_all(dan)
                  if "may not make that time" in m.get_body(("plain",)).get_content()]
        if delays and notice_at is None:
            notice_at = at
        at += timedelta(hours=1)
    assert notice_at is not None and notice_at < old_due  # told before, never after
    step(old_due + timedelta(hours=1))
    delays = [m for m in setup.dovecot.fetch_all(dan)
              if "may not make that time" in m.get_body(("plain",)).get_content()]
    assert len(delays) == 1
    detail = case_detail(step(old_due + timedelta(hours=2)), 1001)
    states = [(p["source"], p["state"]) for p in detail["promises"]]
    assert states[0] == ("ack", "superseded") and states[1][0] == "delay_notice"
    assert detail["promises"][1]["due_at"] > old_due
    assert any("Promise at risk" in str(m["Subject"]) for m in setup.dovecot.fetch_all(setup.staff))
    # Updates go on after the notice: it restarts their cadence rather than ending them.
    step(old_due + timedelta(days=2))
    bodies = [m.get_body(("plain",)).get_content() for m in setup.dovecot.fetch_all(dan)]
    notice = next(i for i, body in enumerate(bodies) if "may not make that time" in body)
    assert any("a short update on case" in body for body in bodies[notice + 1:])


def test_a_rule_can_switch_updates_off_for_its_cases(tmp_path, dovecot, smtp_hub, mailboxes):
    rules = ('rules:\n  - {name: quiet, match: {subject: "(?i)no rush"}, '
             "set: {updates: {while_waiting_on_us: off}}}\n")
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=rules)
    clock = FrozenClock(MONDAY_10)

    def step(at: datetime) -> None:
        clock.set(at)
        daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
        daemon.prepare()
        daemon.run_once()

    step(MONDAY_10)
    calm, eager = mailboxes("calm"), mailboxes("eager")
    setup.deliver(setup.customer_mail(calm, "No rush: invoice copy"), sender=calm)
    setup.deliver(setup.customer_mail(eager, "Invoice copy"), sender=eager)
    step(MONDAY_10 + timedelta(minutes=1))
    step(datetime(2026, 11, 24, 9, 5, tzinfo=UTC))
    def updates(address: str) -> int:
        return sum("still with us" in m.get_body(("plain",)).get_content() for m in setup.dovecot.fetch_all(address))

    assert updates(eager) == 1 and updates(calm) == 0
