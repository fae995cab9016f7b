"""Bytes in, a :class:`ParsedMessage` out — and never an exception.

Real-world mail has broken charsets, undecodable RFC 2047 words, 8-bit headers, missing
Message-IDs and torn MIME. Each of these degrades the result (recorded in ``defects``); none
of them stops the mailbox. Pure: no I/O.
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
from html.parser import HTMLParser

DEFAULT_MAX_PARSE_BYTES = 25 * 1024 * 1024
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
    defects: list[str] = []
    body_hash = content_hash(raw)
    truncated = len(raw) > max_bytes
    source = raw
    if truncated:
        # Only the header block is parsed for an oversized message; it is still recorded and threaded.
        end = raw.find(b"\r\n\r\n")
        end = raw.find(b"\n\n") if end < 0 else end
        source = raw[: end if end >= 0 else 65536]
        defects.append(f"message of {len(raw)} bytes is over the {max_bytes}-byte limit: body not parsed")
    try:
        # compat32 keeps header values raw; decoding them ourselves is several times faster than
        # the header registry of policy.default and more forgiving of broken encoded words.
        msg = email.message_from_bytes(source, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser must never take the mailbox down
        defects.append(f"unparseable: {exc!r}")
        msg = email.message_from_bytes(b"", policy=email.policy.compat32)
    headers = _decoded_headers(msg, defects)

    def first(name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in headers if k.lower() == wanted), "")

    message_id = _first_msgid(first("Message-ID"))
    if not message_id:
        message_id = f"{hashlib.sha256(raw).hexdigest()[:32]}@generated.inboxd.invalid"
        defects.append("missing Message-ID: generated from the content hash")
    from_name, from_addr = _one_address(first("From"))
    return_path_raw = first("Return-Path")
    return_path: str | None = None
    if any(k.lower() == "return-path" for k, _ in headers):
        return_path = parseaddr(return_path_raw)[1].strip().lower() if return_path_raw.strip() != "<>" else ""
    text, html_only, attachments, types = ("", False, (), ()) if truncated else _body(msg, defects)
    embedded = () if truncated else _embedded_message_ids(msg)
    return ParsedMessage(
        message_id=message_id,
        content_hash=body_hash,
        size=len(raw),
        from_addr=from_addr,
        from_name=from_name,
        to=_addresses(h for k, h in headers if k.lower() == "to"),
        cc=_addresses(h for k, h in headers if k.lower() == "cc"),
        reply_to=_addresses(h for k, h in headers if k.lower() == "reply-to"),
        return_path=return_path,
        subject=_WS.sub(" ", first("Subject")).strip(),
        date=_date(first("Date"), defects),
        in_reply_to=tuple(_MSGID.findall(first("In-Reply-To"))),
        references=tuple(_MSGID.findall(" ".join(v for k, v in headers if k.lower() == "references"))),
        headers=headers,
        text=text,
        html_only=html_only,
        attachments=attachments,
        content_types=types,
        embedded_message_ids=embedded,
        defects=tuple(defects),
        truncated=truncated,
    )


def _decoded_headers(msg: Message, defects: list[str]) -> tuple[tuple[str, str], ...]:
    result: list[tuple[str, str]] = []
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
        if "=?" in text:
            text = _decode_words(text, name, defects)
        result.append((str(name), text.replace("\r", " ").replace("\n", " ")))
    return tuple(result)


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


def _one_address(value: str) -> tuple[str, str]:
    name, addr = parseaddr(value)
    return name.strip(), addr.strip().lower()


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    try:
        pairs = getaddresses(list(values))
    except Exception:  # noqa: BLE001
        return ()
    return tuple(addr.strip().lower() for _, addr in pairs if "@" in addr)


def _date(value: str, defects: list[str]) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
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


def _body(msg: Message, defects: list[str]) -> tuple[str, bool, tuple[Attachment, ...], tuple[str, ...]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    types: list[str] = []
    try:
        parts = list(msg.walk())
    except Exception as exc:  # noqa: BLE001
        defects.append(f"broken MIME structure: {exc!r}")
        parts = [msg]
    for part in parts:
        try:
            ctype = part.get_content_type()
            types.append(ctype)
            if part.is_multipart():
                continue
            disposition = (part.get_content_disposition() or "").lower()
            filename = part.get_filename()
            if filename and "=?" in filename:
                # Outlook and Gmail put RFC 2047 words inside the quoted filename parameter.
                filename = _decode_words(filename, "filename", defects)
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
    if plain:
        return "\n".join(plain).replace("\r\n", "\n").strip(), False, tuple(attachments), tuple(types)
    if html:
        return html_to_text("\n".join(html)), True, tuple(attachments), tuple(types)
    return "", False, tuple(attachments), tuple(types)


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


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text from HTML: block elements become line breaks, scripts and styles vanish."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001
        return re.sub(r"<[^>]+>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(extractor.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
