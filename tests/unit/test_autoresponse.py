"""Auto-responders that set no header: one acknowledgement per conversation, and customers still answered.

What a user would notice: a plain "Thank you for your email" responder earning an acknowledgement (and a new case)
for each of ours until a loop guard trips and alerts staff; or a customer who opens with "Thank you for your
email" and then describes their problem left unanswered.
"""

from __future__ import annotations

import pytest

from inboxd.mail.autoresponse import AckTiming
from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.parse import parse_message

TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff_domains=frozenset({"example.com"}))
SOON = AckTiming(last_ack_seconds=4.0)
CITED_SOON = AckTiming(cited_ack_seconds=3.0, last_ack_seconds=3.0)
LATER = AckTiming(last_ack_seconds=3 * 3600.0)


def _kind(body: str, timing: AckTiming | None = None, subject: str = "Your message", **headers: str) -> str:
    extra = "".join(f"{k.replace('_', '-')}: {v}\n" for k, v in headers.items())
    raw = (f"From: Robot <info@acme.example>\nTo: support@example.com\nSubject: {subject}\n"
           f"Message-ID: <r1@acme.example>\n{extra}\n{body}\n").encode()
    return classify(parse_message(raw), TEAM, raw=raw, acks=timing).kind


@pytest.mark.parametrize("body", [
    "Thank you for your email.\n\nKind regards,\nACME Ltd",
    "Thanks for your message! We will get back to you as soon as possible.\n\nACME Support",
    "Vielen Dank für Ihre Nachricht.\n\nMit freundlichen Grüßen\nACME GmbH",
    "Merci pour votre message.\n\nCordialement,\nACME SARL",
    "Gracias por su mensaje. Le responderemos lo antes posible.\n\nSaludos",
    "Grazie per il suo messaggio.\n\nCordiali saluti",
    "Bedankt voor uw bericht.\n\nMet vriendelijke groet",
    "Obrigado pela sua mensagem.\n\nAtenciosamente",
])
def test_polite_auto_text_moments_after_our_ack_is_an_auto_response(body: str) -> None:
    assert _kind(body, SOON) == "auto_reply"
    assert _kind(body, CITED_SOON) == "auto_reply"


@pytest.mark.parametrize("body", [
    "This is an automated response. We have received your message and will reply within 2 business days.",
    "Ihre Anfrage ist bei uns eingegangen. Wir melden uns schnellstmöglich bei Ihnen.",
    "Nous avons bien reçu votre message et vous répondrons dans les plus brefs délais.",
    "Hemos recibido su mensaje. Este es un mensaje automático.",
    "Abbiamo ricevuto la sua richiesta e le risponderemo al più presto.",
    "Wij hebben uw bericht goed ontvangen. Dit is een automatisch bericht.",
    "Recebemos a sua mensagem. Esta é uma resposta automática.",
    "Your request #48213 has been received and a member of our team will be in touch.",
])
def test_sentences_only_auto_responders_write_decide_in_a_short_text(body: str) -> None:
    assert _kind(body) == "auto_reply"


def test_polite_text_alone_with_no_second_sign_is_a_customer() -> None:
    # "Thank you for your email." three hours after our ack, with nothing else to go on: a person, perhaps.
    assert _kind("Thank you for your email.\n\nAnn", LATER) == "customer"
    assert _kind("Thank you for your email.\n\nAnn") == "customer"


def test_polite_text_from_a_helpdesk_is_an_auto_response() -> None:
    assert _kind("Thank you for your message.", X_Mailer="Zendesk Mailer") == "auto_reply"
    assert _kind("Thank you for your email.", X_Auto_Response_Suppress="All") == "auto_reply"


@pytest.mark.parametrize("body", [
    "Thank you for your email, but it still does not work. The page shows error 500 when I pay with my card.",
    "Vielen Dank für Ihre Nachricht. Leider funktioniert der Export immer noch nicht, die Datei bleibt leer.",
    "Merci pour votre message. Je n'arrive toujours pas à me connecter depuis la mise à jour d'hier soir.",
])
def test_a_customer_who_thanks_and_says_more_is_a_customer_even_at_once(body: str) -> None:
    assert _kind(body, SOON) == "customer"


def test_a_long_letter_with_an_auto_sentence_is_a_customer() -> None:
    body = ("We have received your message about the invoice. " + "The amounts on lines three and four differ "
            "from the order we placed in October, and our accounting needs a corrected copy. " * 6)
    assert _kind(body) == "customer"


def test_a_citing_answer_long_after_our_ack_is_judged_by_its_words() -> None:
    assert _kind("Thank you for your email.", AckTiming(cited_ack_seconds=900.0)) == "customer"


def test_a_clock_far_behind_does_not_count_as_an_answer() -> None:
    assert _kind("Thank you for your email.", AckTiming(last_ack_seconds=-3600.0)) == "customer"
