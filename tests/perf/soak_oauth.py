"""Soak: the installed wheel runs on OAuth 2.0 while its access tokens keep expiring.

Builds the wheel, installs it in a fresh venv, and runs ``inboxd run`` from there against a local authorization
server whose tokens live ``--lifetime`` seconds, a Dovecot that checks every IMAP login's token there (``oauth2``
passdb) and an SMTP hub that checks every XOAUTH2 login there. A customer writes every ``--every`` seconds and
every IMAP session is ended every ``--kick`` seconds (so logins need fresh tokens), for ``--minutes``. Prints
mail in and acknowledged, lost, sent twice, tokens issued, acknowledgements with an HTML part, and whether any
token reached the log::

    python tests/perf/soak_oauth.py [--minutes 5] [--lifetime 60] [--every 5] [--kick 45]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from inboxd.dev.demo import config_yaml, sample_mail
from inboxd.dev.mailserver import Dovecot, SmtpHub
from inboxd.dev.oauthserver import AuthServer

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


def install_wheel(base: Path) -> Path:
    """Build the wheel from a copy of the checkout and install it in a fresh venv; return its bin directory."""
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(source)],
                   check=True, env=clean_env())
    (wheel,) = (base / "dist").glob("inboxd-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-compile", str(wheel)], check=True, env=clean_env())
    return venv / "bin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--lifetime", type=float, default=60.0, help="seconds an access token lives")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between customer mails")
    parser.add_argument("--kick", type=float, default=45.0, help="seconds between ends of every IMAP session")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="inboxd-soak-"))
    base.chmod(0o755)
    started = time.monotonic()
    bin_dir = install_wheel(base / "wheel")
    print(f"wheel built and installed in a fresh venv in {time.monotonic() - started:.1f} s")
    auth = AuthServer(lifetime=args.lifetime).start()
    hub = SmtpHub(require_auth=True, oauth2_introspection_url=auth.introspection_endpoint).start()
    dovecot = Dovecot(base / "mail", oauth2_introspection_url=auth.introspection_endpoint).start()
    hub.dovecot = dovecot
    proc = None
    try:
        support, staff = (f"{n}-{uuid.uuid4().hex[:6]}@example.com" for n in ("support", "staff"))
        for address in (support, staff):
            dovecot.add_user(address)
        with dovecot.imap(support) as client:
            client.create_folder("Sent")
        auth.add_client("inboxd", "client-secret-value", support)
        work = base / "run"
        work.mkdir()
        (work / "client-secret").write_text("client-secret-value\n")
        text = config_yaml(support=support, imap_port=dovecot.imap_port, smtp_port=hub.port,
                           password_file=work / "unused", staff=[staff], poll_interval="5s")
        text = text.replace(f"password_file: {work / 'unused'}, ", "", 1)
        smtp_line = next(line for line in text.splitlines() if line.startswith("    smtp: "))
        text = text.replace(smtp_line, smtp_line
                            + f"\n    auth: {{type: oauth2, provider: generic, client_id: inboxd, "
                              f"client_secret_file: {work / 'client-secret'}, "
                              f"token_endpoint: {auth.token_endpoint}}}", 1)
        (work / "inboxd.yaml").write_text(text)
        log_path = work / "daemon.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen([str(bin_dir / "inboxd"), "run"], cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                env=clean_env(INBOXD_CONFIG=str(work / "inboxd.yaml"),
                                              INBOXD_DATABASE_URL=f"sqlite:///{work}/inboxd.db",
                                              INBOXD_LOG_FORMAT="json"))
        deadline = time.monotonic() + 60
        while log_path.read_text(errors="replace").count('"folder.first_sync"') < 2:
            if time.monotonic() > deadline or proc.poll() is not None:
                print(log_path.read_text(errors="replace")[-3000:])
                return 1
            time.sleep(0.2)
        customers: list[str] = []
        end = time.monotonic() + args.minutes * 60
        next_kick = time.monotonic() + args.kick
        kicks = 0
        while time.monotonic() < end:
            customer = f"c{len(customers)}-{uuid.uuid4().hex[:6]}@example.com"
            dovecot.add_user(customer)
            dovecot.deliver(support, sample_mail(customer, "A Customer", support, f"Soak {len(customers)}",
                                                 "Please help."), sender=customer)
            customers.append(customer)
            if time.monotonic() >= next_kick:
                subprocess.run(["doveadm", "-c", str(dovecot.config_path), "kick", "*"], capture_output=True,
                               timeout=30, check=False)
                kicks += 1
                next_kick += args.kick
            time.sleep(args.every)
        wanted = set(customers)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if wanted <= {r for m in hub.messages for r in m.rcpt_tos}:
                break
            time.sleep(0.5)
        time.sleep(2.0)  # a second acknowledgement, if one were coming, would come now
        acks = [m for m in hub.messages if set(m.rcpt_tos) & wanted]
        counts = Counter(r for m in acks for r in m.rcpt_tos if r in wanted)
        with_html = sum(1 for m in acks if m.message.get_body(("html",)) is not None)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        log.close()
        logged = log_path.read_text(errors="replace") + dovecot.log_path.read_text(errors="replace")
        leaked = sum(1 for token in auth.issued if token in logged)
        lost = len(wanted - set(counts))
        twice = sum(n - 1 for n in counts.values() if n > 1)
        print(f"ran {args.minutes:g} min from the installed wheel, tokens living {args.lifetime:g} s, "
              f"IMAP sessions ended {kicks} times")
        print(f"customer mails {len(customers)}, acknowledged {len(counts)}, lost {lost}, sent twice {twice}, "
              f"with an HTML part {with_html}")
        print(f"tokens issued {len(auth.issued)}, found in the logs {leaked}, daemon exit code {code}")
        return 0 if (lost, twice, leaked, code) == (0, 0, 0, 0) else 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        hub.stop()
        dovecot.stop()
        auth.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
