"""What every ``inboxd`` command starts from: its configuration, its database, its runtime, and JSON out.

The command modules (``cli``, ``cli_commitments``, ``cli_quarantine`` …) import these from here, and
``cli`` imports the command modules to register them: nothing imports ``cli`` back.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from inboxd.errors import ConfigError


def settings() -> Any:
    """The ``INBOXD_*`` environment, validated."""
    from pydantic import ValidationError

    from inboxd.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        # An environment variable with a value inboxd does not know (INBOXD_LOG_FORMAT=xml).
        raise ConfigError([f"INBOXD_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                           for err in exc.errors()]) from None


def config_path(args: argparse.Namespace) -> Path:
    if getattr(args, "config", None):
        return Path(args.config)
    return Path(settings().config_path())


def database_url(args: argparse.Namespace) -> str:
    if getattr(args, "database_url", None):
        return str(args.database_url)
    return str(settings().resolved_database_url())


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, default=json_default, ensure_ascii=False))


def load_runtime(args: argparse.Namespace, check_templates: bool = True) -> Any:
    """The runtime of the configuration ``--config`` (or ``INBOXD_CONFIG``) names; ``check_templates=False`` for a
    command that renders no mail (rendering every template to check it costs more than such a command's work)."""
    from inboxd.config import load_config
    from inboxd.service.runtime import build_runtime

    path = config_path(args)
    return build_runtime(load_config(path), path.parent, check_templates=check_templates)


def readonly_store(args: argparse.Namespace) -> Any:
    """The configured database for a command that only reads: never created, never migrated."""
    from inboxd.store.db import open_store_readonly

    return open_store_readonly(database_url(args))


def local_time(moment: datetime, tz: Any, seconds: bool = False) -> str:
    """A time in the team's zone with its abbreviation: ``2026-11-23 13:00 CET``."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
