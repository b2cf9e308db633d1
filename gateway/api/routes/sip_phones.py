"""An agent's own SIP phone for a remote seat: they ask for its credentials (the password is shown
once), see whether it is registered, and remove it. A registered phone rings with the calls
offered to its agent; picking up takes the call (channels/voice/seats.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.core import sip_phones
from gateway.keys import CONFIG, DB


class SipPhoneOut(BaseModel):
    username: str
    realm: str
    registrar: str | None  # where the phone registers (the gateway's SIP address), when SIP is set up
    registered: bool
    registered_until: datetime | None
    contact: str | None
    user_agent: str | None


class SipPhoneIssued(SipPhoneOut):
    password: str  # shown this once: only its digest (HA1) is kept


def _registrar(call: Call) -> str | None:
    """The SIP address phones register with: `[channels.voice.sip]` advertised_host (or listen) and port."""
    voice = call.app[CONFIG].channels.get("voice")
    sip = (voice.model_extra or {}).get("sip") if voice is not None and voice.enabled else None
    if not isinstance(sip, dict):
        return None
    host, _, port = str(sip.get("listen", "0.0.0.0:5060")).rpartition(":")
    return f"{sip.get('advertised_host') or host.strip('[]')}:{port}"


def _out(call: Call, row) -> SipPhoneOut:  # type: ignore[no-untyped-def]
    return SipPhoneOut(username=row.username, realm=sip_phones.PHONE_REALM, registrar=_registrar(call),
                       registered=sip_phones.is_registered(row), registered_until=row.registered_until,
                       contact=row.contact, user_agent=row.user_agent)


def _user_id(call: Call) -> str:
    if call.user.user_id is None:
        raise ApiError(400, "not_a_user", "API tokens have no phone")
    return call.user.user_id


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/me/sip-phone", summary="Your SIP phone for a remote seat: its username and whether it is registered",
               tag="calls", response=SipPhoneOut, errors=(400, 404))
    async def get_sip_phone(call: Call) -> SipPhoneOut:
        async with call.app[DB].connect() as conn:
            row = await sip_phones.of_user(conn, _user_id(call))
        if row is None:
            raise not_found("SIP phone")
        return _out(call, row)

    @api.route("POST", "/me/sip-phone", summary="New credentials for your SIP phone (the password is shown once)",
               tag="calls", response=SipPhoneIssued, status=201, errors=(400,))
    async def issue_sip_phone(call: Call) -> SipPhoneIssued:
        user_id = _user_id(call)
        async with call.app[DB].begin() as conn:
            username, password = await sip_phones.issue(conn, user_id)
            await audit(conn, "user.sip_phone_issued", principal=call.user, target_type="user", target_id=user_id,
                        data={"username": username})
            row = await sip_phones.of_user(conn, user_id)
        return SipPhoneIssued(**_out(call, row).model_dump(), password=password)

    @api.route("DELETE", "/me/sip-phone", summary="Remove your SIP phone: it no longer registers or rings", tag="calls",
               errors=(400, 404))
    async def remove_sip_phone(call: Call) -> None:
        user_id = _user_id(call)
        async with call.app[DB].begin() as conn:
            if not await sip_phones.remove(conn, user_id):
                raise not_found("SIP phone")
            await audit(conn, "user.sip_phone_removed", principal=call.user, target_type="user", target_id=user_id)
