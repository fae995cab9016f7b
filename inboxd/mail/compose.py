"""Outgoing messages: headers that thread, never loop, and cannot be injected. Pure.

Every message inboxd sends has a deterministic Message-ID derived from its idempotency key,
so a retried send is the same message, and inboxd recognises its own mail wherever it meets it
again (the Sent folder, a Cc copy, a bounce quoting it). The derivation is keyed with a secret
kept in the store: the keys (``ack:1042``) are public knowledge, and a Message-ID anyone could
compute would let a stranger cite it in In-Reply-To and pass for someone on the case.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from typing import Any, cast

_UNSAFE = re.compile(r"[\r\n\x00]")


def deterministic_message_id(idempotency_key: str, domain: str, secret: bytes) -> str:
    """``inboxd.ack.3f9a…@example.com`` — the same key and secret always give the same Message-ID (no brackets).

    The digest is an HMAC-SHA256 of the key with ``secret``: without the secret nobody can tell
    which Message-ID an acknowledgement of case 1042 carries.
    """
    if not secret:
        raise ValueError("a Message-ID needs the store's secret")
    digest = hmac.new(secret, idempotency_key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    kind = re.sub(r"[^a-z0-9]+", "-", idempotency_key.split(":", 1)[0].lower()).strip("-") or "msg"
    return f"inboxd.{kind}.{digest}@{domain}"


def header_safe(value: str) -> str:
    """Collapse anything that could start a new header line (CR, LF, NUL) into a space."""
    return " ".join(_UNSAFE.sub(" ", value).split())


@dataclass(frozen=True)
class OutgoingMail:
    from_addr: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    date: datetime
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str = "auto-replied"
    extra_headers: tuple[tuple[str, str], ...] = ()
    # With an HTML alternative the message is multipart/alternative: the text first, the HTML second.
    html: str | None = None


_UTF8_QP = Charset("utf-8")
_UTF8_QP.header_encoding = QP
_UTF8_QP.body_encoding = QP
# Printable ASCII words with single spaces between them: what compat32 writes as is when the line fits.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")


class _Compat32(Compat32):
    """compat32 with a short cut for the common header: a plain value (:data:`_PLAIN`) whose line fits in
    ``max_line_length`` is written as ``Name: value``, which is what compat32's own folding (through
    :class:`email.header.Header`, the bulk of composing a message) gives for it; anything else is folded by
    compat32 itself. The tests compare the bytes with the stock policy's."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (isinstance(value, str) and len(name) + 2 + len(value) <= (self.max_line_length or 0)
                and name.isascii() and _PLAIN.fullmatch(value)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# cte_type 8bit: a header value carrying raw UTF-8 (surrogate-escaped, see _address_header) is written as
# is (RFC 6532); everything else is 7-bit as before.
_CRLF = _Compat32(linesep="\r\n", cte_type="8bit")
# RFC 5322 2.1.1: a line SHOULD stay within 78 characters and MUST within 998. The generator folds only
# at whitespace, so a word longer than this is carried in encoded words, which fold anywhere.
_LONGEST_WORD = 76


def ascii_domain(address: str) -> str:
    """``jdöe@mächine.example`` → ``jdöe@xn--mchine-hra.example``: the domain in IDNA form.

    The local part is left alone (only SMTPUTF8 can carry a non-ASCII one). Raises UnicodeError
    when the domain cannot be expressed in IDNA.
    """
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _address_header(address: str) -> str:
    """An address for To/Cc: the domain in IDNA form; a non-ASCII local part as raw UTF-8 (RFC 6532)."""
    address = header_safe(address)
    if address.isascii():
        return address
    try:
        address = ascii_domain(address)
    except UnicodeError:
        pass
    # compat32 writes a surrogate-escaped value byte for byte instead of wrapping it in an encoded
    # word (which is not allowed inside an address).
    return address if address.isascii() else address.encode("utf-8").decode("ascii", "surrogateescape")


def _text_header(value: str, name: str = "Subject") -> str | Header:
    value = header_safe(value)
    if value.isascii() and all(len(word) <= _LONGEST_WORD for word in value.split()):
        return value
    # A Header object is folded by the generator knowing the header's name, so the first encoded
    # word stays on the header's own line (a bare encoded string gets pushed to the next one).
    return Header(value, _UTF8_QP, header_name=name)


def compose(mail: OutgoingMail) -> bytes:
    """The message as bytes ready for SMTP (CRLF line endings).

    Built with the compat32 API, which is several times faster than ``EmailMessage``; every
    value passes :func:`header_safe` first, so no input can start a header of its own.
    """
    msg = Message()
    msg["From"] = formataddr((header_safe(mail.from_name), header_safe(mail.from_addr)), charset="utf-8")
    msg["To"] = ", ".join(_address_header(a) for a in mail.to)
    # compat32 accepts a Header object where the stubs say str.
    msg["Subject"] = cast(str, _text_header(mail.subject))
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = f"<{header_safe(mail.message_id)}>"
    if mail.reply_to:
        msg["Reply-To"] = header_safe(mail.reply_to)
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{header_safe(mail.in_reply_to)}>"
    refs = _references(mail.references, mail.in_reply_to)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    # RFC 3834: mark what we send as automatic, and ask other robots not to answer it.
    msg["Auto-Submitted"] = mail.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply" if mail.auto_submitted.startswith("auto-replied") else "bulk"
    for name, value in mail.extra_headers:
        msg[header_safe(name).replace(":", "")] = cast(str, _text_header(value, name))
    msg["MIME-Version"] = "1.0"
    if mail.html is None:
        _set_text(msg, mail.body)
    else:
        # The boundary follows from the Message-ID, so the same message always has the same bytes;
        # "=_" cannot occur in a quoted-printable body.
        boundary = "=_inboxd_" + hashlib.sha256(mail.message_id.encode("utf-8")).hexdigest()[:32]
        msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
        text = Message()
        _set_text(text, mail.body)
        html = Message()
        # Always quoted-printable: HTML lines can be long, and QP keeps them within the limit.
        html.set_payload(mail.html.replace("\r\n", "\n"), _UTF8_QP)
        html.set_type("text/html")
        for part in (text, html):
            del part["MIME-Version"]
            msg.attach(part)
    return msg.as_bytes(policy=_CRLF)


def _set_text(msg: Message, text: str) -> None:
    body = text.replace("\r\n", "\n")
    if body.isascii():
        msg.set_payload(body, "us-ascii")
    else:
        msg.set_payload(body, _UTF8_QP)


def _references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    refs = [header_safe(r) for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(header_safe(in_reply_to))
    # Keep the thread root and the most recent ancestors; very long chains break some servers.
    return refs if len(refs) <= 20 else refs[:1] + refs[-19:]
