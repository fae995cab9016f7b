"""The bundled templates render, keep the subject on its own line, and refuse undefined variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from inboxd.errors import TemplateError
from inboxd.mail.render import Renderer, default_template_dirs

TEMPLATES = default_template_dirs()[0]


def ack_context(**overrides):
    context = {
        "case": 1042, "token": "[#1042]", "subject": "Printer broken", "normalized_subject": "printer broken",
        "customer_name": "Ann", "customer": "ann@example.org", "team_name": "Example Support",
        "promise": {"due": None, "phrase": "tomorrow (Tuesday) by 13:00 CET", "customer_phrase": None,
                    "reason": ""},
    }
    context.update(overrides)
    return context


def test_ack_subject_and_body_are_separate():
    rendered = Renderer(TEMPLATES).render("ack", "en", ack_context())
    assert rendered.subject == "[#1042] Printer broken"
    assert rendered.body.startswith("Hello Ann,\n")
    assert "You will hear from Example Support tomorrow (Tuesday) by 13:00 CET." in rendered.body


def test_unknown_language_falls_back_to_english():
    assert Renderer(TEMPLATES).render("ack", "pt-BR", ack_context()).subject == "[#1042] Printer broken"


def test_undefined_variable_is_an_error(tmp_path: Path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "ack.txt.j2").write_text("Subject: {{ tokn }}\n\nHi\n")
    with pytest.raises(TemplateError, match=r"ack.txt.j2:1: UndefinedError: 'tokn' is undefined") as raised:
        Renderer(tmp_path).render("ack", "en", ack_context())
    assert isinstance(raised.value.__cause__, UndefinedError)


def test_templates_are_sandboxed(tmp_path: Path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "ack.txt.j2").write_text(
        "Subject: x\n\n{{ token.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(TemplateError) as raised:
        Renderer(tmp_path).render("ack", "en", ack_context())
    assert isinstance(raised.value.__cause__, SecurityError)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*/*.txt.j2")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_template_renders_with_a_subject(path: Path) -> None:
    """What `inboxd preview` renders: a typo or an unknown variable in any template fails here, not in a mail."""
    from datetime import UTC, datetime

    from inboxd.config import load_config
    from inboxd.service.runtime import build_runtime
    from inboxd.service.template_samples import sample_contexts

    config_path = TEMPLATES.parent / "examples" / "inboxd.yaml"
    rt = build_runtime(load_config(config_path), config_path.parent)
    name = path.name.removesuffix(".txt.j2")
    language = path.parent.name
    for context in sample_contexts(rt, name, datetime.now(UTC), language):
        rendered = Renderer(TEMPLATES).render(name, language, context)
        assert rendered.subject and "{{" not in rendered.body and len(rendered.body) > 40


def test_the_templates_and_the_example_config_live_in_the_package() -> None:
    """A wheel ships what is inside the package: the templates and the one example configuration."""
    import inboxd
    from inboxd.examples import example_config_text

    package = Path(inboxd.__file__).resolve().parent
    assert TEMPLATES.resolve() == package / "templates"
    assert (TEMPLATES / "en" / "ack.txt.j2").is_file()
    # The checkout's config/inboxd.yaml is the packaged file itself, not a copy that could drift.
    checkout_copy = package.parent / "config" / "inboxd.yaml"
    assert checkout_copy.resolve() == package / "examples" / "inboxd.yaml"
    assert example_config_text() == checkout_copy.read_text()


def test_demo_without_aiosmtpd_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from inboxd.cli.main import main

    monkeypatch.setitem(sys.modules, "aiosmtpd", None)  # as if it were not installed
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "The demo needs aiosmtpd: pip install 'inboxd[demo]'"
