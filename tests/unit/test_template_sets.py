"""Template sets: ``sets/<set>/<language>/<name>.txt.j2`` first, then the default templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxd.mail.render import Renderer


def write(root: Path, path: str, subject: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"Subject: {subject}\n\nbody of {path}\n")


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    for path in ("en/ack.txt.j2", "de/ack.txt.j2", "en/update.txt.j2", "de/update.txt.j2",
                 "sets/vip/en/ack.txt.j2", "sets/vip/de/update.txt.j2"):
        write(tmp_path, path, path)
    (tmp_path / "sets" / "vip" / "en" / "ack.html.j2").write_text("<p>vip html</p>")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "language", "template_set", "used"),
    [
        ("ack", "en", None, "en/ack.txt.j2"),
        ("ack", "en", "vip", "sets/vip/en/ack.txt.j2"),
        ("ack", "en-GB", "vip", "sets/vip/en/ack.txt.j2"),  # the base language within the set
        ("ack", "de", "vip", "de/ack.txt.j2"),  # the customer's language before the set's English
        ("ack", "fr", "vip", "sets/vip/en/ack.txt.j2"),  # no French anywhere: the set's English
        ("update", "de", "vip", "sets/vip/de/update.txt.j2"),
        ("update", "en", "vip", "en/update.txt.j2"),  # not in the set: the default one
        ("update", "fr", None, "en/update.txt.j2"),
        ("ack", "en", "unknown-set", "en/ack.txt.j2"),
    ],
)
def test_template_set_lookup(templates: Path, name: str, language: str, template_set: str | None,
                             used: str) -> None:
    assert Renderer(templates).render(name, language, {}, template_set=template_set).subject == used


def test_html_twin_comes_from_the_same_place_as_the_text(templates: Path) -> None:
    renderer = Renderer(templates)
    assert renderer.render("ack", "en", {}, template_set="vip").html == "<p>vip html</p>"
    assert renderer.render("ack", "en", {}).html is None
    assert renderer.template_sets() == ["vip"]
    assert renderer.has_template("update", "de", "vip") and not renderer.has_template("ack", "de", "vip")
