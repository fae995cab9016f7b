"""Rule semantics, one row per behaviour: every condition, the combinators, order, continue, ignore and no_ack.

Each row is a list of rules as the admin writes them in YAML, a message (with where, when and as what it
came in), and what the rules come to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from inboxd.config import RuleConfig, load_config_text
from inboxd.core import decide as d
from inboxd.core.rules import RuleFacts, RuleOutcome, apply_rules, compile_rules
from inboxd.mail.classify import Classification
from inboxd.mail.parse import ParsedMessage, parse_message

from .test_rules import CONFIG

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)
FRIDAY_EVENING = datetime(2026, 12, 4, 20, 0, tzinfo=BERLIN)
SATURDAY_MORNING = datetime(2026, 12, 5, 7, 30, tzinfo=BERLIN)
SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=BERLIN)


def rules(yaml: str) -> list[RuleConfig]:
    return list(load_config_text(CONFIG + yaml).rules)


ATTACHED = (
    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached\n"
    "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=invoice.pdf\n\nJVBERi0=\n--b--\n"
)


def mail(subject: str = "Question", sender: str = "Ann <ann@customer.example>", to: str = "support@example.com",
         cc: str = "", extra: str = "", body: str = "Hello\n", attachment: bool = False) -> ParsedMessage:
    headers = f"From: {sender}\nTo: {to}\nSubject: {subject}\n" + (f"Cc: {cc}\n" if cc else "") + extra
    if attachment:
        return parse_message((headers.rstrip("\n") + "\n" + ATTACHED).encode())
    return parse_message((headers.rstrip("\n") + "\n\n" + body).encode())


def facts(msg: ParsedMessage | None = None, **kwargs: Any) -> RuleFacts:
    values: dict[str, Any] = {"mailbox": "support", "kind": "customer", "language": None, "at": TUESDAY_NOON}
    values.update(kwargs)
    return RuleFacts(msg or mail(), **values)


def one(match: str) -> list[RuleConfig]:
    """A single rule named ``r`` with this match that tags the case ``hit``."""
    return rules(f"  - name: r\n    match: {match}\n    set: {{tags: [hit]}}\n")


# (match as YAML, facts, matches?)
CONDITIONS = [
    ("{subject: '(?i)^re: invoice'}", facts(mail("RE: Invoice 12")), True),
    ("{subject: '(?i)^re: invoice'}", facts(mail("Fwd: Re: invoice")), False),
    ("{subject: {contains: 'C++'}}", facts(mail("Your c++ SDK")), True),
    ("{subject: {contains: 'C++'}}", facts(mail("Your C SDK")), False),
    ("{subject: {equals: 'help'}}", facts(mail(" HELP ")), True),
    ("{subject: {equals: 'help'}}", facts(mail("help me")), False),
    ("{subject: {regex: 'a.c'}}", facts(mail("abc")), True),
    ("{from: '@vip\\.example$'}", facts(mail(sender="Boss <boss@vip.example>")), True),
    ("{from: '^Boss <'}", facts(mail(sender="Boss <boss@vip.example>")), True),
    ("{from: '@vip\\.example$'}", facts(mail(sender="boss@vip.example.evil.example")), False),
    ("{to: '^billing@'}", facts(mail(to="billing@example.com")), True),
    ("{to: '^billing@'}", facts(mail(cc="billing@example.com")), True),  # to: any recipient, as before cc existed
    ("{cc: '^billing@'}", facts(mail(cc="billing@example.com")), True),
    ("{cc: '^billing@'}", facts(mail(to="billing@example.com")), False),
    ("{body: 'refund'}", facts(mail(body="I want a refund.\n")), True),
    ("{body: 'refund'}", facts(mail(body="Thanks!\n")), False),
    ("{header: {X-Priority: '^1'}}", facts(mail(extra="X-Priority: 1 (Highest)\n")), True),
    ("{header: {X-Priority: '^1'}}", facts(mail()), False),  # a missing header never matches
    ("{header: {X-Priority: {equals: '1'}}}", facts(mail(extra="X-Priority: 1\n")), True),
    ("{mailbox: '^billing$'}", facts(mailbox="billing"), True),
    ("{mailbox: '^billing$'}", facts(mailbox="support"), False),
    ("{kind: customer}", facts(kind="customer"), True),
    ("{kind: [auto_reply, list]}", facts(kind="list"), True),
    ("{kind: [auto_reply, list]}", facts(kind="customer"), False),
    ("{language: '^de'}", facts(language="de"), True),
    ("{language: '^de'}", facts(language="en"), False),
    ("{language: '^de'}", facts(language=None), False),  # unknown language never matches
    ("{has_attachment: true}", facts(mail(attachment=True)), True),
    ("{has_attachment: true}", facts(mail()), False),
    ("{has_attachment: false}", facts(mail()), True),
    ("{time: 'mon-fri 09:00-17:00'}", facts(at=TUESDAY_NOON), True),
    ("{time: 'mon-fri 09:00-17:00'}", facts(at=SATURDAY_NOON), False),
    ("{time: 'mon-fri 09:00-17:00'}", facts(at=TUESDAY_NOON.astimezone(ZoneInfo("UTC"))), True),
    ("{time: 'fri 18:00-08:00'}", facts(at=FRIDAY_EVENING), True),
    ("{time: 'fri 18:00-08:00'}", facts(at=SATURDAY_MORNING), True),  # past midnight: Friday's night
    ("{time: 'fri 18:00-08:00'}", facts(at=SATURDAY_NOON), False),
    ("{time: [sat-sun, 'fri 18:00-24:00']}", facts(at=SATURDAY_NOON), True),
    ("{time: sat-sun}", facts(at=None), False),  # no arrival time: a time condition cannot hold
    ("{}", facts(), True),  # no condition: every message
    ("{subject: Invoice, from: '@vip'}", facts(mail("Invoice", sender="a@vip.example")), True),
    ("{subject: Invoice, from: '@vip'}", facts(mail("Invoice")), False),  # every condition must hold
    ("{any: [{subject: Invoice}, {from: '@vip'}]}", facts(mail("Hello", sender="a@vip.example")), True),
    ("{any: [{subject: Invoice}, {from: '@vip'}]}", facts(mail("Hello")), False),
    ("{all: [{subject: Invoice}, {body: overdue}]}", facts(mail("Invoice", body="overdue\n")), True),
    ("{all: [{subject: Invoice}, {body: overdue}]}", facts(mail("Invoice", body="paid\n")), False),
    ("{not: {from: '@vip'}}", facts(mail(sender="a@other.example")), True),
    ("{not: {from: '@vip'}}", facts(mail(sender="a@vip.example")), False),
    ("{subject: Invoice, not: {any: [{kind: list}, {has_attachment: true}]}}", facts(mail("Invoice")), True),
    ("{subject: Invoice, not: {any: [{kind: list}, {has_attachment: true}]}}",
     facts(mail("Invoice"), kind="list"), False),
]


@pytest.mark.parametrize(("match", "given", "expected"), CONDITIONS,
                         ids=[f"{m} -> {e}" for m, _, e in CONDITIONS])
def test_condition(match: str, given: RuleFacts, expected: bool) -> None:
    outcome = apply_rules(compile_rules(one(match)), given)
    assert (outcome.matched == ("r",)) is expected
    assert (outcome.tags == ("hit",)) is expected


ORDER = """\
  - name: vip
    match: {from: '@vip\\.example$'}
    set: {priority: high, tags: [vip], assignee: lead@example.com, template_set: vip}
  - name: outage
    match: {subject: '(?i)outage'}
    set: {priority: urgent, tags: [outage, vip]}
  - name: robots
    match: {kind: [auto_reply, list]}
    action: ignore
  - name: invoices
    match: {subject: '(?i)invoice'}
    action: no_ack
    set: {tags: [billing], assignee: billing@example.com}
  - name: stop-here
    match: {header: {X-Stop: 'yes'}}
    continue: false
  - name: german
    match: {language: '^de'}
    set: {language: de, acknowledge: false}
  - name: german-vip
    match: {all: [{language: '^de'}, {from: '@vip\\.example$'}]}
    set: {acknowledge: true}
"""


# (facts, matched, priority, tags, assignee, template set, no_ack_by, ignored_by, stopped_by, language)
OUTCOMES = [
    pytest.param(facts(), (), None, (), None, None, None, None, None, None, id="nothing matches"),
    pytest.param(facts(mail(sender="b@vip.example")), ("vip",), "high", ("vip",), "lead@example.com", "vip",
                 None, None, None, None, id="set: priority, tags, assignee, template set"),
    pytest.param(facts(mail("Outage!", sender="b@vip.example")), ("vip", "outage"), "urgent", ("vip", "outage"),
                 "lead@example.com", "vip", None, None, None, None,
                 id="a later rule overrides the priority; tags add up, each once; unset keys stay"),
    pytest.param(facts(mail("Outage!"), kind="auto_reply"), ("outage", "robots"), "urgent", ("outage", "vip"),
                 None, None, None, "robots", "robots", None, id="ignore after a set: ignored, no later rule"),
    pytest.param(facts(mail("Invoice"), kind="list"), ("robots",), None, (), None, None, None, "robots", "robots",
                 None, id="ignore stops before a rule that would also match"),
    pytest.param(facts(mail("Invoice 4")), ("invoices",), None, ("billing",), "billing@example.com", None,
                 "invoices", None, None, None, id="no_ack with set: a case with tags, no acknowledgement"),
    pytest.param(facts(mail("Invoice", extra="X-Stop: yes\n"), language="de"), ("invoices", "stop-here"), None,
                 ("billing",), "billing@example.com", None, "invoices", None, "stop-here", None,
                 id="continue: false stops; later matching rules are not looked at"),
    pytest.param(facts(language="de-AT"), ("german",), None, (), None, None, "german", None, None, "de",
                 id="set: acknowledge false, as no_ack"),
    pytest.param(facts(mail(sender="b@vip.example"), language="de"), ("vip", "german", "german-vip"), "high",
                 ("vip",), "lead@example.com", "vip", None, None, None, "de",
                 id="a later acknowledge: true switches it back on"),
]


@pytest.mark.parametrize(("given", "matched", "priority", "tags", "assignee", "template_set", "no_ack_by",
                          "ignored_by", "stopped_by", "language"), OUTCOMES)
def test_order_continue_ignore_and_no_ack(given: RuleFacts, matched: tuple[str, ...], priority: str | None,
                                          tags: tuple[str, ...], assignee: str | None, template_set: str | None,
                                          no_ack_by: str | None, ignored_by: str | None, stopped_by: str | None,
                                          language: str | None) -> None:
    outcome = apply_rules(compile_rules(rules(ORDER)), given)
    assert (outcome.matched, outcome.priority, outcome.tags, outcome.assignee, outcome.template_set,
            outcome.no_ack_by, outcome.ignored_by, outcome.stopped_by, outcome.language) == (
        matched, priority, tags, assignee, template_set, no_ack_by, ignored_by, stopped_by, language)
    assert outcome.acknowledge is (no_ack_by is None)


def test_rules_without_set_still_load_as_before() -> None:
    """Configurations written before any/all/not, tags and continue keep their meaning."""
    old = rules("  - name: outage\n    match: {subject: '(?i)outage', header: {X-Priority: '^1'}}\n"
                "    set: {priority: urgent}\n  - name: outage2\n    match: {subject: down}\n    set: {language: de}\n")
    outcome = apply_rules(old, mail("outage and down", extra="X-Priority: 1\n"))
    assert (outcome.matched, outcome.priority, outcome.language, outcome.acknowledge) == (
        ("outage", "outage2"), "urgent", "de", True)


def context(outcome: RuleOutcome) -> d.MessageContext:
    return d.MessageContext(msg=mail(), classification=Classification("customer", "test"), rules=outcome, case=None,
                            thread_how=None, history=d.SenderHistory(), limits=d.Limits(5, 3),
                            default_priority="normal", default_language="en", own_message=False,
                            now=TUESDAY_NOON)


@pytest.mark.parametrize(
    ("outcome", "acknowledged"),
    [
        pytest.param(RuleOutcome(), True, id="no rule: acknowledged"),
        pytest.param(RuleOutcome(("quiet",), no_ack_by="quiet"), False, id="no_ack: a case, no acknowledgement"),
    ],
)
def test_decision_carries_what_rules_set(outcome: RuleOutcome, acknowledged: bool) -> None:
    outcome = RuleOutcome(outcome.matched, priority="high", tags=("vip", "b2b"), assignee="lead@example.com",
                          template_set="vip", no_ack_by=outcome.no_ack_by)
    actions = d.decide_message(context(outcome))
    opened = [a for a in actions if isinstance(a, d.OpenCase)]
    assert [(o.priority, o.tags, o.assignee, o.template_set) for o in opened] == [
        ("high", ("vip", "b2b"), "lead@example.com", "vip")]
    acks = [a for a in actions if isinstance(a, d.Acknowledge)]
    assert [a.template_set for a in acks] == (["vip"] if acknowledged else [])
    notes = [a.data for a in actions if isinstance(a, d.Note) and a.kind == "not_acknowledged.rule"]
    assert notes == ([] if acknowledged else [{"rule": "quiet"}])
