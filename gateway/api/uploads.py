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
from gateway.config import UploadConfig
from gateway.keys import CONFIG, FILES
from gateway.storage.files import FileTooLarge, StoredFile
from gateway.storage.uploads import UploadRefused, clean_filename, detect_type

TEXT_PART_LIMIT = 100_000
# One request carries at most this many files, and together at most this many bytes (or the
# per-file limit, when that is larger): an agent's files leave as one mail or fax, and mail
# servers commonly refuse mails over 25 MB.
MAX_FILES_PER_UPLOAD = 10
MAX_UPLOAD_TOTAL_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class UploadedFile:
    stored: StoredFile
    filename: str
    content_type: str


@dataclass(frozen=True)
class Upload:
    files: tuple[UploadedFile, ...]  # in the order they were sent; never empty
    fields: dict[str, str]

    # The first (for a route that takes one file, the only) file.
    @property
    def stored(self) -> StoredFile:
        return self.files[0].stored

    @property
    def filename(self) -> str:
        return self.files[0].filename

    @property
    def content_type(self) -> str:
        return self.files[0].content_type


async def read_upload(request: web.Request, fields: Mapping[str, Any], tenant_of: Callable[[dict[str, str]], Awaitable[str]],
                      *, max_files: int = 1) -> Upload:
    """1..max_files 'file' parts and the named text `fields`. `tenant_of` is asked, when the first
    file starts, whose store the files go to — from the text parts read so far, so they must come
    first (a visitor's ticket says whose conversation it is, and it is checked before any byte is
    kept). Each file is stored (fsynced) as it arrives; any error refuses the whole request."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    config = request.app[CONFIG].uploads
    reader = await request.multipart()
    values: dict[str, str] = {}
    files: list[UploadedFile] = []
    tenant_id: str | None = None
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "bad_upload", "nested multipart is not accepted")
        if part.name == "file" and part.filename is not None:
            if len(files) == max_files:
                raise ApiError(413, "too_many_files", f"send at most {max_files} file{'s' if max_files > 1 else ''} at once",
                               details={"max_files": max_files})
            if tenant_id is None:
                tenant_id = await tenant_of(values)
            files.append(await _store_file(request, part, tenant_id, config, files))
        elif part.name in fields and part.name not in values:
            value = await part.read(decode=True)
            if len(value) > TEXT_PART_LIMIT:
                raise ApiError(413, "payload_too_large", f"{part.name} is too long")
            values[part.name] = value.decode("utf-8", errors="replace")
        elif part.name == "file":
            raise ApiError(422, "validation_error", "a 'file' part needs a filename")
        else:
            raise ApiError(422, "validation_error",
                           f"unexpected part {part.name!r}; send {', '.join(fields) or 'nothing'} first, then the 'file' parts")
    if not files:
        raise ApiError(422, "validation_error", "no 'file' part in the upload")
    return Upload(tuple(files), values)


async def _store_file(request: web.Request, part: BodyPartReader, tenant_id: str, config: UploadConfig,
                      before: list[UploadedFile]) -> UploadedFile:
    """Stores the next file of an upload, within the per-file limit and what is left of the total."""
    filename = clean_filename(part.filename or "")
    which = {"file": filename, "index": len(before)}  # which file of several was refused
    total_limit = max(config.max_bytes, MAX_UPLOAD_TOTAL_BYTES)
    total_left = total_limit - sum(f.stored.size for f in before)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await part.read_chunk(64 * 1024):
            yield chunk

    try:
        stored = await request.app[FILES].save(tenant_id, chunks(), min(config.max_bytes, total_left))
    except FileTooLarge:
        if total_left < config.max_bytes:
            raise ApiError(413, "upload_too_large", f"the files together are limited to {_mib(total_limit)} MiB",
                           details=which) from None
        raise ApiError(413, "file_too_large", f"files are limited to {_mib(config.max_bytes)} MiB", details=which) from None
    if stored.size == 0:
        raise ApiError(422, "empty_file", f"{filename} is empty", details=which)
    try:
        content_type = detect_type(part.headers.get("Content-Type", ""), stored.head, config.allowed_types)
    except UploadRefused as exc:
        raise ApiError(415, "file_type_refused", str(exc), details=which) from None
    return UploadedFile(stored, filename, content_type)


def _mib(size: int) -> int:
    return size // (1024 * 1024)


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
