"""Fixtures of the email tests: one real Dovecot IMAP server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.email.dovecot import Dovecot, DovecotMissing


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot on loopback (STARTTLS on `imap_port`, implicit TLS on `imaps_port`, certificate
    at `cert_path`). Shared by the session: each test adds users of its own with `add_user`."""
    try:
        server = Dovecot()
    except DovecotMissing as missing:
        reason = str(missing)  # failed outside the except block: one message, not a chain of two
    else:
        reason = ""
    if reason:
        pytest.fail(reason, pytrace=False)
    try:
        server.start()
        yield server
    finally:
        server.close()
