"""INSERT that yields to a unique key instead of failing, on SQLite and PostgreSQL alike (a failed
INSERT would abort the whole PostgreSQL transaction)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignoring_conflicts(conn: AsyncConnection, table: sa.Table, values: dict[str, Any], unique: list[str]) -> bool:
    """True when the row was inserted, False when a row with the same unique key exists."""
    result = await conn.execute(_insert_ignoring(conn.dialect.name, table, tuple(unique)), values)
    return result.rowcount == 1


@functools.cache
def _insert_ignoring(dialect_name: str, table: sa.Table, unique: tuple[str, ...]) -> sa.Insert:
    # Built once: the values come as parameters, so SQLAlchemy's statement cache key is computed once too.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
