"""Every shipped language has every template, each renders with the daemon's contexts, and a configured
language without its templates is refused with the language and the missing file named."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inboxd.config import CasesConfig, RuleConfig, StaffMember, TemplatesConfig, load_config
from inboxd.core.language import SHIPPED_LANGUAGES
from inboxd.errors import ConfigError
from inboxd.mail.render import default_template_dirs
from inboxd.service.runtime import Runtime, build_runtime
from inboxd.service.template_samples import CUSTOMER_TEMPLATES, STAFF_TEMPLATES, TEMPLATE_NAMES, sample_contexts

SHIPPED = default_template_dirs()[0]
CONFIG = SHIPPED.parent / "examples" / "inboxd.yaml"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
OTHERS = tuple(language for language in SHIPPED_LANGUAGES if language != "en")

# Words an English template has and a translation must not: a fallback to English shows up here.
ENGLISH = re.compile(r"\b(Hello|thank you|You will hear|reply to this message|You promised|Reminder|Good morning|"
                     r"Nothing in your note|Done|This notice)\b")


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return build_runtime(load_config(CONFIG), CONFIG.parent, check_templates=False)


def test_customer_and_staff_templates_are_all_the_templates() -> None:
    assert set(CUSTOMER_TEMPLATES) | set(STAFF_TEMPLATES) == set(TEMPLATE_NAMES)
    assert not set(CUSTOMER_TEMPLATES) & set(STAFF_TEMPLATES)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_language_has_every_template_file(language: str, name: str) -> None:
    assert (SHIPPED / language / f"{name}.txt.j2").is_file()
    if name in CUSTOMER_TEMPLATES:
        assert (SHIPPED / language / f"{name}.html.j2").is_file()


@pytest.mark.parametrize("language", OTHERS)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_language_renders_its_own_words_for_every_context(rt: Runtime, language: str, name: str) -> None:
    for context in sample_contexts(rt, name, NOW, language):
        rendered = rt.renderer.render(name, language, context)
        english = rt.renderer.render(name, "en", context)
        assert rendered.subject and rendered.body.strip()
        assert rendered.body != english.body
        assert not ENGLISH.search(rendered.body), rendered.body
        if name in CUSTOMER_TEMPLATES:
            assert "[#1042]" in rendered.subject + rendered.body
            assert rendered.html is not None and f'<html lang="{language}"' in rendered.html
            assert not ENGLISH.search(re.sub(r"<[^>]+>", " ", rendered.html))


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_the_promise_is_said_with_babel_dates_in_the_language(rt: Runtime, language: str) -> None:
    [context, *_] = sample_contexts(rt, "update", NOW, language)
    body = " ".join(rt.renderer.render("update", language, context).body.split())
    assert context["promise"]["phrase"] in body
    english_days = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
    assert bool(english_days.search(body)) == (language == "en")


# --------------------------------------------------------------------------- completeness check


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(SHIPPED, target)
    return target


def _runtime(directory: Path, **cases: object) -> Runtime:
    config = load_config(CONFIG)
    update: dict[str, object] = {"templates": TemplatesConfig(directory=str(directory))}
    if cases:
        update["cases"] = config.cases.model_copy(update=cases)
    config = config.model_copy(update=update)
    return build_runtime(config, CONFIG.parent)


def test_the_shipped_set_passes_with_every_language_configured(templates: Path) -> None:
    rt = _runtime(templates, languages=list(SHIPPED_LANGUAGES))
    assert rt.served_languages == SHIPPED_LANGUAGES


def test_a_configured_language_missing_a_template_is_named(templates: Path) -> None:
    (templates / "fr" / "delay.txt.j2").unlink()
    (templates / "fr" / "nudge.html.j2").unlink()
    with pytest.raises(ConfigError) as raised:
        _runtime(templates, languages=["en", "fr"])
    assert [p.split(" (in ")[0] for p in raised.value.problems] == [
        "templates: language 'fr' has no fr/delay.txt.j2",
        "templates: language 'fr' has no fr/nudge.html.j2",
    ]
    assert all("configured by cases.languages" in p for p in raised.value.problems)


def test_a_language_not_served_need_not_be_complete(templates: Path) -> None:
    (templates / "fr" / "delay.txt.j2").unlink()
    rt = _runtime(templates, languages=["en", "de"])
    assert rt.served_languages == ("en", "de")


def test_a_rule_language_without_templates_is_refused(templates: Path) -> None:
    config = load_config(CONFIG)
    rule = RuleConfig.model_validate({"name": "swedish", "match": {"subject": "(?i)hej"}, "set": {"language": "sv"}})
    config = config.model_copy(update={"templates": TemplatesConfig(directory=str(templates)),
                                       "rules": [*config.rules, rule]})
    with pytest.raises(ConfigError) as raised:
        build_runtime(config, CONFIG.parent)
    assert len(raised.value.problems) == 2 * len(CUSTOMER_TEMPLATES)
    assert raised.value.problems[0].startswith("templates: language 'sv' has no sv/ack.txt.j2")
    assert "rules[" in raised.value.problems[0] and "(swedish)" in raised.value.problems[0]


def test_a_staff_language_needs_the_staff_templates(templates: Path) -> None:
    (templates / "it" / "digest.txt.j2").unlink()
    config = load_config(CONFIG)
    staff = [*config.team.staff, StaffMember(email="giulia@example.com", language="it")]
    config = config.model_copy(update={"templates": TemplatesConfig(directory=str(templates)),
                                       "team": config.team.model_copy(update={"staff": staff})})
    with pytest.raises(ConfigError) as raised:
        build_runtime(config, CONFIG.parent)
    [problem] = [p for p in raised.value.problems if "digest" in p]
    assert problem.startswith("templates: language 'it' has no it/digest.txt.j2")
    assert "team.staff[" in problem and "giulia@example.com" in problem


def test_a_regional_variant_uses_its_base_languages_templates(templates: Path) -> None:
    rt = _runtime(templates, languages=["en", "pt-BR"], default_language="en")
    assert rt.served_languages == ("en", "pt-BR")


def test_served_languages_default_to_the_directorys_languages(templates: Path) -> None:
    shutil.rmtree(templates / "nl")
    rt = _runtime(templates, languages=None)  # the example lists its languages; unset here
    assert "nl" not in rt.served_languages and "fr" in rt.served_languages


def test_cases_config_is_a_model_with_languages() -> None:
    assert CasesConfig().served_languages() == SHIPPED_LANGUAGES
