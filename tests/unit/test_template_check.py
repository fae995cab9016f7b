"""A broken template set is refused with path:line and what is wrong, before any mail meets it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inboxd.config import TemplatesConfig, load_config
from inboxd.errors import ConfigError
from inboxd.mail.render import default_template_dirs
from inboxd.service.runtime import build_runtime

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


def test_an_html_twin_using_a_variable_the_daemon_does_not_pass_is_refused(templates: Path) -> None:
    _break(templates / "de" / "nudge.html.j2", 4, "<p>{{ promise.phrase }}</p>")
    with pytest.raises(ConfigError, match=r"de/nudge.html.j2:4: 'promise' is undefined"):
        _runtime_over(templates)


def test_a_broken_html_layout_is_refused(templates: Path) -> None:
    _break(templates / "layout.html.j2", 5, '<html lang="{% block lang %}en{% endblok %}">')
    with pytest.raises(ConfigError, match=r"layout.html.j2:5: "):
        _runtime_over(templates)


def test_an_html_twin_extending_a_missing_layout_is_refused(templates: Path) -> None:
    (templates / "layout.html.j2").unlink()
    with pytest.raises(ConfigError, match=r"en/ack.html.j2:1: 'layout.html.j2' not found"):
        _runtime_over(templates)


def test_an_html_twin_is_optional(templates: Path) -> None:
    (templates / "en" / "delay.html.j2").unlink()
    rt = _runtime_over(templates)
    from datetime import UTC, datetime

    from inboxd.service.template_samples import sample_context

    context = sample_context(rt, "delay", datetime.now(UTC))
    assert rt.renderer.render("delay", "en", context).html is None
    assert rt.renderer.render("delay", "de", context).html is not None


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("name", ["ack", "update", "delay", "nudge", "resolved", "waiting"])
def test_every_customer_template_has_an_html_twin_in_the_shared_layout(templates: Path, name: str,
                                                                       language: str) -> None:
    from datetime import UTC, datetime

    import lxml.html

    from inboxd.service.template_samples import sample_contexts

    assert (templates / language / f"{name}.html.j2").read_text().startswith('{% extends "layout.html.j2" %}')
    rt = _runtime_over(templates)
    for context in sample_contexts(rt, name, datetime.now(UTC), language):
        rendered = rt.renderer.render(name, language, context)
        assert rendered.html is not None and "{{" not in rendered.html and "{%" not in rendered.html
        doc = lxml.html.document_fromstring(rendered.html)
        assert doc.get("lang") == language
        shown = " ".join(doc.text_content().split())
        assert context["token"] in shown and "Example Support" in shown
        # Something is said in bold (the promise, or what happened), and nothing is fetched from elsewhere.
        assert [b for b in doc.iter("strong") if b.text_content().strip()]
        assert not doc.xpath("//img | //link | //script | //style | //*[@src]")


def test_preview_shows_the_html_part(capsys: pytest.CaptureFixture[str]) -> None:
    from inboxd.cli.main import main

    assert main(["preview", "--config", str(CONFIG), "--language", "de", "--html", "delay"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"de\"") and "<strong>Sie hören spätestens" in page
    assert main(["preview", "--config", str(CONFIG), "--html", "digest"]) == 1
    assert capsys.readouterr().err == "error: digest has no HTML twin (en/digest.html.j2)\n"
