"""OAuth 2.0 access tokens for IMAP and SMTP logins, kept fresh.

A :class:`TokenSource` hands out the mailbox's current access token, fetching a new one when the cached token
is close to expiry (:func:`needs_refresh`). The fetch itself is one small function per provider, made with the
provider's own library:

- ``microsoft``: msal's ``ConfidentialClientApplication`` (client credentials, app-only access), or a refresh
  token stored by ``inboxd auth login`` (delegated access);
- ``google``: a google-auth service account with domain-wide delegation (the mailbox is the subject);
- ``generic``: authlib's ``OAuth2Session`` against ``token_endpoint`` (client credentials, or a stored refresh token).

Errors leave here as :class:`GrantError` (the grant is revoked or the client refused: an admin must act) or
:class:`inboxd.errors.TransientError` (the provider could not be reached: retried with backoff). Tokens are never
logged and never appear in an error message.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inboxd.core.backoff import Backoff
from inboxd.errors import AuthError, TransientError

MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
# msal adds offline_access (the refresh token) itself and refuses it in a list.
MICROSOFT_DELEGATED_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",
                              "https://outlook.office.com/SMTP.Send")
GOOGLE_SCOPE = "https://mail.google.com/"
# OAuth error codes that no retry can cure: the admin must grant again (or fix the client).
GRANT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
                          "consent_required", "interaction_required"})


class GrantError(AuthError):
    """The provider refused the grant itself (revoked, expired, or a client it does not know)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Token:
    """An access token and when it expires (wall-clock seconds), and for how long it was issued."""

    value: str
    expires_at: float
    lifetime: float

    def __repr__(self) -> str:  # never show the token itself
        return f"Token(expires_at={self.expires_at!r}, lifetime={self.lifetime!r})"


def needs_refresh(token: Token | None, now: float) -> bool:
    """Whether to fetch a new token: none yet, or less than 5 minutes or 10 % of its lifetime left."""
    if token is None:
        return True
    margin = min(300.0, 0.1 * token.lifetime)
    return token.expires_at - now <= margin


def xoauth2_string(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (what smtplib and Google/Microsoft expect)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


Fetch = Callable[[], tuple[str, float]]  # () -> (access token, seconds it lives)


class TokenSource:
    """One mailbox's access tokens: cached in memory, refreshed before expiry, failures retried with backoff.

    ``on_change`` is called (outside the lock) whenever :attr:`error` changes, so status can show it at once.
    """

    def __init__(self, fetch: Fetch, *, clock: Callable[[], float] = time.time,
                 backoff: Backoff | None = None) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._backoff = backoff or Backoff(base=2.0, cap=300.0)
        self._retry_at = 0.0
        self._last_exc: Exception | None = None
        self.error: str | None = None
        self.grant_error: GrantError | None = None
        self.refreshes = 0
        self.on_change: Callable[[TokenSource], None] | None = None

    def token(self, force: bool = False) -> str:
        """The current access token; ``force`` fetches a new one (the server rejected the cached one)."""
        changed = False
        try:
            with self._lock:
                now = self._clock()
                if force:
                    self._token = None
                    self._retry_at = 0.0
                token = self._token
                if not needs_refresh(token, now):
                    assert token is not None
                    return token.value
                if now < self._retry_at and self._last_exc is not None:
                    # Backing off: a token that has not quite expired is still good for a login.
                    if token is not None and token.expires_at > now:
                        return token.value
                    raise self._last_exc
                try:
                    value, lifetime = self._fetch()
                except (GrantError, TransientError) as exc:
                    self._last_exc = exc
                    self._retry_at = now + self._backoff.next_delay()
                    changed = self.error != str(exc)
                    self.error = str(exc)
                    self.grant_error = exc if isinstance(exc, GrantError) else None
                    if token is not None and token.expires_at > now and not isinstance(exc, GrantError):
                        return token.value
                    raise
                self._token = Token(value, now + lifetime, lifetime)
                self.refreshes += 1
                self._backoff.reset()
                self._last_exc = None
                changed = self.error is not None
                self.error, self.grant_error = None, None
                return value
        finally:
            if changed and self.on_change is not None:
                self.on_change(self)

    def retry_now(self) -> None:
        """Cut a backoff short (the admin ran ``inboxd auth login`` or reloaded the configuration)."""
        with self._lock:
            self._retry_at = 0.0


# --------------------------------------------------------------------------- stored refresh tokens


def refresh_token_path(state_dir: Path, mailbox: str) -> Path:
    return state_dir / "oauth" / f"{mailbox}.json"


def save_refresh_token(path: Path, refresh_token: str, provider: str, expires_in: float | None = None) -> None:
    """Write the refresh token readable by the owner only (0600), atomically, with its expiry if the provider
    gave one (``refresh_token_expires_in``)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        now = int(time.time())
        json.dump({"provider": provider, "refresh_token": refresh_token, "saved_at": now,
                   "expires_at": now + int(expires_in) if expires_in else None}, handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def refresh_token_expiry(path: Path) -> tuple[float, float] | None:
    """(saved at, expires at) of the stored refresh token, wall-clock seconds, if the provider gave its expiry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    saved, expires = data.get("saved_at"), data.get("expires_at")
    if isinstance(saved, int | float) and isinstance(expires, int | float):
        return float(saved), float(expires)
    return None


def login_expires_soon(saved_at: float, expires_at: float, now: float) -> bool:
    """Whether a sign-in needs renewing: under a week, and under a fifth of its lifetime, left.

    A provider whose refresh tokens slide (each refresh gives a new one with a full lifetime) never gets here.
    """
    lifetime = max(0.0, expires_at - saved_at)
    return expires_at - now < min(7 * 86400.0, 0.2 * lifetime)


def load_refresh_token(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise GrantError(f"cannot read the stored login {path}: {exc}", "unreadable") from None
    value = data.get("refresh_token") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def fingerprint(*parts: str) -> str:
    """A short, non-reversible name for a grant (for idempotency keys): never the secret itself."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- providers


def _classify(code: str, description: str, where: str) -> Exception:
    text = f"OAuth token from {where}: {code}" + (f" ({description.splitlines()[0][:160]})" if description else "")
    return GrantError(text, code) if code in GRANT_ERRORS else TransientError(text)


def generic_fetch(*, token_endpoint: str, client_id: str, client_secret: str | None, scopes: list[str],
                  refresh_token: Callable[[], str | None] | None = None, timeout: float = 30.0,
                  rotated: Callable[[str, float | None], None] | None = None) -> Fetch:
    """authlib's OAuth2Session: a stored refresh token when there is one, else client credentials.

    A provider that rotates refresh tokens answers a refresh with a new one: ``rotated`` stores it.
    """
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    from requests import RequestException

    def fetch() -> tuple[str, float]:
        session = OAuth2Session(client_id, client_secret, scope=" ".join(scopes) or None,
                                token_endpoint_auth_method="client_secret_post" if client_secret else "none")
        stored = refresh_token() if refresh_token is not None else None
        try:
            with session:
                if stored:
                    answer = session.refresh_token(token_endpoint, refresh_token=stored, timeout=timeout)
                else:
                    answer = session.fetch_token(token_endpoint, grant_type="client_credentials", timeout=timeout)
        except OAuthError as exc:
            raise _classify(str(exc.error or "error"), str(exc.description or ""), token_endpoint) from None
        except RequestException as exc:
            raise TransientError(f"OAuth token from {token_endpoint}: {type(exc).__name__}") from None
        new = answer.get("refresh_token")
        if stored and rotated is not None and isinstance(new, str) and new and new != stored:
            expires = answer.get("refresh_token_expires_in")
            rotated(new, float(expires) if isinstance(expires, int | float) else None)
        return str(answer["access_token"]), float(answer.get("expires_in") or 3600)

    return fetch


def microsoft_fetch(*, tenant: str, client_id: str, client_credential: str | dict[str, str] | None,
                    refresh_token: Callable[[], str | None] | None = None, http_client: Any = None,
                    authority_host: str = "https://login.microsoftonline.com",
                    rotated: Callable[[str, float | None], None] | None = None) -> Fetch:
    """msal: app-only client credentials (scope ``.default``), or a stored refresh token (delegated)."""
    import msal

    authority = f"{authority_host}/{tenant}"
    app: Any = None

    def application() -> Any:
        nonlocal app
        if app is None:
            kwargs: dict[str, Any] = {"authority": authority}
            if http_client is not None:
                kwargs["http_client"] = http_client
                kwargs["instance_discovery"] = False
            try:
                if client_credential is None:
                    app = msal.PublicClientApplication(client_id, **kwargs)
                else:
                    app = msal.ConfidentialClientApplication(client_id, client_credential=client_credential,
                                                             **kwargs)
            except ValueError as exc:  # msal's word for an authority or tenant it cannot find
                raise TransientError(f"OAuth token from {authority}: {str(exc).splitlines()[0][:160]}") from None
        return app

    def fetch() -> tuple[str, float]:
        stored = refresh_token() if refresh_token is not None else None
        try:
            if stored:
                result = application().acquire_token_by_refresh_token(stored, scopes=list(MICROSOFT_DELEGATED_SCOPES))
            else:
                result = application().acquire_token_for_client(scopes=[MICROSOFT_SCOPE])
        except (OSError, ValueError) as exc:
            raise TransientError(f"OAuth token from {authority}: {type(exc).__name__}") from None
        if "access_token" not in result:
            raise _classify(str(result.get("error", "error")), str(result.get("error_description", "")), authority)
        new = result.get("refresh_token")
        if stored and rotated is not None and isinstance(new, str) and new and new != stored:
            expires = result.get("refresh_token_expires_in")
            # Keeps the sign-in alive past the old refresh token's lifetime.
            rotated(new, float(expires) if isinstance(expires, int | float) else None)
        return str(result["access_token"]), float(result.get("expires_in") or 3600)

    return fetch


def google_fetch(*, service_account_info: dict[str, Any], subject: str, request: Any = None) -> Fetch:
    """google-auth: a service account acting as ``subject`` (domain-wide delegation), scope mail.google.com."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.oauth2 import service_account

    def fetch() -> tuple[str, float]:
        nonlocal request
        if request is None:
            from google.auth.transport.requests import Request

            request = Request()
        try:
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                service_account_info, scopes=[GOOGLE_SCOPE], subject=subject)
            credentials.refresh(request)
        except RefreshError as exc:
            code, description = _google_error(exc)
            raise _classify(code, description, "Google") from None
        except (TransportError, OSError) as exc:
            raise TransientError(f"OAuth token from Google: {type(exc).__name__}") from None
        except ValueError as exc:  # a malformed key file
            message = f"Google service account key: {str(exc).splitlines()[0][:160]}"
            raise GrantError(message, "invalid_client") from None
        expiry = credentials.expiry  # google-auth keeps naive UTC
        lifetime = calendar.timegm(expiry.timetuple()) - time.time() if expiry is not None else 3600.0
        return str(credentials.token), max(1.0, lifetime)

    return fetch


def _google_error(exc: Exception) -> tuple[str, str]:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    body = args[1] if len(args) > 1 else None
    if isinstance(body, dict):
        return str(body.get("error", "invalid_grant")), str(body.get("error_description", ""))
    return "invalid_grant", str(args[0]) if args else ""
