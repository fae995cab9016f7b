"""The admin's YAML rules, evaluated against a message. Pure.

Rules run in order. A rule matches when every condition of its ``match`` holds (``any``, ``all`` and
``not`` combine conditions; ``{}`` matches everything). For a matching rule, ``set`` overrides
what earlier rules set, key by key (``tags`` add up instead); ``action: no_ack`` switches the
acknowledgement off; ``action: ignore`` and ``continue: false`` stop: no later rule is looked at.

Patterns are compiled once, with RE2 (:mod:`inboxd.core.patterns`), when the configuration is loaded
(:func:`compile_rules`); matching is linear in the length of the text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inboxd.config import RuleConfig, RuleMatch, TextMatch
from inboxd.core.patterns import compile_pattern, in_time_of_week, parse_time_of_week
from inboxd.mail.parse import ParsedMessage


@dataclass(frozen=True)
class RuleFacts:
    """What rules can look at: the message and where, when and as what it came in."""

    msg: ParsedMessage
    mailbox: str = ""
    kind: str = ""  # the classification before any rule (customer, staff, auto_reply, …)
    language: str | None = None  # detected, or from Content-Language
    at: datetime | None = None  # when it arrived, in the team's time zone


@dataclass(frozen=True)
class RuleOutcome:
    matched: tuple[str, ...] = ()
    priority: str | None = None
    language: str | None = None
    ignored_by: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    updates: dict[str, str | bool] = field(default_factory=dict)  # cadence overrides, later rules win per key
    tags: tuple[str, ...] = ()  # every matching rule's tags, in order, each once
    assignee: str | None = None
    template_set: str | None = None
    # The rule that switched the acknowledgement off (action: no_ack, set: {acknowledge: false}); None: on.
    no_ack_by: str | None = None
    stopped_by: str | None = None  # the rule with continue: false (or ignore) after which none was looked at

    @property
    def acknowledge(self) -> bool:
        return self.no_ack_by is None


Matcher = Callable[[RuleFacts], bool]


@dataclass(frozen=True)
class CompiledRule:
    config: RuleConfig
    matches: Matcher

    @property
    def name(self) -> str:
        return self.config.name


def _text(pattern: str | TextMatch) -> Callable[[str], bool]:
    """One text condition as a test of a single value."""
    if isinstance(pattern, str):
        compiled = compile_pattern(pattern)
        return lambda value: compiled.search(value) is not None
    if pattern.regex is not None:
        compiled = compile_pattern(pattern.regex)
        return lambda value: compiled.search(value) is not None
    if pattern.contains is not None:
        needle = pattern.contains.casefold()
        return lambda value: needle in value.casefold()
    wanted = (pattern.equals or "").casefold()
    return lambda value: value.strip().casefold() == wanted


def _any_value(pattern: str | TextMatch, values: Callable[[RuleFacts], Sequence[str]]) -> Matcher:
    test = _text(pattern)
    return lambda facts: any(test(value) for value in values(facts))


def _time_matcher(specs: Sequence[str]) -> Matcher:
    windows = [parse_time_of_week(spec) for spec in specs]

    def matches(facts: RuleFacts) -> bool:
        if facts.at is None:
            return False
        minute = facts.at.hour * 60 + facts.at.minute
        return any(in_time_of_week(window, facts.at.weekday(), minute) for window in windows)

    return matches


def _header_values(name: str) -> Callable[[RuleFacts], Sequence[str]]:
    return lambda facts: facts.msg.header_all(name)


def compile_match(match: RuleMatch) -> Matcher:
    """The conditions of one ``match`` as one test; every pattern compiled here, once."""
    tests: list[Matcher] = []
    if match.subject is not None:
        tests.append(_any_value(match.subject, lambda f: (f.msg.subject,)))
    if match.from_ is not None:
        tests.append(_any_value(match.from_, lambda f: (f.msg.from_addr, f"{f.msg.from_name} <{f.msg.from_addr}>")))
    if match.to is not None:
        tests.append(_any_value(match.to, lambda f: f.msg.recipients))
    if match.cc is not None:
        tests.append(_any_value(match.cc, lambda f: f.msg.cc))
    if match.body is not None:
        tests.append(_any_value(match.body, lambda f: (f.msg.text,)))
    for name, pattern in match.header.items():
        tests.append(_any_value(pattern, _header_values(name)))
    if match.mailbox is not None:
        tests.append(_any_value(match.mailbox, lambda f: (f.mailbox,)))
    if match.kind is not None:
        kinds = frozenset(match.kind)
        tests.append(lambda f: f.kind in kinds)
    if match.language is not None:
        tests.append(_any_value(match.language, lambda f: (f.language,) if f.language else ()))
    if match.has_attachment is not None:
        wanted = match.has_attachment
        tests.append(lambda f: bool(f.msg.attachments) is wanted)
    if match.time is not None:
        tests.append(_time_matcher(match.time))
    if match.all_ is not None:
        tests.extend(compile_match(part) for part in match.all_)
    if match.any_ is not None:
        alternatives = [compile_match(part) for part in match.any_]
        tests.append(lambda f: any(test(f) for test in alternatives))
    if match.not_ is not None:
        negated = compile_match(match.not_)
        tests.append(lambda f: not negated(f))
    return lambda facts: all(test(facts) for test in tests)


def compile_rules(rules: Sequence[RuleConfig]) -> tuple[CompiledRule, ...]:
    """Every rule's patterns compiled (done once per loaded configuration, see Runtime.rules)."""
    return tuple(CompiledRule(rule, compile_match(rule.match)) for rule in rules)


def message_language(msg: ParsedMessage) -> str | None:
    """The language the message declares (Content-Language, first tag, lower case), for rules to match."""
    declared = msg.header("Content-Language")
    if not declared:
        return None
    first = declared.split(",")[0].strip().lower()
    return first or None


def _facts(target: RuleFacts | ParsedMessage) -> RuleFacts:
    return target if isinstance(target, RuleFacts) else RuleFacts(target, language=message_language(target))


def rule_matches(rule: RuleConfig | CompiledRule, target: RuleFacts | ParsedMessage) -> bool:
    compiled = rule if isinstance(rule, CompiledRule) else CompiledRule(rule, compile_match(rule.match))
    return compiled.matches(_facts(target))


def apply_rules(rules: Sequence[RuleConfig] | Sequence[CompiledRule], target: RuleFacts | ParsedMessage) -> RuleOutcome:
    """Every rule in order against one message: what they set, and which matched."""
    facts = _facts(target)
    compiled = [r if isinstance(r, CompiledRule) else CompiledRule(r, compile_match(r.match)) for r in rules]
    matched: list[str] = []
    priority: str | None = None
    language: str | None = None
    updates: dict[str, str | bool] = {}
    tags: dict[str, None] = {}
    assignee: str | None = None
    template_set: str | None = None
    no_ack_by: str | None = None
    ignored_by: str | None = None
    stopped_by: str | None = None
    for rule in compiled:
        if not rule.matches(facts):
            continue
        config = rule.config
        matched.append(rule.name)
        if config.action == "ignore":
            ignored_by = stopped_by = rule.name
            break
        if config.action == "no_ack":
            no_ack_by = rule.name
        chosen = config.set_
        if chosen is not None:
            priority = chosen.priority or priority
            language = chosen.language or language
            if chosen.updates is not None:
                updates = {**updates, **chosen.updates.as_overrides()}
            tags.update(dict.fromkeys(chosen.tags or ()))
            assignee = chosen.assignee or assignee
            template_set = chosen.template_set or template_set
            if chosen.acknowledge is not None:
                no_ack_by = None if chosen.acknowledge else rule.name
        if not config.continue_:
            stopped_by = rule.name
            break
    return RuleOutcome(tuple(matched), priority, language, ignored_by=ignored_by, updates=updates,
                       tags=tuple(tags), assignee=assignee, template_set=template_set, no_ack_by=no_ack_by,
                       stopped_by=stopped_by)


def _conditions(match: RuleMatch) -> dict[tuple[str, ...], str]:
    """The top-level conditions of a match, each as a comparable value (the kinds are handled apart)."""
    conditions: dict[tuple[str, ...], str] = {}
    for key, value in match.model_dump(by_alias=True, exclude_none=True).items():
        if key == "header":
            for name, pattern in value.items():
                conditions[("header", name.lower())] = json.dumps(pattern, sort_keys=True)
        elif key != "kind":
            conditions[(key,)] = json.dumps(value, sort_keys=True)
    return conditions


def covers(earlier: RuleMatch, later: RuleMatch) -> bool:
    """Whether every message ``later`` matches is sure to match ``earlier`` too (the obvious cases only).

    True when ``earlier`` has no condition, or each of its conditions appears in ``later`` as written
    (and its kinds include all of ``later``'s).
    """
    if earlier.is_universal():
        return True
    if earlier.kind is not None and (later.kind is None or not set(later.kind) <= set(earlier.kind)):
        return False
    mine, theirs = _conditions(earlier), _conditions(later)
    return all(theirs.get(key) == value for key, value in mine.items())


def unreachable_rules(rules: Sequence[RuleConfig]) -> list[tuple[int, int]]:
    """(rule, earlier rule) for every rule that can never match: an earlier rule that stops (``continue: false``
    or ``action: ignore``) matches everything it would."""
    found: list[tuple[int, int]] = []
    for index, rule in enumerate(rules):
        for before in range(index):
            earlier = rules[before]
            if earlier.stops and covers(earlier.match, rule.match):
                found.append((index, before))
                break
    return found
