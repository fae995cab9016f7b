"""``inboxd auth login MAILBOX`` against the local authorization server (device-code flow, RFC 8628)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from inboxd.dev.oauthserver import AuthServer


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "STATE_DIRECTORY"}
    environment.update(INBOXD_CONFIG=str(tmp_path / "inboxd.yaml"),
                       INBOXD_DATABASE_URL=f"sqlite:///{tmp_path}/inboxd.db", **env)
    return subprocess.run([sys.executable, "-m", "inboxd.cli.main", *args], env=environment, capture_output=True,
                          text=True, timeout=60, check=False)


def test_auth_login_stores_the_refresh_token_0600_and_prints_no_token(tmp_path: Path) -> None:
    with AuthServer() as server:
        server.add_client("inboxd-cli", "unused", "support@example.com")
        (tmp_path / "inboxd.yaml").write_text(f"""\
team: {{name: T, timezone: UTC, business_hours: {{mon-fri: "09:00-17:00"}}}}
mailboxes:
  - name: support
    address: support@example.com
    imap: {{host: imap.example.com, username: support@example.com}}
    smtp: {{host: smtp.example.com}}
    auth: {{type: oauth2, provider: generic, flow: delegated, client_id: inboxd-cli,
           token_endpoint: {server.token_endpoint}, device_endpoint: {server.device_endpoint}}}
""")
        done = run(["auth", "login", "support"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert "ABCD-EFGH" in done.stdout and "/activate" in done.stdout
        stored = tmp_path / "oauth" / "support.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        token = json.loads(stored.read_text())["refresh_token"]
        assert token in server.issued
        for issued in server.issued:
            assert issued not in done.stdout + done.stderr

        state = tmp_path / "state"
        state.mkdir()
        assert run(["auth", "login", "support"], tmp_path, STATE_DIRECTORY=str(state)).returncode == 0
        assert (state / "oauth" / "support.json").exists()

        wrong = run(["auth", "login", "sales"], tmp_path)
        assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
        assert "no mailbox named 'sales'" in wrong.stderr
