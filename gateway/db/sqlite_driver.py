"""SQLAlchemy's aiosqlite driver, with each statement taking one trip to the database thread.

aiosqlite runs every call on its own thread and hands the result back to the event loop. The
stock adapter makes four such trips per statement (new cursor, execute, fetch, close); a chat line
runs about a dozen statements, so the trips cost more than SQLite's work (~90 us each against
~15 us for an indexed lookup, measured with bench/chat.py and py-spy). Here the cursor executes,
fetches and closes in one job on the thread. Written by hand because neither aiosqlite nor
SQLAlchemy offers it; it leans on SQLAlchemy's adapter classes (pinned to 2.1 in pyproject.toml)
and on aiosqlite's `Connection._execute` (the one way to run a job on its thread), and the engine
tests run every statement through it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


def _run_statement(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> tuple[Any, int, int | None, list[Any]]:
    """On aiosqlite's thread: the whole statement, rows included."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor: rows, description and row count arrive with the statement's one trip."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here (the stock adapter makes a trip for one).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1  # the DB-API default; fetchmany() without a size takes it

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _run(self, operation: str, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            outcome = await connection._execute(_run_statement, connection._conn, operation, parameters, many)
            self._description, self._rowcount, self._lastrowid, rows = outcome
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None  # closed on the thread already

    def close(self) -> None:
        self._rows.clear()


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*args, **kwargs)
        adapted.__class__ = _Connection  # same slots, only the cursor class differs
        return adapted


def one_trip_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DB-API module to give create_async_engine(..., module=...) for sqlite+aiosqlite URLs."""
    return _DBAPI(aiosqlite, sqlite3)
