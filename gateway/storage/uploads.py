"""What an uploaded file really is: its type is read from its bytes (filetype), not trusted from
the sender, and its name is cleaned before anyone's browser sees it."""

from __future__ import annotations

import re
import unicodedata

import filetype


class UploadRefused(Exception):
    pass


_TEXT_TYPES = {"text/plain", "text/csv"}


def clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # never a path
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "file"


def detect_type(declared: str, head: bytes, allowed: list[str]) -> str:
    """The content type to store, or UploadRefused when it is not allowed or lies about itself."""
    declared = (declared or "application/octet-stream").split(";")[0].strip().lower()
    sniffed = filetype.guess_mime(head) if head else None
    if sniffed:
        kind = sniffed
    elif declared in _TEXT_TYPES and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a cut multi-byte character at the end is fine
                raise UploadRefused("text files must be UTF-8") from None
        kind = declared
    else:
        raise UploadRefused(f"cannot tell what kind of file this is (declared {declared})")
    if kind not in allowed:
        raise UploadRefused(f"{kind} files are not accepted here")
    return kind
