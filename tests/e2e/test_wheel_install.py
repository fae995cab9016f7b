"""inboxd as a user installs it: a built wheel in a fresh venv, run from outside the checkout.

The wheel is built once per session and installed with the ``demo`` extra into a new venv that does not
see the source tree (no ``-e``, no PYTHONPATH, cwd elsewhere), so a template or a data file missing from
the package fails here. Building and installing takes a few seconds once pip's cache holds the
dependencies.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.harness import make_setup, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point Python back at the checkout or the dev venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=_clean_env(**env), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel (and its ``demo`` extra) installed; returns the venv's bin directory."""
    base = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    # Build from a copy, so the build leaves nothing behind in the checkout (and nothing stale is reused).
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(source)], base)
    (wheel,) = (base / "dist").glob("inboxd-*.whl")
    built = time.monotonic()
    venv = base / "venv"
    # A venv of its own; this pip installs into it (--python), which spares bootstrapping a pip there.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile",
          f"{wheel}[demo]"], base)
    print(f"\nwheel built in {built - started:.1f} s, installed in a fresh venv in {time.monotonic() - built:.1f} s")
    return venv / "bin"


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c", "import inboxd; print(inboxd.__file__)"], tmp_path).stdout
    assert Path(where.strip()).resolve().is_relative_to(installed.parent.resolve())
    example = _run([str(installed / "python"), "-m", "inboxd.examples"], tmp_path).stdout
    assert example == (ROOT / "config" / "inboxd.yaml").read_text()


def test_inboxd_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run([str(installed / "inboxd"), "demo"], tmp_path, timeout=120)
    assert "3 acknowledgements delivered" in result.stdout
    assert "If you have anything to add, just reply to this message" in result.stdout


def test_inboxd_run_from_the_wheel_acknowledges_a_customer(installed: Path, tmp_path: Path, dovecot,
                                                          smtp_hub, mailboxes) -> None:
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(installed / "inboxd"), "run"], cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT,
                                env=_clean_env(INBOXD_CONFIG=str(setup.config_path),
                                               INBOXD_DATABASE_URL=setup.database_url, INBOXD_LOG_FORMAT="json"))
        try:
            wait_until(lambda: log_path.read_text(errors="replace").count('"folder.first_sync"') >= 2, 30)
            customer = mailboxes("customer")
            setup.deliver(setup.customer_mail(customer, "Printer on fire"), sender=customer)
            (ack,) = smtp_hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    assert code == 0, log_path.read_text(errors="replace")
    assert ack.message["Subject"] == "[#1001] Printer on fire"
    body = ack.message.get_body(("plain",)).get_content()
    assert "thank you for writing to us. We have your message and it is now case [#1001]." in body
    # The HTML twin and the layout it extends are in the wheel too.
    page = ack.message.get_body(("html",)).get_content()
    assert '<html lang="en"' in page and "[#1001]" in page and "{{" not in page
    assert "TemplateNotFound" not in log_path.read_text(errors="replace")
