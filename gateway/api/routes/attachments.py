"""Attachments: an agent sends files into a conversation, several as one message (one mail, one
fax); anyone who may read the conversation downloads them, and a received mail's original. The
bytes are stored (and fsynced) before the message that carries them exists."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import MessageOut, load_conversation
from gateway.auth.principal import CONVERSATIONS_READ, CONVERSATIONS_WRITE
from gateway.core.conversations import AttachedFile, append_files
from gateway.db import schema as t
from gateway.api.uploads import MAX_FILES_PER_UPLOAD, MAX_UPLOAD_TOTAL_BYTES, TEXT_PART_LIMIT, file_response, read_upload
from gateway.keys import DB, EVENTS

_FIELDS = {
    "body_text": {"type": "string", "maxLength": TEXT_PART_LIMIT},
    "client_id": {"type": "string", "maxLength": 64},
    "kind": {"type": "string", "enum": ["message", "note"]},
}
# How the OpenAPI document describes the repeatable 'file' part.
_FILES_SCHEMA = {
    "type": "array", "minItems": 1, "maxItems": MAX_FILES_PER_UPLOAD, "items": {"type": "string", "format": "binary"},
    "description": (f"1 to {MAX_FILES_PER_UPLOAD} 'file' parts, kept in this order as one message (on email one mail); "
                    "each within the configured per-file limit, "
                    f"together within {MAX_UPLOAD_TOTAL_BYTES // (1024 * 1024)} MiB (or the per-file limit if larger). "
                    "413 too_many_files, file_too_large or upload_too_large; 415 file_type_refused; 422 empty_file."),
}


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/conversations/{conversation_id}/attachments",
               summary=f"Send 1 to {MAX_FILES_PER_UPLOAD} files into a conversation as one message or internal note",
               tag="conversations", upload={**_FIELDS, "file": _FILES_SCHEMA}, response=MessageOut, status=201, errors=(404, 409, 413, 415))
    async def upload_attachment(call: Call) -> web.StreamResponse:
        async with call.app[DB].connect() as conn:
            conversation = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
        upload = await read_upload(call.request, _FIELDS, lambda _: _tenant(conversation.tenant_id), max_files=MAX_FILES_PER_UPLOAD)
        fields = upload.fields
        kind = fields.get("kind", "message")
        if kind not in ("message", "note"):
            raise ApiError(422, "validation_error", "kind is 'message' or 'note'")
        async with call.app[DB].begin() as conn:
            appended = await append_files(
                conn, conversation.tenant_id, conversation.id, [AttachedFile(f.stored, f.filename, f.content_type) for f in upload.files],
                kind=kind, author_type="agent" if call.user.user_id else "system",  # type: ignore[arg-type]
                author_id=call.user.user_id or call.user.token_id, body_text=fields.get("body_text", ""),
                client_id=fields.get("client_id") or None,
            )
        await call.app[EVENTS].publish(*appended.events)
        out = MessageOut.model_validate(appended.message)
        return web.json_response(text=out.model_dump_json(), status=201 if appended.created else 200)

    @api.route("GET", "/attachments/{attachment_id}", summary="Download an attachment", tag="conversations", errors=(404,))
    async def download_attachment(call: Call) -> web.StreamResponse:
        async with call.app[DB].connect() as conn:
            row = (await conn.execute(
                sa.select(t.attachments).where(
                    t.attachments.c.id == call.path("attachment_id"),
                    call.user.tenant_filter(t.attachments.c.tenant_id, CONVERSATIONS_READ),
                )
            )).first()
        if row is None:
            raise not_found("attachment")
        return file_response(call.request, row.storage_key, row.filename, row.content_type)

    @api.route("GET", "/messages/{message_id}/original", summary="Download a received mail as it arrived (.eml)",
               tag="conversations", errors=(404,))
    async def download_original(call: Call) -> web.StreamResponse:
        m = t.email_messages
        async with call.app[DB].connect() as conn:
            raw_key = (await conn.execute(sa.select(m.c.raw_key).where(
                m.c.message_id == call.path("message_id"), m.c.raw_key.is_not(None),
                call.user.tenant_filter(m.c.tenant_id, CONVERSATIONS_READ)))).scalar_one_or_none()
        if raw_key is None:
            raise not_found("original mail")
        return file_response(call.request, raw_key, "original.eml", "message/rfc822")


async def _tenant(tenant_id: str) -> str:
    return tenant_id
