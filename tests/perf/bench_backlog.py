"""Benchmark: a backlog of N customer mails in Dovecot → acknowledgements at the SMTP hub.

Runs the real `inboxd run` process against a private Dovecot and SMTP hub on loopback, and prints:
- backlog throughput: messages/s from daemon start to the last acknowledgement at the hub;
- arrival latency: from LMTP delivery of one new mail to its acknowledgement at the hub (IDLE path);
- the daemon's peak memory (VmHWM).

    python tests/perf/bench_backlog.py [--messages 1000] [--latency-samples 20] [--database-url URL] [--mailboxes 1]

With ``--mailboxes M`` the backlog is spread over M support mailboxes of one daemon (one watcher
each, committing side by side into the one database).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inboxd.dev.demo import config_yaml, sample_mail
from inboxd.dev.mailserver import Dovecot, SmtpHub


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used: on a shared machine, a steadier measure than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def daemon_events(path: Path) -> dict[str, list[float]]:
    """Event name → UNIX timestamps, from the daemon's JSON log."""
    import json
    from datetime import datetime

    events: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        events.setdefault(entry["event"], []).append(stamp)
    return events


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--mailboxes", type=int, default=1)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="inboxd-bench-"))
    base.chmod(0o755)
    hub = SmtpHub().start()
    dovecot = Dovecot(base / "mail", smtp_port=hub.port).start()
    hub.dovecot = dovecot
    proc = None
    try:
        addresses = ["support@example.com"] + [f"support{i}@example.com" for i in range(1, args.mailboxes)]
        support = addresses[0]
        started = time.monotonic()
        for index, address in enumerate(addresses):
            dovecot.add_user(address)
            with dovecot.imap(address) as client:
                client.create_folder("Sent")
                for i in range(index, args.messages, len(addresses)):
                    sender = f"customer{i}@customer.example"
                    client.append("INBOX", sample_mail(sender, f"Customer {i}", address, f"Request {i}",
                                                       f"Hello,\n\nrequest number {i}.\n"))
        append_s = time.monotonic() - started
        secret = base / "pw"
        secret.write_text("secret")
        config = base / "inboxd.yaml"
        text = config_yaml(support=support, imap_port=dovecot.imap_port, smtp_port=hub.port,
                           password_file=secret, staff=["alice@example.com"], sent_folder=None,
                           initial_sync="all", poll_interval="5s")
        head, _, first = text.partition("mailboxes:\n")
        more = [first.replace("name: support", f"name: support{i}").replace(support, address)
                for i, address in enumerate(addresses[1:], start=1)]
        # A backlog from a thousand customers is not a mail loop: the total acknowledgement guard (200/h by
        # default) would hold back all but the first 200.
        guard = "loop_guard:\n  acks_total: 100000/1h\n"
        config.write_text(head + "mailboxes:\n" + first + "".join(more) + guard)
        env = dict(os.environ, INBOXD_LOG_FORMAT="json", INBOXD_CONFIG=str(config),
                   INBOXD_DATABASE_URL=args.database_url or f"sqlite:///{base}/inboxd.db")
        log = open(base / "daemon.log", "wb")
        started = time.monotonic()
        spawned_at = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "inboxd.cli.main", "run"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        # Every acknowledgement, or as many as came before the hub heard nothing for 20 s (mail was lost).
        acked, last_growth = 0, time.monotonic()
        while acked < args.messages and time.monotonic() - last_growth < 20 and time.monotonic() - started < 600:
            time.sleep(0.05)
            if len(hub.messages) > acked:
                acked, last_growth = len(hub.messages), time.monotonic()
        backlog_s = last_growth - started
        backlog_cpu = cpu_seconds(proc.pid)
        latencies = []
        delivered_at: list[float] = []
        for i in range(args.latency_samples):
            sender = f"late{i}@customer.example"
            before = len(hub.messages)
            t0 = time.monotonic()
            delivered_at.append(time.time())
            dovecot.deliver(support, sample_mail(sender, "Late", support, f"Late {i}", "Hi"), sender=sender)
            hub.wait_for(before + 1, timeout=30)
            latencies.append(time.monotonic() - t0)
        rss = peak_rss_mib(proc.pid)
        log.flush()
        events = daemon_events(base / "daemon.log")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        sent_count = len(hub.messages)
        unique = len({m.message["Message-ID"] for m in hub.messages})
        print(f"backlog: {args.messages} mails appended in {append_s:.1f} s")
        print(f"backlog throughput ({args.mailboxes} mailbox(es), {env['INBOXD_DATABASE_URL'].partition(':')[0]}): "
              f"{acked / backlog_s:.0f} messages/s ({acked} of {args.messages} acked in {backlog_s:.2f} s, "
              f"including daemon start-up; {len(events.get('message.quarantined', []))} quarantined)")
        print(f"  daemon CPU (user + system) for the backlog, start-up included: {backlog_cpu:.1f} s, "
              f"{backlog_cpu / max(acked, 1) * 1000:.1f} ms per message ({max(acked, 1) / backlog_cpu:.0f} messages "
              f"per CPU-second); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        ordered = sorted(latencies)
        print(f"arrival → ack latency over {len(latencies)} mails: "
              f"median {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms")
        started_at = events["daemon.started"][0]
        processed = events["message.processed"]
        sent = events["mail.sent"]
        steady = acked / (sent[acked - 1] - started_at)
        print(f"  after start-up ({started_at - spawned_at:.2f} s): {steady:.0f} messages/s "
              f"(ingest {len(processed[:acked]) / (processed[:acked][-1] - started_at):.0f}/s)")
        seen = [p - d for p, d in zip(processed[acked:], delivered_at, strict=False)]
        if seen:
            print(f"  of that latency, delivery → daemon processed it: median {statistics.median(seen) * 1000:.0f} ms "
                  "(the IMAP server's IDLE notification and the fetch)")
        print(f"daemon peak memory (VmHWM): {rss:.1f} MiB")
        print(f"acks sent: {sent_count}, distinct Message-IDs: {unique}; daemon exit code after SIGTERM: {code}")
        return 0 if sent_count == unique == args.messages + args.latency_samples and code == 0 else 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        dovecot.stop()
        hub.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        print(base)


if __name__ == "__main__":
    sys.exit(main())
