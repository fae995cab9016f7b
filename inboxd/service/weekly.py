"""The weekly report mail: ``inboxd report --since 7d`` sent to the leads at ``reports.weekly_at``.

Once per ISO week (in the team's timezone), whatever the restarts and the number of daemons: the mail is
queued in the outbox under the idempotency key ``report:weekly:<ISO year>-W<week>`` — as lead alerts are —
in the transaction that gathered its figures, so a second daemon, or this one after a restart or a kill,
finds the key and queues nothing. A daemon that was down at the time sends the week's report when it comes
back within the same week; a week that has passed is not sent late.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

import structlog
from sqlalchemy.exc import IntegrityError

from inboxd.errors import WriteConflict
from inboxd.mail.compose import OutgoingMail, compose
from inboxd.service.mailer import message_id_for, staff_recipients
from inboxd.service.runtime import Runtime
from inboxd.store import repo
from inboxd.web.page import gather, render_page

log = structlog.get_logger("inboxd.service.weekly")

WINDOW = timedelta(days=7)


def week_slot(now: datetime, weekday: int, at: time, tz: tzinfo) -> tuple[str, datetime]:
    """(the ISO week's key, e.g. ``2026-W49``; the report's instant in that week) for the week of ``now``."""
    today = now.astimezone(tz).date()
    year, week, _day = today.isocalendar()
    monday = today - timedelta(days=today.weekday())
    return f"{year}-W{week:02d}", datetime.combine(monday + timedelta(days=weekday), at, tzinfo=tz)


def report_key(week: str) -> str:
    return f"report:weekly:{week}"


def due_report(now: datetime, weekday: int, at: time, tz: tzinfo) -> str | None:
    """The idempotency key of the report due at ``now`` (this week's, once its time has come), else None."""
    week, slot = week_slot(now, weekday, at, tz)
    return report_key(week) if now >= slot else None


def recipients(rt: Runtime) -> list[str]:
    """The leads; without one, whoever hears about escalations."""
    leads = [s.email for s in rt.config.team.leads]
    return leads or staff_recipients(rt)


def summary(numbers: dict[str, object], team: str, start: date, end: date) -> str:
    """The plain-text part: the week's headline figures, the HTML part has the rest."""

    def show(key: str, unit: str = "", percent: bool = False) -> str:
        value = numbers.get(key)
        if value is None:
            return "–"
        if percent and isinstance(value, int | float):
            return f"{value * 100:.1f} %"
        return f"{value}{unit}"

    lines = [
        f"{team}: support report for {start:%a %d %b} – {end:%a %d %b %Y}",
        "",
        f"Cases opened:                  {show('cases_opened')}",
        f"Cases answered:                {show('cases_answered')}",
        f"Promises made (team):          {show('promises_made')}",
        f"Promises kept:                 {show('kept_rate', percent=True)}",
        f"Promises broken:               {show('broken')}",
        f"Delay notices:                 {show('delay_notices')}",
        f"Staff commitments kept:        {show('staff_kept_rate', percent=True)}"
        f" of {show('staff_commitments')}",
        f"Median first response:         {show('median_first_response_bh', ' business hours')}",
        f"Waiting on us now:             {show('waiting_on_us')}",
        f"Promises at risk now:          {show('at_risk')}",
        "",
        "The full report with its charts is the HTML part of this mail (the same as `inboxd report --since 7d`).",
    ]
    return "\n".join(lines) + "\n"


def run_weekly_report(store: repo.Store, rt: Runtime, now: datetime) -> bool:
    """Queue this week's report if its time has come and it was not queued before; True when queued."""
    weekly = rt.config.reports.weekly
    if weekly is None:
        return False
    key = due_report(now, weekly[0], weekly[1], rt.calendar.tz)
    to = recipients(rt)
    if key is None or not to:
        return False
    try:
        return _queue(store, rt, now, key, to)
    except (IntegrityError, WriteConflict):
        # Another daemon queued the same week's report at the same moment: its transaction won.
        log.info("report.queued_elsewhere", key=key)
        return False


def _queue(store: repo.Store, rt: Runtime, now: datetime, key: str, to: list[str]) -> bool:
    # The figures are read in a read transaction (it holds no lock); only the enqueue writes, and it checks the
    # key again in its own transaction, so a report another daemon queued meanwhile is not queued twice.
    with store.connect() as conn:
        if repo.outbox_has_key(conn, key):
            return False
        data = gather(conn, rt, now, since=WINDOW)
    tz = rt.calendar.tz
    week = key.rsplit(":", 1)[1]
    team = rt.config.team.name
    mailbox = rt.config.mailboxes[0]
    body = summary(data.numbers, team, data.since.astimezone(tz).date(), now.astimezone(tz).date())
    html = render_page(data, report=True)
    with store.begin() as conn:
        message_id = message_id_for(conn, rt, key)
        raw = compose(OutgoingMail(
            from_addr=mailbox.address, from_name=f"inboxd ({team})", to=tuple(to),
            subject=f"{team}: support report, week {week}", body=body, message_id=message_id, date=now,
            reply_to=mailbox.address, auto_submitted="auto-generated", html=html))
        queued = repo.enqueue(conn, idempotency_key=key, message_id=message_id, kind="report", case_id=None,
                              mailbox=mailbox.name, mail_from=mailbox.address, rcpt_to=to, raw=raw, now=now,
                              copy_wanted=False)
        if queued:
            repo.add_event(conn, "report.queued", now, data={"week": week, "to": to})
    if queued:
        log.info("report.queued", key=key, to=to)
    return queued
