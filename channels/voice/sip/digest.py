"""SIP digest authentication (RFC 3261 §22, RFC 2617's MD5 with qop=auth): the challenge a trunk
gets in a 401 and checking its answer (DigestRealm), and answering a trunk's own challenge when
the gateway dials out or registers (`authorization`).

Written by hand: the digest libraries on PyPI are HTTP clients tied to their HTTP requests, and
issue no challenges. Nonces are stateless: a timestamp signed with a per-process secret (and, for
agents' phones, the address that asked), valid for NONCE_SECONDS, so no table of issued nonces
grows with each challenge. A captured answer can only be replayed within that time, from the same
address; an INVITE replayed is the same transaction.
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
    password: str = ""
    ha1: str = ""  # MD5(username:realm:password), kept in place of the password (agents' phones)


class DigestRealm:
    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._secret = secrets.token_bytes(32)

    def challenge(self, stale: bool = False, bound_to: str = "") -> str:
        """A WWW-Authenticate value; `bound_to` (the asker's address): its answer counts only from there."""
        stamp = str(int(time.time()))
        nonce = f"{stamp}.{self._sign(stamp, bound_to)}"
        return (f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                + (", stale=true" if stale else ""))

    def check(self, authorization: str | None, method: str, accounts: dict[str, Credentials], bound_to: str = "") -> str:
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
        if not stamp.isdigit() or not hmac.compare_digest(signature, self._sign(stamp, bound_to)):
            return "bad"
        ha1 = account.ha1 or _md5(f"{account.username}:{self.realm}:{account.password}")
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

    def _sign(self, stamp: str, bound_to: str) -> str:
        return hmac.new(self._secret, f"{stamp}|{bound_to}".encode(), hashlib.sha256).hexdigest()[:32]


def username_of(authorization: str | None) -> str | None:
    """Who an Authorization header says it is (to look their credentials up before checking it)."""
    if not authorization or not authorization.lower().startswith("digest "):
        return None
    fields = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM.finditer(authorization[7:])}
    return fields.get("username")


def authorization(challenge: str, method: str, uri: str, credentials: Credentials, count: int = 1) -> str:
    """The Authorization (or Proxy-Authorization) value answering a WWW-/Proxy-Authenticate
    `challenge` for a request; ValueError when the challenge is not one we can answer (not
    Digest, another algorithm than MD5, or a qop other than auth)."""
    if not challenge.lower().startswith("digest "):
        raise ValueError("the trunk asks for another scheme than Digest")
    fields = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM.finditer(challenge[7:])}
    realm, nonce = fields.get("realm"), fields.get("nonce")
    if realm is None or not nonce:
        raise ValueError("the trunk's challenge has no realm or nonce")
    if fields.get("algorithm", "MD5").upper() != "MD5":
        raise ValueError(f"the trunk asks for digest algorithm {fields['algorithm']}, not MD5")
    qops = [q.strip() for q in (fields.get("qop") or "").split(",") if q.strip()]
    ha1 = _md5(f"{credentials.username}:{realm}:{credentials.password}")
    ha2 = _md5(f"{method}:{uri}")
    parts = [f'username="{_quoted(credentials.username)}"', f'realm="{_quoted(realm)}"', f'nonce="{_quoted(nonce)}"',
             f'uri="{_quoted(uri)}"', "algorithm=MD5"]
    if "auth" in qops:
        nc, cnonce = f"{count:08x}", secrets.token_hex(8)
        parts += [f'response="{_md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")}"', "qop=auth", f"nc={nc}",
                  f'cnonce="{cnonce}"']
    elif not qops:  # RFC 2069
        parts.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    else:
        raise ValueError(f"the trunk asks for qop {','.join(qops)}, not auth")
    if fields.get("opaque") is not None:
        parts.append(f'opaque="{_quoted(fields["opaque"])}"')
    return "Digest " + ", ".join(parts)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - what SIP digest is
