"""Every customer in their own language, over real protocols: the language is read from what the customer
wrote, kept by the case, overridden by a rule, and limited to the languages the team serves."""

from __future__ import annotations

import pytest

from inboxd.dev.demo import sample_mail
from tests.integration.harness import Setup, cases, frozen_start, make_setup

pytestmark = pytest.mark.integration

FRENCH = ("Bonjour,\n\nje n'arrive plus à me connecter à mon compte depuis ce matin. Le site m'indique que mon "
          "mot de passe n'est pas valide, alors que je ne l'ai pas changé.\n\nMerci d'avance,\nClaire")
POLISH = "Dzień dobry,\n\nod rana nie mogę się zalogować. Pojawia się komunikat, że hasło jest nieprawidłowe.\n\nPiotr"


def _write(setup: Setup, customer: str, name: str, subject: str, body: str, **headers: str) -> None:
    setup.deliver(sample_mail(customer, name, setup.support, subject, body, **headers), sender=customer)


def _case_language(daemon, customer: str) -> str:
    [case] = [c for c in cases(daemon) if c["customer"] == customer]
    return str(case["language"])


def test_a_french_customer_gets_a_french_acknowledgement_and_keeps_french(tmp_path, dovecot, smtp_hub, mailboxes):
    setup, daemon, clock = frozen_start(make_setup(tmp_path, dovecot, smtp_hub, mailboxes))
    customer = mailboxes("claire")
    _write(setup, customer, "Claire Client", "Impossible de me connecter", FRENCH)
    daemon.run_once()
    (ack,) = dovecot.wait_for(customer, count=1)
    text = ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    assert text.startswith("Bonjour Claire Client,")
    assert "Nous vous remercions de votre message" in text
    assert "L’équipe Example Support reviendra vers vous" in text
    # The promise in French words and French date order, from Babel: "… le jeudi 26 novembre à 09:00 (CET)".
    assert "novembre" in text and "November" not in text
    assert '<html lang="fr"' in html and "Dossier [#" in html
    assert _case_language(daemon, customer) == "fr"

    # She answers in English: the case keeps French, and nothing is acknowledged twice.
    reply = sample_mail(customer, "Claire Client", setup.support, f"Re: {ack['Subject']}",
                        "Thank you, I will wait for your answer then.", In_Reply_To=str(ack["Message-ID"]))
    setup.deliver(reply, sender=customer)
    daemon.run_once()
    assert _case_language(daemon, customer) == "fr"
    assert len(setup.acks_for(customer)) == 1


def test_a_language_the_team_does_not_serve_gets_the_default(tmp_path, dovecot, smtp_hub, mailboxes):
    setup, daemon, clock = frozen_start(make_setup(
        tmp_path, dovecot, smtp_hub, mailboxes, extra="cases:\n  languages: [de, en, es]\n  default_language: en\n"))
    polish, french = mailboxes("piotr"), mailboxes("claire")
    _write(setup, polish, "Piotr Klient", "Logowanie", POLISH)
    _write(setup, french, "Claire Client", "Impossible de me connecter", FRENCH)
    daemon.run_once()
    for customer in (polish, french):
        (ack,) = dovecot.wait_for(customer, count=1)
        assert ack.get_body(("plain",)).get_content().startswith("Hello ")
        assert _case_language(daemon, customer) == "en"


def test_a_rule_overrides_the_detected_language(tmp_path, dovecot, smtp_hub, mailboxes):
    rule = "rules:\n  - {name: swiss, match: {header: {X-Region: \"^CH$\"}}, set: {language: de}}\n"
    setup, daemon, clock = frozen_start(make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=rule))
    swiss, french = mailboxes("claire"), mailboxes("camille")
    _write(setup, swiss, "Claire Client", "Impossible de me connecter", FRENCH, X_Region="CH")
    _write(setup, french, "Camille Client", "Impossible de me connecter", FRENCH)
    daemon.run_once()
    (ack,) = dovecot.wait_for(swiss, count=1)
    assert ack.get_body(("plain",)).get_content().startswith("Guten Tag Claire Client,")
    assert _case_language(daemon, swiss) == "de"
    (ack,) = dovecot.wait_for(french, count=1)
    assert ack.get_body(("plain",)).get_content().startswith("Bonjour Camille Client,")


def test_staff_get_inboxds_mail_in_their_language(tmp_path, dovecot, smtp_hub, mailboxes):
    from datetime import UTC, datetime

    from inboxd.core.clock import FrozenClock
    from inboxd.service.daemon import Daemon

    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    text = setup.config_path.read_text()
    setup.config_path.write_text(text.replace("  holidays: {country: DE, subdivision: BE}\n",
                                              "  holidays: {country: DE, subdivision: BE}\n  staff_language: de\n"))
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Monday 10:00 in Berlin
    daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
    daemon.prepare()
    daemon.run_once()
    customer = mailboxes("customer")
    _write(setup, customer, "A Customer", "Server down", "Our server has been down since this morning, please help.")
    daemon.run_once()
    [case] = cases(daemon)
    note = sample_mail(setup.staff, "Staff", setup.support, f"[#{case['number']}] note",
                       "#remind tomorrow 10:00 call the ISP", Date="Mon, 23 Nov 2026 10:05:00 +0100")
    setup.deliver(note, sender=setup.staff)
    daemon.run_once()
    [confirmation] = [m for m in dovecot.fetch_all(setup.staff) if str(m["Subject"]).startswith("Re: [#")]
    body = confirmation.get_body(("plain",)).get_content()
    # German words, and the reminder's time in German from Babel; the customer still got English.
    assert body.startswith(f"Erledigt in Vorgang [#{case['number']}]:")
    assert "Dienstag, 24. November, 10:00 CET" in body and "inboxd für Example Support" in body
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    daemon.run_once()
    [reminder] = [m for m in dovecot.fetch_all(setup.staff) if str(m["Subject"]).startswith("Erinnerung")]
    assert "Sie wollten jetzt erinnert werden, an Vorgang" in reminder.get_body(("plain",)).get_content()
    # The customer wrote in English: the acknowledgement and the next day's update are English.
    to_customer = dovecot.fetch_all(customer)
    assert len(to_customer) == 2
    assert all(m.get_body(("plain",)).get_content().startswith("Hello ") for m in to_customer)
