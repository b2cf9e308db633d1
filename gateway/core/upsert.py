"""INSERT that yields to a unique key instead of failing, on SQLite and PostgreSQL alike (a failed
INSERT would abort the whole PostgreSQL transaction)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignoring_conflicts(conn: AsyncConnection, table: sa.Table, values: dict[str, Any], unique: list[str]) -> bool:
    """True when the row was inserted, False when a row with the same unique key exists."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=unique)
    result = await conn.execute(stmt)
    return result.rowcount == 1
