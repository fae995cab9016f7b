"""Reports machines send about mail: abuse feedback, DMARC, TLS-RPT, gateway delivery notices. Pure.

None of these may ever be acknowledged: an acknowledgement to an abuse desk or a report address is a message
nobody reads at best, and at worst mail that gets our server listed. Read, strongest sign first:

- ARF (RFC 5965) abuse and spam feedback, with or without ``report-type=feedback-report``: a
  ``message/feedback-report`` part of the message's own (not inside a message it carries); DMARC failure reports
  (RFC 6591) are ARF with ``Feedback-Type: auth-failure``, or the same text in a plain message;
- TLS-RPT (RFC 8460): ``report-type=tlsrpt``, ``application/tlsrpt+json``/``+gzip``, ``TLS-Report-Domain``/
  ``TLS-Report-Submitter`` headers;
- DMARC aggregate reports (RFC 7489 section 7.2.1.1): the ``Report Domain: … Submitter: …`` subject, or an
  attachment named ``receiver!domain!begin!end[!id].xml.gz`` (and ``.json.gz`` for TLS-RPT);
- provider feedback loops without ARF (Microsoft's JMRP and the like): a feedback-loop sender carrying the
  complained-about message;
- delivery notices of legacy gateways that carry none of the standard headers (no null sender, no
  ``mailer-daemon``): a delivery-failure subject *and* a text that opens with a gateway's sentence.

A person forwarding a report ("Fwd: Report Domain: …") wrote their own words and is answered as a customer.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import Message
from typing import Literal

from inboxd.mail.parse import ParsedMessage

ReportKind = Literal["auto_reply", "bounce"]

_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|tr|wg|fw|rv|i|enc|doorst|vs|vb)\s*:", re.IGNORECASE)
# RFC 7489 7.2.1.1 and RFC 8460 5.3 give reports this subject; people do not write it.
_REPORT_SUBJECT = re.compile(r"^\s*report\s+domain:\s*\S+\s+submitter:\s*\S+", re.IGNORECASE)
# receiver!policy-domain!begin!end[!unique-id].xml(.gz|.zip) — and .json(.gz) for TLS-RPT.
_REPORT_FILENAME = re.compile(r"^[^!\s/]+![^!\s/]+!\d{9,11}!\d{9,11}(![^\s/]*)?\.(xml|json)(\.gz|\.gzip|\.zip)?$",
                              re.IGNORECASE)
_TLSRPT_TYPES = ("application/tlsrpt+json", "application/tlsrpt+gzip")
_FBL_LOCALPARTS = re.compile(r"^(fbl|feedback-?loop|feedback|scomp|complaints?|arf|abuse-?reports?|jmrp|spam-?reports?)"
                             r"([+\-._].*)?$", re.IGNORECASE)
_FBL_DOMAIN = re.compile(r"(^|[.\-])(fbl|arf|feedback|feedbackloop)[0-9-]*\.|fbl\.", re.IGNORECASE)
_JMRP_SUBJECT = re.compile(r"^\s*complaint about (your )?message( from \S+)?\s*$", re.IGNORECASE)
_AUTH_FAILURE = re.compile(r"(?im)^\s*feedback-type:\s*auth-failure\b|\bauthentication[- ]failure report\b|"
                           r"^\s*this is an? (e-?mail )?(abuse|spf/dkim authentication-failure|authentication failure) "
                           r"report\b")
_FAILURE_SUBJECT = re.compile(r"\bdmarc\b.{0,40}\b(failure|forensic)\b.{0,10}\breport\b", re.IGNORECASE)
# Delivery-failure subjects, in the words gateways use.
_GATEWAY_SUBJECT = re.compile(
    r"(undeliver|not delivered|delivery (status notification|failure|has failed|problem|warning|report|notification)|"
    r"returned mail|could not be delivered|failure notice|message status|delayed|unzustellbar|nicht zustellbar|"
    r"non remis|no entregado|non recapitabile|onbestelbaar|não entregue)",
    re.IGNORECASE,
)
# The sentences a delivery notice opens with; a person describing a bounce opens with a greeting or "my mail…".
_GATEWAY_OPENING = re.compile(
    r"^\s*(your message\b|the (original )?message (that you sent|was received at)|this is a warning message only|"
    r"delivery to the following recipients?\b|"
    r"the following (recipient\(s\)|recipients?|addresses) (could not|had|failed)|"
    r"-+\s*the following addresses had|this is the mail system at|this message was created automatically|"
    r"i'?m sorry to have to inform you that your message could not|your message did not reach|"
    r"message (could not be|was not) delivered|delivery has failed|ihre nachricht (konnte|wurde)|"
    r"votre message n'a pas pu|su mensaje no (pudo|ha podido))",
    re.IGNORECASE,
)
_HINT_TYPES = ("message/feedback-report", *_TLSRPT_TYPES)


def machine_report(msg: ParsedMessage, raw: bytes | None = None) -> tuple[ReportKind, str] | None:
    """The kind and reason when ``msg`` is a report a machine sent about mail; None otherwise. Never raises."""
    try:
        return _report(msg, raw)
    except Exception:  # noqa: BLE001 - a detector tripping over hostile mail means "not recognised"
        return None


def _report(msg: ParsedMessage, raw: bytes | None) -> tuple[ReportKind, str] | None:
    ctype = (msg.header("Content-Type") or "").lower()
    report_type = _param(ctype, "report-type") if ctype.startswith("multipart/report") else ""
    if report_type == "feedback-report" or (ctype.startswith("multipart/report") and not report_type
                                           and "message/feedback-report" in msg.content_types):
        return "auto_reply", _arf_reason(msg, raw)
    if report_type == "tlsrpt":
        return "auto_reply", "a TLS-RPT report (RFC 8460)"
    if msg.header("TLS-Report-Domain") is not None or msg.header("TLS-Report-Submitter") is not None:
        return "auto_reply", "a TLS-RPT report (TLS-Report-Domain header)"
    forwarded = bool(_FORWARD_PREFIX.match(msg.subject))
    own_types = {a.content_type for a in msg.attachments}
    if own_types & set(_TLSRPT_TYPES):
        return "auto_reply", "a TLS-RPT report (application/tlsrpt attachment)"
    if "message/feedback-report" in msg.content_types and raw is not None and _own_feedback_part(raw):
        return "auto_reply", _arf_reason(msg, raw)
    if _REPORT_SUBJECT.match(msg.subject):
        json = any(a.filename.lower().endswith((".json", ".json.gz")) for a in msg.attachments)
        what = "TLS-RPT" if json else "DMARC"
        return "auto_reply", f"a {what} aggregate report (RFC 7489 report subject)"
    names = [a.filename for a in msg.attachments if _REPORT_FILENAME.match(a.filename.strip())]
    if names and not forwarded:
        what = "TLS-RPT" if ".json" in names[0].lower() else "DMARC aggregate"
        return "auto_reply", f"a {what} report (attachment {names[0][:120]})"
    if not forwarded and _failure_text(msg):
        return "auto_reply", "a DMARC failure report (RFC 6591) in plain text"
    if not forwarded and _feedback_loop(msg):
        return "auto_reply", f"a feedback-loop complaint from {msg.from_addr}"
    if not forwarded and _gateway_notice(msg):
        return "bounce", "a delivery notice from a mail gateway (no standard bounce headers)"
    return None


def _param(ctype: str, name: str) -> str:
    found = re.search(rf"\b{re.escape(name)}\s*=\s*\"?([a-z0-9+._-]+)", ctype)
    return found.group(1) if found else ""


def _arf_reason(msg: ParsedMessage, raw: bytes | None) -> str:
    head = raw[:200_000].decode("utf-8", "replace") if raw is not None else msg.text[:4000]
    if re.search(r"(?im)^\s*feedback-type:\s*auth-failure\b", head) or _FAILURE_SUBJECT.search(msg.subject):
        return "a DMARC failure report (RFC 6591, ARF auth-failure)"
    return "an abuse/spam feedback report (ARF, RFC 5965)"


def _own_parts(tree: Message) -> Iterator[Message]:
    stack = [tree]
    while stack:
        part = stack.pop()
        yield part
        if part.get_content_type() in ("message/rfc822", "message/global"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and part.get_content_maintype() == "multipart":
            stack.extend(p for p in payload if isinstance(p, Message))


def _own_feedback_part(raw: bytes) -> bool:
    """A message/feedback-report part of the message's own, not one inside a forwarded message."""
    tree = email.message_from_bytes(raw, policy=email.policy.compat32)
    return any(p.get_content_type() == "message/feedback-report" for p in _own_parts(tree))


def _failure_text(msg: ParsedMessage) -> bool:
    if not _FAILURE_SUBJECT.search(msg.subject):
        return False
    return bool(_AUTH_FAILURE.search(msg.text[:3000]))


def _carries_message(msg: ParsedMessage) -> bool:
    return any(t in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers") for t in msg.content_types)


def _feedback_loop(msg: ParsedMessage) -> bool:
    local, _, domain = msg.from_addr.partition("@")
    sender = bool(_FBL_LOCALPARTS.match(local) or _FBL_DOMAIN.search(domain))
    jmrp = bool(_JMRP_SUBJECT.match(msg.subject))
    return _carries_message(msg) and (sender or jmrp)


def _gateway_notice(msg: ParsedMessage) -> bool:
    if not _GATEWAY_SUBJECT.search(msg.subject):
        return False
    lines = [line for line in msg.text[:2000].splitlines() if line.strip()][:3]
    return any(_GATEWAY_OPENING.match(line) for line in lines)
