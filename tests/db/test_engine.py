"""The embedded SQLite under concurrent use: reads never hold up writes (they used to take the
write lock, so one slow read made every write wait and, past the busy timeout, fail)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from gateway.db.engine import create_engine


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
