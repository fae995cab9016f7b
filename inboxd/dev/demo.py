"""``inboxd demo``: the whole loop on this machine, with nothing to configure.

Starts a private Dovecot and an SMTP hub on loopback, writes a configuration for them, runs the
daemon on a SQLite file, delivers a few sample mails (customers, a customer's reply, an
out-of-office), then prints the cases and the acknowledgements customers received, and stops
everything again.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path


def config_yaml(*, support: str, imap_port: int, smtp_port: int, password_file: Path, staff: list[str],
                sent_folder: str | None = "Sent", timezone: str = "Europe/Berlin", initial_sync: str = "new",
                poll_interval: str = "5s", extra: str = "") -> str:
    """A configuration for a local Dovecot and SMTP hub (also used by the test suite)."""
    staff_lines = [f"    - {{email: {s}, name: Staff {i}{', role: lead' if i == 0 else ''}}}"
                   for i, s in enumerate(staff)]
    folders = f"{{inbox: INBOX, sent: {sent_folder}}}" if sent_folder else "{inbox: INBOX}"
    lines = [
        "team:",
        "  name: Example Support",
        f"  timezone: {timezone}",
        '  business_hours: {mon-fri: "09:00-17:00"}',
        "  holidays: {country: DE, subdivision: BE}",
        "  staff:" + ("" if staff_lines else " []"),
        *staff_lines,
        "mailboxes:",
        "  - name: support",
        f"    address: {support}",
        f"    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {support},",
        f"           password_file: {password_file}, folders: {folders}, idle: true,",
        f"           poll_interval: {poll_interval}, initial_sync: {initial_sync}}}",
        f"    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, "
        f"save_copy: {'true' if sent_folder else 'false'}}}",
    ]
    return "\n".join(lines) + "\n" + extra


SAMPLES = [
    ("ann@customer.example", "Ann Customer", "Printer prints only blank pages",
     "Hello,\n\nsince this morning our office printer prints only blank pages. Can you help?\n\nAnn"),
    ("ben@customer.example", "Ben Kunde", "Rechnung November doppelt",
     "Guten Tag,\n\nwir haben die Rechnung für November zweimal erhalten.\n\nBen"),
    ("cara@customer.example", "Cara Client", "Cannot log in after password reset",
     "Hi,\n\nI reset my password yesterday and now I cannot log in at all.\n\nCara"),
]


def sample_mail(sender: str, name: str, to: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    for key, value in headers.items():
        name = key.replace("_", "-")
        if name in msg:
            msg.replace_header(name, value)
        else:
            msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def run_demo(keep: bool = False) -> int:
    if importlib.util.find_spec("aiosmtpd") is None:
        print("The demo needs aiosmtpd: pip install 'inboxd[demo]'", file=sys.stderr)
        return 1
    from inboxd.dev.mailserver import Dovecot, SmtpHub, find_dovecot
    from inboxd.service.daemon import Daemon
    from inboxd.service.logs import configure_logging
    from inboxd.store import repo

    if find_dovecot() is None:
        print("The demo needs Dovecot: apt-get install dovecot-imapd dovecot-lmtpd dovecot-sieve", file=sys.stderr)
        return 1
    configure_logging("console", level="WARNING")
    base = Path(tempfile.mkdtemp(prefix="inboxd-demo-"))
    base.chmod(0o755)
    support = "support@example.com"
    hub = SmtpHub().start()
    dovecot = Dovecot(base / "mail", smtp_port=hub.port).start()
    hub.dovecot = dovecot
    try:
        for address in [support, "alice@example.com"] + [s[0] for s in SAMPLES]:
            dovecot.add_user(address)
        with dovecot.imap(support) as client:
            client.create_folder("Sent")
        secret = base / "imap-password"
        secret.write_text("secret\n")
        config = base / "inboxd.yaml"
        config.write_text(config_yaml(support=support, imap_port=dovecot.imap_port, smtp_port=hub.port,
                                      password_file=secret, staff=["alice@example.com"]))
        daemon = Daemon(config, f"sqlite:///{base}/inboxd.db")
        runner = threading.Thread(target=daemon.start, daemon=True)
        runner.start()
        runner.join(30)
        _wait(lambda: all(w.status.last_poll for w in daemon.watchers), 20)
        print(f"inboxd demo: Dovecot on 127.0.0.1:{dovecot.imap_port}, SMTP hub on 127.0.0.1:{hub.port}, "
              f"files in {base}\n")
        started = time.monotonic()
        for sender, name, subject, body in SAMPLES:
            dovecot.deliver(support, sample_mail(sender, name, support, subject, body), sender=sender)
        # An out-of-office reply: recorded, never acknowledged.
        dovecot.deliver(support, sample_mail("dan@customer.example", "Dan", support, "Out of office: back Monday",
                                             "I am away.", Auto_Submitted="auto-replied"), sender="")
        acks = hub.wait_for(len(SAMPLES), timeout=30, predicate=lambda m: support == m.mail_from)
        elapsed = time.monotonic() - started
        # Ann replies to her acknowledgement: it joins her case and is not acknowledged again.
        ann_ack = next(m.message for m in acks if "ann@" in ",".join(m.rcpt_tos))
        reply = sample_mail("ann@customer.example", "Ann Customer", support, f"Re: {ann_ack['Subject']}",
                            "It is the HP in room 2, if that helps.", In_Reply_To=str(ann_ack["Message-ID"]))
        dovecot.deliver(support, reply, sender="ann@customer.example")
        _wait(lambda: _message_count(daemon) >= len(SAMPLES) + 2, 20)
        with daemon.store.connect() as conn:
            cases = repo.list_cases(conn)
        daemon.shutdown()
        print(f"{len(acks)} acknowledgements delivered {elapsed:.2f} s after the mail arrived.\n")
        print("Cases:")
        for case in reversed(cases):
            due = case["promised_by"].astimezone(daemon.runtime.calendar.tz) if case["promised_by"] else None
            print(f"  #{case['number']}  {case['status']:<14} {case['language']:<3} {case['customer']:<24} "
                  f"{case['subject']}"
                  + (f"  (promised by {due:%a %d %b %H:%M %Z})" if due else ""))
        print("\nThe acknowledgement Ann received:\n")
        for m in dovecot.fetch_all("ann@customer.example"):
            text = m.get_body(("plain",))  # the plain-text part of a multipart/alternative acknowledgement
            print(textwrap.indent(f"Subject: {m['Subject']}\nAuto-Submitted: {m['Auto-Submitted']}\n\n"
                                  f"{text.get_content() if text is not None else ''}", "    "))
        # Ben wrote in German: his case and its acknowledgement are in German.
        for m in dovecot.fetch_all("ben@customer.example"):
            text = m.get_body(("plain",))
            lines = (text.get_content() if text is not None else "").splitlines()[:7]
            print("The acknowledgement Ben received (he wrote in German), its first lines:\n")
            print(textwrap.indent(f"Subject: {m['Subject']}\n\n" + "\n".join(lines), "    ") + "\n")
        print("The out-of-office reply and Ann's follow-up were not acknowledged; "
              f"{len(hub.messages)} mail(s) left inboxd in all.")
        return 0
    finally:
        dovecot.stop()
        hub.stop()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def _message_count(daemon: object) -> int:
    from inboxd.store import repo

    with daemon.store.connect() as conn:  # type: ignore[attr-defined]
        return repo.counts(conn)["messages"]


def _wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("the demo did not reach the expected state in time")
