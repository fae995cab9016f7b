"""Templates admins can edit, rendered in a sandbox. Pure apart from reading template files.

A template's first line is ``Subject: …``; the body follows a blank line. Templates live in
``<language>/<name>.txt.j2`` under a directory: the admin's ``templates.directory``, else the set shipped
inside the package (``inboxd/templates``, found through :mod:`importlib.resources`, so an installed wheel
has them too); a missing language falls back to English. Undefined
variables are errors (StrictUndefined), so a typo in a template fails ``inboxd preview`` and the
tests instead of sending "Hello ,".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE_NAMES = ("ack",)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def bundled_template_dir() -> Path:
    """The templates shipped inside the package (package data, so a wheel install has them)."""
    return Path(str(files("inboxd").joinpath("templates")))


def default_template_dirs() -> list[Path]:
    """Where the bundled templates are: inside the installed package."""
    return [bundled_template_dir()]


def resolve_template_dir(configured: str | None, config_dir: Path | None = None) -> Path:
    if configured:
        path = Path(configured)
        if not path.is_absolute() and config_dir is not None:
            path = config_dir / path
        return path
    for candidate in default_template_dirs():
        if candidate.is_dir():
            return candidate
    return default_template_dirs()[0]


class Renderer:
    """Renders ``<name>.txt.j2`` for a language with a sandboxed, strict Jinja2 environment."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=False,
        )

    def render(self, name: str, language: str, context: Mapping[str, Any]) -> Rendered:
        template = None
        for lang in dict.fromkeys((language, language.split("-")[0], "en")):
            try:
                template = self.env.get_template(f"{lang}/{name}.txt.j2")
                break
            except TemplateNotFound:
                continue
        if template is None:
            raise TemplateNotFound(f"{name}.txt.j2 (looked in {self.directory} for {language!r} and 'en')")
        return split_subject(template.render(**context))

    def check(self, name: str, language: str = "en") -> None:
        """Raise when the template is missing or has a syntax error."""
        self.env.get_template(f"{language}/{name}.txt.j2")


def split_subject(text: str) -> Rendered:
    head, _, body = text.lstrip("\n").partition("\n")
    if not head.lower().startswith("subject:"):
        raise ValueError("a template must start with a 'Subject: …' line")
    return Rendered(subject=" ".join(head[len("subject:"):].split()), body=body.strip("\n") + "\n")
