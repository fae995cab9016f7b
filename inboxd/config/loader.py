"""Reading ``inboxd.yaml``: PyYAML with the line of every key, strict validation, and every problem
reported as ``file:line: key.path[0].name: message``.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic_core import ErrorDetails

from inboxd.config.models import Config, Loc
from inboxd.errors import ConfigError


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 scalars, so admins get what they wrote.

    YAML 1.1 reads ``NO`` (Norway) as false, ``9:30`` as 570 and ``2026-12-24`` as a date;
    here only true/false are booleans, there are no base-60 numbers and dates stay text.
    """


_ConfigLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp",
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class _Document:
    """A parsed YAML document: its data and the line (1-based) of every key and list item."""

    def __init__(self, data: Any, lines: dict[Loc, int], problems: list[tuple[int, str]]) -> None:
        self.data = data
        self.lines = lines
        self.problems = problems


def _parse_yaml(text: str) -> _Document | None:
    """Parse one YAML document, recording line numbers; None when the document is empty."""
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        lines: dict[Loc, int] = {}
        problems: list[tuple[int, str]] = []
        _record_lines(loader, node, (), lines, problems, set())
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return _Document(data, lines, problems)


def _record_lines(
    loader: _ConfigLoader,
    node: yaml.Node,
    path: Loc,
    lines: dict[Loc, int],
    problems: list[tuple[int, str]],
    active: set[int],
) -> None:
    if id(node) in active:  # A recursive alias; the constructor deals with it.
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        # Duplicate keys are a typo PyYAML would hide (the last one silently wins).
        first_line: dict[object, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = loader.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    shown = _format_path((*path, key)) if isinstance(key, str | int) else repr(key)
                    problems.append((line, f"{shown}: duplicate key (first at line {first_line[key]})"))
                else:
                    first_line[key] = line
        loader.flatten_mapping(node)  # Resolve << merge keys the way the constructor will.
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            lines.setdefault((*path, key), key_node.start_mark.line + 1)
            _record_lines(loader, value_node, (*path, key), lines, problems, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(loader, item, (*path, index), lines, problems, active)
    active.discard(id(node))


def _format_path(loc: Sequence[str | int]) -> str:
    """``('mailboxes', 0, 'imap', 'port')`` → ``mailboxes[0].imap.port``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _clean_loc(loc: Sequence[str | int], data: Any) -> Loc:
    """Drop the parts of a pydantic location that are not in the YAML (union member tags and the like)."""
    cleaned: list[str | int] = []
    current: Any = data
    for position, part in enumerate(loc):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
            cleaned.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            cleaned.append(part)
        elif isinstance(current, Mapping) and isinstance(part, str) and position == len(loc) - 1:
            cleaned.append(part)  # A missing key.
            current = None
        elif isinstance(part, int) and not isinstance(current, Mapping | list):
            cleaned.append(part)
            current = None
    return tuple(cleaned)


def _line_for(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _allowed_keys(loc: Loc) -> list[str] | None:
    """The keys the model at ``loc`` accepts, for "did you mean" hints."""
    annotation: Any = Config
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {(field.alias or name): field for name, field in annotation.model_fields.items()}
            if part not in fields:
                return None
            annotation = fields[str(part)].annotation
        elif get_origin(annotation) is list and isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [field.alias or name for name, field in annotation.model_fields.items()]
    return None


_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")


def _message(error: ErrorDetails, loc: Loc) -> str:
    if error["type"] == "missing":
        return "required but missing"
    if error["type"] == "extra_forbidden" and loc:
        allowed = _allowed_keys(loc[:-1])
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            if close:
                return f"unknown key; did you mean {close[0]}?"
            return f"unknown key; expected one of: {', '.join(allowed)}"
        return "unknown key"
    message = error["msg"]
    for prefix in _MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _problem(source: str, line: int | None, path: str, message: str) -> str:
    where = f"{source}:{line}:" if line is not None else f"{source}:"
    return f"{where} {path}: {message}" if path else f"{where} {message}"


def load_config_text(text: str, source_name: str = "<config>", base_dir: Path | str | None = None) -> Config:
    """Validate YAML text; relative paths in it are resolved against ``base_dir`` (default: the cwd)."""
    try:
        document = _parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([_problem(source_name, line, "", f"YAML syntax error: {detail}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_problem(source_name, None, "", f"YAML error: {exc}")]) from None
    if document is None:
        raise ConfigError(
            [
                _problem(
                    source_name,
                    None,
                    "",
                    "the file is empty; it needs at least team and mailboxes "
                    "(see config/inboxd.yaml for an example)",
                )
            ]
        )
    if not isinstance(document.data, Mapping):
        raise ConfigError(
            [_problem(source_name, 1, "", "expected a mapping of sections (team, mailboxes, promises, …)")]
        )

    problems: list[tuple[int, str]] = [
        (line, _problem(source_name, line, "", text)) for line, text in document.problems
    ]
    # Top-level keys starting with "x-" hold YAML anchors to reuse (as in docker-compose files).
    data = {key: value for key, value in document.data.items() if not str(key).startswith("x-")}
    config: Config | None = None
    try:
        config = Config.model_validate(
            data, context={"base_dir": Path(base_dir) if base_dir is not None else Path.cwd()}
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = _clean_loc(error["loc"], document.data)
            line = _line_for(loc, document.lines)
            problems.append((line or 0, _problem(source_name, line, _format_path(loc), _message(error, loc))))
    if problems or config is None:
        problems.sort(key=lambda item: item[0])
        raise ConfigError([text for _, text in problems])
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError with every problem, each with its line."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read the configuration: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{source}:{line}: the file is not UTF-8 text"]) from None
    return load_config_text(text, source, Path(path).absolute().parent)

