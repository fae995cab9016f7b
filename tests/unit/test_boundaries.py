"""The pure core imports no I/O: decisions stay testable with an injected clock and no servers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "inboxd"
IO_LIBRARIES = {"imapclient", "smtplib", "imaplib", "sqlalchemy", "alembic", "apscheduler", "socket", "subprocess",
                "http", "urllib.request", "structlog", "msal", "google", "authlib"}
# what each folder may not import: the tree says which code is pure and which does I/O
RUNTIME = {"inboxd.cli", "inboxd.dev"}
LAYERS = {
    "core": IO_LIBRARIES | {"inboxd.store", "inboxd.transport", "inboxd.service", "inboxd.web"} | RUNTIME,
    "mail": IO_LIBRARIES | {"inboxd.store", "inboxd.transport", "inboxd.service", "inboxd.web"} | RUNTIME,
    "store": {"inboxd.transport", "inboxd.service", "inboxd.web"} | RUNTIME,
    "transport": {"inboxd.store", "inboxd.service", "inboxd.web"} | RUNTIME,
    "service": RUNTIME,
    "web": RUNTIME,
    "config": {"inboxd.store", "inboxd.transport", "inboxd.service", "inboxd.web"} | RUNTIME,
}
PURE = [path.relative_to(PACKAGE).as_posix() for layer in ("core", "mail")
        for path in sorted((PACKAGE / layer).glob("*.py"))
        if path.name not in {"render.py", "template_samples.py"}]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _forbidden(module: str) -> set[str]:
    layer = module.split("/")[0]
    return LAYERS.get(layer, set())


def _matches(name: str, prefixes: set[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in prefixes)


MODULES = sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                 if path.relative_to(PACKAGE).parts[0] in LAYERS and "migrations" not in path.parts)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_what_its_folder_allows(module: str) -> None:
    bad = {name for name in imported_modules(PACKAGE / module) if _matches(name, _forbidden(module))}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", PURE)
def test_pure_module_reads_no_environment(module: str) -> None:
    source = (PACKAGE / module).read_text()
    assert "os.environ" not in source and "getenv" not in source
    assert not {"open", "Path"} & {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def test_the_tree_has_no_module_outside_its_folders() -> None:
    """A newcomer finds every module in a folder that says what it is; only the shared errors sit at the top."""
    loose = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "errors.py"], loose


def test_the_rig_is_apart_from_the_runtime() -> None:
    """Nothing the daemon runs imports the local mail server, the local OAuth server or the demo."""
    offenders = [module for module in MODULES if any(_matches(name, {"inboxd.dev"})
                                                     for name in imported_modules(PACKAGE / module))]
    assert not offenders


def test_no_module_imports_the_commands_back() -> None:
    """``inboxd.cli.main`` imports the command modules to register them; they take what they share from
    ``inboxd.cli.setup``, and nothing outside the commands imports them."""
    importers = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                       if path.name not in {"main.py", "__main__.py"}
                       and any(_matches(name, {"inboxd.cli.main"}) for name in imported_modules(path)))
    assert importers == []
