"""An acknowledgement to a Reply-To in another domain carries nothing the sender wrote.

Whoever writes to the support address chooses the From, the Reply-To, the subject and the display
name. When the Reply-To is someone else's, inboxd must not deliver the writer's words to them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inboxd.config import load_config
from inboxd.core.eta import fallback_estimate
from inboxd.mail.parse import parse_message
from inboxd.mail.render import default_template_dirs
from inboxd.service.ingest import _ack_context
from inboxd.service.runtime import Runtime, build_runtime

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SPAM = parse_message(
    b"From: =?utf-8?q?Cheap_pills_at_evil=2Eexample?= <promo@evil.example>\r\n"
    b"Reply-To: victim@elsewhere.example\r\nTo: support@example.com\r\n"
    b"Subject: Visit evil.example for free money\r\nDate: Tue, 24 Nov 2026 03:00:00 -0800\r\n"
    b"Message-ID: <p1@evil.example>\r\n\r\nClick.\r\n")


@pytest.fixture(scope="module")
def rt() -> Runtime:
    config_path = default_template_dirs()[0].parent / "examples" / "inboxd.yaml"
    return build_runtime(load_config(config_path), config_path.parent)


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_reflected_ack_carries_none_of_the_senders_words(rt: Runtime, language: str) -> None:
    estimate = fallback_estimate(NOW, "normal", {str(k): v for k, v in rt.config.promises.fallback.items()},
                                 rt.calendar)
    context = _ack_context(rt, SPAM, "[#1042]", 1042, estimate, NOW, language, neutral_to="victim@elsewhere.example")
    rendered = rt.renderer.render("ack", language, context)
    text = rendered.subject + "\n" + rendered.body
    assert "evil" not in text and "pills" not in text and "money" not in text
    assert "[#1042]" in rendered.subject and rt.config.team.name in rendered.subject
    assert context["reflected"] is True and context["customer"] == "victim@elsewhere.example"
    assert context["promise"]["customer_phrase"] is None  # the sender's time zone says nothing about the reader's

    usual = _ack_context(rt, SPAM, "[#1042]", 1042, estimate, NOW, language)
    assert usual["reflected"] is False and "evil.example" in rt.renderer.render("ack", language, usual).subject
