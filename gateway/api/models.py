"""Shared request/response pieces for the REST API."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import ApiError

T = TypeVar("T")


class Input(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Items(BaseModel, Generic[T]):
    """An unpaginated list."""

    items: list[T]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=500)


def encode_cursor(*values: Any) -> str:
    """Opaque to clients: the sort key of the last row they saw."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, (str, int)) for v in values):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API gave out")
    return values


M = TypeVar("M", bound=BaseModel)


def page_of(
    model: type[M],
    rows: Sequence[Any],
    limit: int,
    convert: Callable[[Any], M],
    key: Callable[[M], tuple[Any, ...]] = lambda item: (item.id,),  # type: ignore[attr-defined]
) -> Page[M]:
    """A page from rows fetched with LIMIT limit + 1: the extra row only tells that more follow,
    and the cursor is the sort key of the last item shown."""
    items = [convert(row) for row in rows[:limit]]
    more = len(rows) > limit and bool(items)
    return Page[model](items=items, next_cursor=encode_cursor(*key(items[-1])) if more else None)  # type: ignore[valid-type]
