"""Which recipients did a bounce say we could not reach? Pure: raw bytes and the parsed message in, a report out.

Two detectors, most trustworthy first:

1. our own reading of RFC 3464 delivery status notifications (``message/delivery-status`` and the
   RFC 6533 ``message/global-delivery-status``): one block per recipient with ``Action`` and ``Status``,
   so a permanent failure (``failed``, 5.x.x) is told apart from a temporary one (``delayed``, 4.x.x)
   and from a delivery receipt (``delivered``/``relayed``/``expanded``);
2. ``X-Failed-Recipients`` (Exim, Gmail), then flufl.bounce (Apache-2.0, maintained by the GNU Mailman
   developers) for the non-standard bounces real servers still send: qmail, old Exchange, Yahoo, Sina…

flufl.bounce's heuristics read free text, so they only run on mail that already looks like a bounce
(null sender, a mailer-daemon sender, a delivery-failure subject, a report): a customer's message that
quotes "could not be delivered" must stay a customer's message.
"""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from inboxd.mail.parse import ParsedMessage

__all__ = ["BounceReport", "analyse_bounce", "looks_like_bounce"]

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
# Senders that only machines use for delivery reports. "ndr" is Exchange-speak for non-delivery report.
_BOUNCE_LOCALPARTS = re.compile(
    r"^(mailer-daemon|mailer_daemon|postmaster|mdaemon|mail\.delivery\.system|ndr|bounce-?notification)$",
    re.IGNORECASE,
)
_BOUNCE_NAMES = re.compile(r"^(mail delivery (system|subsystem)|mailer[- ]daemon|postmaster)$", re.IGNORECASE)
# Subjects of delivery reports in the wild. Wider than classify's subject rule because here it only
# opens the door to a detector that must then also name a failed recipient (or find the returned mail).
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered|non[- ]?delivery|delivery (status notification|failure|has failed|problem|warning|"
    r"report|notification)|delivery status|returned mail|returned to sender|mail delivery (failed|failure|problem)|"
    r"could not be delivered|failure notice|failed mail|mail (system )?error|permanent (delivery )?failure|"
    r"delivery incomplete|unzustellbar|nicht zustellbar|non remis|non distribuable|no se puede entregar|"
    r"no entregado|non recapitabile|mancato recapito|onbestelbaar|niet afgeleverd|não entregue|"
    r"falha na entrega|user unknown|warning: message .* delayed|message delayed|delayed mail)",
    re.IGNORECASE,
)
# A person forwarding a bounce to support ("why does my mail to you bounce?") is a customer.
_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|tr|wg|fw|rv|i|enc|doorst|vs|vb)\s*:", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
# Some MTAs put the SMTP reply code where the enhanced status code belongs ("Status: 553 …").
_SMTP_CODE = re.compile(r"^\s*([245])\d\d\b")
# A dot-atom local part never holds "..": Google Groups and archives elide addresses as "david...@gmail.com".
_ADDRESS = re.compile(r"^(\"[^\"]+\"|[^\s@\"<>()\[\],;:]+)@[a-z0-9.-]+\.[a-z0-9-]+$|^[^\s@]+@\[[0-9.:a-f]+\]$")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$")


@dataclass(frozen=True)
class BounceReport:
    """What a bounce says about our recipients; addresses lower-cased, each listed once."""

    permanent: tuple[str, ...] = ()  # will never be delivered: the customer is unreachable at this address
    temporary: tuple[str, ...] = ()  # delayed or failed for now (4.x.x): the address may work again
    detector: str = ""  # which detector read it, for ``inboxd explain``
    # A DSN that reports success (a delivery receipt) is not a failure: these are its recipients.
    delivered: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether any recipient failed, permanently or for now."""
        return bool(self.permanent or self.temporary)


def looks_like_bounce(msg: ParsedMessage) -> bool:
    """Cheap signs, from the parsed message alone, that this may be a delivery report."""
    if _FORWARD_PREFIX.match(msg.subject) and not _machine_sender(msg):
        return False
    if msg.return_path == "" or _machine_sender(msg):
        return True
    if msg.header("X-Failed-Recipients") is not None:
        return True
    if "multipart/report" in msg.content_types:
        return True
    return bool(_BOUNCE_SUBJECT.search(msg.subject))


def analyse_bounce(raw: bytes, msg: ParsedMessage) -> BounceReport | None:
    """Read the failed recipients out of a bounce; None when this is not a delivery report.

    Never raises: a detector that trips over broken mail means "not recognised", not a lost message.
    """
    try:
        return _analyse(raw, msg)
    except Exception:  # noqa: BLE001 - third-party heuristics on hostile input must not stop the mailbox
        return None


def _analyse(raw: bytes, msg: ParsedMessage) -> BounceReport | None:
    has_dsn = any(ctype in _DSN_TYPES for ctype in msg.content_types)
    plausible = looks_like_bounce(msg)
    if msg.truncated or not (has_dsn or plausible):
        return None
    if _FORWARD_PREFIX.match(msg.subject) and not _machine_sender(msg):
        return None
    tree = email.message_from_bytes(raw, policy=email.policy.compat32)
    if has_dsn:
        report = _rfc3464(tree)
        if report is not None:
            return report
    if not plausible:
        return None
    failed_header = [v for k, v in msg.headers if k.lower() == "x-failed-recipients"]
    if failed_header:
        addresses = _unique(addr for _, addr in getaddresses(failed_header) if "@" in addr)
        if addresses:
            return BounceReport(permanent=addresses, detector="X-Failed-Recipients")
    try:
        temporary_raw, permanent_raw = all_failures(tree)
    except Exception:  # noqa: BLE001 - a detector tripped over odd headers: fall back to the subject rule
        temporary_raw, permanent_raw = frozenset(), frozenset()
    permanent = _unique(a.decode("ascii", "replace") for a in sorted(permanent_raw))
    temporary = _unique(a.decode("ascii", "replace") for a in sorted(temporary_raw))
    if permanent or temporary:
        return BounceReport(permanent=permanent, temporary=temporary, detector="flufl.bounce")
    # No recipient named, but a delivery-failure subject with our mail handed back is a bounce all the
    # same (Exim and qmail variants flufl.bounce cannot read): it must not be acknowledged.
    if _BOUNCE_SUBJECT.search(msg.subject) and (_returns_original(tree) or _machine_sender(msg)
                                                 or msg.return_path == ""):
        return BounceReport(detector="a delivery-failure subject from a mail system")
    return None


def _machine_sender(msg: ParsedMessage) -> bool:
    local = msg.from_addr.partition("@")[0]
    return_local = (msg.return_path or "").partition("@")[0]
    return bool(_BOUNCE_LOCALPARTS.match(local) or _BOUNCE_NAMES.match(msg.from_name.strip('"'))
                or return_local.lower() == "mailer-daemon")


def _own_parts(tree: Message) -> Iterator[Message]:
    """Every part of the message, without descending into attached messages.

    A customer who attaches a bounce they received carries a delivery-status part inside a
    message/rfc822 attachment; that report is about their mail, not ours.
    """
    stack = [tree]
    while stack:
        part = stack.pop()
        yield part
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _returns_original(tree: Message) -> bool:
    return any(p.get_content_type() in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
               for p in _own_parts(tree))


def _rfc3464(tree: Message) -> BounceReport | None:
    """Per-recipient Action and Status from the delivery-status parts (RFC 3464 section 2.3)."""
    permanent: list[str] = []
    temporary: list[str] = []
    delivered: list[str] = []
    found = False
    for part in _own_parts(tree):
        if part.get_content_type() not in _DSN_TYPES:
            continue
        found = True
        for fields in _dsn_blocks(part):
            recipient = _recipient(fields.get("original-recipient")) or _recipient(fields.get("final-recipient"))
            if not recipient:
                continue
            action = fields.get("action", "").strip().lower()
            status = _STATUS.search(fields.get("status", "")) or _SMTP_CODE.search(fields.get("status", ""))
            status_class = status.group(1) if status else ""
            # "failure" and "error" are what some MTAs (old Exchange, OpenSMTPD) write for "failed".
            if action.startswith(("fail", "error")):
                # "failed" is final, but a 4.x.x status says the cause was transient (say, a full
                # mailbox or a timeout): the address itself may work next time.
                (temporary if status_class == "4" else permanent).append(recipient)
            elif action.startswith("delayed"):
                temporary.append(recipient)
            elif action.startswith(("delivered", "relayed", "expanded")):
                delivered.append(recipient)
            elif status_class == "5":
                permanent.append(recipient)
            elif status_class == "4":
                temporary.append(recipient)
    if not found or not (permanent or temporary or delivered):
        return None
    return BounceReport(permanent=_unique(permanent), temporary=_unique(temporary), detector="RFC 3464",
                        delivered=_unique(delivered))


def _dsn_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a delivery-status part, each as lower-cased name → first value."""
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list):
        if encoding not in ("base64", "quoted-printable"):
            # The email package already split the part into header blocks. For subtypes it does not know
            # (message/global-delivery-status) it reads the first block as headers and the rest as a body.
            blocks = []
            for block in payload:
                if isinstance(block, Message):
                    fields: dict[str, str] = {}
                    for name, value in block.raw_items():
                        fields.setdefault(name.lower(), _text(value))
                    blocks.append(fields)
                    # decode=True hands back the 8-bit bytes as they came (get_payload() would replace them).
                    rest = block.get_payload(decode=True) if not block.is_multipart() else None
                    if isinstance(rest, bytes) and rest.strip():
                        blocks.extend(_parse_blocks(rest.decode("utf-8", "replace")))
            return blocks
        # The parser split an encoded part as if it were plain: put the text back together first.
        text = "\n".join(p.as_string() for p in payload if isinstance(p, Message))
    elif isinstance(payload, str):
        text = payload
    else:
        return []
    if encoding == "base64":
        text = base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", text) + "===").decode("utf-8", "replace")
    elif encoding == "quoted-printable":
        text = quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    return _parse_blocks(text)


def _text(value: object) -> str:
    """A header value or body as text: 8-bit bytes (RFC 6533 UTF-8 fields) arrive surrogate-escaped."""
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _parse_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            last = match.group(1).lower()
            current.setdefault(last, match.group(2).strip())
    if current:
        blocks.append(current)
    return blocks


def _recipient(value: str | None) -> str:
    """The address from ``rfc822; user@host`` (or a bare address, as some MTAs write it)."""
    if not value:
        return ""
    kind, sep, address = value.partition(";")
    if not sep:
        address = kind
    elif kind.strip().lower() not in ("rfc822", "utf-8", "x-unknown", ""):
        # An X.400 or other non-Internet address type cannot be one of our customers.
        return ""
    return _valid(address)


def _valid(address: str) -> str:
    """The address lower-cased, or "" when it cannot be a deliverable address."""
    address = address.strip().strip("<>").strip().lower()
    local = address.rpartition("@")[0]
    if not _ADDRESS.match(address) or ".." in local.strip('"') or local.startswith(".") or local.endswith("."):
        return ""
    return address


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for a in (_valid(a) for a in addresses) if a))
