"""What check-config says about rules: unreachable ones, duplicate names, template sets without templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inboxd.config import load_config_text
from inboxd.core.rules import covers, unreachable_rules
from inboxd.mail.render import bundled_template_dir
from inboxd.service.config_check import check_config

from .test_rules import CONFIG


def config_file(tmp_path: Path, rules_yaml: str, templates: Path | None = None) -> Path:
    text = CONFIG + rules_yaml
    if templates is not None:
        text += f"templates:\n  directory: {templates}\n"
    path = tmp_path / "inboxd.yaml"
    path.write_text(text)
    return path


# (rules, (unreachable rule, the earlier rule that hides it) …)
SHADOWING = [
    pytest.param("""\
  - name: everything
    match: {}
    set: {tags: [all]}
    continue: false
  - name: outage
    match: {subject: outage}
    set: {priority: urgent}
""", [(1, 0)], id="an empty match with continue: false hides every later rule"),
    pytest.param("""\
  - name: vendors
    match: {from: '@vendor\\.example$'}
    action: ignore
  - name: vendor-outage
    match: {from: '@vendor\\.example$', subject: outage}
    set: {priority: urgent}
""", [(1, 0)], id="an ignore whose conditions the later rule repeats hides it"),
    pytest.param("""\
  - name: robots
    match: {kind: [auto_reply, list]}
    action: ignore
  - name: lists
    match: {kind: list, subject: digest}
    set: {tags: [digest]}
""", [(1, 0)], id="ignoring more kinds hides a rule on fewer"),
    pytest.param("""\
  - name: everything
    match: {}
    set: {tags: [all]}
  - name: outage
    match: {subject: outage}
    set: {priority: urgent}
""", [], id="an empty match that continues hides nothing"),
    pytest.param("""\
  - name: vendors
    match: {from: '@vendor\\.example$', subject: invoice}
    action: ignore
  - name: vendor-mail
    match: {from: '@vendor\\.example$'}
    set: {priority: low}
""", [], id="a narrower ignore leaves a broader later rule reachable"),
    pytest.param("""\
  - name: robots
    match: {kind: list}
    action: ignore
  - name: replies
    match: {kind: [list, auto_reply]}
    set: {tags: [robot]}
""", [], id="ignoring fewer kinds leaves a rule on more reachable"),
]


@pytest.mark.parametrize(("rules_yaml", "expected"), SHADOWING)
def test_unreachable_rules(rules_yaml: str, expected: list[tuple[int, int]]) -> None:
    assert unreachable_rules(load_config_text(CONFIG + rules_yaml).rules) == expected


def test_covers_is_not_fooled_by_a_different_pattern() -> None:
    rules = load_config_text(CONFIG + """\
  - name: a
    match: {subject: outage}
    action: ignore
  - name: b
    match: {subject: Outage}
    set: {priority: urgent}
""").rules
    assert not covers(rules[0].match, rules[1].match)


def test_check_config_warns_about_an_unreachable_rule(tmp_path: Path) -> None:
    errors, warnings = check_config(config_file(tmp_path, SHADOWING[0].values[0]))  # type: ignore[arg-type]
    assert errors == []
    assert any("rules[1] (outage): can never match: rules[0] (everything) has continue: false" in w
               for w in warnings)


def test_check_config_reports_duplicate_rule_names(tmp_path: Path) -> None:
    errors, _ = check_config(config_file(tmp_path, """\
  - name: outage
    match: {subject: outage}
    set: {priority: urgent}
  - name: outage
    match: {subject: down}
    set: {priority: urgent}
"""))
    assert [e.split(": ", 1)[1] for e in errors] == ["rules[1].name: rule 'outage' is defined twice (also rules[0])"]


def test_check_config_rejects_a_pattern_re2_cannot_take_with_its_key_path(tmp_path: Path) -> None:
    errors, _ = check_config(config_file(tmp_path, """\
  - name: replies
    match:
      any:
        - subject: '^(re|aw): (?!out of office)'
    set: {priority: low}
"""))
    assert len(errors) == 1
    assert "rules[0].match.any[0].subject: invalid regular expression" in errors[0]
    assert "RE2" in errors[0]


ROUTED = """\
  - name: vip
    match: {from: '@vip\\.example$'}
    set: {template_set: vip, language: de}
"""


def test_check_config_rejects_a_template_set_without_templates(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(bundled_template_dir(), templates)
    errors, _ = check_config(config_file(tmp_path, ROUTED, templates))
    assert errors == [f"rules[0].set.template_set: no templates for set 'vip': expected {templates}/sets/vip/"
                      "<language>/ack.txt.j2 (see README, Template sets)"]


def test_a_template_set_missing_a_language_is_a_warning(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(bundled_template_dir(), templates)
    (templates / "sets" / "vip" / "en").mkdir(parents=True)
    shutil.copy(templates / "en" / "ack.txt.j2", templates / "sets" / "vip" / "en" / "ack.txt.j2")
    errors, warnings = check_config(config_file(tmp_path, ROUTED, templates))
    assert errors == []
    assert ("rules[0].set.template_set: set 'vip' has no de/ack.txt.j2; that acknowledgement comes from the "
            "default templates") in warnings


def test_a_broken_template_in_a_set_is_an_error_with_its_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(bundled_template_dir(), templates)
    (templates / "sets" / "vip" / "de").mkdir(parents=True)
    (templates / "sets" / "vip" / "de" / "ack.txt.j2").write_text("Subject: {{ token }}\n\n{{ nosuchthing }}\n")
    errors, _ = check_config(config_file(tmp_path, ROUTED, templates))
    assert len(errors) == 1 and "sets/vip/de/ack.txt.j2:3" in errors[0]
