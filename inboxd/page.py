"""The status page: what it shows is gathered from the store into one frozen value, then rendered (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from inboxd.runtime import Runtime


@dataclass(frozen=True)
class PageData:
    now: datetime


def gather(conn: Connection, rt: Runtime, now: datetime) -> PageData:
    return PageData(now=now)


def render_page(data: PageData, **_: Any) -> str:
    return f"<!doctype html><title>inboxd</title><p>{data.now.isoformat()}</p>"
