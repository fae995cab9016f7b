"""The new words of a message: quoted history and signatures removed. Pure.

This first version handles ``>`` quoting, "On … wrote:" attribution lines, Outlook's
"-----Original Message-----" and ``From:/Sent:`` blocks, ``-- `` signatures and "Sent from my …".
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,200}\bwrote:|am\b.{0,200}\bschrieb.{0,80}:|le\b.{0,200}\ba [ée]crit\s*:|"
    r"el\b.{0,200}\bescribi[óo]:|-{2,}\s*(original message|urspr[üu]ngliche nachricht|message d'origine)\s*-{2,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(from|von|de|van)\s*:\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*(sent|gesendet|envoy[ée]|date|datum|to|an|à|subject|betreff|objet)\s*:",
                           re.IGNORECASE)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_SENT_FROM = re.compile(r"^\s*(sent from my|von meinem|envoy[ée] de mon|enviado desde mi)\b", re.IGNORECASE)


def reply_text(text: str) -> str:
    """The text the author wrote in this message, without what they quoted or signed."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ", "__") or _SENT_FROM.match(line):
            break
        if _ATTRIBUTION.match(line):
            break
        # A multi-line attribution ("On Mon, 2 Nov 2026 at 10:00, Ann\n<ann@x> wrote:").
        if line.strip().lower().startswith(("on ", "am ")) and index + 1 < len(lines) and \
                _ATTRIBUTION.match(line + " " + lines[index + 1]):
            break
        if _OUTLOOK_HEADER.match(line) and index + 1 < len(lines) and _OUTLOOK_NEXT.match(lines[index + 1]):
            break
        # Outlook on the web and new Outlook draw a rule of underscores above the From:/Sent: block.
        if _OUTLOOK_RULE.match(line) and index + 1 < len(lines) and _OUTLOOK_HEADER.match(lines[index + 1]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
