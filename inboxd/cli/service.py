"""Commands for running inboxd as a service: ``init``, ``check-config --connect`` and ``backup``.

Contract (README.md, "Commands")::

    inboxd init [--provider password|microsoft|google|generic] [--dir DIR]
    inboxd check-config --connect [--config FILE]
    inboxd backup FILE [--database-url URL]

``init`` writes a commented starter configuration (the packaged example, set up for the provider),
a ``credentials/`` directory with one empty file (mode 0600) per ``*_credential`` the configuration
names, and a systemd drop-in whose ``LoadCredential=`` lines load them. It never overwrites a file:
if one is there it writes nothing and exits 1.

``check-config --connect`` logs in to every mailbox over IMAP and SMTP with the configured secrets
and checks that the configured folders exist; one line per check, exit 1 if any fails.

``backup`` copies an SQLite database with SQLite's online backup (consistent while the daemon
writes); it refuses to overwrite FILE, and for PostgreSQL points to ``pg_dump`` (exit 1).
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "check_connections", "init_files", "PROVIDERS"]

PROVIDERS = ("password", "microsoft", "google", "generic")
DROP_IN = Path("inboxd.service.d") / "credentials.conf"


def add_parsers(subparsers: Any, with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    """Register ``init`` and ``backup`` on the ``inboxd`` sub-command parsers."""
    parser = subparsers.add_parser(
        "init", help="write a commented starter configuration and the systemd credentials layout",
        description="Write inboxd.yaml, credentials/ (empty files, mode 0600) and a systemd drop-in with "
                    "the LoadCredential= lines into DIR. Existing files are never overwritten.")
    parser.add_argument("--provider", choices=PROVIDERS, default="password",
                        help="where the mailbox lives: password (any IMAP/SMTP server, the default), "
                             "microsoft (Microsoft 365), google (Google Workspace) or generic (OAuth 2.0)")
    parser.add_argument("--dir", default=".", help="where to write the files (default: the current directory; "
                                                   "for the service: /etc/inboxd)")
    parser.set_defaults(func=cmd_init)
    parser = with_db(subparsers.add_parser(
        "backup", help="copy the SQLite database safely while the daemon runs",
        description="Copy the SQLite database to FILE with SQLite's online backup; safe while the daemon "
                    "runs. FILE must not exist. For PostgreSQL use pg_dump."))
    parser.add_argument("file", metavar="FILE", help="the copy to write (must not exist)")
    parser.set_defaults(func=cmd_backup)


# -- init ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Provider:
    imap_host: str
    smtp_host: str
    smtp_port: int
    sent: str
    # The commented ``auth:`` block for an OAuth 2.0 provider ("" for passwords).
    auth: str = ""


_MICROSOFT_AUTH = """\
    # Microsoft 365 no longer accepts passwords for IMAP (and is retiring them for SMTP AUTH): use OAuth 2.0.
    # Register an app in Microsoft Entra ID, grant it the Exchange Online application permissions
    # IMAP.AccessAsApp and SMTP.SendAsApp, register its service principal in Exchange Online and give it
    # access to this mailbox (README.md, "Microsoft 365"). Then uncomment these lines, remove
    # password_credential from imap: and smtp:, write the client secret to credentials/oauth-client-secret
    # and uncomment its LoadCredential= line in the systemd drop-in.
    # auth:
    #   type: oauth2
    #   provider: microsoft
    #   tenant: 00000000-0000-0000-0000-000000000000       # the directory (tenant) ID
    #   client_id: 00000000-0000-0000-0000-000000000000    # the application (client) ID
    #   client_secret_credential: oauth-client-secret
    #   scopes: ["https://outlook.office365.com/.default"]
"""

_GOOGLE_AUTH = """\
    # Google Workspace: use OAuth 2.0 with a service account and domain-wide delegation (README.md,
    # "Google Workspace"): create the service account and a JSON key, allow its client ID the scope
    # https://mail.google.com/ in the Admin console, then uncomment these lines, remove password_credential
    # from imap: and smtp:, write the JSON key to credentials/oauth-client-secret and uncomment its
    # LoadCredential= line in the systemd drop-in. (An app password works with password_credential as is.)
    # auth:
    #   type: oauth2
    #   provider: google
    #   client_id: "000000000000000000000"                  # the service account's client ID
    #   client_secret_credential: oauth-client-secret      # the service account's JSON key
    #   scopes: ["https://mail.google.com/"]
"""

_GENERIC_AUTH = """\
    # Another OAuth 2.0 provider: uncomment these lines, remove password_credential from imap: and smtp:,
    # write the client secret to credentials/oauth-client-secret and uncomment its LoadCredential= line
    # in the systemd drop-in.
    # auth:
    #   type: oauth2
    #   provider: generic
    #   client_id: inboxd
    #   client_secret_credential: oauth-client-secret
    #   token_endpoint: https://login.example.com/oauth2/token
    #   scopes: ["imap", "smtp"]
"""

_PROVIDERS = {
    "password": _Provider("imap.example.com", "smtp.example.com", 587, "Sent"),
    "microsoft": _Provider("outlook.office365.com", "smtp.office365.com", 587, "Sent Items", _MICROSOFT_AUTH),
    "google": _Provider("imap.gmail.com", "smtp.gmail.com", 587, "[Gmail]/Sent Mail", _GOOGLE_AUTH),
    "generic": _Provider("imap.example.com", "smtp.example.com", 587, "Sent", _GENERIC_AUTH),
}

OAUTH_CREDENTIAL = "oauth-client-secret"
_SECRET_LINE = re.compile(r"^(?P<indent>[ \t]+)password_(?:file|env|credential):[^\n]*\n", re.MULTILINE)


def starter_config(provider: str) -> str:
    """The packaged example configuration, set up for ``provider``: secrets from systemd credentials."""
    spec = _PROVIDERS[provider]
    text = files("inboxd").joinpath("examples", "inboxd.yaml").read_text(encoding="utf-8")
    # The example's secret lines: the first is IMAP's, the second SMTP's; both become credentials.
    names = iter(("imap", "smtp"))

    def credential(found: re.Match[str]) -> str:
        name = next(names, None)
        if name is None:
            return found.group(0)
        line = f"{found['indent']}password_credential: {name}"
        return f"{line:<40} # LoadCredential={name}:… in the systemd drop-in\n"

    text = _SECRET_LINE.sub(credential, text)
    # The comments that explained the example's password_file line now describe something else.
    text = re.sub(r"^[ \t]+# The password's file;[^\n]*\n[ \t]+# Alternatives:[^\n]*\n", "", text,
                  flags=re.MULTILINE)
    text = re.sub(r"(?m)^(\s+host: )imap\.example\.com\b", rf"\g<1>{spec.imap_host}", text, count=1)
    text = re.sub(r"(?m)^(\s+host: )smtp\.example\.com\b", rf"\g<1>{spec.smtp_host}", text, count=1)
    text = re.sub(r"(?m)^(\s+sent: )Sent( *)", lambda m: m.group(1) + _yaml_str(spec.sent)
                  + " " * max(1, len(m.group(2)) + 4 - len(_yaml_str(spec.sent))), text, count=1)
    if spec.auth:
        # At the mailbox level, before its imap: section.
        text = re.sub(r"(?m)^(    imap:\n)", lambda m: spec.auth + m.group(1), text, count=1)
    header = (f"# Written by `inboxd init --provider {provider}`. Fill in the values marked example, put the\n"
              "# secrets in credentials/ and check with `inboxd check-config` (add --connect to log in).\n#\n")
    return header + text


def _yaml_str(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9 ]+", value) else '"' + value.replace('"', '\\"') + '"'


def _drop_in(credentials: Path, names: list[str], oauth: bool) -> str:
    lines = ["# inboxd's secrets, loaded by systemd before the daemon starts (see systemd/README.md).",
             "# Install: install -D -m 0644 THIS_FILE /etc/systemd/system/inboxd.service.d/credentials.conf",
             "#          systemctl daemon-reload",
             "[Service]",
             "# An empty LoadCredential= first drops the unit's own lines, so that these are the only ones.",
             "LoadCredential="]
    lines += [f"LoadCredential={name}:{credentials / name}" for name in names]
    if oauth:
        lines.append("# With the auth: block in inboxd.yaml uncommented:")
        lines.append(f"# LoadCredential={OAUTH_CREDENTIAL}:{credentials / OAUTH_CREDENTIAL}")
    return "\n".join(lines) + "\n"


def init_files(provider: str, directory: Path) -> dict[Path, tuple[str, int]]:
    """What ``inboxd init`` writes: path → (content, mode)."""
    directory = directory.absolute()
    text = starter_config(provider)
    names = _credential_names(text)
    credentials = directory / "credentials"
    result: dict[Path, tuple[str, int]] = {directory / "inboxd.yaml": (text, 0o640)}
    oauth = bool(_PROVIDERS[provider].auth)
    for name in [*names, *([OAUTH_CREDENTIAL] if oauth else [])]:
        result[credentials / name] = ("", 0o600)
    result[directory / DROP_IN] = (_drop_in(credentials, names, oauth), 0o644)
    return result


def _credential_names(text: str) -> list[str]:
    """The ``password_credential`` names a configuration text uses, in order, once each."""
    found = re.findall(r"(?m)^[ \t]+password_credential:[ \t]*([A-Za-z0-9_.-]+)", text)
    return list(dict.fromkeys(found))


def cmd_init(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    planned = init_files(args.provider, directory)
    existing = [path for path in planned if path.exists() or path.is_symlink()]
    if existing:
        print(f"error: {existing[0]} exists; inboxd init never overwrites a file (nothing written)", file=sys.stderr)
        return 1
    for path, (content, mode) in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if path.parent.name == "credentials" else 0o755)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(path, mode)  # whatever the umask
        print(f"wrote {path}")
    config = directory.absolute() / "inboxd.yaml"
    print(f"next: edit {config}, write each secret to its file in {directory.absolute() / 'credentials'} "
          "(no trailing newline), install the drop-in as /etc/systemd/system/inboxd.service.d/credentials.conf, "
          f"then run: inboxd check-config --connect --config {config}")
    return 0


# -- check-config --connect ------------------------------------------------------------------------------


def check_connections(config_path: Path, out: Callable[[str], None] = print) -> int:
    """Log in to every mailbox over IMAP and SMTP and look for its folders; 0 when every check passes."""
    from inboxd.config import Settings, load_config
    from inboxd.errors import InboxdError
    from inboxd.service.daemon import imap_settings, smtp_settings
    from inboxd.transport.imap import ImapConnection
    from inboxd.transport.smtp import SmtpConnection
    from inboxd.transport.tokens import TokenSources, state_directory

    # OAuth mailboxes log in with tokens from the same sources the daemon uses (and its stored sign-ins).
    tokens = TokenSources(state_directory(str(Settings().resolved_database_url())))
    failed = 0
    for mailbox in load_config(config_path).mailboxes:
        name = mailbox.name
        token = tokens.get(mailbox)
        try:
            imap = ImapConnection(imap_settings(mailbox, token))
            imap.connect()
        except InboxdError as exc:
            out(f"{name}: IMAP login failed: {_one_line(exc)}")
            failed += 1
        else:
            try:
                out(f"{name}: IMAP login ok ({mailbox.imap.username} at {mailbox.imap.host})")
                for folder in (mailbox.imap.folders.inbox, mailbox.imap.folders.sent):
                    if folder is None:
                        continue
                    try:
                        exists = bool(imap.client.folder_exists(folder))
                    except Exception as exc:  # noqa: BLE001 - a broken connection is one failed check
                        out(f"{name}: folder {folder} could not be checked: {_one_line(exc)}")
                        failed += 1
                        continue
                    if exists:
                        out(f"{name}: folder {folder} ok")
                    else:
                        out(f"{name}: folder {folder} missing")
                        failed += 1
            finally:
                imap.close()
        smtp_ok, detail = _smtp_check(mailbox, SmtpConnection, partial(smtp_settings, token=token))
        what = "login" if mailbox.smtp.username else "connection (no login configured)"
        out(f"{name}: SMTP {what} ok ({mailbox.smtp.host})" if smtp_ok else f"{name}: SMTP {what} failed: {detail}")
        failed += 0 if smtp_ok else 1
    out(f"{config_path}: all checks passed" if not failed else f"{config_path}: {failed} check(s) failed")
    return 0 if not failed else 1


def _smtp_check(mailbox: Any, connection: Any, settings: Callable[[Any], Any]) -> tuple[bool, str]:
    from inboxd.errors import InboxdError

    try:
        smtp = connection(settings(mailbox))
        smtp.connect()
    except InboxdError as exc:
        return False, _one_line(exc)
    smtp.close()
    return True, ""


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# -- backup ------------------------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import database_url as _database_url
    from inboxd.store.db import _sqlite_path, shown_url

    url = _database_url(args)
    target = Path(args.file)
    if not url.startswith("sqlite"):
        print(f"error: inboxd backup copies SQLite databases; {shown_url(url)} is PostgreSQL: back it up with "
              "pg_dump (e.g. pg_dump --format=custom --file=inboxd.dump DBNAME; README.md, \"Backups\")",
              file=sys.stderr)
        return 1
    source = _sqlite_path(url)
    if source is None or not source.is_file():
        print(f"error: no SQLite database at {shown_url(url)} (point INBOXD_DATABASE_URL or --database-url at it)",
              file=sys.stderr)
        return 1
    if target.exists() or target.is_symlink():
        print(f"error: {target} exists; inboxd backup never overwrites a file", file=sys.stderr)
        return 1
    pages = backup_sqlite(source, target)
    print(f"backed up {source} to {target} ({pages} pages)")
    return 0


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the SQLite database ``source`` to the new file ``target`` (mode 0600); the number of pages.

    SQLite's online backup takes one read transaction: in WAL mode the daemon keeps writing meanwhile,
    and the copy is the database as of the moment the backup began. The copy is one self-contained file
    (rollback journal mode), written beside ``target`` first and linked into place, so a failed backup
    leaves nothing behind and an existing file is never replaced.
    """
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        # Not opened read-only: a read-only connection would leave the -wal and -shm files behind (owned by
        # whoever ran the backup); this one only reads, and removes them on close when it is the last one.
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(temporary)
            try:
                src.backup(dst)  # all pages in one step: a copy that started over on every write might never end
                dst.execute("PRAGMA journal_mode=DELETE")
                pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            finally:
                dst.close()
        finally:
            src.close()
        os.link(temporary, target)  # fails if target appeared meanwhile: never overwritten
    finally:
        temporary.unlink(missing_ok=True)
    return pages
