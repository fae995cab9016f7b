"""Sample contexts for every template inboxd renders, and the check that renders them all.

The contexts are built the way the daemon builds them: the acknowledgement's by
:func:`inboxd.service.ingest._ack_context` from a parsed sample message, reminders and escalations by
:func:`inboxd.core.followups.decide_due`, and the others with exactly the keys their call sites pass
(``mailer.queue_template_mail`` adds ``team_name`` to each). A template that uses a variable the
daemon does not pass therefore fails here, under ``StrictUndefined``, and not in a customer's mail.

``inboxd preview``, ``inboxd check-config`` and every configuration (re)load use this one source.
Some templates get several contexts, one per branch the daemon can take (a note answered with
errors or with what was done, an alert with or without a case).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateNotFound, TemplateSyntaxError

from inboxd.mail.render import line_of, split_subject

if TYPE_CHECKING:
    from inboxd.service.runtime import Runtime

__all__ = ["CUSTOMER_TEMPLATES", "STAFF_TEMPLATES", "TEMPLATE_NAMES", "check_templates", "configured_languages",
           "sample_context", "sample_contexts"]

_SAMPLE_MAIL = (
    b"From: Ann Example <ann@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Printer does not print\r\n"
    b"Message-ID: <sample-1042@example.org>\r\n"
    b"Date: Mon, 02 Nov 2026 10:15:00 -0500\r\n"
    b"\r\n"
    b"Hello, the printer on the second floor does not print.\r\n"
)


def _ack(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
    from inboxd.core.eta import fallback_estimate
    from inboxd.mail.parse import parse_message
    from inboxd.service.ingest import _ack_context

    msg = parse_message(_SAMPLE_MAIL)
    fallback = {str(k): v for k, v in rt.config.promises.fallback.items()}
    estimate = fallback_estimate(now, "normal", fallback, rt.calendar)
    token = rt.config.cases.format_subject_token(1042)
    anonymous = parse_message(_SAMPLE_MAIL.replace(b"Ann Example <ann@example.org>", b"ann@example.org"))
    # The third: to a Reply-To in another domain, with nothing the sender wrote.
    return [_ack_context(rt, msg, token, 1042, estimate, now, language),
            _ack_context(rt, anonymous, token, 1042, estimate, now, language),
            _ack_context(rt, msg, token, 1042, estimate, now, language, neutral_to="office@example.net")]


def _staff_due(kind: str) -> Callable[[Runtime, datetime, str], list[dict[str, Any]]]:
    """Reminders, escalations and note reminders: the context ``followups.decide_due`` builds."""

    def build(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
        from inboxd.core.cases import CaseState
        from inboxd.core.followups import DueItem, DueKind, PromiseView, StaffMail, decide_due
        from inboxd.service.duework import staff_due_context

        due = rt.calendar.add(now, rt.config.promises.fallback["normal"])
        case = CaseState(number=1042, status="waiting_on_customer", customer="ann@example.org", priority="normal",
                         language=language, subject="Printer does not print", opened_at=now - timedelta(days=1))
        promise = PromiseView(id=7, owner="bob@example.com", source="reply", text="I'll call you tomorrow at 2pm.",
                              made_at=now - timedelta(hours=2), due_at=due, state="open")
        item = DueItem(id=1, key=f"{kind}:7", kind=DueKind(kind), case_number=1042, due_at=due,
                       payload={"promise": 7, "to": "bob@example.com", "text": "call the ISP"})
        token = rt.config.cases.format_subject_token(1042)
        contexts = []
        for action in decide_due(item, case, promise, escalate_to=["alice@example.com"], token=token, now=now):
            if isinstance(action, StaffMail) and action.template == kind:
                # As duework.apply_due adds it.
                contexts.append(_with_team(rt, staff_due_context(action.context, now, rt.calendar.tz, language)))
        return contexts

    return build


def _with_team(rt: Runtime, context: dict[str, Any]) -> dict[str, Any]:
    """What ``mailer.queue_template_mail`` passes: the caller's context with the team's name."""
    from inboxd.service.mailer import template_context

    return template_context(rt, context)


def _alert(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
    # ingest._Applier.alert_staff and duework._announce_delay.
    base = {"subject": "No acknowledgement sent to ann@example.org",
            "headline": "inboxd held an acknowledgement back to keep out of a mail loop.",
            "lines": ["5 acknowledgements to this sender in 1 day", "Case: [#1042], subject: Printer"]}
    return [_with_team(rt, {**base, "token": rt.config.cases.format_subject_token(1042)}),
            _with_team(rt, {**base, "token": None})]


def _note_reply(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
    # ingest._Applier.answer_note: either what was done, or the lines not understood.
    from inboxd.core.notes import NoteError

    token = rt.config.cases.format_subject_token(1042)
    return [_with_team(rt, {"subject": "Re: [#1042] Printer does not print", "token": token,
                            "done": ["#priority urgent", "#remind tomorrow 10:00 call the ISP"], "errors": []}),
            _with_team(rt, {"subject": "Re: [#1042] Printer does not print", "token": None, "done": [],
                            "errors": [NoteError(2, "#remind someday", "no date or time found")]})]


def _digest(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
    # duework._send_digests.
    from inboxd.core.followups import DigestLine

    token = rt.config.cases.format_subject_token(1042)
    from inboxd.core.staff_text import digest_counts, due_detail, waiting_detail

    tz = rt.calendar.tz
    due = DigestLine(token, "Printer does not print", "ann@example.org",
                     due_detail(now + timedelta(hours=2), now, tz, language), "I'll call you tomorrow at 2pm.")
    late = DigestLine(token, "Printer does not print", "ann@example.org",
                      due_detail(now - timedelta(hours=2), now, tz, language), "I'll call you tomorrow at 2pm.")
    waiting = DigestLine(token, "Printer does not print", "ann@example.org",
                         waiting_detail(timedelta(hours=20), language))
    return [_with_team(rt, {"commitments": (due, late), "waiting": (waiting,), "at_risk": (due,),
                            "counts": digest_counts(2, 1, 1, language)}),
            _with_team(rt, {"commitments": (), "waiting": (waiting,), "at_risk": (),
                            "counts": digest_counts(0, 1, 0, language)})]


def _customer(template: str) -> Callable[[Runtime, datetime, str], list[dict[str, Any]]]:
    """Updates, delay notices, waiting notices, nudges and resolved notices: duework._queue_customer_mail.

    The base is ``duework.customer_context``; what a kind adds comes from ``followups.decide_update``
    where it decides it (waiting and resolved notices), and otherwise mirrors ``_queue_customer_mail``
    and ``_announce_delay``, which add it from the store.
    """

    def build(rt: Runtime, now: datetime, language: str) -> list[dict[str, Any]]:
        from inboxd.core.humanize import phrase_due
        from inboxd.service.duework import customer_context

        tz = rt.calendar.tz
        due = rt.calendar.add(now, rt.config.promises.fallback["normal"])
        promise = {"due": due, "phrase": phrase_due(due, now, tz, language), "reason": ""}
        variants: list[dict[str, Any]]
        if template == "update":
            variants = [{"promise": promise}]
        elif template == "delay":
            variants = [{"old_phrase": phrase_due(due - timedelta(days=1), now - timedelta(days=1), tz, language),
                         "promise": promise}]
        elif template == "waiting":
            variants = [{**decided, "when_phrase": phrase_due(due, now, tz, language)}
                        for decided in _decided(rt, "waiting_notice", "waiting_on_us", now, language,
                                                {"who": "our carrier", "until": due.isoformat()})]
        elif template == "nudge":
            variants = [{"resolve_phrase": phrase_due(due + timedelta(days=7), now, tz, language)},
                        {"resolve_phrase": ""}]
        else:  # resolved: by staff (a #resolve note) or automatically, with or without the feedback question
            variants = [*_decided(rt, "resolved_notice", "resolved", now, language, {}),
                        *_decided(rt, "auto_resolve", "waiting_on_customer", now, language, {})]
            variants += [{**v, "feedback": not v.get("feedback", True)} for v in variants]
        return [_with_team(rt, customer_context(rt, 1042, "Printer does not print", "Ann Example",
                                                      "ann@example.org", variant)) for variant in variants]

    return build


def _decided(rt: Runtime, kind: str, status: str, now: datetime, language: str,
             payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The contexts ``followups.decide_update`` gives the customer mail of a due item of ``kind``."""
    from inboxd.core.cases import CaseState
    from inboxd.core.followups import CaseTimeline, CustomerMail, DueItem, DueKind, decide_update, update_policy

    case = CaseState(number=1042, status=status, customer="ann@example.org",  # type: ignore[arg-type]
                     priority="normal", language=language, subject="Printer does not print",
                     opened_at=now - timedelta(days=10))
    since = now - timedelta(days=1)
    item = DueItem(id=1, key=f"{kind}:1042", kind=DueKind(kind), case_number=1042, due_at=now,
                   payload={"since": since.isoformat(), **payload})
    timeline = CaseTimeline(last_customer_at=since - timedelta(days=1), last_staff_reply_at=since - timedelta(days=1))
    actions = decide_update(item, case, timeline, update_policy(rt.config), next_due=lambda at: at, now=now)
    return [dict(a.context) for a in actions if isinstance(a, CustomerMail)]


_BUILDERS: dict[str, Callable[[Runtime, datetime, str], list[dict[str, Any]]]] = {
    "ack": _ack,
    "alert": _alert,
    "note_reply": _note_reply,
    "digest": _digest,
    "reminder": _staff_due("reminder"),
    "escalation": _staff_due("escalation"),
    "note_reminder": _staff_due("note_reminder"),
    "update": _customer("update"),
    "delay": _customer("delay"),
    "waiting": _customer("waiting"),
    "nudge": _customer("nudge"),
    "resolved": _customer("resolved"),
}

#: Every template the daemon renders; each must exist at least in English.
TEMPLATE_NAMES: tuple[str, ...] = tuple(_BUILDERS)
#: The templates customers get, in the case's language; the others go to staff, in the staff member's.
CUSTOMER_TEMPLATES: tuple[str, ...] = ("ack", "update", "delay", "waiting", "nudge", "resolved")
STAFF_TEMPLATES: tuple[str, ...] = tuple(name for name in TEMPLATE_NAMES if name not in CUSTOMER_TEMPLATES)


def configured_languages(rt: Runtime) -> tuple[dict[str, str], dict[str, str]]:
    """The languages inboxd may write in, each with where it is configured: (customer, staff).

    Customers: the served languages (``cases.languages``, else what the template directory offers), the
    default and any a rule sets. Staff: ``team.staff_language`` and every ``team.staff[].language``.
    """
    cfg = rt.config
    customer: dict[str, str] = {}
    where = "cases.languages" if cfg.cases.languages is not None else "the template directory (cases.languages unset)"
    customer.setdefault(cfg.cases.default_language, "cases.default_language")
    for language in rt.served_languages:
        customer.setdefault(language, where)
    for index, rule in enumerate(cfg.rules):
        if rule.set_ is not None and rule.set_.language is not None:
            customer.setdefault(rule.set_.language, f"rules[{index}].set.language ({rule.name})")
    staff: dict[str, str] = {cfg.team.staff_language: "team.staff_language"}
    for index, member in enumerate(cfg.team.staff):
        if member.language is not None:
            staff.setdefault(member.language, f"team.staff[{index}].language ({member.email})")
    return customer, staff


def _missing_languages(rt: Runtime, names: list[str]) -> list[str]:
    """Every configured language must have every template it is written in; a regional variant (``pt-BR``)
    may use its base language's (``pt``). English is checked on its own above."""
    present = set(names)
    problems: list[str] = []
    customer, staff = configured_languages(rt)
    for languages, templates in ((customer, CUSTOMER_TEMPLATES), (staff, STAFF_TEMPLATES)):
        for language, where in languages.items():
            candidates = list(dict.fromkeys((language, language.split("-")[0])))
            if "en" in candidates:
                continue
            for name in templates:
                for suffix in ("txt", "html"):
                    if suffix == "html" and f"en/{name}.html.j2" not in present:
                        continue  # no HTML twin in English either: plain text is all there is
                    if not any(f"{lang}/{name}.{suffix}.j2" in present for lang in candidates):
                        problems.append(f"templates: language {language!r} has no {language}/{name}.{suffix}.j2 "
                                        f"(in {rt.renderer.directory}; {language!r} is configured by {where})")
    return problems


def sample_contexts(rt: Runtime, name: str, now: datetime, language: str = "en") -> list[dict[str, Any]]:
    """Every sample context for template ``name`` in ``language``; a LookupError for an unknown name."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise LookupError(f"no template named {name!r}; known: {', '.join(TEMPLATE_NAMES)}") from None
    return builder(rt, now, language)


def sample_context(rt: Runtime, name: str, now: datetime, language: str = "en") -> dict[str, Any]:
    """The first sample context for template ``name`` (what ``inboxd preview`` shows)."""
    return sample_contexts(rt, name, now, language)[0]


# Also the template sets rules route cases to: sets/<set>/<lang>/<name>.txt.j2.
_TEMPLATE_FILE = re.compile(r"^(?:sets/[^/]+/)?(?P<lang>[^/]+)/(?P<name>[^/]+)\.txt\.j2$")
_HTML_FILE = re.compile(r"^(?:sets/[^/]+/)?(?:(?P<lang>[^/]+)/)?(?P<name>[^/]+)\.html\.j2$")


def check_templates(rt: Runtime, now: datetime) -> list[str]:
    """Compile and render every template of every language with its sample contexts.

    Returns one problem per broken template, ``path:line: what`` (empty when all render).
    """
    env = rt.renderer.env
    problems: list[str] = []
    try:
        names = env.list_templates()
    except (TypeError, OSError) as exc:
        return [f"templates: cannot list the templates: {exc}"]
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(f"en/{name}.txt.j2")
        except TemplateNotFound:
            problems.append(f"templates: en/{name}.txt.j2 is missing (every language falls back to it)")
        except TemplateSyntaxError:
            pass  # reported with its line below
    problems += _missing_languages(rt, names)
    for path in names:
        found = _TEMPLATE_FILE.match(path)
        if found is None:
            continue
        language, name = found["lang"], found["name"]
        try:
            template = env.get_template(path)
        except TemplateSyntaxError as exc:
            problems.append(f"{_shown(exc.filename or path)}:{exc.lineno}: {exc.message}")
            continue
        if name not in _BUILDERS:
            continue  # not one inboxd renders: its syntax is all there is to check
        where = _shown(template.filename or path)
        for context in sample_contexts(rt, name, now, language):
            try:
                split_subject(template.render(**context))
            except Exception as exc:  # noqa: BLE001 - any failure of an admin's template is reported, not raised
                problems.append(f"{where}:{_line(exc, template.filename)}: {_what(exc)}")
                break
    problems += _check_html(rt, now, names)
    return problems


def _check_html(rt: Runtime, now: datetime, names: list[str]) -> list[str]:
    """The HTML twins (``<lang>/<name>.html.j2``, and layouts they extend): compiled, and rendered
    (autoescaped) with the sample contexts of their text template."""
    env = rt.renderer.html_env
    problems: list[str] = []
    for path in names:
        found = _HTML_FILE.match(path)
        if found is None:
            continue
        try:
            template = env.get_template(path)
        except TemplateSyntaxError as exc:
            problems.append(f"{_shown(exc.filename or path)}:{exc.lineno}: {exc.message}")
            continue
        language, name = found["lang"], found["name"]
        if language is None or name not in _BUILDERS:
            continue  # a layout, or not one inboxd renders: its syntax is all there is to check
        where = _shown(template.filename or path)
        for context in sample_contexts(rt, name, now, language):
            try:
                template.render(**context)
            except Exception as exc:  # noqa: BLE001 - any failure of an admin's template is reported, not raised
                problems.append(f"{where}:{line_of(exc, template.filename)}: {_what(exc)}")
                break
    return problems


def _shown(filename: str) -> str:
    """A template's path as the admin knows it: relative to the working directory when under it."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _line(exc: BaseException, filename: str | None) -> int | str:
    if isinstance(exc, ValueError) and "Subject:" in str(exc):
        return 1
    return line_of(exc, filename)


def _what(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if type(exc).__module__.startswith("jinja2") or isinstance(exc, ValueError) \
        else f"{type(exc).__name__}: {text}"
