"""The new words of a message: quoted history, signatures and mobile footers removed. Pure.

Commitments are only looked for in these words, and staff read them in ``inboxd explain``: a promise quoted from an
earlier message must not count twice, and a customer's answer must not drown in the history under it.

What counts as history, by the clients that write it:

- Gmail, Apple Mail, Thunderbird and most others: an attribution line ("On Mon, 2 Nov 2026 at 10:00, Ann
  <ann@x> wrote:", wrapped over up to three lines, and its German, French, Spanish, Dutch, Italian and Portuguese
  forms; Thunderbird's "Ann wrote on 02.11.2026 10:00:"), usually followed by ``>``-quoted lines.
- Outlook: the "From:/Sent:/To:/Subject:" block (German "Von:/Gesendet:/An:/Betreff:", French "De :/Envoyé :/À :/
  Objet :" and the like), often under a rule of underscores, and "-----Original Message-----" separators.
- ``>``-quoted lines anywhere.

An attribution followed by ``>``-quoted lines only frames that quote: text after the quote is the writer's again
(inline and bottom posting). An attribution or an Outlook block followed by unquoted text starts history that runs to
the end. A forwarded message is history when the writer added words above it; forwarded with no words of its own,
the forwarded content is what the message says, and it is kept (without its header block).

Signatures go from a "-- " (or "--") line on; "Sent from my iPhone" and its kin end the text; short mobile excuses
("Please excuse my brevity") are dropped. Closings such as "Best regards,\\nAnn" are the writer's words and stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from inboxd.mail.html import html_to_text

# Words that open an attribution line in the languages inboxd meets, and the verbs that close it.
_OPENERS = r"(?:on|am|le|el|op|il|em|den|på|w\s+dniu)"
_VERBS = (r"(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|schreef|geschreven|ha\s+scritto|escreveu|skrev"
          r"|napisa[łl])")
_ATTRIBUTION = re.compile(
    r"^[\s>*-]*(?:"
    # "On <date>, <name> wrote:" and its translations; a colon may sit after the name ("schrieb Ann <a@x>:").
    rf"{_OPENERS}\b.{{0,300}}?\b{_VERBS}\b[^:]{{0,200}}?(?::|\s*-{{2,}})"
    # Thunderbird's "Ann wrote on 02.11.2026 10:00:" and "Ann schrieb am 02.11.2026 um 10:00:".
    r"|.{1,200}?\b(?:wrote\s+on|schrieb\s+am|a\s+[ée]crit\s+le)\b.{1,100}:"
    # Older Gmail: "2014-10-17 11:28 GMT+03:00 Ann <ann@x>:".
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b.{0,150}@.{0,150}:"
    # "Ann <ann@x> wrote:" with no date, and any language's "<date> <time> <words> Ann <ann@x>:" (mail.ru).
    rf"|[^<>]{{0,120}}<[^<>\s]+@[^<>\s]+>\s*{_VERBS}\s*:"
    r"|.{0,200}?\b\d{1,2}:\d{2}\b.{0,200}?<[^<>\s]+@[^<>\s]+>\s*:"
    r")[\s*-]*$",
    re.IGNORECASE,
)
# Cheap test for a line that may begin an attribution wrapped over the next one or two lines.
_ATTRIBUTION_START = re.compile(rf"^[\s>*-]*(?:{_OPENERS}\b|\d{{4}}[-/.]\d)", re.IGNORECASE)
# "Ann wrote:" with no date is only an attribution when a quote follows it.
_BARE_ATTRIBUTION = re.compile(rf"^\S.{{0,120}}?\s{_VERBS}\s*:\s*$", re.IGNORECASE)

_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded\s+message|weitergeleitete\s+nachricht|message\s+transf[ée]r[ée]"
    r"|mensaje\s+reenviado|messaggio\s+inoltrato|doorgestuurd\s+bericht|mensagem\s+encaminhada"
    r"|original\s+message|urspr[üu]ngliche\s+nachricht|message\s+d'origine|mensaje\s+original"
    r"|messaggio\s+originale|oorspronkelijk\s+bericht|mensagem\s+original|reply\s+message)\s*-{2,}"
    r"|begin\s+forwarded\s+message\s*:|anfang\s+der\s+weitergeleiteten\s+nachricht\s*:"
    r"|d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:|inicio\s+del\s+mensaje\s+reenviado\s*:"
    r"|inizio\s+messaggio\s+inoltrato\s*:|begin\s+doorgestuurd\s+bericht\s*:)\s*$",
    re.IGNORECASE,
)
# The first line of an Outlook header block, and the fields that must follow it for it to be one.
_FROM_FIELD = r"(?:from|von|de|da|van|fra|fr[åa]n|od)"
_DATE_FIELD = r"(?:date|datum|data|fecha)"
_SENT_FIELD = r"(?:sent|gesendet|envoy[ée]|enviado|inviato|verzonden|sendt|skickat)"
_TO_FIELD = r"(?:to|an|[àa]|para|aan|til|till|cc)"
_SUBJECT_FIELD = r"(?:subject|betreff|objet|asunto|oggetto|onderwerp|assunto|emne|[äa]mne)"
_HEADER_FIRST = re.compile(rf"^\s*\*?\s*(?:{_FROM_FIELD}|{_DATE_FIELD})\s*\*?\s*:", re.IGNORECASE)
# Which kind of field a line of an Outlook block is: group names say which.
_HEADER_KIND = re.compile(
    rf"^\s*\*?\s*(?:(?P<from>{_FROM_FIELD})|(?P<date>{_DATE_FIELD})|(?P<sent>{_SENT_FIELD})|(?P<to>{_TO_FIELD})"
    rf"|(?P<subject>{_SUBJECT_FIELD}))\s*\*?\s*:",
    re.IGNORECASE,
)
_HEADER_FIELD = re.compile(r"^\s*>?\s*\*?[^\W\d][\w .'-]{0,30}?\*?\s*:", re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:_{10,}|-{10,}|—{5,})\s*$")
_LIST_FOOTER = re.compile(r"mailing\s+list\s*$", re.IGNORECASE)
_SIGNATURE = frozenset({"--", "-- ", "__"})
_SENT_FROM = re.compile(
    r"^\s*(?:sent\s+from\s|sent\s+(?:with|via|using)\s+(?:proton|spark|superhuman|blackberry|zoho|tutanota|fastmail"
    r"|airmail|edison|newton|aquamail|k-9|fairemail)|get\s+outlook\s+for\s|von\s+meinem\s.{1,60}gesendet"
    r"|gesendet\s+(?:von|mit)\s+(?:meinem|mail|outlook|gmx|web\.de)|holen\s+sie\s+sich\s+outlook"
    r"|diese\s+nachricht\s+wurde\s+von\s+meinem\s|envoy[ée]\s+(?:de|depuis)\s+(?:mon|ma|l'|outlook|yahoo)"
    r"|t[ée]l[ée]charger\s+outlook|enviado\s+(?:desde|de|do|a\s+partir\s+do)\s+(?:mi|meu|minha|outlook|yahoo)"
    r"|obtener\s+outlook|inviato\s+da|scarica\s+outlook|verzonden\s+(?:vanaf|met|via)\s|verstuurd\s+(?:vanaf|met)\s"
    r"|download\s+outlook)",
    re.IGNORECASE,
)
_MOBILE_NOTE = re.compile(
    r"^\s*(?:(?:please\s+)?(?:excuse|pardon|forgive)\s+(?:my\s+|the\s+|any\s+)?(?:brevity|typos?|autocorrect)"
    r"|sorry\s+for\s+(?:my\s+|the\s+|any\s+)?(?:brevity|typos?)"
    r"|(?:bitte\s+)?entschuldigen\s+sie\s+(?:die\s+|meine\s+)?(?:k[üu]rze|tippfehler)"
    r"|(?:typed|written)\s+on\s+(?:a|my)\s+(?:mobile|phone|tiny\s+keyboard))"
    r"(?:\s+(?:and|&)\s+(?:any\s+)?(?:typos?|brevity|autocorrect))?[\s.!,]*(?:sent\s+from\s+.*)?$",
    re.IGNORECASE,
)
# A line this long is prose or a pasted blob, never an attribution, and regular expressions need not look at it.
_MAX_MARKER_LINE = 1000
# Forwards inside forwards are unwrapped this many times; deeper ones are returned as they are.
_MAX_FORWARD_DEPTH = 3


def reply_text(text: str) -> str:
    """The text the author wrote in this message, without what they quoted, forwarded under it or signed."""
    return _new_words(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 0)


def _new_words(lines: list[str], depth: int) -> str:
    kept: list[str] = []
    count = len(lines)
    framed_quote = False  # a quote introduced by an attribution line has been met
    previous_quoted = 0  # length of the quoted line just before, 0 when that line was not quoted
    index = 0
    while index < count:
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            kept.append("")
            previous_quoted = 0
            index += 1
            continue
        if stripped.startswith(">"):
            previous_quoted = len(stripped)
            index += 1
            continue
        # Clients that re-wrap a quote (Gmail on Android) leave the tail of a long quoted line unmarked on the next
        # line. An inline answer starts its own sentence; a wrapped tail goes on in lower case, or is the rest of
        # a link.
        if framed_quote and previous_quoted and (
                previous_quoted >= 50 and stripped[0].islower() or stripped[0] in "(<" or stripped.startswith("http")):
            index += 1
            continue
        previous_quoted = 0
        if line.rstrip() in _SIGNATURE:
            break
        if len(stripped) > _MAX_MARKER_LINE:
            kept.append(line.rstrip())
            index += 1
            continue
        # "Sent from my iPhone" is a short line on its own; "Inviato da desk, is much easier" is a sentence.
        if _SENT_FROM.match(stripped) and ("," not in stripped and len(stripped) <= 80 or stripped.endswith(":")):
            break
        if _MOBILE_NOTE.match(stripped):
            index += 1
            continue
        history = _history_block(lines, index)
        if history:
            if _has_words(kept):
                break
            # Nothing written above it: a forward whose content is the message.
            return _unwrapped(lines, index + history, depth)
        if _RULE.match(stripped) and _next_line(lines, index + 1, _LIST_FOOTER.search):
            break  # a mailing-list footer
        span = _attribution_span(lines, index)
        if span:
            if _next_line(lines, index + span, _is_quoted):
                framed_quote = True
                index += span
                continue
            break  # unquoted history runs to the end
        if stripped[-1] == ":" and _BARE_ATTRIBUTION.match(stripped) and _next_line(lines, index + 1, _is_quoted):
            framed_quote = True
            index += 1
            continue
        kept.append(line.rstrip())
        index += 1
    return _tidy(kept)


def _history_block(lines: list[str], index: int) -> int:
    """How many lines a forward marker, "Original Message" separator or Outlook header opener at ``index`` takes."""
    stripped = lines[index].strip()
    if _FORWARD.match(stripped):
        return 1
    if _RULE.match(stripped) and index + 1 < len(lines) and _HEADER_FIRST.match(lines[index + 1]):
        return 1
    first = _HEADER_KIND.match(stripped)
    if first and first.lastgroup in ("from", "date"):
        # An Outlook block has more fields in the next few lines (the From line may wrap: "From: Bob [mailto:\n
        # bob@x]"). A booking form ("From: Berlin\nTo: Munich") has fields too, so the block must also show
        # something only mail headers have: a Sent or Subject field, or an address.
        kinds = {first.lastgroup}
        block = lines[index:index + 5]
        for ahead in block[1:]:
            match = _HEADER_KIND.match(ahead)
            if match and match.lastgroup:
                kinds.add(match.lastgroup)
        if len(kinds) >= 2 and ({"sent", "subject"} & kinds or any("@" in line for line in block)):
            return 1
    return 0


def _unwrapped(lines: list[str], start: int, depth: int) -> str:
    """The new words of a forwarded message: its header block dropped, one level of quoting taken off."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    # The forwarded header block: fields and their wrapped continuations, up to the first blank line.
    if index < len(lines) and (_HEADER_FIELD.match(lines[index]) or _HEADER_FIRST.match(lines[index])):
        while index < len(lines) and lines[index].strip() and lines[index].strip() != ">":
            index += 1
    rest = lines[index:]
    if rest and all(line.lstrip().startswith(">") for line in rest if line.strip()):
        rest = [re.sub(r"^\s*> ?", "", line) for line in rest]
    if depth >= _MAX_FORWARD_DEPTH:
        return _tidy([line.rstrip() for line in rest])
    return _new_words(rest, depth + 1)


def _attribution_span(lines: list[str], index: int) -> int:
    """1–3 when the attribution line(s) start at ``index`` (Gmail wraps long ones), else 0."""
    line = lines[index]
    if _is_attribution(line):
        return 1
    if not _ATTRIBUTION_START.match(line):
        return 0
    joined = line.strip()
    for extra in (1, 2):
        if index + extra >= len(lines):
            break
        following = lines[index + extra].strip()
        if not following or len(following) > _MAX_MARKER_LINE:
            break
        joined = f"{joined} {following}"
        if _is_attribution(joined):
            return extra + 1
    return 0


def _is_attribution(text: str) -> bool:
    # Every attribution ends in a colon (or Yahoo's dashes): most lines are ruled out without a regex.
    if text.rstrip(" \t*")[-1:] not in (":", "-"):
        return False
    # A real attribution names a date or an address; "Il cliente ha scritto:" (the customer wrote) names neither.
    return bool(_ATTRIBUTION.match(text)) and any(ch.isdigit() or ch == "@" for ch in text)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_line(lines: list[str], start: int, test: Callable[[str], object]) -> bool:
    """Whether the first non-blank line from ``start`` on passes ``test``."""
    for line in lines[start:start + 50]:
        if line.strip():
            return bool(test(line))
    return False


def _has_words(kept: list[str]) -> bool:
    return any(line.strip() for line in kept)


def _tidy(kept: list[str]) -> str:
    """At most one blank line in a row (removed quotes leave gaps), none around the text."""
    out: list[str] = []
    for line in kept:
        if not line.strip():
            if out and out[-1]:
                out.append("")
            continue
        out.append(line)
    return "\n".join(out).strip()


# HTML clients mark their quotes in the markup, which is surer than any text pattern. Gmail wraps attribution and
# quote in div.gmail_quote; Apple Mail, Thunderbird and most webmailers quote in <blockquote type="cite">;
# Thunderbird puts its attribution in div.moz-cite-prefix; Yahoo in div.yahoo_quoted. A <blockquote> styled
# "border:none" is Gmail's indent button, not a quote.
_HTML_REMOVE = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' moz-cite-prefix ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' yahoo_quoted ')]",
    "//blockquote[@type='cite' or contains(@class, 'quote') or not(re:test(@style, 'border\\s*:\\s*none', 'i'))]",
)
# Outlook does not nest the history: it starts it with a marker and lets it run to the end of the document.
# Outlook on the web and new Outlook: #appendonsend, #divRplyFwdMsg, #mail-editor-reference-message-container.
# Outlook for Windows and Mac, Windows Mail: a div with a top border holding the From:/Sent: block. Zimbra: hr#zwchr.
# Hotmail: hr#stopSpelling.
_HTML_CUT_FROM = (
    "//*[@id='appendonsend']",
    "//*[@id='divRplyFwdMsg']",
    "//*[@id='mail-editor-reference-message-container']",
    "//hr[@id='zwchr']",
    "//hr[@id='stopSpelling']",
    "//div[re:test(@style, 'border-top', 'i')"
    " and re:test(string(.), '^\\s*(from|von|de|da|van|fra|från|od|от)\\s*:', 'i')]",
)


# Every expression above needs one of these in the markup; without any, there is nothing to remove.
_HTML_MARKERS = ("blockquote", "gmail_quote", "moz-cite-prefix", "yahoo_quoted", "appendonsend", "divrplyfwdmsg",
                 "mail-editor-reference-message-container", "zwchr", "stopspelling", "border-top")


def reply_text_html(html: str, *, text: str | None = None) -> str:
    """The new words of an HTML-only message: quotes found in the markup, then the text rules as in ``reply_text``.

    ``text``: ``html_to_text(html)``, when the caller has it already (the parser does), to save converting twice.
    """
    lowered = html.lower()
    if not any(marker in lowered for marker in _HTML_MARKERS):
        return reply_text(html_to_text(html) if text is None else text)
    new = reply_text(html_to_text(html, remove=_HTML_REMOVE, cut_from=_HTML_CUT_FROM))
    if new:
        return new
    # Nothing left outside the quotes: either a reply with no words of its own, which the text rules also find
    # empty (they stop at the attribution), or a forward without comment, whose content they keep.
    return reply_text(html_to_text(html) if text is None else text)
