"""Benchmark: two mailboxes on PostgreSQL, served by one `inboxd run` and then by two side by side.

Each run gets a fresh schema in the PostgreSQL database, a private Dovecot with two empty support mailboxes and an
SMTP hub. The daemons start, the mailboxes are spread over them (with two daemons: one each, read from the
``leases`` table), then the backlog is appended to both mailboxes at once and the clock runs until the last
acknowledgement reaches the hub. Printed per run: acknowledgements per second end to end, the ingest rate from the
daemons' logs (``message.processed``), who served what; then the speed-up of two daemons over one.

    INBOXD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/db python tests/perf/bench_nodes.py [--messages 600]

The target is two daemons ≥ 1.6 × one. On a machine with fewer free cores than daemons plus Dovecot and
PostgreSQL need, the daemons compete for the same cores and the figure says more about the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text

from inboxd.dev.demo import sample_mail
from inboxd.dev.mailserver import Dovecot, SmtpHub
from inboxd.store.db import make_engine
from inboxd.store.schema import leases

MAILBOXES = 2


def write_config(base: Path, addresses: list[str], imap_port: int, smtp_port: int) -> Path:
    secret = base / "pw"
    secret.write_text("secret\n")
    lines = ["team:", "  name: Example Support", "  timezone: Europe/Berlin",
             '  business_hours: {mon-fri: "09:00-17:00"}', "  holidays: {country: DE, subdivision: BE}",
             "  staff: []", "loop_guard: {acks_total: 100000/1h}", "mailboxes:"]
    for index, address in enumerate(addresses):
        lines += [f"  - name: box{index}", f"    address: {address}",
                  f"    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {address},",
                  f"           password_file: {secret}, folders: {{inbox: INBOX}}, idle: true,",
                  "           poll_interval: 5s, initial_sync: all}",
                  f"    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, save_copy: false}}"]
    config = base / "inboxd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processed_stamps(path: Path) -> list[float]:
    stamps = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "message.processed":
            stamps.append(datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp())
    return stamps


def run(base_url: str, daemons: int, messages: int) -> float:
    """One measured run; returns acknowledgements per second."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    base = Path(tempfile.mkdtemp(prefix="inboxd-bench-nodes-"))
    base.chmod(0o755)
    hub = SmtpHub().start()
    dovecot = Dovecot(base / "mail", smtp_port=hub.port).start()
    hub.dovecot = dovecot
    procs: list[subprocess.Popen[bytes]] = []
    engine = make_engine(url)
    try:
        addresses = [f"support{i}@example.com" for i in range(MAILBOXES)]
        for address in addresses:
            dovecot.add_user(address)
        config = write_config(base, addresses, dovecot.imap_port, hub.port)
        env = dict(os.environ, INBOXD_LOG_FORMAT="json", INBOXD_CONFIG=str(config), INBOXD_DATABASE_URL=url)
        logs = [base / f"daemon-{i}.log" for i in range(daemons)]
        for log_path in logs:
            procs.append(subprocess.Popen([sys.executable, "-m", "inboxd.cli", "run"], env=env,
                                          stdout=open(log_path, "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
            time.sleep(0.5)  # the first one migrates; the others find the schema at its head

        def holders() -> dict[str, str]:
            try:
                with engine.connect() as conn:
                    rows = conn.execute(select(leases.c.name, leases.c.holder).where(
                        leases.c.name.like("mailbox:%"), leases.c.expires_at > func.now()))
                    return {str(r.name): str(r.holder) for r in rows}
            except Exception:  # noqa: BLE001 - the first daemon has not created the tables yet
                return {}

        deadline = time.monotonic() + 60
        while True:
            held = holders()
            if len(held) == MAILBOXES and len(set(held.values())) == min(daemons, MAILBOXES):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the mailboxes were not spread over the daemons: {held}")
            time.sleep(0.2)
        time.sleep(2.0)  # the watchers of the last mailbox taken connect and go IDLE
        raws = {address: [sample_mail(f"c{index}-{i}@customer.example", f"Customer {i}", address, f"Request {i}",
                                      f"Hello,\n\nrequest number {i}.\n")
                          for i in range(messages // MAILBOXES)] for index, address in enumerate(addresses)}
        started = time.monotonic()

        def append(address: str) -> None:
            with dovecot.imap(address) as client:
                for raw in raws[address]:
                    client.append("INBOX", raw)

        writers = [threading.Thread(target=append, args=(address,)) for address in addresses]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        appended = time.monotonic() - started
        total = MAILBOXES * (messages // MAILBOXES)
        acked, last_growth = 0, time.monotonic()
        while acked < total and time.monotonic() - last_growth < 30:
            time.sleep(0.05)
            if len(hub.messages) > acked:
                acked, last_growth = len(hub.messages), time.monotonic()
        elapsed = last_growth - started
        cpu = [cpu_seconds(proc.pid) for proc in procs]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs]
        per_daemon = [processed_stamps(log_path) for log_path in logs]
        stamps = sorted(stamp for own in per_daemon for stamp in own)
        spans = "; ".join(f"daemon {i + 1}: {len(own)} from +{own[0] - stamps[0]:.1f} s to +{own[-1] - stamps[0]:.1f} s"
                          for i, own in enumerate(per_daemon) if own)
        ingest = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
        served = ", ".join(f"{name.split(':', 1)[1]} by daemon {sorted(set(held.values())).index(holder) + 1}"
                           for name, holder in sorted(held.items()))
        print(f"{daemons} daemon(s), {MAILBOXES} mailboxes ({served}): {acked} of {total} acknowledged in "
              f"{elapsed:.2f} s = {acked / elapsed:.0f} messages/s end to end; ingest {ingest:.0f} messages/s "
              f"(appending took {appended:.2f} s); daemon CPU {' + '.join(f'{c:.1f}' for c in cpu)} s; "
              f"distinct Message-IDs "
              f"{len({m.message['Message-ID'] for m in hub.messages})}; exit codes {codes}")
        print(f"  processed: {spans}")
        return acked / elapsed
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        engine.dispose()
        dovecot.stop()
        hub.stop()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        if not os.environ.get("KEEP"):
            shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600, help="the backlog, spread over the two mailboxes")
    parser.add_argument("--database-url", default=os.environ.get("INBOXD_TEST_POSTGRES_URL"))
    parser.add_argument("--only", type=int, help="one run with this many daemons")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        print("needs a PostgreSQL database: --database-url or INBOXD_TEST_POSTGRES_URL", file=sys.stderr)
        return 2
    if args.only:
        run(args.database_url, args.only, args.messages)
        return 0
    one = run(args.database_url, 1, args.messages)
    two = run(args.database_url, 2, args.messages)
    print(f"two daemons / one: {two / one:.2f}x (target ≥ 1.6x); {os.cpu_count()} CPU cores on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
