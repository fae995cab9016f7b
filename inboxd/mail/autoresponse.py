"""Auto-responders that say nothing in their headers: "Thank you for your email", each time under a new subject. Pure.

Without ``Auto-Submitted`` or ``Precedence`` such a responder answers each acknowledgement with a new message, which
opens a new case and earns a new acknowledgement: a loop that only the per-sender guard ends. Read here:

- the text: a new text that is short and made only of what auto-responders write ("Thank you for your message",
  "We have received your request", "This is an automated reply", in EN, DE, FR, ES, IT, NL, PT). A sentence that
  only an auto-responder writes ("This is an automated reply", "Ihre Anfrage ist bei uns eingegangen") decides on
  its own in a short text; a polite one ("Thank you for your email") only with a second sign: the message came
  moments after our acknowledgement to this address, or cites it, or its headers say a helpdesk or Outlook's
  auto-response machinery wrote it;
- the timing: a message that cites one of our acknowledgements (In-Reply-To/References) and arrived within
  :data:`ANSWER_SECONDS` of it being sent, with any auto-response sentence in it.

A customer who writes "Thank you for your email, but it still does not work" has words of their own and is
answered as the customer they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inboxd.mail.parse import ParsedMessage

# A person reads an acknowledgement and answers in minutes; an auto-responder in seconds.
ANSWER_SECONDS = 120.0
# Clocks of other servers drift: a Date this far before our acknowledgement still counts as an answer to it.
CLOCK_SLACK_SECONDS = 60.0
SHORT_WORDS = 90  # an auto-response is a paragraph, not a letter
LEFTOVER_WORDS = 6  # words besides the auto-response sentences, greetings and sign-off: a name, a company


@dataclass(frozen=True)
class AckTiming:
    """When our acknowledgements to this sender went out, relative to this message (gathered by ingest).

    Seconds from our acknowledgement being sent to this message arriving (its Date, or the time inboxd read it);
    None when there is no such acknowledgement.
    """

    cited_ack_seconds: float | None = None  # an acknowledgement this message cites (In-Reply-To/References)
    last_ack_seconds: float | None = None  # our latest acknowledgement to this sender, cited or not

    @staticmethod
    def _soon(seconds: float | None) -> bool:
        return seconds is not None and -CLOCK_SLACK_SECONDS <= seconds <= ANSWER_SECONDS

    @property
    def answers_cited_ack_at_once(self) -> bool:
        return self._soon(self.cited_ack_seconds)

    @property
    def follows_ack_at_once(self) -> bool:
        return self._soon(self.cited_ack_seconds) or self._soon(self.last_ack_seconds)


# Sentences only auto-responders write.
_STRONG = re.compile(
    r"(this is an? (automated|automatic|auto-?generated) (e-?mail|message|reply|response|notification|confirmation)"
    r"|(please )?do not reply to this (e-?mail|message)"
    r"|(we|i) ha(ve|s) received your (e-?mail|message|request|enquiry|inquiry|ticket|mail)"
    r"|your (e-?mail|message|request|enquiry|inquiry|ticket)( #?\s?\d+)? (has been|was) "
    r"(received|created|logged|registered)"
    r"|dies ist eine automatisch(e|erzeugte) (antwort|nachricht|e-?mail|best[äa]tigung)"
    r"|ihre (anfrage|nachricht|e-?mail|mail)( ist| wurde)?( bei uns)? (eingegangen|erhalten)"
    r"|wir haben ihre (anfrage|nachricht|e-?mail|mail) erhalten"
    r"|ceci est (une r[ée]ponse|un message|un e-?mail|un courriel) automatique"
    r"|nous avons bien re[çc]u votre (message|demande|e-?mail|courriel)"
    r"|votre (message|demande) a bien [ée]t[ée] (re[çc]ue?|enregistr[ée]e?)"
    r"|este es un (mensaje|correo|e-?mail) autom[áa]tico|esta es una respuesta autom[áa]tica"
    r"|hemos recibido (su|tu) (mensaje|correo|solicitud|e-?mail|consulta)"
    r"|questo [èe] un messaggio automatico|questa [èe] una risposta automatica"
    r"|abbiamo ricevuto (il (suo|tuo) messaggio|la (sua|tua) (richiesta|e-?mail|mail))"
    r"|dit is een automatisch (gegenereerd )?(bericht|antwoord|e-?mailbericht)"
    r"|(wij|we) hebben (uw|je) (bericht|e-?mail|aanvraag|vraag) (goed )?ontvangen"
    r"|esta [ée] uma (mensagem|resposta) autom[áa]tica"
    r"|recebemos a (sua|tua) (mensagem|solicita[çc][ãa]o|e-?mail|pedido))",
    re.IGNORECASE,
)
# Sentences auto-responders write and people write too.
_WEAK = re.compile(
    r"(thank(s| you) (you )?(for|4) (your|the) (e-?mail|message|mail|note|enquiry|inquiry|request|contacting us)"
    r"|thank you for contacting( us)?|we will (get back to you|respond|reply|answer|be in touch|contact you)"
    r"( to you)?( as soon as (possible|we can)| shortly| within [^.\n]{1,30}| soon)?"
    r"|vielen dank f[üu]r ihre (nachricht|e-?mail|mail|anfrage)|danke f[üu]r ihre (nachricht|e-?mail|mail|anfrage)"
    r"|wir (melden uns|werden uns)[^.\n]{0,40}(bei ihnen|zur[üu]ck|melden)"
    r"|merci (pour|de) votre (message|e-?mail|courriel|demande)|nous (vous )?(r[ée]pondrons|reviendrons)[^.\n]{0,40}"
    r"|gracias por (su|tu) (mensaje|correo|e-?mail|consulta)|le (responderemos|contestaremos)[^.\n]{0,40}"
    r"|grazie per (il suo|la sua|il tuo|la tua) (messaggio|e-?mail|mail|richiesta)|(le|ti) risponderemo[^.\n]{0,40}"
    r"|bedankt voor (uw|je) (bericht|e-?mail|mail|vraag)|(wij|we) nemen[^.\n]{0,40}contact"
    r"|obrigad[oa] pel[ao] (sua )?(mensagem|e-?mail|contacto|contato)|responderemos[^.\n]{0,40})",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(hello|hi|hey|dear|sir|madam|customer|team|support|hallo|guten tag|sehr geehrte[rn]?|damen und herren|"
    r"bonjour|madame|monsieur|hola|buongiorno|ciao|goedendag|beste|ol[áa]|bom dia|best|kind|regards|"
    r"sincerely|cheers|thanks|thank you|mit freundlichen gr[üu](ß|ss)en|viele gr[üu](ß|ss)e|cordialement|"
    r"saludos|cordiali saluti|met vriendelijke groet|atenciosamente|the|and|of|our|your|we|you|us|as|soon|possible)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{2,}")
# Helpdesk platforms whose own confirmations carry no RFC 3834 header.
_TICKET_MAILERS = re.compile(r"(zendesk|freshdesk|otrs|znuny|zammad|osticket|help ?scout|kayako|request tracker|"
                             r"jira service|servicenow|hubspot)", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def auto_response_text(msg: ParsedMessage, timing: AckTiming | None = None) -> str | None:
    """Why this message is an auto-responder's text (an auto-response sentence it holds), or None."""
    text = (msg.reply_text or msg.text)[:3000]
    words = _words(text)
    strong = _STRONG.search(text)
    weak = _WEAK.search(text)
    found = strong or weak
    if found is None:
        return None
    phrase = " ".join(found.group(0).split())
    timing = timing or AckTiming()
    if timing.answers_cited_ack_at_once:
        return f"{phrase!r}, answering our acknowledgement {timing.cited_ack_seconds:.0f} s after it was sent"
    if len(words) > SHORT_WORDS:
        return None
    if strong is not None:
        return f"{phrase!r} in a short text"
    # Only polite sentences: the rest must be greeting, sign-off and a name, and a second sign must speak.
    rest = _FILLER.sub(" ", _WEAK.sub(" ", text))
    if len(_words(rest)) > LEFTOVER_WORDS:
        return None
    if timing.follows_ack_at_once:
        seconds = timing.cited_ack_seconds if timing.cited_ack_seconds is not None else timing.last_ack_seconds
        return f"{phrase!r}, and nothing else, {seconds:.0f} s after our acknowledgement to this address"
    if _machine_hint(msg):
        return f"{phrase!r}, and nothing else, from {_machine_hint(msg)}"
    return None


def _machine_hint(msg: ParsedMessage) -> str | None:
    suppress = (msg.header("X-Auto-Response-Suppress") or "").lower()
    if "all" in suppress or "autoreply" in suppress or "oof" in suppress:
        return f"X-Auto-Response-Suppress: {suppress[:40]}"
    for name in ("X-Mailer", "User-Agent", "X-Helpdesk", "X-Ticket-System"):
        value = msg.header(name) or ""
        if _TICKET_MAILERS.search(value):
            return f"a helpdesk ({name}: {value[:60]})"
    return None
