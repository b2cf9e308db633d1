"""The SQL engine: SQLite (embedded default, WAL) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.db.sqlite_driver import one_trip_dbapi


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Let SQLAlchemy's "begin" hook issue BEGIN itself (the driver's implicit one is deferred).
    dbapi_connection.isolation_level = None


_WRITES = "wecc_writes"


def _sqlite_begin(conn: sa.Connection) -> None:
    # A deferred transaction that reads then writes can fail with "database is locked" when another
    # writer got there first; taking the write lock up front makes writers queue on busy_timeout.
    # Reads (engine.connect()) stay deferred: in WAL they run beside the writer, never queue on it.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN")


class _SqliteEngine(AsyncEngine):
    """engine.begin() is for writing (it takes SQLite's write lock at once); engine.connect() is
    for reading (its implicit transaction takes no lock).

    Writers of this process also queue on an asyncio lock before they take a connection: SQLite
    has one writer at a time anyway, and its busy handler makes a waiting writer sleep and retry
    (up to 100 ms a time), so many writers at once got slower than one queue in order."""

    def __init__(self, sync_engine: sa.Engine) -> None:
        super().__init__(sync_engine)
        self._write_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self.connect() as conn:
            await conn.execution_options(**{_WRITES: True})
            async with conn.begin():
                yield conn


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options = {"module": one_trip_dbapi()} if parsed.get_driver_name() == "aiosqlite" else {}
        engine = _SqliteEngine(create_async_engine(url, echo=echo, **options).sync_engine)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
