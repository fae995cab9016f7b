"""Bytes in, a :class:`ParsedMessage` out — and never an exception.

Real-world mail has broken charsets, undecodable RFC 2047 words, 8-bit headers, missing
Message-IDs and torn MIME. Each of these degrades the result (recorded in ``defects``); none
of them stops the mailbox. Pure: no I/O.

Also handled: a declared MIME boundary the body does not use (the body's own is found), Outlook's TNEF
(``winmail.dat``, listed as an attachment, not decoded), messages carried inside the message (listed as a
``message/rfc822`` attachment named by their subject; their text is not the sender's and stays out of ``text``),
header fields of a megabyte or header blocks of tens of thousands of fields (cut before the standard library,
which is quadratic on them, sees them), nesting deeper than the parser's recursion (the headers are kept).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from inboxd.mail.html import html_to_text
from inboxd.mail.reply import reply_text, reply_text_html

DEFAULT_MAX_PARSE_BYTES = 25 * 1024 * 1024
# The standard library parses header parameters in quadratic time and decodes addresses and encoded words slowly:
# a 1 MB Content-Type takes seconds. No real header is this long, so longer fields are cut before parsing (and the
# cut noted in ``defects``). MIME parameters are held shorter, since they are parsed again for every part.
MAX_HEADER_FIELD_BYTES = 64 * 1024
MAX_MIME_FIELD_BYTES = 8 * 1024
# Past these, a header block is an attack or a broken loop, not mail: the first fields are kept.
MAX_HEADER_FIELDS = 20_000
MAX_HEADER_BLOCK_BYTES = 2 * 1024 * 1024
MAX_PARTS = 2000
MAX_ADDRESS_CHARS = 128 * 1024
_ADDRESS_FIELDS = frozenset({b"from", b"to", b"cc", b"bcc", b"reply-to", b"sender", b"resent-to", b"resent-cc"})
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_MIME_FIELD = re.compile(rb"(?im)^content-(?:type|disposition)[ \t]*:")
_MSGID = re.compile(r"<([^<>\s]+)>")
_WS = re.compile(r"\s+")
_UNFOLD = re.compile(r"\r?\n[ \t]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMessage:
    """What inboxd needs to know about one message, decoded."""

    message_id: str  # without angle brackets; generated from the content hash when missing
    content_hash: str  # sha256 of the body bytes: the same message met in two folders hashes the same
    size: int
    from_addr: str  # lower-cased address, "" when missing
    from_name: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    return_path: str | None = None  # None: header absent; "": the null sender <>
    subject: str = ""
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    text: str = ""
    html_only: bool = False
    attachments: tuple[Attachment, ...] = ()
    content_types: tuple[str, ...] = ()
    # Message-IDs of messages carried inside this one: the original in a bounce (message/rfc822,
    # text/rfc822-headers), a forwarded message. How inboxd recognises a bounce of its own mail.
    embedded_message_ids: tuple[str, ...] = ()
    defects: tuple[str, ...] = field(default=())
    truncated: bool = False  # over the size limit: headers only
    # The new words (quotes, signatures and mobile footers removed; see mail/reply.py), computed once here so that
    # classification, commitments and ``explain`` agree and none of them pays for it again.
    reply_text: str = ""

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), decoded; None when absent."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def content_hash(raw: bytes) -> str:
    """Hash the body (after the header block), so relays adding headers do not change it."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(sep)
        if index >= 0:
            return hashlib.sha256(raw[index + len(sep):].replace(b"\r\n", b"\n")).hexdigest()
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def parse_message(raw: bytes, *, max_bytes: int = DEFAULT_MAX_PARSE_BYTES) -> ParsedMessage:
    """Parse raw message bytes. Never raises: problems become ``defects``."""
    try:
        return _parse(raw, max_bytes)
    except Exception as exc:  # noqa: BLE001 - a last guard: one bad message must not stop the mailbox
        return ParsedMessage(
            message_id=f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.inboxd.invalid",
            content_hash=content_hash(raw), size=len(raw), from_addr="", from_name="",
            defects=(f"unparseable: {exc!r}",),
        )


def _parse(raw: bytes, max_bytes: int) -> ParsedMessage:
    defects: list[str] = []
    body_hash = content_hash(raw)
    truncated = len(raw) > max_bytes
    body_parsed = not truncated
    source = raw
    if truncated:
        # Only the header block is parsed for an oversized message; it is still recorded and threaded.
        end, _ = _header_end(raw)
        source = raw[: end if end >= 0 else 65536]
        defects.append(f"message of {len(raw)} bytes is over the {max_bytes}-byte limit: body not parsed")
    try:
        source = _tame_headers(source, defects)
    except Exception as exc:  # noqa: BLE001
        defects.append(f"header block not checked: {exc!r}")
    try:
        # compat32 keeps header values raw; decoding them ourselves is several times faster than
        # the header registry of policy.default and more forgiving of broken encoded words.
        msg = email.message_from_bytes(source, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser must never take the mailbox down
        # Nesting a thousand levels deep exhausts the parser's recursion: the headers alone still thread and
        # classify the message.
        defects.append(f"unparseable: {exc!r}")
        end, _ = _header_end(source)
        try:
            msg = email.message_from_bytes(source[:end] if end >= 0 else b"", policy=email.policy.compat32)
        except Exception:  # noqa: BLE001
            msg = email.message_from_bytes(b"", policy=email.policy.compat32)
        body_parsed = False
    headers, undecoded = _decoded_headers(msg, defects)

    def first(name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in headers if k.lower() == wanted), "")

    def raw_all(name: str) -> list[str]:
        # Address fields are read before RFC 2047 decoding: an encoded word is a display name and nothing else,
        # so "=?utf-8?Q?a=40b.example?= <c@d.example>" is c@d.example, whatever the name decodes to.
        wanted = name.lower()
        return [v for k, v in undecoded if k.lower() == wanted]

    message_id = _first_msgid(first("Message-ID"))
    if not message_id:
        message_id = f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.inboxd.invalid"
        defects.append("missing Message-ID: generated from the content hash")
    from_name, from_addr = _one_address(next(iter(raw_all("From")), ""), defects)
    return_path_raw = next(iter(raw_all("Return-Path")), "")
    return_path: str | None = None
    if any(k.lower() == "return-path" for k, _ in headers):
        return_path = parseaddr(return_path_raw)[1].strip().lower() if return_path_raw.strip() != "<>" else ""
    body = _body(msg, source, defects) if body_parsed else _Body()
    embedded = _embedded_message_ids(msg) if body_parsed else ()
    try:
        new_words = reply_text_html(body.html, text=body.text) if body.html_only else reply_text(body.text)
    except Exception as exc:  # noqa: BLE001 - the full text is still there for staff to read
        defects.append(f"reply text not extracted: {exc!r}")
        new_words = body.text
    return ParsedMessage(
        message_id=message_id,
        content_hash=body_hash,
        size=len(raw),
        from_addr=from_addr,
        from_name=from_name,
        to=_addresses(raw_all("To")),
        cc=_addresses(raw_all("Cc")),
        reply_to=_addresses(raw_all("Reply-To"), defects),
        return_path=return_path,
        subject=_WS.sub(" ", first("Subject")).strip(),
        date=_date(first("Date"), defects),
        in_reply_to=tuple(_MSGID.findall(first("In-Reply-To"))),
        references=tuple(_MSGID.findall(" ".join(v for k, v in headers if k.lower() == "references"))),
        headers=headers,
        text=body.text,
        html_only=body.html_only,
        attachments=body.attachments,
        content_types=body.types,
        embedded_message_ids=embedded,
        defects=tuple(defects),
        truncated=truncated,
        reply_text=new_words,
    )


def _decoded_headers(msg: Message, defects: list[str]) -> tuple[tuple[tuple[str, str], ...],
                                                                 tuple[tuple[str, str], ...]]:
    """The header fields decoded for reading, and the same fields unfolded but with encoded words left as they are."""
    result: list[tuple[str, str]] = []
    undecoded: list[tuple[str, str]] = []
    for name, raw_value in msg.raw_items():
        text = str(raw_value)
        # 8-bit bytes in headers surface as surrogate escapes: read them as UTF-8, else Windows-1252.
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            data = text.encode("utf-8", "surrogateescape")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252", "replace")
        text = _UNFOLD.sub(" ", text).strip()
        undecoded.append((str(name), text.replace("\r", " ").replace("\n", " ")))
        if "=?" in text:
            text = _decode_words(text, name, defects)
        result.append((str(name), text.replace("\r", " ").replace("\n", " ")))
    return tuple(result), tuple(undecoded)


def _decode_words(value: str, name: str, defects: list[str]) -> str:
    """Decode RFC 2047 encoded words; an unknown charset or broken word degrades to readable text."""
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001
        defects.append(f"undecodable header {name}")
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        for candidate in (charset or "ascii", "utf-8", "cp1252"):
            try:
                out.append(chunk.decode(candidate))
                break
            except (LookupError, ValueError):  # UnicodeError (idna, punycode) is no UnicodeDecodeError
                continue
        else:
            out.append(chunk.decode("latin-1"))
        if charset and charset.lower() not in _KNOWN_CHARSETS and not _charset_known(charset):
            defects.append(f"unknown charset {charset!r} in header {name}")
    # decode_header drops the whitespace between an encoded word and plain text: put it back.
    return "".join(_join_parts(out, parts))


def _join_parts(out: list[str], parts: list[tuple[bytes | str, str | None]]) -> list[str]:
    joined: list[str] = []
    for index, text in enumerate(out):
        if index and isinstance(parts[index][0], bytes) != isinstance(parts[index - 1][0], bytes):
            if not (joined and joined[-1].endswith(" ")) and not text.startswith(" "):
                joined.append(" ")
        joined.append(text)
    return joined


_KNOWN_CHARSETS = {"utf-8", "us-ascii", "ascii", "iso-8859-1", "iso-8859-15", "windows-1252"}


def _charset_known(charset: str) -> bool:
    import codecs

    try:
        codecs.lookup(charset)
        return True
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return False


def _first_msgid(value: str) -> str:
    found = _MSGID.findall(value)
    if found:
        return str(found[0])
    value = value.strip()
    return value if value and " " not in value else ""


def _one_address(value: str, defects: list[str]) -> tuple[str, str]:
    name, addr = parseaddr(value)
    return display_name(name, defects), addr.strip().lower()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What inboxd will send mail to: a dot-atom local part (no spaces, quotes or brackets) at a host name with a dot
# (letters, digits and hyphens, in any script).
_LOCAL_PART = re.compile(r"^[^\s@<>()\[\],;:\\\"]+$")


def display_name(value: str, defects: list[str] | None = None) -> str:
    """A display name for showing: encoded words decoded, no control character (CR, LF, NUL…) left in it.

    It is only ever shown (in a template, in ``inboxd show``), never read as an address.
    """
    if "=?" in value:
        value = _decode_words(value, "display name", defects if defects is not None else [])
    return " ".join(_CONTROL.sub(" ", value).split())


def address_problem(address: str) -> str | None:
    """Why inboxd must not send mail to this address (no domain, control characters, spaces…); None: it may."""
    if not address:
        return "no address"
    if _CONTROL.search(address):
        return "control characters in the address"
    if any(ch.isspace() for ch in address):
        return "spaces in the address"
    if "@" not in address or not address.rpartition("@")[2]:
        return "no domain in the address"
    if "=?" in address:
        # RFC 2047 forbids encoded words in an address; a reader's client would still show one decoded.
        return "an encoded word in the address"
    local, _, domain = address.rpartition("@")
    labels = domain.split(".")
    if (not _LOCAL_PART.match(local) or ".." in local or local.startswith(".") or local.endswith(".")
            or len(labels) < 2 or not all(labels) or not all(_host_char(ch) for ch in domain.replace(".", ""))):
        return "not a plain mailbox address"
    return None


def _host_char(ch: str) -> bool:
    return (ch.isascii() and (ch.isalnum() or ch == "-")) or (not ch.isascii() and ch.isalpha())


def _addresses(values: Iterable[str], defects: list[str] | None = None) -> tuple[str, ...]:
    # Address parsing is slow (a second for 100,000 addresses); a list longer than this is a mass mailing, whose
    # first few thousand recipients say all inboxd needs to know.
    kept: list[str] = []
    size = 0
    for value in values:
        if size + len(value) > MAX_ADDRESS_CHARS:
            kept.append(value[:max(0, MAX_ADDRESS_CHARS - size)].rpartition(",")[0])
            break
        kept.append(value)
        size += len(value)
    try:
        pairs = getaddresses(kept)
    except Exception:  # noqa: BLE001
        return ()
    found = [addr.strip().lower() for _, addr in pairs if "@" in addr or (defects is not None and addr.strip())]
    if defects is None:
        return tuple(found)
    # Reply-To is where mail goes: an address nobody can receive at is dropped (and said so), never sent to.
    sendable = tuple(a for a in found if address_problem(a) is None)
    if len(sendable) < len(found):
        defects.append("Reply-To address dropped: " + "; ".join(
            f"{a[:80]!r} ({address_problem(a)})" for a in found if address_problem(a) is not None))
    return sendable


def _date(value: str, defects: list[str]) -> datetime | None:
    if not value.strip():
        # The store falls back to the time the message arrived; the note says why that time was used.
        defects.append("missing Date header")
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # "Date: 1 Jan 99999999999" overflows
        defects.append("unparseable Date header")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _part_text(part: Message, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, ValueError):  # UnicodeError (idna, punycode) is no UnicodeDecodeError
            continue
    defects.append(f"undecodable text in charset {charset!r}")
    return payload.decode("latin-1", "replace")


@dataclass(frozen=True)
class _Body:
    text: str = ""
    html: str = ""  # the HTML the text came from, for an HTML-only message
    html_only: bool = False
    attachments: tuple[Attachment, ...] = ()
    types: tuple[str, ...] = ()


def _body(msg: Message, source: bytes, defects: list[str]) -> _Body:
    """The message's own text and its attachments.

    A message carried inside this one (a forward as attachment, the original in a bounce) is listed as one
    attachment and its text is not read: its words are not the sender's. Its content types are still listed, since
    classification looks at them.
    """
    msg = _repaired(msg, source, defects)
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    types: list[str] = []
    # Depth first, in document order, without recursion: a message nested a thousand levels deep must not
    # exhaust the stack. The flag tells parts inside a carried message from the message's own.
    stack: list[tuple[Message, bool]] = [(msg, False)]
    while stack:
        if len(types) >= MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts: the rest not read")
            break
        part, carried = stack.pop()
        try:
            ctype = part.get_content_type()
            types.append(ctype)
            if part.is_multipart():
                children = [child for child in part.get_payload() if isinstance(child, Message)]
                if ctype in ("message/rfc822", "message/global") and not carried:
                    attachments.append(_carried_message(part, children, defects))
                # message/delivery-status and the like hold machine-readable blocks, not anyone's words.
                inside = carried or part.get_content_maintype() == "message"
                stack.extend((child, inside) for child in reversed(children))
                continue
            if carried:
                continue
            disposition = (part.get_content_disposition() or "").lower()
            filename = part.get_filename()
            if filename and "=?" in filename:
                # Outlook and Gmail put RFC 2047 words inside the quoted filename parameter.
                filename = _decode_words(filename, "filename", defects)
            if ctype in _TNEF_TYPES or (filename or "").lower() == "winmail.dat":
                # Outlook's TNEF wrapper: no maintained decoder exists (tnefparse saw its last release in 2021), so
                # it is listed as what it is, and staff are told that files may be packed inside.
                payload = part.get_payload(decode=True)
                size = len(payload) if isinstance(payload, bytes) else 0
                attachments.append(Attachment(str(filename or "winmail.dat"), ctype, size))
                defects.append("TNEF attachment (winmail.dat): Outlook rich text and any files inside not decoded")
                continue
            if disposition == "attachment" or (filename and not ctype.startswith("text/")):
                payload = part.get_payload(decode=True)
                size = len(payload) if isinstance(payload, bytes) else 0
                attachments.append(Attachment(str(filename or ""), ctype, size))
                continue
            if ctype == "text/plain":
                plain.append(_part_text(part, defects))
            elif ctype == "text/html":
                html.append(_part_text(part, defects))
        except Exception as exc:  # noqa: BLE001
            defects.append(f"unreadable part: {exc!r}")
    _note_mime_defects(msg, defects)
    if plain:
        return _Body("\n".join(plain).replace("\r\n", "\n").strip(), "", False, tuple(attachments), tuple(types))
    if html:
        markup = "\n".join(html)
        return _Body(html_to_text(markup), markup, True, tuple(attachments), tuple(types))
    return _Body("", "", False, tuple(attachments), tuple(types))


def _carried_message(part: Message, children: list[Message], defects: list[str]) -> Attachment:
    """A message/rfc822 part as staff see it in their client: an attachment named by its subject."""
    inner = children[0] if children else None
    name = ""
    size = 0
    if inner is not None:
        name = _WS.sub(" ", _UNFOLD.sub(" ", str(inner.get("Subject", "")))).strip()
        if "=?" in name:
            name = _decode_words(name, "Subject of an attached message", defects)
        try:
            size = len(inner.as_bytes())
        except Exception:  # noqa: BLE001 - a size is a courtesy; the message is listed without one
            size = 0
    return Attachment(name or str(part.get_filename() or ""), part.get_content_type(), size)


_BOUNDARY_LINE = re.compile(rb"^--([!-~]{1,70}?)(?:--)?[ \t]*\r?$", re.MULTILINE)


def _repaired(msg: Message, source: bytes, defects: list[str]) -> Message:
    """A multipart message whose declared boundary never occurs, re-read with the boundary the body uses.

    Mailers that rewrite a message now and then leave the old boundary in the header, or drop the parameter;
    the parts are still there, each opened by a ``--boundary`` line.
    """
    if msg.get_content_maintype() != "multipart" or msg.is_multipart():
        return msg
    end, separator = _header_end(source)
    body = source[end + len(separator):] if end >= 0 else b""
    found = _BOUNDARY_LINE.search(body)
    if found:
        boundary = found.group(1)
        try:
            rebuilt = email.message_from_bytes(
                b"Content-Type: " + msg.get_content_type().encode("ascii", "replace") + b'; boundary="' + boundary
                + b'"\n\n' + body,
                policy=email.policy.compat32)
        except Exception:  # noqa: BLE001
            rebuilt = None
        if rebuilt is not None and rebuilt.is_multipart():
            defects.append("MIME boundary of the header not found in the body: parts read by the boundary used there")
            return rebuilt
    defects.append("MIME boundary not found: the body could not be split into parts")
    return msg


def _note_mime_defects(msg: Message, defects: list[str]) -> None:
    """The standard library's own findings (missing close boundary, bad base64…), once each, by name."""
    names: dict[str, None] = {}
    try:
        for part in msg.walk():
            for defect in getattr(part, "defects", ()):
                names[type(defect).__name__] = None
            if len(names) > 20:
                break
    except Exception:  # noqa: BLE001
        return
    if names:
        defects.append("MIME defects: " + ", ".join(names))


def _header_end(raw: bytes) -> tuple[int, bytes]:
    """Where the header block ends, and the blank line that ends it; (-1, b"") when there is none."""
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, b"\n\n"
    if crlf >= 0:
        return crlf, b"\r\n\r\n"
    return -1, b""


_FIELD = re.compile(rb"^[^ \t\r\n][^\n]*(?:\n[ \t][^\n]*)*", re.MULTILINE)
_FOLDED_MIME_FIELD = re.compile(rb"^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*",
                                re.MULTILINE | re.IGNORECASE)


def _tame_headers(raw: bytes, defects: list[str]) -> bytes:
    """Cut header fields no real mailer writes down to a size the standard library parses quickly."""
    end, _ = _header_end(raw)
    head, rest = (raw[:end], raw[end:]) if end >= 0 else (raw, b"")

    def cut_field(field: bytes) -> bytes:
        name = field.split(b":", 1)[0].strip().lower()
        limit = MAX_MIME_FIELD_BYTES if name in (b"content-type", b"content-disposition") else MAX_HEADER_FIELD_BYTES
        if len(field) <= limit:
            return field
        defects.append(f"header {name.decode('ascii', 'replace')[:40]} of {len(field)} bytes cut to {limit}")
        # Cut between two addresses or two words, so that what is kept still parses.
        cut = field.rfind(b"," if name in _ADDRESS_FIELDS else b" ", limit // 2, limit)
        return field[:cut if cut > 0 else limit].rstrip(b"\r\n")

    # A header block shorter than the smallest limit cannot hold a field over it: no need to look.
    if len(head) > MAX_MIME_FIELD_BYTES:
        fields: list[bytes] = []
        size = 0
        for match in _FIELD.finditer(head):
            if len(fields) >= MAX_HEADER_FIELDS or size >= MAX_HEADER_BLOCK_BYTES:
                defects.append(f"header block over {MAX_HEADER_FIELDS} fields or {MAX_HEADER_BLOCK_BYTES} bytes: "
                               "the fields after that not read")
                break
            field = cut_field(match.group(0))
            fields.append(field)
            size += len(field)
        head = b"\n".join(fields)
    # Part headers live in the body; only their MIME fields are parsed, and only those are cut.
    if len(rest) > MAX_MIME_FIELD_BYTES and _MIME_FIELD.search(rest):
        rest = _FOLDED_MIME_FIELD.sub(lambda match: cut_field(match.group(0)), rest)
    return head + rest


_HEADER_MSGID = re.compile(r"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


def _embedded_message_ids(msg: Message) -> tuple[str, ...]:
    found: list[str] = []
    try:
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "message/rfc822" or ctype == "message/global":
                payload = part.get_payload()
                for inner in payload if isinstance(payload, list) else []:
                    if isinstance(inner, Message):
                        found.extend(_MSGID.findall(str(inner.get("Message-ID", ""))))
            elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
                raw = part.get_payload(decode=True)
                if isinstance(raw, bytes):
                    found.extend(_HEADER_MSGID.findall(raw.decode("utf-8", "replace")))
    except Exception:  # noqa: BLE001
        pass
    return tuple(dict.fromkeys(found))[:20]
