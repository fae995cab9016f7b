"""What the daemon reports about itself: the per-mailbox status shown by ``inboxd status`` (pure).

The daemon writes one ``watch_status`` row per connection ("imap:<folder>" for each watched folder, "smtp" for
the outbox sender of a mailbox) when something changes and on a heartbeat; this module turns those rows, the
quarantine and outbox counts and the time now into the report. A row not refreshed within ``STALE_AFTER``
means that the daemon that wrote it is gone or hung: its mailbox counts as down.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=60)

# Exit codes of ``inboxd status``: everything up / something down or stale (1 is a usage or database error).
EXIT_UP = 0
EXIT_DOWN = 3


def _error(text: str | None, at: datetime | None) -> dict[str, Any] | None:
    return {"error": text, "at": at} if text else None


# A daemon whose heartbeat is older than this is gone (inboxd.service.nodes.LEASE_SECONDS: its leases lapsed).
NODE_GONE_AFTER = timedelta(seconds=15)


def build_nodes(nodes: list[dict[str, Any]], leases: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The daemons sharing a PostgreSQL database, and what each holds (the ``nodes`` of ``inboxd status --json``)."""
    result = []
    for node in nodes:
        held = [lease for lease in leases if lease["holder"] == node["name"]
                and lease["expires_at"] is not None and lease["expires_at"] > now]
        result.append({
            "name": node["name"], "host": node["host"], "pid": node["pid"], "started_at": node["started_at"],
            "heartbeat_at": node["heartbeat_at"], "alive": now - node["heartbeat_at"] <= NODE_GONE_AFTER,
            "mailboxes": sorted(lease["name"].split(":", 1)[1] for lease in held
                                if lease["name"].startswith("mailbox:")),
            "tick_leader": any(lease["name"] == "tick" for lease in held),
            "leases": [{"lease": lease["name"], "token": lease["token"], "since": lease["acquired_at"],
                        "until": lease["expires_at"]} for lease in held],
        })
    return result


def build_report(rows: list[dict[str, Any]], quarantined: dict[str, int],
                 outbox: dict[str, dict[str, int]], now: datetime,
                 nodes: list[dict[str, Any]] | None = None,
                 leases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``inboxd status --json`` object: ``{"up": bool, "checked_at", "mailboxes": [...], "nodes": [...],
    "tick_leader"}``; ``nodes`` lists the daemons sharing a PostgreSQL database (empty on SQLite), each with the
    mailboxes it serves; each mailbox names its ``holder`` (None with one daemon alone)."""
    node_list = build_nodes(nodes or [], leases or [], now)
    holder = {mailbox: n["name"] for n in node_list for mailbox in n["mailboxes"]}
    names = sorted({r["mailbox"] for r in rows})
    mailboxes = []
    for name in names:
        own = [r for r in rows if r["mailbox"] == name]
        folders = [r for r in own if r["channel"].startswith("imap:")]
        smtp = next((r for r in own if r["channel"] == "smtp"), None)
        oauth = next((r for r in own if r["channel"] == "oauth"), None)
        updated = max(r["updated_at"] for r in own)
        stale = now - updated > STALE_AFTER
        imap_errors = sorted((r for r in folders if r["last_error"]), key=lambda r: r["last_error_at"] or now)
        polls = [r["last_poll_at"] for r in folders if r["last_poll_at"]]
        counts = outbox.get(name, {})
        mailboxes.append({
            "name": name,
            "up": bool(folders) and all(r["up"] for r in folders) and not stale,
            "stale": stale,
            "node": max(own, key=lambda r: r["updated_at"])["node"],
            "updated_at": updated,
            "last_poll": max(polls) if polls else None,
            "folders": [{"folder": r["channel"][len("imap:"):], "up": bool(r["up"]) and not stale,
                         "mode": r["mode"], "last_poll": r["last_poll_at"], "error": r["error"],
                         "last_error": _error(r["last_error"], r["last_error_at"])} for r in folders],
            "last_imap_error": (_error(imap_errors[-1]["last_error"], imap_errors[-1]["last_error_at"])
                                if imap_errors else None),
            "smtp_error": smtp["error"] if smtp else None,
            "last_smtp_error": _error(smtp["last_error"], smtp["last_error_at"]) if smtp else None,
            # OAuth 2.0: why no access token could be had (a revoked grant, the provider unreachable), if so.
            "oauth_error": oauth["error"] if oauth else None,
            "quarantined": quarantined.get(name, 0),
            "outbox": {state: counts.get(state, 0) for state in ("pending", "sending", "failed")},
            "holder": holder.get(name),
        })
    return {"up": bool(mailboxes) and all(m["up"] for m in mailboxes), "checked_at": now,
            "mailboxes": mailboxes, "nodes": node_list,
            "tick_leader": next((n["name"] for n in node_list if n["tick_leader"]), None)}


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = int((now - value).total_seconds())
    ago = f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"
    return f"{value.strftime('%Y-%m-%d %H:%M:%S %Z').strip()} ({ago} ago)"


def format_report(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""
    now = report["checked_at"]
    lines: list[str] = []
    for m in report["mailboxes"]:
        state = "stale (daemon not running?)" if m["stale"] else "up" if m["up"] else "DOWN"
        outbox = m["outbox"]
        lines.append(f"{m['name']}: {state}; node {m['node']}, reported {_when(m['updated_at'], now)}")
        for f in m["folders"]:
            detail = f" — {f['error']}" if f["error"] else ""
            lines.append(f"  {f['folder']}: {'up' if f['up'] else 'down'} ({f['mode'] or '-'}), "
                         f"last poll {_when(f['last_poll'], now)}{detail}")
        if m.get("oauth_error"):
            lines.append(f"  OAuth: {m['oauth_error']}")
        for label, key in (("IMAP", "last_imap_error"), ("SMTP", "last_smtp_error")):
            if m[key]:
                lines.append(f"  last {label} error: {m[key]['error']} at {_when(m[key]['at'], now)}")
        lines.append(f"  quarantined {m['quarantined']}; outbox {outbox['pending']} pending, "
                     f"{outbox['sending']} sending, {outbox['failed']} failed")
        if m.get("holder"):
            lines.append(f"  served by {m['holder']}")
    nodes = report.get("nodes") or []
    if nodes:
        lines.append(f"daemons: {sum(1 for n in nodes if n['alive'])} alive, tick led by "
                     f"{report.get('tick_leader') or 'nobody (yet)'}")
        for n in nodes:
            serves = ", ".join(n["mailboxes"]) or "no mailbox (standby)"
            role = "; tick leader" if n["tick_leader"] else ""
            state = "alive" if n["alive"] else "GONE"
            lines.append(f"  {n['name']}: {state}, heartbeat {_when(n['heartbeat_at'], now)}; serves {serves}{role}")
    return lines


def exit_code(report: dict[str, Any]) -> int:
    """0 when every mailbox is up with no current error; 3 when one is down, stale, or failing (a processing
    fault, an SMTP server refusing or unreachable)."""
    failing = any(m["smtp_error"] or m.get("oauth_error") or any(f["error"] for f in m["folders"])
                  for m in report["mailboxes"])
    return EXIT_UP if report["up"] and not failing else EXIT_DOWN


def status_line(folders: list[tuple[bool, datetime | None, str | None]], queued: int, failed: int,
                quarantined: int, smtp_errors: list[str]) -> str:
    """systemd's ``STATUS=``: folders up, last poll, outbox and quarantine, and the current errors."""
    up = sum(1 for is_up, _poll, _error in folders if is_up)
    polls = [poll for _up, poll, _error in folders if poll]
    last = max(polls).strftime("%H:%M:%S") if polls else "never"
    line = f"folders up {up}/{len(folders)}, last poll {last}, outbox {queued} queued"
    if failed:
        line += f", {failed} failed"
    if quarantined:
        line += f", {quarantined} quarantined"
    errors = sorted({error for _up, _poll, error in folders if error} | {f"SMTP: {e}" for e in smtp_errors})
    return f"{line}, error: {'; '.join(errors)[:300]}" if errors else line
