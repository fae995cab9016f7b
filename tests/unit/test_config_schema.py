"""``inboxd schema`` and the README's configuration reference: both come from the configuration's models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from inboxd.cli.main import main
from inboxd.config.schema import BEGIN, END, json_schema, reference_markdown, replace_reference
from inboxd.examples import __file__ as examples_init

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLES = [ROOT / "config" / "inboxd.yaml", Path(examples_init).parent / "inboxd.yaml"]


def test_readme_reference_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert text == replace_reference(text), "run: python -m inboxd.config.schema README.md"


def test_reference_lists_every_rule_key() -> None:
    reference = reference_markdown()
    for key in ("match.cc", "match.any", "match.not", "match.time", "match.has_attachment", "set.tags",
                "set.template_set", "set.acknowledge", "rules[].continue", "rules[].action"):
        assert f"{key}`" in reference
    assert reference.startswith(BEGIN) and reference.endswith(END)


def test_replace_reference_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="config-reference"):
        replace_reference("# a README without the markers\n")


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_configurations_validate_against_the_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(json_schema()).validate(yaml.safe_load(path.read_text()))


RULES = """\
team: {timezone: Europe/Berlin, business_hours: {mon-fri: "09:00-17:00"}}
mailboxes:
  - name: support
    address: support@example.com
    imap: {host: imap.example.com, username: u, password_env: P}
    smtp: {host: smtp.example.com, username: u, password_env: P}
x-common: &common {tags: [vip]}
rules:
  - name: vip
    match: {any: [{from: '@vip$'}, {header: {X-Tier: {equals: gold}}}], kind: customer, time: 'sat,sun'}
    set: *common
    continue: false
"""


def test_schema_accepts_new_rules_and_rejects_a_misspelt_key() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    document = yaml.safe_load(RULES)
    validator.validate(document)
    document["rules"][0]["match"]["any"][0]["form"] = "x"
    errors = list(validator.iter_errors(document))
    assert [list(e.absolute_path) for e in errors] == [["rules", 0, "match", "any"]]
