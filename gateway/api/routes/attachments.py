"""Attachments: an agent sends a file into a conversation; anyone who may read the conversation
downloads it. The bytes are stored (and fsynced) before the message that carries them exists."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import BodyPartReader, web

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import MessageOut, load_conversation
from gateway.auth.principal import CONVERSATIONS_READ, CONVERSATIONS_WRITE
from gateway.core.conversations import append_message
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import CONFIG, DB, EVENTS, FILES
from gateway.storage.files import FileTooLarge, StoredFile
from gateway.storage.uploads import UploadRefused, clean_filename, detect_type

_TEXT_PART_LIMIT = 100_000
_FIELDS = {
    "body_text": {"type": "string", "maxLength": _TEXT_PART_LIMIT},
    "client_id": {"type": "string", "maxLength": 64},
    "kind": {"type": "string", "enum": ["message", "note"]},
}


async def _read_upload(call: Call, tenant_id: str) -> tuple[StoredFile, str, str, dict[str, str]]:
    """Streams the multipart body: the file to the store (never all in memory), the rest as text."""
    if call.request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    config = call.app[CONFIG].uploads
    reader = await call.request.multipart()
    fields: dict[str, str] = {}
    stored = None
    filename = content_type = ""
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "bad_upload", "nested multipart is not accepted")
        if part.name == "file" and part.filename is not None and stored is None:
            filename = clean_filename(part.filename)
            declared = part.headers.get("Content-Type", "")

            async def chunks(part: BodyPartReader = part) -> Any:
                while chunk := await part.read_chunk(64 * 1024):
                    yield chunk

            try:
                stored = await call.app[FILES].save(tenant_id, chunks(), config.max_bytes)
            except FileTooLarge as exc:
                raise ApiError(413, "file_too_large", f"files are limited to {exc.limit // (1024 * 1024)} MiB") from None
            try:
                content_type = detect_type(declared, stored.head, config.allowed_types)
            except UploadRefused as exc:
                raise ApiError(415, "file_type_refused", str(exc)) from None
        elif part.name in _FIELDS and part.name not in fields:
            value = await part.read(decode=True)
            if len(value) > _TEXT_PART_LIMIT:
                raise ApiError(413, "payload_too_large", f"{part.name} is too long")
            fields[part.name] = value.decode("utf-8", errors="replace")
        else:
            raise ApiError(422, "validation_error", f"unexpected part {part.name!r}; send one 'file' and optionally {', '.join(_FIELDS)}")
    if stored is None:
        raise ApiError(422, "validation_error", "no 'file' part in the upload")
    return stored, filename, content_type, fields


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/conversations/{conversation_id}/attachments",
               summary="Send a file into a conversation (as a message or an internal note)",
               tag="conversations", upload=_FIELDS, response=MessageOut, status=201, errors=(404, 409, 413, 415))
    async def upload_attachment(call: Call) -> web.StreamResponse:
        async with call.app[DB].connect() as conn:
            conversation = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
        stored, filename, content_type, fields = await _read_upload(call, conversation.tenant_id)
        kind = fields.get("kind", "message")
        if kind not in ("message", "note"):
            raise ApiError(422, "validation_error", "kind is 'message' or 'note'")
        client_id = fields.get("client_id") or None
        attachment_id = new_id()
        attachment = {"id": attachment_id, "filename": filename, "content_type": content_type, "size": stored.size}
        async with call.app[DB].begin() as conn:
            appended = await append_message(
                conn, conversation.tenant_id, conversation.id, kind=kind,  # type: ignore[arg-type]
                author_type="agent" if call.user.user_id else "system", author_id=call.user.user_id or call.user.token_id,
                body_text=fields.get("body_text", ""), client_id=client_id, meta={"attachments": [attachment]},
            )
            if appended.created:
                await conn.execute(sa.insert(t.attachments).values(
                    **attachment, tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                    message_id=appended.message["id"], sha256=stored.sha256, storage_key=stored.key, created_at=utcnow(),
                ))
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
        path = call.app[FILES].path(row.storage_key)
        if not path.is_file():
            raise ApiError(410, "file_missing", "the stored file is gone; restore the data dir from backup")
        inline = row.content_type.startswith("image/")
        disposition = "inline" if inline else "attachment"
        return web.FileResponse(path, headers={
            "Content-Type": row.content_type,
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{_quote(row.filename)}",
            # Whatever the file holds, the browser must not run it in our origin.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=3600",
        })


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
