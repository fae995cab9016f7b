"""A broken template set is refused with path:line and what is wrong, before any mail meets it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inboxd.config import TemplatesConfig, load_config
from inboxd.errors import ConfigError
from inboxd.render import default_template_dirs
from inboxd.runtime import build_runtime

SHIPPED = default_template_dirs()[0]
CONFIG = SHIPPED.parent / "examples" / "inboxd.yaml"


def _runtime_over(directory: Path):
    config = load_config(CONFIG)
    config = config.model_copy(update={"templates": TemplatesConfig(directory=str(directory))})
    return build_runtime(config, CONFIG.parent)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(SHIPPED, target)
    return target


def _break(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_shipped_templates_pass(templates: Path) -> None:
    assert _runtime_over(templates).renderer.directory == templates


def test_undefined_variable_is_reported_with_file_and_line(templates: Path) -> None:
    _break(templates / "de" / "ack.txt.j2", 3, "Hallo {{ promis.phrase }},")
    with pytest.raises(ConfigError) as raised:
        _runtime_over(templates)
    assert raised.value.problems == [f"{templates / 'de' / 'ack.txt.j2'}:3: 'promis' is undefined"]


def test_syntax_error_is_reported_with_file_and_line(templates: Path) -> None:
    _break(templates / "en" / "update.txt.j2", 2, "{% if %}")
    with pytest.raises(ConfigError) as raised:
        _runtime_over(templates)
    [problem] = raised.value.problems
    assert problem.startswith(f"{templates / 'en' / 'update.txt.j2'}:2: ")


def test_a_variable_the_daemon_does_not_pass_to_that_template_is_refused(templates: Path) -> None:
    # `headline` exists in alerts, but nothing gives it to an acknowledgement.
    _break(templates / "en" / "ack.txt.j2", 3, "{{ headline }}")
    with pytest.raises(ConfigError, match=r"en/ack.txt.j2:3: 'headline' is undefined"):
        _runtime_over(templates)


def test_a_missing_english_template_is_refused(templates: Path) -> None:
    (templates / "en" / "nudge.txt.j2").unlink()
    with pytest.raises(ConfigError, match=r"en/nudge.txt.j2 is missing"):
        _runtime_over(templates)


def test_a_template_without_subject_line_is_refused(templates: Path) -> None:
    _break(templates / "de" / "resolved.txt.j2", 1, "Betreff fehlt")
    with pytest.raises(ConfigError, match=r"de/resolved.txt.j2:1: a template must start with a 'Subject: …' line"):
        _runtime_over(templates)
