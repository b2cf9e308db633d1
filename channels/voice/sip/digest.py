"""SIP digest authentication, server side (RFC 3261 §22, RFC 2617's MD5 with qop=auth): the
challenge a trunk gets in a 401, and checking its answer.

Written by hand: the digest libraries on PyPI are HTTP clients (answering a challenge, not
issuing one). Nonces are stateless: a timestamp signed with a per-process secret, valid for
NONCE_SECONDS, so no table of issued nonces grows with each challenge; replay within that time is
limited by the INVITE transaction itself (a repeated request is the same transaction).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

NONCE_SECONDS = 300
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


class DigestRealm:
    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._secret = secrets.token_bytes(32)

    def challenge(self, stale: bool = False) -> str:
        """A WWW-Authenticate value."""
        stamp = str(int(time.time()))
        nonce = f"{stamp}.{self._sign(stamp)}"
        return (f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                + (", stale=true" if stale else ""))

    def check(self, authorization: str | None, method: str, accounts: dict[str, Credentials]) -> str:
        """"ok", "stale" (a good answer to an expired nonce: challenge again, stale=true) or
        "bad" (no answer, another realm, an unknown user or a wrong password)."""
        if not authorization or not authorization.lower().startswith("digest "):
            return "bad"
        fields = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM.finditer(authorization[7:])}
        username, nonce, uri, answer = (fields.get(k) for k in ("username", "nonce", "uri", "response"))
        account = accounts.get(username or "")
        if (account is None or not nonce or not uri or not answer or fields.get("realm") != self.realm
                or fields.get("algorithm", "MD5").upper() != "MD5"):
            return "bad"
        stamp, _, signature = nonce.partition(".")
        if not stamp.isdigit() or not hmac.compare_digest(signature, self._sign(stamp)):
            return "bad"
        ha1 = _md5(f"{account.username}:{self.realm}:{account.password}")
        ha2 = _md5(f"{method}:{uri}")
        qop = fields.get("qop")
        if qop == "auth":
            expected = _md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}")
        elif qop is None:  # RFC 2069 clients
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        else:
            return "bad"
        if not hmac.compare_digest(expected, answer.lower()):
            return "bad"
        return "stale" if time.time() - int(stamp) > NONCE_SECONDS else "ok"

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - what SIP digest is
