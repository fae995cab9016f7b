"""A small OAuth 2.0 authorization server on loopback, for tests and the demo.

It implements what inboxd and the mail servers in front of it need, and nothing more:

- the token endpoint (RFC 6749) with the ``client_credentials``, ``refresh_token`` and device-code
  (RFC 8628, ``urn:ietf:params:oauth:grant-type:device_code``) grants;
- the device authorization endpoint (RFC 8628), which approves every request at once, as a user would;
- token introspection (RFC 7662), which Dovecot's ``oauth2`` passdb and the :class:`~inboxd.dev.mailserver.SmtpHub`
  call to check a bearer token.

Access tokens are random and live ``lifetime`` seconds. :meth:`AuthServer.revoke` withdraws every grant (the
token endpoint answers ``invalid_grant`` and every token introspects as inactive) until :meth:`AuthServer.restore`.
Every token issued is kept in :attr:`AuthServer.issued`, so a test can look for them where they must never be.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class _Client:
    secret: str
    username: str


@dataclass
class _Token:
    username: str
    expires: float


@dataclass
class AuthServer:
    """The server; ``lifetime`` is how long an access token lives, in seconds."""

    lifetime: float = 3600.0
    # When set, refresh tokens expire after this many seconds and say so (``refresh_token_expires_in``).
    refresh_lifetime: float | None = None
    host: str = "127.0.0.1"
    port: int = 0
    issued: list[str] = field(default_factory=list)
    revoked: bool = False
    token_requests: int = 0
    introspections: int = 0
    _clients: dict[str, _Client] = field(default_factory=dict)
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> username
    _devices: dict[str, str] = field(default_factory=dict)  # device code -> username
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # Administration -------------------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, username: str) -> None:
        """Register a client; its tokens (and a device login's) are for ``username``."""
        with self._lock:
            self._clients[client_id] = _Client(secret, username)

    def revoke(self) -> None:
        """Withdraw every grant: no token is issued or refreshed, and every access token is inactive."""
        with self._lock:
            self.revoked = True

    def restore(self) -> None:
        """Grant again (an admin consented again): new tokens are issued; old ones stay inactive."""
        with self._lock:
            self.revoked = False
            self._tokens.clear()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/token"

    @property
    def device_endpoint(self) -> str:
        return f"{self.url}/device"

    @property
    def introspection_endpoint(self) -> str:
        return f"{self.url}/introspect"

    def start(self) -> Self:
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, name="devoauth", daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Protocol ---------------------------------------------------------------------------------------------

    def _issue(self, username: str, refresh: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = _Token(username, time.monotonic() + self.lifetime)
        self.issued.append(token)
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": int(self.lifetime)}
        if refresh:
            refresh_token = secrets.token_urlsafe(24)
            self._refresh[refresh_token] = username
            self.issued.append(refresh_token)
            answer["refresh_token"] = refresh_token
            if self.refresh_lifetime is not None:
                answer["refresh_token_expires_in"] = int(self.refresh_lifetime)
        return answer

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        with self._lock:
            self.token_requests += 1
            client = self._clients.get(client_id)
            grant = form.get("grant_type", "")
            if client is None:
                return 401, {"error": "invalid_client"}
            if self.revoked:
                return 400, {"error": "invalid_grant", "error_description": "the grant was revoked"}
            if grant == "client_credentials":
                if secret != client.secret:
                    return 401, {"error": "invalid_client"}
                return 200, self._issue(client.username, refresh=False)
            if grant == "refresh_token":
                # Refresh tokens rotate, as many providers do: the one used is spent, a new one comes back.
                username = self._refresh.pop(form.get("refresh_token", ""), None)
                if username is None:
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(username, refresh=True)
            if grant == DEVICE_GRANT:
                username = self._devices.pop(form.get("device_code", ""), None)
                if username is None:
                    return 400, {"error": "expired_token"}
                return 200, self._issue(username, refresh=True)
            return 400, {"error": "unsupported_grant_type"}

    def device(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            client = self._clients.get(form.get("client_id", ""))
            if client is None:
                return 401, {"error": "invalid_client"}
            code = secrets.token_urlsafe(16)
            self._devices[code] = client.username
            return 200, {"device_code": code, "user_code": "ABCD-EFGH", "verification_uri": f"{self.url}/activate",
                         "expires_in": 600, "interval": 1}

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            self.introspections += 1
            found = self._tokens.get(token)
            if self.revoked or found is None or found.expires < time.monotonic():
                return {"active": False}
            return {"active": True, "username": found.username, "token_type": "Bearer"}


def _handler_for(server: AuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # requests carry tokens: print nothing

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            basic: tuple[str, str] | None = None
            header = self.headers.get("Authorization", "")
            if header.lower().startswith("basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                basic = (unquote(user), unquote(password))
            path = self.path.split("?")[0]
            if path == "/token":
                self._answer(*server.token(form, basic))
            elif path == "/device":
                self._answer(*server.device(form))
            elif path == "/introspect":
                token = form.get("token", "")
                if not token and header.lower().startswith("bearer "):
                    token = header[7:]
                self._answer(200, server.introspect(token))
            else:
                self._answer(404, {"error": "not_found"})

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            header = self.headers.get("Authorization", "")
            if self.path.startswith("/introspect") and header.lower().startswith("bearer "):
                self._answer(200, server.introspect(header[7:]))
            else:
                self._answer(404, {"error": "not_found"})

    return Handler
