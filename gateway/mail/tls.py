"""TLS for tenants' own mail servers (IMAP intake, SMTP replies): certificates and host names
are always checked, against the system's CAs plus [mailboxes] ca_file (a center's own CA)."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def tenant_tls_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context
