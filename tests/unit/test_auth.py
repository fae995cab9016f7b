"""A forged staff From is handled as a customer's mail: staff identity comes from our own server's checks.

Anyone can write "From: alice@example.com". When ``team.trusted_authserv_ids`` is set, a staff From must
come with an ``Authentication-Results`` header (RFC 8601) from one of those servers that saw an aligned
DKIM or SPF pass and no DMARC failure; otherwise the message is a customer's (it gets no power to mark a
case answered or to be sent on as a staff reply).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxd.mail.auth import aligned, forged_sender, parse_authentication_results, staff_authenticated
from inboxd.mail.classify import FolderRole, TeamIdentity, classify
from inboxd.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
TRUSTED = frozenset({"mx.example.com"})
TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff_domains=frozenset({"example.com"}),
                    trusted_authserv_ids=TRUSTED)

STAFF_REPLY = ("From: Alice <alice@example.com>\nTo: ann@customer.example\nCc: support@example.com\n"
               "Subject: Re: [#1042] Invoice missing\nMessage-ID: <a1@example.com>\n")
BODY = "\nThe corrected invoice goes out by Friday noon.\n"


def staff_mail(*auth_results: str, headers: str = STAFF_REPLY) -> bytes:
    """A staff Reply-All, with Authentication-Results headers in the order given (topmost first)."""
    lines = "".join(f"Authentication-Results: {value}\n" for value in auth_results)
    return (lines + headers + BODY).encode()


def verdict(raw: bytes, team: TeamIdentity = TEAM, folder_role: FolderRole = "inbox") -> tuple[str, str]:
    result = classify(parse_message(raw), team, folder_role, None, raw=raw)
    return result.kind, result.reason


DKIM_PASS = "mx.example.com; dkim=pass (2048-bit key) header.d=example.com header.s=google header.b=Ab12Cd34"


def test_a_forged_staff_from_without_authentication_results_is_a_customer() -> None:
    kind, reason = verdict(staff_mail())
    assert kind == "customer"
    assert "claims to be staff alice@example.com but is not authenticated by mx.example.com" in reason


def test_an_aligned_dkim_pass_from_our_server_is_staff() -> None:
    kind, reason = verdict(staff_mail(DKIM_PASS))
    assert kind == "staff"
    assert "dkim=pass" in reason


def test_a_pass_from_an_untrusted_server_is_ignored() -> None:
    # The sender wrote this header themselves: it carries a name we do not trust.
    forged = "mx.attacker.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=alice@example.com"
    kind, reason = verdict(staff_mail(forged))
    assert kind == "customer"
    assert "no Authentication-Results from a trusted server" in reason


def test_dmarc_fail_wins_over_a_pass() -> None:
    header = ("mx.example.com; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=alice@example.com; "
              "dmarc=fail (p=reject dis=none) header.from=example.com")
    kind, reason = verdict(staff_mail(header))
    assert kind == "customer"
    assert "dmarc=fail" in reason


def test_a_forged_trusted_header_below_our_own_does_not_count() -> None:
    # Our server adds its header on top; the one the sender wrote into the message sits below it.
    ours = "mx.example.com; dkim=none (message not signed); spf=softfail smtp.mailfrom=alice@example.com"
    forged = "mx.example.com; dkim=pass header.d=example.com"
    kind, _ = verdict(staff_mail(ours, forged))
    assert kind == "customer"


@pytest.mark.parametrize(
    ("header", "staff"),
    [
        pytest.param("mx.example.com; spf=pass smtp.mailfrom=alice@example.com", True, id="spf pass aligned"),
        pytest.param("mx.example.com; spf=pass smtp.mailfrom=bounces@mail.example.com", True,
                     id="spf pass from a subdomain"),
        pytest.param("mx.example.com; spf=pass smtp.mailfrom=bounce@esp.example.net", False,
                     id="spf pass for someone else's domain"),
        pytest.param("mx.example.com; dkim=pass header.d=esp.example.net", False, id="dkim of a third party"),
        pytest.param("mx.example.com; dkim=pass header.i=@example.com", True, id="dkim header.i"),
        pytest.param("mx.example.com; dkim=fail header.d=example.com", False, id="dkim fail"),
        pytest.param("mx.example.com; dkim=pass header.d=com", False, id="a public suffix aligns with nothing"),
        pytest.param("mx.example.com; dkim=pass header.d=example.com.evil.example", False, id="look-alike"),
        pytest.param("MX.Example.COM 1; DKIM = Pass header.d=Example.com", True, id="case, version, spaces"),
        pytest.param('mx.example.com; dkim=pass (good signature; it said "ok") header.d="example.com"', True,
                     id="comments with ';' and a quoted value"),
        pytest.param("mx.example.com; dkim=pass header.d=example.com; dmarc=none header.from=example.com", True,
                     id="dmarc none (no policy) does not veto"),
        pytest.param("mx.example.com; none", False, id="no results"),
    ],
)
def test_alignment_and_results(header: str, staff: bool) -> None:
    kind, reason = verdict(staff_mail(header))
    assert (kind == "staff") is staff, reason


def test_the_sent_folder_needs_no_authentication() -> None:
    # Only someone logged into our own mailbox can put mail in its Sent folder.
    raw = b"From: Support <support@example.com>\nTo: ann@customer.example\nSubject: Re: [#1042]\n\nDone.\n"
    assert verdict(raw, folder_role="sent")[0] == "staff"


def test_without_trusted_servers_a_staff_from_is_believed() -> None:
    team = TeamIdentity(our_addresses=TEAM.our_addresses, staff_domains=TEAM.staff_domains)
    assert verdict(staff_mail(), team)[0] == "staff"


def test_a_staff_note_needs_authentication_too() -> None:
    note = "From: alice@example.com\nTo: support@example.com\nSubject: Re: [#1042]\nMessage-ID: <n1@example.com>\n"
    assert verdict(staff_mail(headers=note))[0] == "customer"
    assert verdict(staff_mail(DKIM_PASS, headers=note))[0] == "staff_note"


def test_real_client_mail_in_the_corpus() -> None:
    # Alice's Gmail Reply-All carries our MX's header; Bob's Outlook copy in the corpus does not.
    with_header = (CORPUS / "staff" / "gmail_workspace_reply_all.eml").read_bytes()
    without = (CORPUS / "staff" / "outlook_reply_all.eml").read_bytes()
    assert verdict(with_header)[0] == "staff"
    assert verdict(without)[0] == "customer"


def test_microsoft_365_headers_without_an_authserv_id_are_not_trusted() -> None:
    parsed = parse_authentication_results(
        "spf=pass (sender IP is 203.0.113.5) smtp.mailfrom=example.com; dkim=pass (signature was verified) "
        "header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass reason=100")
    assert parsed.authserv_id == ""
    assert [r.method for r in parsed.results] == ["spf", "dkim", "dmarc", "compauth"]
    msg = parse_message(staff_mail("spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com"))
    assert staff_authenticated(msg, TRUSTED)[0] is False


@pytest.mark.parametrize(
    ("authenticated", "from_domain", "ok"),
    [("example.com", "example.com", True), ("mail.example.com", "example.com", True),
     ("example.com", "eu.example.com", True), ("example.org", "example.com", False),
     ("ample.com", "example.com", False), ("com", "example.com", False), ("", "example.com", False)],
)
def test_relaxed_alignment(authenticated: str, from_domain: str, ok: bool) -> None:
    assert aligned(authenticated, from_domain) is ok


# --------------------------------------------------------------------------------------------
# Forged senders: recorded, never acknowledged (no backscatter)
# --------------------------------------------------------------------------------------------

CUSTOMER = ("From: Bank <alerts@bank.example>\nTo: support@example.com\nSubject: Help\n"
            "Message-ID: <f1@bank.example>\n")


@pytest.mark.parametrize(
    ("results", "forged"),
    [
        pytest.param(["mx.example.com; dmarc=fail (p=reject) header.from=bank.example"], True, id="dmarc=fail"),
        pytest.param(["mx.example.com; spf=fail smtp.mailfrom=bank.example; dkim=fail header.d=bank.example"],
                     True, id="spf and dkim fail"),
        pytest.param(["mx.example.com; spf=fail smtp.mailfrom=bank.example; dkim=none"], True,
                     id="spf fail, no signature"),
        pytest.param(["mx.example.com; spf=fail smtp.mailfrom=bank.example"], True, id="spf fail, no dkim result"),
        pytest.param(["mx.example.com; spf=fail smtp.mailfrom=list.example; dkim=pass header.d=bank.example"],
                     False, id="a forwarder: spf fails, dkim passes"),
        pytest.param(["mx.example.com; spf=softfail smtp.mailfrom=bank.example; dkim=none"], False,
                     id="softfail is no proof"),
        pytest.param(["mx.example.com; spf=fail smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example"],
                     False, id="dmarc pass outweighs spf"),
        pytest.param(["mx.example.com; dmarc=temperror"], False, id="temperror"),
        pytest.param(["mx.example.com; dkim=pass header.d=bank.example",
                      "mx.example.com; dmarc=fail header.from=bank.example"], False,
                     id="only the topmost trusted header counts"),
        pytest.param(["mx.attacker.example; dmarc=fail header.from=bank.example"], False, id="untrusted server"),
        pytest.param(["spf=fail smtp.mailfrom=bank.example; dkim=none; dmarc=fail"], False,
                     id="no authserv-id (Microsoft 365)"),
        pytest.param([], False, id="no header"),
    ],
)
def test_forged_sender_verdicts(results: list[str], forged: bool) -> None:
    lines = "".join(f"Authentication-Results: {value}\n" for value in results)
    msg = parse_message((lines + CUSTOMER + "\nHello\n").encode())
    reason = forged_sender(msg, TRUSTED)
    assert (reason is not None) == forged
    if forged:
        assert reason is not None and reason.startswith("mx.example.com says ")


def test_forged_sender_needs_trusted_servers() -> None:
    msg = parse_message(("Authentication-Results: mx.example.com; dmarc=fail\n" + CUSTOMER + "\nHi\n").encode())
    assert forged_sender(msg, ()) is None


EXCHANGE_TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}),
                             staff_domains=frozenset({"example.com"}), trusted_exchange_org_auth=True)


@pytest.mark.parametrize(
    ("headers", "team", "kind"),
    [
        pytest.param("X-MS-Exchange-Organization-AuthAs: Internal\n", EXCHANGE_TEAM, "staff",
                     id="Microsoft 365 internal mail is staff when the admin trusts it"),
        pytest.param("X-MS-Exchange-Organization-AuthAs: Anonymous\n", EXCHANGE_TEAM, "customer",
                     id="anonymous (from outside) is not"),
        pytest.param("", EXCHANGE_TEAM, "customer", id="no header is not"),
        pytest.param("X-MS-Exchange-Organization-AuthAs: Internal\nX-MS-Exchange-Organization-AuthAs: Anonymous\n",
                     EXCHANGE_TEAM, "customer", id="two headers: one was brought from outside"),
        pytest.param("X-MS-Exchange-Organization-AuthAs: Internal\n", TEAM, "customer",
                     id="not trusted unless configured"),
    ],
)
def test_exchange_org_auth_proves_staff_only_when_configured(headers: str, team: TeamIdentity, kind: str) -> None:
    assert verdict((headers + STAFF_REPLY + BODY).encode(), team)[0] == kind
