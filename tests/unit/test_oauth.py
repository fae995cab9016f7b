"""OAuth 2.0 token sources: refresh timing, backoff, error translation, and each provider's adapter.

The generic provider (authlib) and the device-code login run against the local authorization server
(``inboxd.dev.oauthserver``). msal and google-auth cannot be pointed at it, so their adapters are checked with their own
seams: msal's ``http_client`` parameter, and google-auth's ``Request`` callable, each answering like the real
service (Microsoft's discovery document and token endpoint; Google's token endpoint checking the signed assertion).
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from inboxd.config import load_config_text
from inboxd.core.backoff import Backoff
from inboxd.dev.oauthserver import AuthServer
from inboxd.errors import ConfigError, TransientError
from inboxd.transport import oauth
from inboxd.transport.oauth import GrantError, Token, TokenSource, needs_refresh
from inboxd.transport.tokens import build_fetch, device_login, state_directory


@pytest.mark.parametrize(("lifetime", "left", "refresh"), [
    (3600, 3600, False),
    (3600, 301, False),
    (3600, 299, True),  # under 5 minutes left
    (600, 61, False),
    (600, 59, True),  # under 10 % of a short lifetime left
    (6, 0.5, True),
    (6, 5, False),
])
def test_needs_refresh(lifetime: float, left: float, refresh: bool) -> None:
    assert needs_refresh(Token("t", 1000 + left, lifetime), 1000) is refresh
    assert needs_refresh(None, 1000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("lifetime_days", "left_days", "soon"), [
    (90, 30, False),
    (90, 6, True),  # under a week
    (14, 6, False),  # a week is more than a fifth of a short sign-in
    (14, 2, True),
])
def test_login_expires_soon(lifetime_days: float, left_days: float, soon: bool) -> None:
    day = 86400.0
    now = 1_000_000_000.0
    expires = now + left_days * day
    assert oauth.login_expires_soon(expires - lifetime_days * day, expires, now) is soon


def test_token_source_caches_and_refreshes_before_expiry() -> None:
    calls: list[int] = []

    def fetch() -> tuple[str, float]:
        calls.append(1)
        return f"token-{len(calls)}", 100.0

    clock = Clock()
    source = TokenSource(fetch, clock=clock)
    assert source.token() == "token-1"
    clock.now += 80
    assert source.token() == "token-1"  # 20 s of 100 left: more than 10 %
    clock.now += 11
    assert source.token() == "token-2"  # 9 s left: refreshed before it expired
    assert source.token(force=True) == "token-3"  # the server refused it: a new one at once


def test_failures_back_off_keep_a_valid_token_and_recover() -> None:
    answers: list[Any] = [("good", 100.0), TransientError("provider down"), ("better", 100.0)]
    calls: list[int] = []
    changes: list[str | None] = []

    def fetch() -> tuple[str, float]:
        calls.append(1)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    clock = Clock()
    source = TokenSource(fetch, clock=clock, backoff=Backoff(base=60.0))
    source.on_change = lambda s: changes.append(s.error)
    assert source.token() == "good"
    clock.now += 95  # due for a refresh, which fails: the old token still works for 5 s
    assert source.token() == "good"
    assert source.error == "provider down" and source.grant_error is None
    assert source.token() == "good" and len(calls) == 2  # backing off: the provider is not asked again at once
    clock.now += 10  # expired and still backing off: the error, without a request
    with pytest.raises(TransientError):
        source.token()
    assert len(calls) == 2
    clock.now += 600
    assert source.token() == "better"
    assert source.error is None
    assert changes == ["provider down", None]


def test_a_revoked_grant_is_a_grant_error() -> None:
    def fetch() -> tuple[str, float]:
        raise GrantError("OAuth token from x: invalid_grant", "invalid_grant")

    source = TokenSource(fetch, clock=Clock())
    with pytest.raises(GrantError):
        source.token()
    assert source.grant_error is not None and source.grant_error.code == "invalid_grant"


def test_token_repr_hides_the_token() -> None:
    assert "secret-value" not in repr(Token("secret-value", 1.0, 1.0))


# --------------------------------------------------------------------------- generic provider (authlib)


@pytest.fixture
def server() -> Any:
    with AuthServer(lifetime=60) as srv:
        srv.add_client("inboxd", "s3cret", "support@example.com")
        yield srv


def test_generic_client_credentials_and_revocation(server: AuthServer) -> None:
    fetch = oauth.generic_fetch(token_endpoint=server.token_endpoint, client_id="inboxd", client_secret="s3cret",
                                scopes=[])
    token, lifetime = fetch()
    assert server.introspect(token)["username"] == "support@example.com" and lifetime == 60
    server.revoke()
    with pytest.raises(GrantError) as caught:
        fetch()
    assert caught.value.code == "invalid_grant" and token not in str(caught.value)
    wrong = oauth.generic_fetch(token_endpoint=server.token_endpoint, client_id="inboxd", client_secret="nope",
                                scopes=[])
    server.restore()
    with pytest.raises(GrantError, match="invalid_client"):
        wrong()


def test_generic_unreachable_is_transient() -> None:
    fetch = oauth.generic_fetch(token_endpoint="http://127.0.0.1:9/token", client_id="a", client_secret="b",
                                scopes=[], timeout=2)
    with pytest.raises(TransientError):
        fetch()


def config_with(auth: str, tmp_path: Path) -> Any:
    (tmp_path / "secret").write_text("s3cret\n")
    text = f"""\
team: {{name: T, timezone: UTC, business_hours: {{mon-fri: "09:00-17:00"}}}}
mailboxes:
  - name: support
    address: support@example.com
    imap: {{host: imap.example.com, username: support@example.com}}
    smtp: {{host: smtp.example.com}}
    auth: {auth}
"""
    return load_config_text(text, base_dir=tmp_path)


def test_device_login_stores_the_refresh_token_privately(server: AuthServer, tmp_path: Path) -> None:
    config = config_with("{type: oauth2, provider: generic, flow: delegated, client_id: inboxd, "
                         f"token_endpoint: {server.token_endpoint}, device_endpoint: {server.device_endpoint}}}",
                         tmp_path)
    mailbox = config.mailbox("support")
    fetch = build_fetch(mailbox, tmp_path)
    with pytest.raises(GrantError, match="inboxd auth login support"):
        fetch()
    out = io.StringIO()
    path = device_login(mailbox, tmp_path, out, sleep=lambda _s: None)
    assert "ABCD-EFGH" in out.getvalue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["refresh_token"]
    assert stored in server.issued and stored not in out.getvalue()
    for _ in range(3):  # the stored refresh token gets access tokens; each rotated one is stored in its place
        token, _ = fetch()
        assert server.introspect(token)["active"]
    assert json.loads(path.read_text())["refresh_token"] != stored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_state_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert state_directory(f"sqlite:///{tmp_path}/inboxd.db") == tmp_path
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/inboxd:/other")
    assert state_directory("postgresql://x@h/db") == Path("/var/lib/inboxd")


@pytest.mark.parametrize(("auth", "problem"), [
    ("{type: oauth2, provider: microsoft, client_id: a, client_secret_file: secret}", "auth.tenant"),
    ("{type: oauth2, provider: microsoft, tenant: t, client_id: a}", "app-only access needs"),
    ("{type: oauth2, provider: generic, client_id: a, client_secret_file: secret}", "auth.token_endpoint"),
    ("{type: oauth2, provider: google}", "service account's JSON key"),
    ("{type: oauth2, provider: google, flow: delegated, client_secret_file: secret}", "auth.flow"),
    ("{type: oauth2, provider: dropbox}", "auth.provider"),
    ("{type: oauth2, provider: generic, client_id: a, token_endpoint: 'http://x/t', client_secret: x}",
     "auth.client_secret"),
])
def test_auth_config_errors_name_the_key(auth: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(auth, tmp_path)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_auth_replaces_the_imap_password_and_legacy_smtp_oauth2_needs_a_token(tmp_path: Path) -> None:
    config = config_with("{type: oauth2, provider: microsoft, tenant: example.com, client_id: a, "
                         "client_secret_file: secret}", tmp_path)
    assert config.mailboxes[0].oauth_username == "support@example.com"
    text = f"""\
team: {{name: T, timezone: UTC, business_hours: {{mon-fri: "09:00-17:00"}}}}
mailboxes:
  - name: support
    address: support@example.com
    imap: {{host: imap.example.com, username: support@example.com, password_file: {tmp_path}/secret}}
    smtp: {{host: smtp.example.com, oauth2: true}}
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert any("smtp.oauth2" in p and "use auth" in p for p in caught.value.problems)


# --------------------------------------------------------------------------- microsoft (msal, its http_client seam)


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code, self.text, self.headers = status, json.dumps(body), {"Content-Type": "application/json"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(self.status_code)


class FakeEntra:
    """Answers like Microsoft Entra ID: the tenant's discovery document and the v2.0 token endpoint."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def get(self, url: str, **_kwargs: Any) -> FakeResponse:
        base = "https://login.microsoftonline.com/contoso.example"
        return FakeResponse(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                                  "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                  "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                                  "issuer": f"{base}/v2.0"})

    def post(self, url: str, data: Any = None, **_kwargs: Any) -> FakeResponse:
        form = data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data or "").items()}
        self.requests.append({"url": url, **form})
        if self.error:
            return FakeResponse(400, {"error": self.error, "error_description": "AADSTS70000: revoked"})
        answer = {"access_token": "ms-access", "token_type": "Bearer", "expires_in": 3599}
        if form.get("grant_type") == "refresh_token":
            answer["refresh_token"] = "rotated-rt"
        return FakeResponse(200, answer)

    def close(self) -> None:
        pass


def test_microsoft_app_only_uses_client_credentials_and_the_exchange_scope() -> None:
    entra = FakeEntra()
    fetch = oauth.microsoft_fetch(tenant="contoso.example", client_id="app-id", client_credential="s3cret",
                                  http_client=entra)
    assert fetch() == ("ms-access", 3599.0)
    (request,) = entra.requests
    assert request["url"].endswith("/contoso.example/oauth2/v2.0/token")
    assert request["grant_type"] == "client_credentials"
    assert request["scope"] == "https://outlook.office365.com/.default"


def test_microsoft_delegated_refresh_and_revocation() -> None:
    entra = FakeEntra()
    saved: list[str] = []
    fetch = oauth.microsoft_fetch(tenant="contoso.example", client_id="app-id", client_credential=None,
                                  refresh_token=lambda: "stored-rt", http_client=entra,
                                  rotated=lambda token, _expires: saved.append(token))
    fetch()
    assert entra.requests[0]["grant_type"] == "refresh_token"
    assert entra.requests[0]["refresh_token"] == "stored-rt"
    assert "IMAP.AccessAsUser.All" in entra.requests[0]["scope"]
    assert saved == ["rotated-rt"]  # the new refresh token is kept: the sign-in stays alive
    entra.error = "invalid_grant"
    with pytest.raises(GrantError) as caught:
        fetch()
    assert caught.value.code == "invalid_grant" and "AADSTS70000" in str(caught.value)
    # msal remembers an invalid_grant for the same refresh token a while (its throttling): a new client here.
    busy = FakeEntra(error="temporarily_unavailable")
    with pytest.raises(TransientError):
        oauth.microsoft_fetch(tenant="contoso.example", client_id="app-id", client_credential="s3cret",
                              http_client=busy)()


# --------------------------------------------------------------------------- google (google-auth, its Request seam)


def service_account_info() -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
            "client_email": "inboxd@p.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}


class FakeGoogle:
    """Google's token endpoint: reads the JWT assertion's claims (subject, scope) and answers."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.claims: list[dict[str, Any]] = []

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 **_kwargs: Any) -> Any:
        import base64

        from google.auth.transport import Response

        form = parse_qs(body.decode() if isinstance(body, bytes) else body)
        payload = form["assertion"][0].split(".")[1]
        self.claims.append(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
        answer = ({"error": self.error, "error_description": "Client is unauthorized"} if self.error
                  else {"access_token": "g-access", "expires_in": 3599, "token_type": "Bearer"})

        class Answer(Response):
            status = 400 if self.error else 200
            headers: dict[str, str] = {"content-type": "application/json"}
            data = json.dumps(answer).encode()

        return Answer()


def test_google_service_account_acts_as_the_mailbox() -> None:
    google = FakeGoogle()
    fetch = oauth.google_fetch(service_account_info=service_account_info(), subject="support@example.com",
                               request=google)
    token, lifetime = fetch()
    assert token == "g-access" and 3500 < lifetime <= 3600
    (claims,) = google.claims
    assert claims["sub"] == "support@example.com"
    assert claims["scope"] == "https://mail.google.com/"
    assert claims["iss"] == "inboxd@p.iam.gserviceaccount.com"
    google.error = "unauthorized_client"  # domain-wide delegation not (or no longer) granted
    with pytest.raises(GrantError) as caught:
        fetch()
    assert caught.value.code == "unauthorized_client"


def test_secrets_are_read_from_the_file(tmp_path: Path, server: AuthServer) -> None:
    config = config_with("{type: oauth2, provider: generic, client_id: inboxd, client_secret_file: secret, "
                         f"token_endpoint: {server.token_endpoint}}}", tmp_path)
    token, _ = build_fetch(config.mailbox("support"), tmp_path)()
    assert server.introspect(token)["active"]
