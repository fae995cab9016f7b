"""OAuth 2.0 for the mailboxes: one token source per mailbox with ``auth``, and ``inboxd auth login``.

Refresh tokens from a device-code login live in the state directory (``$STATE_DIRECTORY``, else beside the
SQLite database, else the working directory) as ``oauth/<mailbox>.json``, mode 0600.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from inboxd.config import AuthConfig, MailboxConfig, resolve_auth_secret
from inboxd.errors import ConfigError, TransientError
from inboxd.transport import oauth
from inboxd.transport.oauth import GrantError, TokenSource


def state_directory(database_url: str) -> Path:
    """Where stored logins live: ``$STATE_DIRECTORY``, else beside the SQLite database, else here."""
    value = os.environ.get("STATE_DIRECTORY", "").split(":", 1)[0]
    if value:
        return Path(value)
    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - an unparsable URL fails elsewhere with a better message
        return Path.cwd()
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).absolute().parent
    return Path.cwd()


def _client_credential(auth: AuthConfig) -> str | dict[str, str] | None:
    if auth.certificate_file is not None and auth.certificate_thumbprint is not None:
        try:
            key = Path(auth.certificate_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{auth.key_path}.certificate_file: cannot read {auth.certificate_file}: "
                               f"{exc.strerror or exc}"]) from None
        return {"private_key": key, "thumbprint": auth.certificate_thumbprint}
    return resolve_auth_secret(auth)


def build_fetch(mailbox: MailboxConfig, state_dir: Path) -> oauth.Fetch:
    """The provider's fetch function for this mailbox (secrets are read on each fetch: a rotated one is used)."""
    auth = mailbox.auth
    assert auth is not None
    stored_path = oauth.refresh_token_path(state_dir, mailbox.name)

    def stored() -> str | None:
        token = oauth.load_refresh_token(stored_path)
        if token is None:
            raise GrantError(f"{mailbox.name}: no stored login; run: inboxd auth login {mailbox.name}",
                             "no_login")
        return token

    refresh = stored if auth.flow == "delegated" else None

    def rotated(token: str, expires_in: float | None) -> None:
        oauth.save_refresh_token(stored_path, token, auth.provider, expires_in)
    if auth.provider == "google":
        def google() -> tuple[str, float]:
            secret = resolve_auth_secret(auth)
            try:
                info = json.loads(secret or "")
            except ValueError:
                raise GrantError(f"{auth.key_path}: the service account key is not JSON", "invalid_client") from None
            return oauth.google_fetch(service_account_info=info, subject=mailbox.oauth_username)()

        return google
    if auth.provider == "microsoft":
        def microsoft() -> tuple[str, float]:
            assert auth.tenant is not None and auth.client_id is not None
            return oauth.microsoft_fetch(tenant=auth.tenant, client_id=auth.client_id,
                                         client_credential=_client_credential(auth), refresh_token=refresh,
                                         rotated=rotated)()

        return microsoft

    def generic() -> tuple[str, float]:
        assert auth.token_endpoint is not None and auth.client_id is not None
        return oauth.generic_fetch(token_endpoint=auth.token_endpoint, client_id=auth.client_id,
                                   client_secret=resolve_auth_secret(auth), scopes=list(auth.scopes),
                                   refresh_token=refresh, rotated=rotated)()

    return generic


def expiring_logins(mailboxes: list[MailboxConfig], state_dir: Path, now: float) -> list[tuple[str, float]]:
    """(mailbox, expiry) of each delegated sign-in whose refresh token expires soon (:func:`login_expires_soon`)."""
    found = []
    for mailbox in mailboxes:
        if mailbox.auth is None or mailbox.auth.flow != "delegated":
            continue
        times = oauth.refresh_token_expiry(oauth.refresh_token_path(state_dir, mailbox.name))
        if times is not None and oauth.login_expires_soon(*times, now):
            found.append((mailbox.name, times[1]))
    return found


def grant_fingerprint(mailbox: MailboxConfig, state_dir: Path) -> str:
    """Names the grant in use (client, and the stored login's time), so a new grant is alerted about anew."""
    auth = mailbox.auth
    assert auth is not None
    stored = oauth.refresh_token_path(state_dir, mailbox.name)
    saved = str(int(stored.stat().st_mtime)) if auth.flow == "delegated" and stored.exists() else ""
    return oauth.fingerprint(mailbox.name, auth.provider, auth.client_id or "", auth.tenant or "", saved)


class TokenSources:
    """The daemon's token sources, one per mailbox with ``auth``; rebuilt when its ``auth`` section changes."""

    def __init__(self, state_dir: Path, on_change: Callable[[str, TokenSource], None] | None = None) -> None:
        self.state_dir = state_dir
        self.on_change = on_change
        self._lock = threading.Lock()
        self._sources: dict[str, tuple[AuthConfig, TokenSource]] = {}

    def get(self, mailbox: MailboxConfig) -> TokenSource | None:
        if mailbox.auth is None:
            return None
        with self._lock:
            known = self._sources.get(mailbox.name)
            if known is not None and known[0] == mailbox.auth:
                return known[1]
            source = TokenSource(build_fetch(mailbox, self.state_dir))
            name = mailbox.name
            source.on_change = lambda s: self.on_change(name, s) if self.on_change is not None else None
            self._sources[name] = (mailbox.auth, source)
            return source

    def items(self) -> list[tuple[str, TokenSource]]:
        with self._lock:
            return [(name, source) for name, (_auth, source) in self._sources.items()]

    def retry_now(self) -> None:
        for _name, source in self.items():
            source.retry_now()


# --------------------------------------------------------------------------- inboxd auth login


def _poll_device_grant(token_endpoint: str, client_id: str, client_secret: str | None, device_code: str,
                       interval: float, expires_in: float, sleep: Callable[[float], None]) -> dict[str, Any]:
    """RFC 8628 section 3.4: poll the token endpoint until the user approved, refused, or the code expired."""
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    from requests import RequestException

    deadline = time.monotonic() + expires_in
    while time.monotonic() < deadline:
        session = OAuth2Session(client_id, client_secret,
                                token_endpoint_auth_method="client_secret_post" if client_secret else "none")
        try:
            with session:
                return dict(session.fetch_token(token_endpoint, grant_type=oauth_device_grant(),
                                                device_code=device_code, timeout=30))
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                sleep(interval)
                continue
            if exc.error == "slow_down":
                interval += 5
                sleep(interval)
                continue
            raise GrantError(f"device login: {exc.error}", str(exc.error)) from None
        except RequestException as exc:
            raise TransientError(f"device login: {type(exc).__name__}") from None
    raise GrantError("device login: the code expired before it was approved", "expired_token")


def oauth_device_grant() -> str:
    return "urn:ietf:params:oauth:grant-type:device_code"


def device_login(mailbox: MailboxConfig, state_dir: Path, out: TextIO,
                 sleep: Callable[[float], None] = time.sleep) -> Path:
    """Run the device-code flow for ``mailbox`` and store its refresh token; return where it was stored."""
    auth = mailbox.auth
    if auth is None or auth.flow != "delegated":
        raise ConfigError([f"mailbox {mailbox.name}: auth login needs auth with flow: delegated"])
    if auth.provider == "google":
        raise ConfigError([f"mailbox {mailbox.name}: provider google uses a service account, no login"])
    secret = resolve_auth_secret(auth)
    assert auth.client_id is not None
    if auth.provider == "microsoft":
        import msal

        assert auth.tenant is not None
        authority = f"https://login.microsoftonline.com/{auth.tenant}"
        app: Any = (msal.ConfidentialClientApplication(auth.client_id, client_credential=secret, authority=authority)
                    if secret else msal.PublicClientApplication(auth.client_id, authority=authority))
        flow = app.initiate_device_flow(scopes=list(oauth.MICROSOFT_DELEGATED_SCOPES))
        if "user_code" not in flow:
            raise GrantError(f"device login: {flow.get('error', 'error')}", str(flow.get("error", "error")))
        print(flow["message"], file=out, flush=True)
        result = app.acquire_token_by_device_flow(flow)
        if "refresh_token" not in result:
            raise GrantError(f"device login: {result.get('error', 'no refresh token')}", str(result.get("error")))
        refresh_token = str(result["refresh_token"])
        expires = result.get("refresh_token_expires_in")
    else:
        if auth.device_endpoint is None:
            raise ConfigError([f"{auth.key_path}: provider generic needs device_endpoint for auth login"])
        assert auth.token_endpoint is not None
        import requests

        data = {"client_id": auth.client_id}
        if auth.scopes:
            data["scope"] = " ".join(auth.scopes)
        try:
            answer = requests.post(auth.device_endpoint, data=data, timeout=30)
        except requests.RequestException as exc:
            raise TransientError(f"device login: {type(exc).__name__}") from None
        grant = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
        if answer.status_code != 200 or "device_code" not in grant:
            raise GrantError(f"device login: {grant.get('error', answer.status_code)}", str(grant.get("error")))
        where = grant.get("verification_uri_complete") or grant.get("verification_uri")
        print(f"To sign in, open {where} and enter the code {grant['user_code']}", file=out, flush=True)
        token = _poll_device_grant(auth.token_endpoint, auth.client_id, secret, str(grant["device_code"]),
                                   float(grant.get("interval") or 5), float(grant.get("expires_in") or 900), sleep)
        if not token.get("refresh_token"):
            raise GrantError("device login: the provider issued no refresh token (ask for offline access)",
                             "no_refresh_token")
        refresh_token = str(token["refresh_token"])
        expires = token.get("refresh_token_expires_in")
    path = oauth.refresh_token_path(state_dir, mailbox.name)
    oauth.save_refresh_token(path, refresh_token, auth.provider,
                             float(expires) if isinstance(expires, int | float) else None)
    return path
