"""SMTP over smtplib: implicit TLS, STARTTLS, or plain on loopback only; AUTH when configured.

smtplib errors leave here translated: 4xx and network trouble → :class:`SmtpError` (retry),
5xx → :class:`PermanentSendError`, rejected credentials → :class:`AuthError`.

Addresses with a non-ASCII domain are sent with the domain in IDNA form; a non-ASCII local part
needs the server's SMTPUTF8 extension, and without it the message fails permanently (it could
never be sent to that address through this server).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from inboxd.errors import AuthError, PermanentSendError, SmtpError
from inboxd.mail.compose import ascii_domain
from inboxd.transport.oauth import xoauth2_string
from inboxd.transport.tlsutil import tls_context

LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # tls | starttls | none
    username: str | None = None
    secret: str | None = None
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None
    # OAuth 2.0: the current access token (True: a new one after a rejected login); used with AUTH XOAUTH2.
    token: Callable[[bool], str] | None = field(default=None, repr=False, compare=False)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"SMTP {action}: login rejected ({exc.smtp_code})") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(400 <= c < 500 for c in codes):
            raise SmtpError(f"SMTP {action}: recipients deferred {codes}") from exc
        raise PermanentSendError(f"SMTP {action}: recipients refused {codes}") from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc)
        if 500 <= exc.smtp_code < 600:
            raise PermanentSendError(f"SMTP {action}: {exc.smtp_code} {text}") from exc
        raise SmtpError(f"SMTP {action}: {exc.smtp_code} {text}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise SmtpError(f"SMTP {action}: {exc}") from exc


def _envelope_address(address: str) -> str:
    try:
        return ascii_domain(address)
    except UnicodeError as exc:
        raise PermanentSendError(f"SMTP send: {address}: the domain is not a valid internationalised name") from exc


class SmtpConnection:
    """One SMTP session, reused for many messages."""

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.security == "none" and settings.host not in LOOPBACK and not settings.host.startswith("127."):
            raise SmtpError("plain SMTP is allowed only on loopback")
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def connect(self) -> SmtpConnection:
        s = self.settings
        with _translated("connect"):
            # Loading the system's CA certificates costs milliseconds of CPU: only for a connection that uses TLS.
            context = tls_context(s.verify_tls, s.ca_file) if s.security in ("tls", "starttls") else None
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                client.ehlo()
                if s.security == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
            if s.token is not None:
                self._oauth_login(client, s.token)
            elif s.username:
                client.login(s.username, s.secret or "")
            self.client = client
        return self

    def _oauth_login(self, client: smtplib.SMTP, token: Callable[[bool], str]) -> None:
        """AUTH XOAUTH2 with the cached token; when the server rejects it, once more with a new one."""
        username = self.settings.username or ""
        for force in (False, True):
            value = token(force)
            try:
                # A 334 challenge after the initial response carries the server's error: answer it empty.
                client.auth("XOAUTH2", lambda challenge=None, v=value: "" if challenge is not None
                            else xoauth2_string(username, v))
                return
            except smtplib.SMTPAuthenticationError:
                if force:
                    raise

    def send(self, mail_from: str, rcpt_to: Sequence[str], raw: bytes) -> None:
        if self.client is None:
            self.connect()
        assert self.client is not None
        sender, recipients = _envelope_address(mail_from), [_envelope_address(a) for a in rcpt_to]
        options: list[str] = []
        with _translated("send"):
            if not all(a.isascii() for a in [sender, *recipients]):
                self.client.ehlo_or_helo_if_needed()
                if not self.client.has_extn("smtputf8"):
                    needs = next(a for a in [sender, *recipients] if not a.isascii())
                    raise PermanentSendError(f"SMTP send: {needs} has a non-ASCII local part and the server "
                                             "does not offer SMTPUTF8")
                options.append("SMTPUTF8")
            refused = self.client.sendmail(sender, recipients, raw, mail_options=options)
        if refused:
            # Some recipients took it: the message is sent; refusals are reported by the caller's log.
            raise PermanentSendError(f"SMTP send: some recipients refused: {sorted(refused)}")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except Exception:  # noqa: BLE001
                client.close()

    def __enter__(self) -> SmtpConnection:
        return self.connect() if self.client is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
