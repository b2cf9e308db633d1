"""Contact identity kinds and their normal forms, so the same person reached by chat, mail,
phone or fax resolves to one contact per tenant."""

from __future__ import annotations

import re

import phonenumbers

IDENTITY_KINDS = ("email", "phone", "fax", "visitor", "external")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:@-]{1,200}$")


class InvalidIdentity(ValueError):
    pass


def normalise_identity(kind: str, value: str, default_region: str | None = None) -> str:
    value = value.strip()
    if kind == "email":
        if not _EMAIL.match(value):
            raise InvalidIdentity(f"not an e-mail address: {value!r}")
        return value.lower()
    if kind in ("phone", "fax"):
        try:
            number = phonenumbers.parse(value, default_region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidIdentity(f"not a phone number: {value!r} ({exc})") from None
        if not phonenumbers.is_possible_number(number):
            raise InvalidIdentity(f"not a possible phone number: {value!r}")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind in ("visitor", "external"):
        if not _TOKEN.match(value):
            raise InvalidIdentity(f"{kind} ids are 1-200 letters, digits or ._:@-")
        return value
    raise InvalidIdentity(f"unknown identity kind {kind!r}; one of {', '.join(IDENTITY_KINDS)}")
