"""TLS contexts: verified by default; ``verify_tls: false`` is an explicit, logged choice."""

from __future__ import annotations

import ssl


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
