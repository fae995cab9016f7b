"""The admin's YAML rules, evaluated against a message. Pure.

A rule matches when every condition it names matches (regular expressions, searched, not
anchored unless the admin anchors them). Rules run in order; for ``set``, later rules override
earlier ones key by key; ``action: ignore`` stops processing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from inboxd.config import RuleConfig
from inboxd.mail.parse import ParsedMessage


@dataclass(frozen=True)
class RuleOutcome:
    matched: tuple[str, ...] = ()
    priority: str | None = None
    language: str | None = None
    ignored_by: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    updates: dict[str, str | bool] = field(default_factory=dict)  # cadence overrides, later rules win per key


def _search(pattern: str | None, *values: str) -> bool:
    if pattern is None:
        return True
    compiled = re.compile(pattern)
    return any(compiled.search(v) for v in values)


def rule_matches(rule: RuleConfig, msg: ParsedMessage) -> bool:
    match = rule.match
    if not _search(match.subject, msg.subject):
        return False
    if not _search(match.from_, msg.from_addr, f"{msg.from_name} <{msg.from_addr}>"):
        return False
    if not _search(match.to, *msg.recipients) if match.to is not None else False:
        return False
    if not _search(match.body, msg.text):
        return False
    for name, pattern in (match.header or {}).items():
        values = msg.header_all(name)
        if not values or not _search(pattern, *values):
            return False
    return True


def apply_rules(rules: Sequence[RuleConfig], msg: ParsedMessage) -> RuleOutcome:
    matched: list[str] = []
    priority: str | None = None
    language: str | None = None
    updates: dict[str, str | bool] = {}
    for rule in rules:
        if not rule_matches(rule, msg):
            continue
        matched.append(rule.name)
        if rule.action == "ignore":
            return RuleOutcome(tuple(matched), priority, language, ignored_by=rule.name, updates=updates)
        if rule.set_ is not None:
            priority = rule.set_.priority or priority
            language = rule.set_.language or language
            if rule.set_.updates is not None:
                updates = {**updates, **rule.set_.updates.as_overrides()}
    return RuleOutcome(tuple(matched), priority, language, updates=updates)
