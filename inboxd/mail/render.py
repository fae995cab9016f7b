"""Templates admins can edit, rendered in a sandbox. Pure apart from reading template files.

A template's first line is ``Subject: …``; the body follows a blank line. Templates live in
``<language>/<name>.txt.j2`` under a directory: the admin's ``templates.directory``, else the set shipped
inside the package (``inboxd/templates``, found through :mod:`importlib.resources`, so an installed wheel
has them too); a missing language falls back to English. A template set a rule chooses
(``set: {template_set: vip}``) lives in ``sets/<set>/<language>/`` under the same directory; a template
the set lacks comes from the default ones. Undefined
variables are errors (StrictUndefined), so a typo in a template fails ``inboxd preview`` and the
tests instead of sending "Hello ,".
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from inboxd.errors import TemplateError

TEMPLATE_NAMES = ("ack",)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    # The HTML alternative from the template's ``<name>.html.j2`` twin, when there is one.
    html: str | None = None


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
            # The set checked at load time stays in use until the next reload, even if the files change.
            auto_reload=False,
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=False,
        )
        # The HTML twins (``<name>.html.j2``): the same sandbox, but every value is escaped.
        self.html_env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            auto_reload=False,
            undefined=StrictUndefined,
            autoescape=True,
        )

    def render(self, name: str, language: str, context: Mapping[str, Any],
               template_set: str | None = None) -> Rendered:
        """Render a template; a TemplateError (``path:line: what``) when it is missing or fails.

        With ``template_set``, ``sets/<set>/<language>/<name>.txt.j2`` comes before the default template of
        the same language: the language (then its base) from the set, then from the default templates, then
        English from the set, then the default English.

        A failing template is the configuration's fault, not the message's: TemplateError is a
        TransientError, so the work is retried once the templates are fixed and reloaded.
        """
        template = None
        found = "en"
        # The customer's language first, from the set, then from the default templates; English last.
        prefixes = ([f"sets/{template_set}/"] if template_set else []) + [""]
        wanted = [(p, lang) for lang in dict.fromkeys((language, language.split("-")[0])) if lang != "en"
                  for p in prefixes] + [(p, "en") for p in prefixes]
        try:
            for prefix, lang in wanted:
                try:
                    template = self.env.get_template(f"{prefix}{lang}/{name}.txt.j2")
                    found = f"{prefix}{lang}"
                    break
                except TemplateNotFound:
                    continue
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from exc
        if template is None:
            raise TemplateError(f"{name}.txt.j2 not found (looked in {self.directory} for {language!r} and 'en')")
        try:
            rendered = split_subject(template.render(**context))
        except Exception as exc:
            raise TemplateError(f"{template.filename or template.name}:{line_of(exc, template.filename)}: "
                                f"{type(exc).__name__}: {exc}") from exc
        html = self.render_html(name, found, context)
        return rendered if html is None else replace(rendered, html=html)

    def render_html(self, name: str, language: str, context: Mapping[str, Any]) -> str | None:
        """The HTML twin ``<language>/<name>.html.j2`` rendered (autoescaped), or None when there is none.

        Only the twin of the text template in use counts: a German text is never paired with English HTML.
        """
        try:
            template = self.html_env.get_template(f"{language}/{name}.html.j2")
        except TemplateNotFound:
            return None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from exc
        try:
            return template.render(**context)
        except Exception as exc:
            raise TemplateError(f"{template.filename or template.name}:{line_of(exc, template.filename)}: "
                                f"{type(exc).__name__}: {exc}") from exc

    def template_sets(self) -> list[str]:
        """The template sets under ``sets/`` in the directory."""
        directory = self.directory / "sets"
        return sorted(p.name for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []

    def has_template(self, name: str, language: str, template_set: str | None = None) -> bool:
        """Whether ``[sets/<set>/]<language>/<name>.txt.j2`` exists (no fallback)."""
        prefix = f"sets/{template_set}/" if template_set else ""
        return (self.directory / f"{prefix}{language}/{name}.txt.j2").is_file()
    def languages(self) -> list[str]:
        """The languages this directory has an acknowledgement template in (``<lang>/ack.txt.j2``)."""
        try:
            names = self.env.list_templates()
        except (TypeError, OSError):
            return []
        found = sorted(name.split("/")[0] for name in names if name.count("/") == 1 and name.endswith("/ack.txt.j2"))
        # English first: the shipped fallback, and the usual default.
        return sorted(found, key=lambda language: language != "en")

    def check(self, name: str, language: str = "en") -> None:
        """Raise when the template is missing or has a syntax error."""
        self.env.get_template(f"{language}/{name}.txt.j2")


def line_of(exc: BaseException, filename: str | None) -> int | str:
    """The template line a rendering error came from (Jinja2 maps its frames to the template's lines)."""
    line: int | str = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if filename is not None and frame.filename == filename and frame.lineno:
            line = frame.lineno
    return line


def split_subject(text: str) -> Rendered:
    head, _, body = text.lstrip("\n").partition("\n")
    if not head.lower().startswith("subject:"):
        raise ValueError("a template must start with a 'Subject: …' line")
    return Rendered(subject=" ".join(head[len("subject:"):].split()), body=body.strip("\n") + "\n")
