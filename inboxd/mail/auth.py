"""Did our own mail server vouch for the sender's domain? Pure: ``Authentication-Results`` (RFC 8601) in, a verdict out.

A From header is typed by whoever sends the message, so "From: alice@example.com" proves nothing.
What the receiving server found when the message arrived does: whether a DKIM signature of the From
domain verified, whether SPF allowed the envelope sender's domain, and what DMARC concluded. The
server records that in an ``Authentication-Results`` header that starts with its authserv-id.

Only headers from authserv-ids the admin trusts (``team.trusted_authserv_ids``) count. Anyone can write
an ``Authentication-Results: mx.example.com; dkim=pass`` header into the message they send; a
well-configured receiving server removes such headers that carry its own id (RFC 8601 section 5), and
adds its own header above everything that came before. So only the topmost header from a trusted
server is read: a forged one sits below it.

Authentication proves the domain, not the mailbox: a listed staff address at a shared provider (a
freelancer at gmail.com) is proven only as far as "someone at gmail.com".

The same trusted header also tells when a From is forged (DMARC fail, or neither SPF nor DKIM
vouching for the sender): such mail is recorded but not acknowledged, so inboxd never sends
backscatter to whoever the forger named.

Microsoft 365 writes its ``Authentication-Results`` without an authserv-id, so none of its headers can
be told from a forged one. What it does offer: ``X-MS-Exchange-Organization-AuthAs: Internal`` on mail
submitted inside the organisation, a header Exchange Online removes from mail arriving from outside.
An admin who runs the support mailbox on Exchange Online may accept that as staff proof
(``team.trusted_exchange_org_auth``); anywhere else the header proves nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from inboxd.mail.parse import ParsedMessage

__all__ = ["AuthResult", "AuthResults", "forged_sender", "parse_authentication_results", "staff_authenticated"]


@dataclass(frozen=True)
class AuthResult:
    """One ``method=result`` with its properties, e.g. dkim=pass header.d=example.com."""

    method: str  # lower-cased: dkim, spf, dmarc, arc, iprev, auth…
    result: str  # lower-cased: pass, fail, softfail, none, neutral, temperror, permerror, policy
    properties: dict[str, str] = field(default_factory=dict)  # lower-cased keys: header.d, smtp.mailfrom…

    def describe(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.properties.items()
                         if k in ("header.d", "header.i", "smtp.mailfrom", "header.from"))
        return f"{self.method}={self.result}" + (f" {shown}" if shown else "")


@dataclass(frozen=True)
class AuthResults:
    """One ``Authentication-Results`` header."""

    authserv_id: str  # lower-cased; "" when the header has none (Microsoft 365 omits it)
    results: tuple[AuthResult, ...] = ()


def parse_authentication_results(value: str) -> AuthResults:
    """Parse one header value. Tolerant: a malformed resinfo is skipped, never raised on."""
    statements = _split(_strip_comments(value), ";")
    if not statements:
        return AuthResults("")
    head = statements[0].split()
    # Microsoft 365 writes "spf=pass ...; dkim=..." with no authserv-id at all.
    authserv_id = "" if not head or "=" in head[0] else head[0].lower()
    rest = statements[1:] if authserv_id or not head else statements
    results: list[AuthResult] = []
    for statement in rest:
        tokens = _split(statement, None)
        if not tokens or "=" not in tokens[0]:
            continue  # "none", or garbage
        method, _, result = tokens[0].partition("=")
        properties: dict[str, str] = {}
        for token in tokens[1:]:
            key, sep, prop = token.partition("=")
            if sep and key:
                properties.setdefault(key.lower(), _unquote(prop))
        results.append(AuthResult(method.split("/")[0].lower(), _unquote(result).lower(), properties))
    return AuthResults(authserv_id, tuple(results))


def staff_authenticated(msg: ParsedMessage, trusted_authserv_ids: Collection[str],
                        exchange_org_auth: bool = False) -> tuple[bool, str]:
    """Whether a trusted server authenticated the From domain, and why (for ``inboxd explain``).

    True only when the topmost ``Authentication-Results`` from a trusted authserv-id has dkim=pass with
    header.d (or header.i) aligned to the From domain, or spf=pass with smtp.mailfrom aligned to it,
    and DMARC in that same header did not fail. With ``exchange_org_auth`` (an Exchange Online
    mailbox), ``X-MS-Exchange-Organization-AuthAs: Internal`` is proof as well.
    """
    trusted = {t.strip().lower() for t in trusted_authserv_ids if t.strip()}
    domain = msg.from_addr.rpartition("@")[2].lower()
    if not domain:
        return False, "the message has no From address"
    if exchange_org_auth:
        auth_as = [v.strip().lower() for v in msg.header_all("X-MS-Exchange-Organization-AuthAs")]
        # Exactly one, saying Internal: Exchange replaces what came from outside with its own single header.
        if auth_as == ["internal"]:
            return True, "X-MS-Exchange-Organization-AuthAs: Internal (sent from inside the Microsoft 365 organisation)"
    names = ", ".join(sorted(trusted)) or "no trusted server"
    header = _topmost_trusted(msg.header_all("Authentication-Results"), trusted)
    if header is None:
        if exchange_org_auth:
            return False, f"not sent from inside the Microsoft 365 organisation, and no Authentication-Results " \
                          f"from a trusted server ({names})"
        return False, f"no Authentication-Results from a trusted server ({names})"
    where = header.authserv_id
    dmarc_failed = [r for r in header.results if r.method == "dmarc" and r.result == "fail"]
    if dmarc_failed:
        return False, f"{where} says {dmarc_failed[0].describe()}"
    for result in header.results:
        if result.result != "pass":
            continue
        if result.method == "dkim":
            signer = result.properties.get("header.d") or result.properties.get("header.i", "").rpartition("@")[2]
            if signer and aligned(signer, domain):
                return True, f"{where} says {result.describe()}, aligned with {domain}"
        elif result.method == "spf":
            mailfrom = result.properties.get("smtp.mailfrom", "").rpartition("@")[2]
            if mailfrom and aligned(mailfrom, domain):
                return True, f"{where} says {result.describe()}, aligned with {domain}"
    seen = "; ".join(r.describe() for r in header.results if r.method in ("dkim", "spf", "dmarc")) or "nothing"
    return False, f"{where} found no DKIM or SPF pass aligned with {domain} ({seen})"


def forged_sender(msg: ParsedMessage, trusted_authserv_ids: Collection[str]) -> str | None:
    """Why a trusted server found this message's sender forged, or None when it did not (or cannot tell).

    Forged: in the topmost ``Authentication-Results`` from a trusted authserv-id, dmarc=fail; or
    spf=fail (the domain's owner says this server may not send for it) with no DKIM signature that
    verified. A softfail, a neutral, a temporary error or no header at all is not proof of forgery.
    """
    trusted = {t.strip().lower() for t in trusted_authserv_ids if t.strip()}
    if not trusted:
        return None
    header = _topmost_trusted(msg.header_all("Authentication-Results"), trusted)
    if header is None:
        return None
    where = header.authserv_id
    dmarc = [r for r in header.results if r.method == "dmarc"]
    if any(r.result == "fail" for r in dmarc):
        failed = next(r for r in dmarc if r.result == "fail")
        return f"{where} says {failed.describe()}"
    if any(r.result == "pass" for r in dmarc):
        return None
    spf = [r for r in header.results if r.method == "spf"]
    dkim = [r for r in header.results if r.method == "dkim"]
    if any(r.result == "fail" for r in spf) and not any(r.result == "pass" for r in dkim):
        shown = "; ".join(r.describe() for r in (*spf, *dkim))
        return f"{where} says {shown}" + ("" if dkim else " (no DKIM signature)")
    return None


def aligned(authenticated: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or one inside the other.

    The authenticated domain must have at least two labels: nobody can sign as "com", but a rule
    that only compared suffixes would otherwise let it stand for every .com sender.
    """
    a = authenticated.strip().strip(".").lower()
    f = from_domain.strip().strip(".").lower()
    if not a or not f or "." not in a:
        return False
    return a == f or f.endswith("." + a) or a.endswith("." + f)


def _topmost_trusted(values: Iterable[str], trusted: set[str]) -> AuthResults | None:
    # Headers are in message order, so the first one is the one our server added last.
    for value in values:
        parsed = parse_authentication_results(value)
        if parsed.authserv_id and parsed.authserv_id in trusted:
            return parsed
    return None


def _strip_comments(value: str) -> str:
    """Remove RFC 5322 comments, "(google.com: domain of … designates …)", which may nest or hold ';'."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            out.append(ch)
            if ch == '"':
                quoted = False
            continue
        if ch == '"' and depth == 0:
            quoted = True
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            out.append(" ")
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _split(value: str, sep: str | None) -> list[str]:
    """Split on ``sep`` (None: whitespace) outside quoted strings, dropping empty pieces."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        is_sep = ch.isspace() if sep is None else ch == sep
        if is_sep and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    # "dkim = pass" is legal (CFWS around "="): glue the pieces back together around a lone "=".
    if sep is None:
        joined: list[str] = []
        for piece in (p for p in pieces if p):
            if joined and (piece.startswith("=") or joined[-1].endswith("=")):
                joined[-1] += piece
            else:
                joined.append(piece)
        return joined
    return [p.strip() for p in pieces if p.strip()]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value
