"""Files arriving over HTTP, for every route that takes one (an agent's attachment, a visitor's
file from the widget): the multipart body is streamed to the file store, never held in memory;
its type is read from its bytes; and stored files are served so a browser can never run them in
our origin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from gateway.api.errors import ApiError
from gateway.keys import CONFIG, FILES
from gateway.storage.files import FileTooLarge, StoredFile
from gateway.storage.uploads import UploadRefused, clean_filename, detect_type

TEXT_PART_LIMIT = 100_000


@dataclass(frozen=True)
class Upload:
    stored: StoredFile
    filename: str
    content_type: str
    fields: dict[str, str]


async def read_upload(request: web.Request, fields: Mapping[str, Any], tenant_of: Callable[[dict[str, str]], Awaitable[str]]) -> Upload:
    """One 'file' part and the named text `fields`. `tenant_of` is asked, when the file starts,
    whose store it goes to — from the text parts read so far, so they must come first (a
    visitor's ticket says whose conversation it is, and it is checked before any byte is kept)."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    config = request.app[CONFIG].uploads
    reader = await request.multipart()
    values: dict[str, str] = {}
    stored = None
    filename = content_type = ""
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "bad_upload", "nested multipart is not accepted")
        if part.name == "file" and part.filename is not None and stored is None:
            tenant_id = await tenant_of(values)
            filename = clean_filename(part.filename)
            declared = part.headers.get("Content-Type", "")

            async def chunks(part: BodyPartReader = part) -> AsyncIterator[bytes]:
                while chunk := await part.read_chunk(64 * 1024):
                    yield chunk

            try:
                stored = await request.app[FILES].save(tenant_id, chunks(), config.max_bytes)
            except FileTooLarge as exc:
                raise ApiError(413, "file_too_large", f"files are limited to {exc.limit // (1024 * 1024)} MiB") from None
            try:
                content_type = detect_type(declared, stored.head, config.allowed_types)
            except UploadRefused as exc:
                raise ApiError(415, "file_type_refused", str(exc)) from None
        elif part.name in fields and part.name not in values:
            value = await part.read(decode=True)
            if len(value) > TEXT_PART_LIMIT:
                raise ApiError(413, "payload_too_large", f"{part.name} is too long")
            values[part.name] = value.decode("utf-8", errors="replace")
        else:
            raise ApiError(422, "validation_error",
                           f"unexpected part {part.name!r}; send {', '.join(fields) or 'nothing'} first, then one 'file'")
    if stored is None:
        raise ApiError(422, "validation_error", "no 'file' part in the upload")
    return Upload(stored, filename, content_type, values)


def file_response(request: web.Request, storage_key: str, filename: str, content_type: str,
                  headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    path = request.app[FILES].path(storage_key)
    if not path.is_file():
        raise ApiError(410, "file_missing", "the stored file is gone; restore the data dir from backup")
    disposition = "inline" if content_type.startswith("image/") else "attachment"
    return web.FileResponse(path, headers={
        "Content-Type": content_type,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename, safe='')}",
        # Whatever the file holds, the browser must not run it in our origin.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
        **(headers or {}),
    })
