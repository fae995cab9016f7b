"""Every message in the fixture corpus gets the kind its folder names; every bounce names whom it could not reach.

``tests/data/mail/<kind>/*.eml`` holds real-world mail (the test data of flufl.bounce, talon and Sisimai;
see SOURCES.md) and messages written in the exact shape real clients and servers produce. What a user
would notice: a customer left unacknowledged, an auto-reply or bounce acknowledged (a mail loop), a bounce
that does not tell the case owner which customer is unreachable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inboxd.mail.bounces import BounceReport, analyse_bounce
from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
KINDS = ("customer", "staff", "staff_note", "auto_reply", "bounce", "list", "ignored")
FILES = sorted(p for kind in KINDS for p in (CORPUS / kind).glob("*.eml"))
RECIPIENTS: dict[str, dict[str, list[str]]] = yaml.safe_load((CORPUS / "bounce" / "recipients.yaml").read_text())

TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff_domains=frozenset({"example.com"}))


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_each_message_gets_the_kind_of_its_folder(path: Path) -> None:
    raw = path.read_bytes()
    msg = parse_message(raw)
    verdict = classify(msg, TEAM, "inbox", None, raw=raw)
    assert verdict.kind == path.parent.name, verdict.reason
    # Only customers are ever acknowledged: everything a machine wrote must say so.
    assert verdict.automated == (path.parent.name in ("auto_reply", "bounce", "list"))


BOUNCES = sorted((CORPUS / "bounce").glob("*.eml"))


@pytest.mark.parametrize("path", BOUNCES, ids=_id)
def test_each_bounce_names_the_recipients_it_failed(path: Path) -> None:
    expected = RECIPIENTS[path.name] or {}
    raw = path.read_bytes()
    verdict = classify(parse_message(raw), TEAM, "inbox", None, raw=raw)
    report = verdict.bounce
    permanent = sorted(report.permanent) if report else []
    temporary = sorted(report.temporary) if report else []
    assert permanent == sorted(expected.get("permanent", [])), verdict.reason
    assert temporary == sorted(expected.get("temporary", [])), verdict.reason


def test_the_recipient_index_covers_exactly_the_bounces() -> None:
    assert sorted(RECIPIENTS) == [p.name for p in BOUNCES]


def test_the_corpus_is_big_enough_to_mean_something() -> None:
    counts = {kind: len(list((CORPUS / kind).glob("*.eml"))) for kind in KINDS}
    assert sum(counts.values()) >= 120
    assert counts["bounce"] >= 40
    assert counts["auto_reply"] >= 30
    assert counts["customer"] >= 30


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name != "bounce"], ids=_id)
def test_no_bounce_is_read_into_mail_that_is_not_one(path: Path) -> None:
    # A customer forwarding a bounce, or quoting "could not be delivered", is not a delivery report.
    raw = path.read_bytes()
    report = analyse_bounce(raw, parse_message(raw))
    assert report is None or not report.failed


@pytest.mark.parametrize("path", FILES[::7], ids=_id)
def test_a_damaged_copy_never_raises(path: Path) -> None:
    # Mail arrives cut off: parsing and classifying a truncated or garbled copy degrades, it does not crash.
    raw = path.read_bytes()
    for damaged in (raw[: len(raw) // 2], raw.replace(b"\n", b"\r", 40), raw.replace(b"--", b"-", 3)):
        classify(parse_message(damaged), TEAM, "inbox", None, raw=damaged)


# --------------------------------------------------------------------------------------------
# The bounce reader on its own
# --------------------------------------------------------------------------------------------

def test_without_the_raw_bytes_a_bounce_is_still_a_bounce_but_names_nobody() -> None:
    raw = (CORPUS / "bounce" / "gmail_dsn_address_not_found.eml").read_bytes()
    verdict = classify(parse_message(raw), TEAM)
    assert verdict.kind == "bounce"
    assert verdict.bounce is None


def test_a_delivery_receipt_is_machine_mail_but_not_a_bounce() -> None:
    # "Relayed:"/"Delivered:" reports say the customer was reached: nobody is unreachable.
    raw = (CORPUS / "auto_reply" / "exchange_delivery_receipt_relayed.eml").read_bytes()
    report = analyse_bounce(raw, parse_message(raw))
    assert report is not None and not report.failed
    assert report.delivered == ("oliver.grant@customer-corp.example",)
    assert classify(parse_message(raw), TEAM, raw=raw).bounce is None


@pytest.mark.parametrize(
    ("action", "status", "permanent"),
    [("failed", "5.1.1", True), ("failed", "4.4.7", False), ("delayed", "4.4.1", False),
     ("failure", "553 Exceeded maximum inbound message size", True), ("error", "5.0.0", True)],
)
def test_action_and_status_decide_permanent_or_temporary(action: str, status: str, permanent: bool) -> None:
    raw = (
        "From: MAILER-DAEMON@mx.example.net\nTo: support@example.com\nSubject: Delivery report\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nReport.\n\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; ann@customer.example\nAction: {action}\nStatus: {status}\n\n--b--\n"
    ).encode()
    report = analyse_bounce(raw, parse_message(raw))
    assert report is not None
    assert report.permanent == (("ann@customer.example",) if permanent else ())
    assert report.temporary == (() if permanent else ("ann@customer.example",))


@pytest.mark.parametrize("junk", [b"", b"\x00\xff" * 50, b"Content-Type: multipart/report; boundary=x\n\n--x\n",
                                  b"From: MAILER-DAEMON@x\nReturn-Path: <>\nSubject: Undelivered\n\n\xc3(\xa0\xa1"])
def test_the_bounce_reader_never_raises(junk: bytes) -> None:
    # flufl.bounce's heuristics and our DSN reader meet hostile bytes here; neither may take the mailbox down.
    result = analyse_bounce(junk, parse_message(junk))
    assert result is None or isinstance(result, BounceReport)
