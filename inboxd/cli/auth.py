"""``inboxd auth login MAILBOX``: delegated OAuth 2.0 access through the device-code flow.

The command prints where to sign in and the code to enter, waits for the sign-in, and stores the refresh token
in the state directory (``$STATE_DIRECTORY``, else beside the SQLite database) with mode 0600. The token is never
printed. A running daemon picks it up on ``systemctl reload inboxd``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["add_parser", "cmd_auth_login"]


def add_parser(subparsers: Any, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
               with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    """Register ``auth login`` on the ``inboxd`` sub-command parsers."""
    auth = subparsers.add_parser("auth", help="OAuth 2.0 logins for mailboxes with flow: delegated")
    actions = auth.add_subparsers(dest="auth_command", required=True)
    login = with_db(with_config(actions.add_parser(
        "login", help="sign in for a mailbox with the device-code flow and store its refresh token")))
    login.add_argument("mailbox", help="the mailbox's name (mailboxes[].name)")
    login.set_defaults(func=cmd_auth_login)


def cmd_auth_login(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import config_path as _config_path
    from inboxd.cli.setup import database_url as _database_url
    from inboxd.config import load_config
    from inboxd.errors import ConfigError
    from inboxd.transport.tokens import device_login, state_directory

    config = load_config(_config_path(args))
    try:
        mailbox = config.mailbox(args.mailbox)
    except KeyError:
        names = ", ".join(m.name for m in config.mailboxes)
        raise ConfigError([f"no mailbox named {args.mailbox!r} (the configuration has: {names})"]) from None
    path = device_login(mailbox, state_directory(_database_url(args)), sys.stdout)
    print(f"Signed in; the login for {mailbox.name} is stored in {path}. "
          "Reload a running daemon: systemctl reload inboxd")
    return 0
