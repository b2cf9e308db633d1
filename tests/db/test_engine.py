"""The embedded SQLite under concurrent use: reads never hold up writes (they used to take the
write lock, so one slow read made every write wait and, past the busy timeout, fail), many writers
at once all land, and the one-trip driver (gateway/db/sqlite_driver.py) gives SQLAlchemy what the
stock one did: rows, row counts, RETURNING, executemany and the driver's own errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from gateway.db.engine import create_engine
from gateway.db.sqlite_driver import OneTripCursor


async def test_a_read_in_progress_does_not_hold_up_writers(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wecc.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE lines (n INTEGER)"))
        async with engine.connect() as reader:
            assert (await reader.execute(sa.text("SELECT count(*) FROM lines"))).scalar() == 0

            async def write(n: int) -> None:
                async with engine.begin() as writer:
                    await writer.execute(sa.text("INSERT INTO lines VALUES (:n)"), {"n": n})

            # Writers queue on each other, not on the open read.
            await asyncio.gather(*(write(n) for n in range(5)))
            # The reader keeps its snapshot until its transaction ends.
            assert (await reader.execute(sa.text("SELECT count(*) FROM lines"))).scalar() == 0
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM lines"))).scalar() == 5
    finally:
        await engine.dispose()


async def test_many_writers_at_once_all_land_in_order_of_arrival(tmp_path: Path) -> None:
    # 200 writers at once, each reading then writing in its transaction (as a chat line does): none
    # fails on the busy timeout, none loses an update, and they take the write lock in order.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wecc.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE counter (n INTEGER)"))
            await conn.execute(sa.text("CREATE TABLE arrivals (writer INTEGER)"))
            await conn.execute(sa.text("INSERT INTO counter VALUES (0)"))

        async def write(writer: int) -> None:
            async with engine.begin() as conn:
                n = (await conn.execute(sa.text("SELECT n FROM counter"))).scalar_one()
                await conn.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})
                await conn.execute(sa.text("INSERT INTO arrivals VALUES (:w)"), {"w": writer})

        await asyncio.gather(*(write(w) for w in range(200)))
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT n FROM counter"))).scalar_one() == 200
            order = (await conn.execute(sa.text("SELECT writer FROM arrivals ORDER BY rowid"))).scalars().all()
        assert order == list(range(200))
    finally:
        await engine.dispose()


async def test_the_one_trip_driver_answers_like_the_stock_one(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wecc.db'}")
    things = sa.Table("things", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text, unique=True),
                      sa.Column("data", sa.JSON))
    try:
        async with engine.begin() as conn:
            assert isinstance(conn.sync_connection.connection.dbapi_connection.cursor(), OneTripCursor)
            await conn.run_sync(things.metadata.create_all)
            # RETURNING rows come back with the statement.
            first = (await conn.execute(sa.insert(things).values(name="a", data={"k": [1, 2]}).returning(things.c.id))).scalar_one()
            # executemany, and its row count.
            many = await conn.execute(sa.insert(things), [{"name": f"n{i}", "data": None} for i in range(5)])
            assert many.rowcount == 5
            # Row counts decide "inserted or already there" (gateway/core/upsert.py).
            again = await conn.execute(sqlite.insert(things).values(name="a").on_conflict_do_nothing(index_elements=["name"]))
            assert again.rowcount == 0
            updated = await conn.execute(sa.update(things).where(things.c.name.like("n%")).values(data={"seen": True}))
            assert updated.rowcount == 5
            # Results read in batches as well as whole.
            assert [len(batch) for batch in (await conn.execute(sa.select(things))).partitions(4)] == [4, 2]
            assert len((await conn.execute(sa.select(things))).fetchmany()) == 1
            rows = (await conn.execute(sa.select(things).order_by(things.c.id))).all()
            assert [(r.name, r.data) for r in rows] == [("a", {"k": [1, 2]})] + [(f"n{i}", {"seen": True}) for i in range(5)]
            assert rows[0].id == first
            # A statement that returns nothing leaves nothing to fetch.
            assert (await conn.execute(sa.select(things).where(things.c.id == -1))).first() is None
            # The driver's errors reach the caller as SQLAlchemy's, as before.
            with pytest.raises(sa.exc.IntegrityError):
                await conn.execute(sa.insert(things).values(name="a"))
    finally:
        await engine.dispose()
