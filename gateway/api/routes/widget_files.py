"""Files from and for the visitor's widget, which has no login. The widget asks its socket for an
upload ticket (channels/chat: upload_ticket), then POSTs the file here with it; files of the
visitor's conversation come with signed download links (gateway/widget/links.py).

The widget runs on the tenant's site, so these answer cross-origin: only to the tenant's allowed
origins (a request with no Origin is not a browser on another site), errors included, so the
widget can tell the visitor why a file was refused."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.api.uploads import file_response, read_upload
from gateway.core.conversations import append_file, enqueue_task, has_open_work
from gateway.db import schema as t
from gateway.keys import CONFIG, DB, EVENTS, LIMITER
from gateway.realtime.handshake import normalise_origin
from gateway.realtime.visibility import visitor_message
from gateway.widget.links import BadTicket, attachment_signed, check_ticket, conversation_of_ticket, with_links
from gateway.widget.settings import WidgetSettings

_FIELDS = {
    "token": {"type": "string", "maxLength": 200, "description": "from the socket's upload_ticket; send it before the file"},
    "client_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
    "text": {"type": "string", "maxLength": 5000},
}


class VisitorMessageOut(BaseModel):
    conversation_id: str
    message: dict[str, Any]


def _cors(request: web.Request, allowed_origins: list[str] | None) -> dict[str, str]:
    """Headers that let the tenant's page read our answer; ApiError(403) for any other site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {}
    if allowed_origins is not None and normalise_origin(origin) not in {o.lower() for o in allowed_origins}:
        raise ApiError(403, "origin_refused", "this site is not allowed to use this widget")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/widget/uploads", summary="A visitor sends a file into their chat (with an upload ticket)",
               tag="widget", upload=_FIELDS, auth="public", response=VisitorMessageOut, status=201, errors=(403, 404, 409, 413, 415, 429))
    async def visitor_upload(call: Call) -> web.StreamResponse:
        request = call.request
        headers = _cors(request, None)  # the tenant is known once the ticket is read
        found: dict[str, Any] = {}

        async def tenant_of(fields: dict[str, str]) -> str:
            nonlocal headers
            try:
                conversation_id = conversation_of_ticket(fields.get("token", ""))
            except BadTicket as exc:
                raise ApiError(403, "bad_ticket", f"{exc}; send the token part before the file") from None
            async with call.app[DB].connect() as conn:
                row = (await conn.execute(
                    sa.select(t.conversations.c.tenant_id, t.conversations.c.status, t.tenants.c.widget_secret,
                              t.tenants.c.allowed_origins, t.tenants.c.settings)
                    .join(t.tenants, t.tenants.c.id == t.conversations.c.tenant_id)
                    .where(t.conversations.c.id == conversation_id, t.tenants.c.status == "active"))).first()
            if row is None:
                raise ApiError(403, "bad_ticket", "the upload ticket is not valid")
            headers = _cors(request, row.allowed_origins)
            try:
                check_ticket(row.widget_secret, fields["token"])
            except BadTicket as exc:
                raise ApiError(403, "bad_ticket", str(exc)) from None
            if not WidgetSettings.of(row.settings).features.attachments:
                raise ApiError(403, "attachments_disabled", "this site does not accept files in chat")
            if row.status == "closed":
                raise ApiError(409, "conversation_closed", "this chat has ended; start a new one to send files")
            await _rate_limit(request, conversation_id)
            found.update(conversation_id=conversation_id, tenant_id=row.tenant_id, secret=row.widget_secret)
            return row.tenant_id

        try:
            upload = await read_upload(request, _FIELDS, tenant_of)
        except ApiError as exc:
            raise ApiError(exc.status, exc.code, exc.message, details=exc.details, headers={**exc.headers, **headers}) from None
        tenant_id, conversation_id = found["tenant_id"], found["conversation_id"]
        async with call.app[DB].begin() as conn:
            appended = await append_file(
                conn, tenant_id, conversation_id, upload.stored, filename=upload.filename, content_type=upload.content_type,
                kind="message", author_type="contact", author_id=None, body_text=upload.fields.get("text", "")[:5000],
                client_id=upload.fields.get("client_id") or None)
            events = list(appended.events)
            if appended.created and not await has_open_work(conn, tenant_id, conversation_id):
                channel = (await conn.execute(sa.select(t.conversations.c.channel).where(t.conversations.c.id == conversation_id))).scalar_one()
                _, queued = await enqueue_task(conn, tenant_id, conversation_id, channel)
                events += queued
        await call.app[EVENTS].publish(*events)
        out = VisitorMessageOut(conversation_id=conversation_id, message=with_links(visitor_message(appended.message), found["secret"]))
        return web.json_response(text=out.model_dump_json(), status=201 if appended.created else 200, headers=headers)

    @api.route("GET", "/widget/attachments/{attachment_id}/{signature}", summary="A file of the visitor's chat, by its signed link",
               tag="widget", auth="public", errors=(403, 404))
    async def visitor_download(call: Call) -> web.StreamResponse:
        async with call.app[DB].connect() as conn:
            row = (await conn.execute(
                sa.select(t.attachments, t.tenants.c.widget_secret, t.messages.c.kind)
                .join(t.tenants, t.tenants.c.id == t.attachments.c.tenant_id)
                .join(t.messages, t.messages.c.id == t.attachments.c.message_id)
                .where(t.attachments.c.id == call.path("attachment_id")))).first()
        # A file on an internal note is never the customer's, whatever link someone holds.
        if row is None or row.kind == "note" or not attachment_signed(row.widget_secret, row.id, call.path("signature")):
            raise not_found("file")
        # Images are shown in the widget on the tenant's page: a cross-origin <img> needs no CORS,
        # and the sandbox CSP keeps anything else from running if opened directly.
        return file_response(call.request, row.storage_key, row.filename, row.content_type,
                             headers={"Cross-Origin-Resource-Policy": "cross-origin"})


async def _rate_limit(request: web.Request, conversation_id: str) -> None:
    settings = request.app[CONFIG].uploads
    for key, limit in ((f"upload-conv:{conversation_id}", settings.visitor_files_per_window),
                       (f"upload-ip:{request.remote or 'unknown'}", settings.visitor_files_per_ip_window)):
        decision = await request.app[LIMITER].hit(key, limit, settings.visitor_window_seconds)
        if not decision.allowed:
            raise ApiError(429, "rate_limited", f"too many files; try again in {decision.retry_after} s",
                           headers={"Retry-After": str(decision.retry_after)})
