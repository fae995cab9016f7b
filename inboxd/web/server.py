"""The daemon's read-only HTTP port: the status page (``/``), Prometheus metrics (``/metrics``), ``/healthz``.

A stdlib ``ThreadingHTTPServer`` in its own thread, GET and HEAD only. The store-backed figures are read at
scrape time by :class:`StoreCollector` (a few indexed counts); errors and tick durations are counted in the
process by :class:`Metrics`. The metrics live in their own registry, never the global one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from inboxd.store import repo
from inboxd.store.schema import cases, messages, outbox, promises, watch_status

log = structlog.get_logger("inboxd.web.server")


class StoreCollector(Collector):
    """Figures read from the database at scrape time (indexed counts; nothing is cached)."""

    def __init__(self, store: repo.Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            with self.store.connect() as conn:
                by_kind = conn.execute(select(messages.c.kind, func.count()).group_by(messages.c.kind)).all()
                # Scans of narrow indexes (ix_promises_state_due_at, ix_promises_case_id), no sort.
                by_state = conn.execute(select(promises.c.state, func.count()).group_by(promises.c.state)).all()
                made_total = conn.execute(select(func.count()).select_from(promises)).scalar()
                waiting = conn.execute(select(cases.c.priority, func.count())
                                       .where(cases.c.status == "waiting_on_us")
                                       .group_by(cases.c.priority)).all()
                acks = conn.execute(select(func.count()).select_from(outbox)
                                    .where(outbox.c.kind == "ack", outbox.c.state == "sent")).scalar()
                depth = conn.execute(select(outbox.c.state, func.count())
                                     .where(outbox.c.state.in_(("pending", "sending", "failed")))
                                     .group_by(outbox.c.state)).all()
                quarantined = conn.execute(select(func.count()).select_from(messages)
                                           .where(messages.c.status == "quarantined")).scalar()
                polls = conn.execute(select(watch_status.c.mailbox, func.max(watch_status.c.last_poll_at))
                                     .where(watch_status.c.channel.startswith("imap:"))
                                     .group_by(watch_status.c.mailbox)).all()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer; up=0 tells that the store is unreachable
            log.warning("metrics.store_unavailable", error=str(exc))
            yield GaugeMetricFamily("inboxd_store_up", "1 when the database answered this scrape", value=0)
            return
        yield GaugeMetricFamily("inboxd_store_up", "1 when the database answered this scrape", value=1)
        family = CounterMetricFamily("inboxd_messages", "Messages inboxd met, by kind", labels=["kind"])
        for kind, count in by_kind:
            family.add_metric([str(kind)], int(count))
        yield family
        yield CounterMetricFamily("inboxd_acks", "Acknowledgements sent", value=int(acks or 0))
        yield CounterMetricFamily("inboxd_promises_made", "Promises made (team and staff, delay notices included)",
                                  value=int(made_total or 0))
        settled = GaugeMetricFamily("inboxd_promises", "Promises by state (open, kept, broken, superseded)",
                                    labels=["state"])
        states = {"open": 0, "kept": 0, "broken": 0, "superseded": 0} | {str(s): int(c) for s, c in by_state}
        for state, count in states.items():
            settled.add_metric([state], count)
        yield settled
        queue = GaugeMetricFamily("inboxd_waiting_cases", "Cases waiting on us, by priority", labels=["priority"])
        counts = {"urgent": 0, "high": 0, "normal": 0, "low": 0} | {str(p): int(c) for p, c in waiting}
        for priority, count in counts.items():
            queue.add_metric([priority], count)
        yield queue
        box = GaugeMetricFamily("inboxd_outbox", "Outgoing mail not sent yet, by state", labels=["state"])
        found = {str(s): int(c) for s, c in depth}
        for state in ("pending", "sending", "failed"):
            box.add_metric([state], found.get(state, 0))
        yield box
        yield GaugeMetricFamily("inboxd_quarantined", "Messages in quarantine", value=int(quarantined or 0))
        last = GaugeMetricFamily("inboxd_last_poll_timestamp_seconds",
                                 "Unix time of the last successful poll of each mailbox", labels=["mailbox"])
        for mailbox, at in polls:
            if at is not None:
                last.add_metric([str(mailbox)], at.timestamp())
        yield last


class Metrics:
    """The daemon's registry: the store collector plus what only the process knows (errors, tick time)."""

    def __init__(self, store: repo.Store) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StoreCollector(store))
        self.imap_errors = Counter("inboxd_imap_errors", "IMAP connection or processing errors", ["mailbox"],
                                   registry=self.registry)
        self.smtp_errors = Counter("inboxd_smtp_errors", "SMTP delivery errors", ["mailbox"],
                                   registry=self.registry)
        self.tick_seconds = Histogram("inboxd_tick_duration_seconds", "Time one tick (due work, delay notices, "
                                      "broken promises) took", registry=self.registry,
                                      buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StatusServer:
    """Serves ``/``, ``/metrics`` and ``/healthz`` on ``(host, port)`` from its own thread."""

    def __init__(self, host: str, port: int, *, health: Callable[[], tuple[bool, str]], metrics: Metrics,
                 page: Callable[[], str]) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "inboxd"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server.handle(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                server.handle(self, body=False)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                pass

        self.health, self.metrics, self.page = health, metrics, page
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def handle(self, request: BaseHTTPRequestHandler, *, body: bool) -> None:
        path = request.path.split("?", 1)[0]
        started = time.perf_counter()
        try:
            if path == "/healthz":
                ok, reason = self.health()
                status, kind, data = (200 if ok else 503), "text/plain; charset=utf-8", f"{reason}\n".encode()
            elif path == "/metrics":
                status, kind, data = 200, CONTENT_TYPE_LATEST, self.metrics.exposition()
            elif path in ("/", "/index.html"):
                status, kind, data = 200, "text/html; charset=utf-8", self.page().encode()
            else:
                status, kind, data = 404, "text/plain; charset=utf-8", b"not found\n"
        except Exception as exc:  # noqa: BLE001 - one bad request must not take the server down
            log.warning("http.failed", path=path, error=repo.describe_fault(exc) if repo.store_fault(exc) else str(exc))
            status, kind, data = 503, "text/plain; charset=utf-8", b"unavailable: see the daemon's log\n"
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        request.send_header("X-Content-Type-Options", "nosniff")
        request.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        request.end_headers()
        if body:
            request.wfile.write(data)
        log.debug("http.request", path=path, status=status, ms=round((time.perf_counter() - started) * 1000, 1))
