"""Customer mail carries an HTML alternative next to the plain text, rendered from the shipped layout."""

from __future__ import annotations

import email
import email.policy

import lxml.html
import pytest
from sqlalchemy import select

from inboxd.store.schema import outbox
from tests.integration.harness import cases, make_setup

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(tmp_path, dovecot, smtp_hub, mailboxes):
    return make_setup(tmp_path, dovecot, smtp_hub, mailboxes)


def test_ack_is_multipart_alternative_with_an_html_part_that_renders(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    ack = setup.open_case(daemon, customer, subject="Printer broken")

    assert ack.get_content_type() == "multipart/alternative"
    plain, html = ack.get_payload()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    (case,) = cases(daemon)
    token = f"[#{case['number']}]"
    text = plain.get_content()
    assert "You will hear from Example Support" in text and token in text

    page = html.get_content()
    assert "{{" not in page and "{%" not in page
    doc = lxml.html.document_fromstring(page)
    assert doc.get("lang") == "en"
    shown = " ".join(doc.text_content().split())
    assert token in shown
    # The promise, the same words as in the plain text, in bold.
    promise = " ".join(text.split("You will hear from", 1)[1].split(".", 1)[0].split())
    bold = [" ".join(b.text_content().split()) for b in doc.iter("strong")]
    assert any(b.startswith(f"You will hear from {promise}") or promise in b for b in bold), bold
    # Nothing fetched from elsewhere, and styles inline only.
    assert not doc.xpath("//img | //link | //script | //style | //*[@src]")

    # What the outbox queued is the same two-part message.
    with daemon.store.connect() as conn:
        raw = conn.execute(select(outbox.c.raw).where(outbox.c.kind == "ack")).scalar_one()
    queued = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content_type() for p in queued.iter_parts()] == ["text/plain", "text/html"]


def test_what_the_customer_wrote_is_escaped_in_the_html(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    raw = setup.customer_mail(customer, subject="<script>alert(1)</script> & <b>bold</b>")
    raw = raw.replace(b"From: A Customer <", b'From: "<img src=x onerror=alert(2)>" <')
    setup.deliver(raw, sender=customer)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(customer, count=1)

    page = ack.get_body(("html",)).get_content()
    assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    doc = lxml.html.document_fromstring(page)
    assert not doc.xpath("//script | //img | //body//b")
    assert "<script>alert(1)</script>" in doc.findtext(".//title")
    assert "Hello <img src=x onerror=alert(2)>," in doc.text_content()

