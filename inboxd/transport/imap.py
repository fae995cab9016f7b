"""IMAP over imapclient: login (password, XOAUTH2 or OAUTHBEARER), read-only select, fetch, IDLE, APPEND.

Folders are always selected read-only and bodies fetched with ``BODY.PEEK[]``: inboxd never
changes ``\\Seen`` or moves mail. Every imapclient/socket error leaves here as an
:class:`inboxd.errors.ImapError` or :class:`inboxd.errors.AuthError`.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from inboxd.errors import AuthError, FolderMissing, ImapError
from inboxd.transport.tlsutil import tls_context


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # tls | starttls | none
    username: str
    secret: str
    oauth2: bool = False
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None
    # OAuth 2.0 (``auth``): the current access token; called with True for a new one after a rejected login.
    token: Callable[[bool], str] | None = field(default=None, repr=False, compare=False)
    mechanism: str = "xoauth2"  # xoauth2 | oauthbearer


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except LoginError as exc:
        raise AuthError(f"IMAP {action}: login rejected: {exc}") from exc
    except (TimeoutError, IMAPClientError, OSError, ssl.SSLError) as exc:
        raise ImapError(f"IMAP {action}: {exc}") from exc


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class ImapConnection:
    """One logged-in IMAP connection."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client: Any = None
        self.idle_supported = False
        self._idling = False

    def connect(self) -> ImapConnection:
        s = self.settings
        with _translated("connect"):
            context = tls_context(s.verify_tls, s.ca_file) if s.security in ("tls", "starttls") else None
            client = imapclient.IMAPClient(s.host, port=s.port, ssl=s.security == "tls",
                                           ssl_context=context if s.security == "tls" else None,
                                           timeout=s.timeout, use_uid=True)
            self.client = client  # from here on, interrupt() can cut a slow login short
            if s.security == "starttls":
                client.starttls(context)
            if s.token is not None:
                self._oauth_login(client, s.token)
            elif s.oauth2:
                client.oauth2_login(s.username, s.secret)
            else:
                client.login(s.username, s.secret)
            self.idle_supported = client.has_capability("IDLE")
        return self

    def _oauth_login(self, client: Any, token: Callable[[bool], str]) -> None:
        """Log in with the cached token; when the server rejects it, once more with a new one."""
        s = self.settings
        for force in (False, True):
            value = token(force)
            try:
                if s.mechanism == "oauthbearer":
                    client.oauthbearer_login(s.username, value)
                else:
                    client.oauth2_login(s.username, value)
                return
            except LoginError:
                if force:
                    raise

    def interrupt(self) -> None:
        """Unblock a read in progress (IDLE, a slow login) from another thread, for a prompt stop."""
        client = self.client
        if client is None:
            return
        try:
            client.socket().shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self._idling:
                client.idle_done()
            client.logout()
        except Exception:  # noqa: BLE001 - closing a broken connection must not raise
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> ImapConnection:
        return self.connect() if self.client is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def select(self, folder: str) -> FolderStatus:
        with _translated(f"select {folder}"):
            if not self.client.folder_exists(folder):
                raise FolderMissing(f"IMAP folder {folder!r} does not exist")
            info = self.client.select_folder(folder, readonly=True)
        uidnext = info.get(b"UIDNEXT")
        return FolderStatus(uidvalidity=int(info[b"UIDVALIDITY"]), uidnext=int(uidnext) if uidnext else None,
                            exists=int(info.get(b"EXISTS", 0)))

    def uids_above(self, last_uid: int) -> list[int]:
        with _translated("search"):
            # "UID n:*" always includes the highest UID even when it is below n: filter.
            uids = self.client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(int(u) for u in uids if int(u) > last_uid)

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        if not uids:
            return {}
        with _translated("fetch"):
            data = self.client.fetch(uids, ["BODY.PEEK[]"])
        result: dict[int, bytes] = {}
        for uid, item in data.items():
            body = item.get(b"BODY[]")
            if isinstance(body, bytes):
                result[int(uid)] = body
        return result

    def fetch_arrived(self, uids: list[int]) -> dict[int, tuple[bytes, datetime | None]]:
        """UID → (the message, when the server received it: INTERNALDATE in UTC, None if it gave none)."""
        if not uids:
            return {}
        with _translated("fetch"):
            normalise, self.client.normalise_times = self.client.normalise_times, False
            try:
                data = self.client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
            finally:
                self.client.normalise_times = normalise
        result: dict[int, tuple[bytes, datetime | None]] = {}
        for uid, item in data.items():
            body = item.get(b"BODY[]")
            if isinstance(body, bytes):
                result[int(uid)] = (body, _utc(item.get(b"INTERNALDATE")))
        return result

    def idle_wait(self, timeout: float) -> bool:
        """Wait in IDLE up to ``timeout`` seconds; True when the server reported a change.

        Raises ImapError when the connection is gone: the server said BYE, or the socket reached its end.
        imapclient's ``idle_check`` does not raise on a closed socket: the socket polls readable, the read
        finds end-of-file and the call returns an empty list at once, for ever (a busy loop, mjs/imapclient#565).
        An empty answer long before the timeout is therefore checked by ending IDLE, which reads from the
        socket and fails on a dead connection.
        """
        with _translated("idle"):
            if not self._idling:
                self.client.idle()
                self._idling = True
            started = time.monotonic()
            responses = self.client.idle_check(timeout=timeout)
            if any(r and r[0] == b"BYE" for r in responses):
                self._idling = False
                raise ImapError("IMAP idle: the server closed the connection (BYE)")
            if not responses and time.monotonic() - started < timeout / 2:
                self._idling = False
                try:
                    self.client.idle_done()
                except (IMAPClientError, OSError) as exc:
                    raise ImapError("IMAP idle: the connection was closed") from exc
                return False
            changed = any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
            if changed:
                self.client.idle_done()
                self._idling = False
            return changed

    def arrived_since_last_command(self) -> bool:
        """Whether the server reports new mail (EXISTS) since the last command: a NOOP just before IDLE.

        Mail that arrives between a sync's SELECT and the IDLE command is not announced once IDLE starts (Dovecot
        reports only what changes during IDLE); the NOOP's answer reports it.
        """
        with _translated("noop"):
            _text, responses = self.client.noop()
        return any(isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def recheck(self) -> bool:
        """End IDLE and ask again (a NOOP): whether the server reports new mail (EXISTS).

        Ending IDLE makes the server look at the folder; mail delivered just before IDLE began may otherwise be
        announced only at the server's next periodic check (Dovecot: 30 s), not by its change notification.
        """
        with _translated("idle recheck"):
            announced: list[Any] = []
            if self._idling:
                self._idling = False
                _text, responses = self.client.idle_done()
                announced.extend(responses)
            _text, responses = self.client.noop()
            announced.extend(responses)
        return any(isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in announced)

    def end_idle(self) -> None:
        if self._idling:
            with _translated("idle done"):
                self.client.idle_done()
            self._idling = False

    def arrival_times_since(self, day: date) -> dict[int, datetime]:
        """UID → INTERNALDATE (when the server received it, UTC) of the messages received on or after ``day``."""
        with _translated("search since"):
            uids = self.client.search(["SINCE", day])
            if not uids:
                return {}
            normalise, self.client.normalise_times = self.client.normalise_times, False
            try:
                data = self.client.fetch(uids, ["INTERNALDATE"])
            finally:
                self.client.normalise_times = normalise
        result: dict[int, datetime] = {}
        for uid, item in data.items():
            value = _utc(item.get(b"INTERNALDATE"))
            if value is not None:
                result[int(uid)] = value
        return result

    def noop(self) -> None:
        with _translated("noop"):
            self.client.noop()

    def append(self, folder: str, raw: bytes, flags: tuple[bytes, ...] = (b"\\Seen",)) -> None:
        with _translated(f"append to {folder}"):
            if not self.client.folder_exists(folder):
                self.client.create_folder(folder)
            self.client.append(folder, raw, flags=flags)

    def search_message_id(self, message_id: str) -> list[int]:
        with _translated("search message-id"):
            return [int(u) for u in self.client.search(["HEADER", "Message-ID", f"<{message_id}>"])]
