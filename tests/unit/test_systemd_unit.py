"""The shipped systemd unit: the properties an admin relies on, and its measured exposure.

The unit is read line by line rather than with configparser because systemd allows (and
this unit uses) repeated keys such as ``ExecReload=`` and ``LoadCredential=``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD_DIR / "inboxd.service"
SYSUSERS = SYSTEMD_DIR / "inboxd.sysusers"
MAX_EXPOSURE = 1.5


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Return each section's (key, value) pairs in file order, keeping repeated keys."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"key outside a section: {raw!r}"
        assert "=" in line, f"not a key=value line: {raw!r}"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    """The [Service] section as key -> every value, in order."""
    values: dict[str, list[str]] = {}
    for key, value in parse_unit(UNIT)["Service"]:
        values.setdefault(key, []).append(value)
    return values


def one(service: dict[str, list[str]], key: str) -> str:
    assert key in service, f"{key}= missing from {UNIT.name}"
    assert len(service[key]) == 1, f"{key}= set more than once: {service[key]}"
    return service[key][0]


def test_unit_has_the_sections_systemd_needs() -> None:
    sections = parse_unit(UNIT)
    assert set(sections) == {"Unit", "Service", "Install"}
    assert ("WantedBy", "multi-user.target") in sections["Install"]


def test_daemon_reports_readiness_and_is_watched(service: dict[str, list[str]]) -> None:
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    watchdog = one(service, "WatchdogSec")
    assert re.fullmatch(r"[1-9][0-9]*(s|min)?", watchdog), watchdog
    assert one(service, "Restart") == "on-failure"


def test_no_restart_for_a_start_up_failure_only_the_admin_can_fix(service: dict[str, list[str]]) -> None:
    from inboxd.cli import main as cli

    # A bad configuration, an unwritable database or a schema it cannot migrate would fail again in 5 s;
    # an unreachable database server (and a crash) may pass, so those are restarted.
    prevented = {int(code) for code in one(service, "RestartPreventExitStatus").split()}
    assert prevented == {cli.EXIT_CONFIG, cli.EXIT_READ_ONLY, cli.EXIT_DATABASE_OUTDATED}
    assert cli.EXIT_UNAVAILABLE not in prevented and cli.EXIT_INTERNAL not in prevented


def test_runs_the_daemon_command(service: dict[str, list[str]]) -> None:
    assert one(service, "ExecStart").split()[-1] == "run"


def test_reload_validates_then_sends_hup(service: dict[str, list[str]]) -> None:
    reload_cmds = service.get("ExecReload", [])
    hup = [i for i, cmd in enumerate(reload_cmds) if re.fullmatch(r"\S*/kill -HUP \$MAINPID", cmd)]
    assert hup, f"no ExecReload= sends SIGHUP to the main process: {reload_cmds}"
    check = [i for i, cmd in enumerate(reload_cmds) if cmd.endswith(" check-config")]
    # A configuration typo must fail `systemctl reload` before the daemon is signalled.
    assert check and check[0] < hup[0], reload_cmds


def test_state_persists_and_config_is_found(service: dict[str, list[str]]) -> None:
    assert one(service, "StateDirectory") == "inboxd"
    assert one(service, "StateDirectoryMode") == "0700"
    assert "DynamicUser" not in service or service["DynamicUser"] == ["no"]
    env = " ".join(service.get("Environment", [])).split()
    assert "INBOXD_CONFIG=/etc/inboxd/inboxd.yaml" in env
    assert "INBOXD_LOG_FORMAT=json" in env


def test_passwords_come_from_credentials(service: dict[str, list[str]]) -> None:
    creds = dict(value.split(":", 1) for value in service.get("LoadCredential", []))
    assert set(creds) >= {"imap", "smtp"}
    assert all(path.startswith("/etc/inboxd/credentials/") for path in creds.values()), creds


def test_sandbox_keeps_the_system_read_only_and_unprivileged(service: dict[str, list[str]]) -> None:
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "NoNewPrivileges") == "yes"
    assert one(service, "CapabilityBoundingSet") == ""
    assert one(service, "UMask") == "0077"
    assert "ReadWritePaths" not in service


def test_sandbox_still_allows_mail_and_database_connections(service: dict[str, list[str]]) -> None:
    assert set(one(service, "RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "PrivateNetwork" not in service or service["PrivateNetwork"] == ["no"]
    assert "IPAddressDeny" not in service


def test_service_user_is_declared_for_sysusers(service: dict[str, list[str]]) -> None:
    user = one(service, "User")
    entries = [
        line.split()
        for line in SYSUSERS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert ["u", user] in [entry[:2] for entry in entries]


def test_measured_exposure_is_low() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"}
    result = subprocess.run(
        [tool, "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=5,
        env=env,
        check=False,
    )
    if "offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze predates --offline (systemd < 250)")
    match = re.search(r"Overall exposure level for inboxd\.service: ([0-9]+\.[0-9])", result.stdout)
    assert match, f"no exposure level in output:\n{result.stdout}\n{result.stderr}"
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout
