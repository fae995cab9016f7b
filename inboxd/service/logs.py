"""structlog set-up: JSON when not on a terminal, readable on one. Never a secret or a body."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Marks the standard-library handler configure_logging installed, so that calling it again replaces it.
_OURS = "_inboxd_handler"


def configure_logging(fmt: str | None = None, level: str = "INFO") -> None:
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (APScheduler, alembic) go to stderr at WARNING,
    # rendered like inboxd's own lines, so that with INBOXD_LOG_FORMAT=json every line is JSON.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                           structlog.processors.TimeStamper(fmt="iso", utc=True)]))
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    # flufl.bounce logs a traceback when one of its detectors trips over odd mail; inboxd falls back
    # to its own analysis then, so the traceback is only noise (and could quote the message).
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
