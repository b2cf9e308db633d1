"""Stored files — attachments, fax pages, recordings — on disk under the data dir, behind one
small interface so an object store can replace it later.

Files are content-addressed per tenant (`files/<tenant>/<sha256[:2]>/<sha256>`): a retried
upload or the same attachment sent twice is kept once, and a key can never point outside the
store. Every file is fsynced before `save` returns, so nothing is acknowledged before it is
durable.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f]{2}/[0-9a-f]{64}$")


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for type sniffing


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("not a file key")
        return self.root / key

    async def save(self, tenant_id: str, chunks: AsyncIterator[bytes], max_bytes: int) -> StoredFile:
        tmp_dir = self.root / "tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(out.flush)
                await asyncio.to_thread(os.fsync, out.fileno())
            sha = digest.hexdigest()
            key = f"{tenant_id}/{sha[:2]}/{sha}"
            final = self.path(key)
            await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(os.replace, tmp_name, final)
            return StoredFile(key, size, sha, head)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
