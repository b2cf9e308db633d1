"""Apply Alembic migrations at start, safely when several gateway processes start at once.

PostgreSQL: a session-level advisory lock serialises the migrators; the others wait, then find
nothing left to do. SQLite lives on one machine, so an exclusive file lock beside the database
does the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Arbitrary but fixed: the key of the PostgreSQL advisory lock that guards migrations.
PG_MIGRATION_LOCK_KEY = 0x57454343_0001


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


async def migrate(engine: AsyncEngine) -> None:
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK_KEY})
            await conn.commit()
            try:
                await conn.run_sync(_upgrade)
                await conn.commit()
            finally:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK_KEY})
                await conn.commit()
        return
    database = engine.url.database or ""
    lock_path = Path(database + ".migrate-lock") if database and database != ":memory:" else None
    lock = _file_lock(lock_path) if lock_path else contextlib.nullcontext()
    # flock blocks; take it in a thread so the event loop stays free while another process migrates.
    await asyncio.to_thread(lock.__enter__)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_upgrade)
            await conn.commit()
    finally:
        lock.__exit__(None, None, None)
