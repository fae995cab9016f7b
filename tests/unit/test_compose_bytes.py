"""compose's short cut for plain header lines writes the bytes the stock compat32 policy writes."""

from __future__ import annotations

import email.policy
import random
from datetime import UTC, datetime, timedelta

import pytest

from inboxd.mail import compose as compose_module
from inboxd.mail.compose import OutgoingMail, compose

STOCK = email.policy.compat32.clone(linesep="\r\n", cte_type="8bit")

WORDS = ["Re:", "Fwd:", "[#1042]", "printer", "Drucker", "größer", "naïve", "日本語", "=?utf-8?q?x?=", "a:b", "x",
         "", " ", "  ", "\t", "\r\n", "\n", "\x00", '"quoted"', "(comment)", "<id@x>", "semi;colon", "comma,",
         "é", "ß", "\u2013", "\U0001f600", "%", "=", "?", "_", "-" * 40, "w" * 75, "w" * 76, "w" * 77, "v" * 120]
NAMES = ["List-Unsubscribe", "X-Inboxd-Case", "X-Long-Header-Name-For-Testing-Folding-Limits", "Keywords", "X"]


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, words)))


def sized(rng: random.Random) -> str:
    """A plain value whose header line is within a few characters of the 78-character limit."""
    base = "Re: printer on floor " + "3" * rng.randint(40, 70)
    return base[:rng.randint(45, 75)]


def mail(rng: random.Random) -> OutgoingMail:
    domain = rng.choice(["example.com", "mächine.example", "x.example"])
    local = rng.choice(["jane", "jöe", "a.b+c", "very.long.local.part." * 3])
    subject = sized(rng) if rng.random() < 0.3 else text(rng, rng.choice([3, 12, 40]))
    return OutgoingMail(
        from_addr=rng.choice(["support@example.com", "help@xn--mchine-hra.example"]),
        from_name=rng.choice(["Example Support", "Support Müller", 'Say "hi", team', "", text(rng, 4)]),
        to=tuple(f"{local}{i}@{domain}" for i in range(rng.randint(1, 3))),
        subject=subject, body=rng.choice(["Hello\n\nthanks.\n", "Grüße\r\nvom Team\n", "x" * 200, text(rng, 30)]),
        message_id=f"inboxd.ack.{rng.getrandbits(64):016x}@example.com",
        date=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 10**6)),
        reply_to=rng.choice([None, "support+1042@example.com", text(rng, 3)]),
        in_reply_to=rng.choice([None, "CAB123@mail.example", "x" * 90 + "@example.com"]),
        references=tuple(f"ref{i}.{rng.getrandbits(40):x}@mail.example" for i in range(rng.choice([0, 1, 3, 25]))),
        auto_submitted=rng.choice(["auto-replied", "auto-generated"]),
        extra_headers=tuple((rng.choice(NAMES), rng.choice([sized(rng), text(rng, 6), "<mailto:stop@x.example>"]))
                            for _ in range(rng.randint(0, 2))),
        html=rng.choice([None, "<p>Hello</p>", "<p>" + "ü" * 100 + "</p>"]))


@pytest.mark.parametrize("seed", range(6))
def test_the_bytes_are_those_of_the_stock_policy(seed, monkeypatch):
    rng = random.Random(seed)
    mails = [mail(rng) for _ in range(100)]
    ours = [compose(m) for m in mails]
    monkeypatch.setattr(compose_module, "_CRLF", STOCK)
    stock = [compose(m) for m in mails]
    for m, a, b in zip(mails, ours, stock, strict=True):
        assert a == b, m
    assert any(len(line) > 70 for m in ours for line in m.split(b"\r\n"))  # lines near the limit were tried


def test_a_plain_line_at_the_limit_and_one_past_it(monkeypatch):
    name = "Subject"
    fits = "w" * (78 - len(name) - 2)
    base = OutgoingMail(from_addr="s@example.com", from_name="S", to=("c@example.com",), subject=fits, body="b\n",
                        message_id="m@example.com", date=datetime(2026, 12, 1, tzinfo=UTC))
    longer = OutgoingMail(**{**base.__dict__, "subject": "ab " + fits})
    ours = [compose(base), compose(longer)]
    assert f"Subject: {fits}\r\n".encode() in ours[0]
    monkeypatch.setattr(compose_module, "_CRLF", STOCK)
    assert ours == [compose(base), compose(longer)]
