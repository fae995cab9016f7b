"""Queueing mail that inboxd writes itself: render, compose, and enqueue in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from inboxd.config import MailboxConfig
from inboxd.mail.compose import OutgoingMail, compose, deterministic_message_id
from inboxd.service.runtime import Runtime
from inboxd.store import repo


def queue_template_mail(conn: Connection, rt: Runtime, mailbox: MailboxConfig, *, key: str, kind: str,
                        to: Sequence[str], template: str, language: str, context: dict[str, Any],
                        now: datetime, case_id: int | None, in_reply_to: str | None = None,
                        references: Sequence[str] = (), auto_submitted: str = "auto-generated",
                        from_name: str | None = None,
                        extra_headers: tuple[tuple[str, str], ...] = (), copy_wanted: bool = False,
                        template_set: str | None = None) -> str | None:
    """Render and queue one message; return its Message-ID, or None when ``key`` was queued before.

    Every message inboxd writes itself goes this way: acknowledgements, updates, delay notices,
    reminders, escalations, alerts and the answers to staff notes. ``copy_wanted``: a copy goes to
    the mailbox's Sent folder once it is sent (``smtp.save_copy``, for mail the customer sees).
    """
    rendered = rt.renderer.render(template, language, template_context(rt, context), template_set=template_set)
    message_id = message_id_for(conn, rt, key)
    raw = compose(OutgoingMail(
        from_addr=mailbox.address, from_name=from_name or rt.config.team.name, to=tuple(to),
        subject=rendered.subject, body=rendered.body, message_id=message_id, date=now,
        reply_to=mailbox.address, in_reply_to=in_reply_to, references=tuple(references),
        auto_submitted=auto_submitted, extra_headers=extra_headers, html=rendered.html))
    queued = repo.enqueue(conn, idempotency_key=key, message_id=message_id, kind=kind, case_id=case_id,
                          mailbox=mailbox.name, mail_from=mailbox.address, rcpt_to=list(to), raw=raw, now=now,
                          copy_wanted=copy_wanted)
    return message_id if queued else None


def message_id_for(conn: Connection, rt: Runtime, key: str) -> str:
    """The Message-ID of the message with idempotency key ``key``: keyed with the store's secret."""
    secret = rt.message_id_secret or repo.message_id_secret(conn)
    return deterministic_message_id(key, rt.message_id_domain, secret)


def template_context(rt: Runtime, context: dict[str, Any]) -> dict[str, Any]:
    """What a template queued here sees: the caller's context and the team's name."""
    return {"team_name": rt.config.team.name, **context}


def staff_recipients(rt: Runtime) -> list[str]:
    """Who hears about escalations and alerts: ``reminders.escalate_to`` (the leads, or one address)."""
    cfg = rt.config
    target = cfg.reminders.escalate_to
    if target != "lead":
        return [target]
    leads = [s.email for s in cfg.team.leads]
    return leads or [s.email for s in cfg.team.staff]
