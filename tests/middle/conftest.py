"""Fixtures of the middle layer (see ``tests/middle/fakes.py``): the real ingest, store and outbox, no servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.middle.fakes import Rig


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's migrated, empty database lies, to be copied for each rig."""
    return tmp_path_factory.mktemp("middle-template")


@pytest.fixture
def rig(tmp_path: Path, template_dir: Path) -> Iterator[Rig]:
    """The message path and outbox on a fresh SQLite database in ``tmp_path``, a fake SMTP server, a frozen clock."""
    made = Rig(tmp_path, template_dir)
    yield made
    made.close()
