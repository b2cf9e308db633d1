"""Migrations build exactly the schema the code expects, on SQLite and PostgreSQL, and are safe to
run again and from several gateway processes at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import schema as t
from gateway.db.engine import create_engine
from gateway.db.migrate import alembic_config, migrate
from gateway.db.schema import metadata

from .conftest import add_tenant

ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _differences(sync_conn: sa.Connection) -> list[Any]:
    opts: dict[str, Any] = {"compare_type": True}
    # Alembic misreads SQLite's DEFAULT '' as a changed default; PostgreSQL reflects defaults
    # faithfully, so compare them there.
    if sync_conn.dialect.name == "postgresql":
        opts["compare_server_default"] = True
    return compare_metadata(MigrationContext.configure(sync_conn, opts=opts), metadata)


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_differences)


async def versions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars())


async def test_migrations_create_the_schema_in_schema_py(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        assert await schema_differences(engine) == []
        assert await versions(engine) == [HEAD]
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert tables == set(metadata.tables) | {"alembic_version"}
    finally:
        await engine.dispose()


async def test_migrating_again_changes_nothing_and_keeps_the_data(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        tenant_id = await add_tenant(engine, "kept")
        await migrate(engine)
        await migrate(engine)
        assert await versions(engine) == [HEAD]
        assert await schema_differences(engine) == []
        async with engine.connect() as conn:
            assert (await conn.execute(sa.select(t.tenants.c.id))).scalars().all() == [tenant_id]
    finally:
        await engine.dispose()


# Each process signals it has imported everything, then waits for the go file so that both
# really migrate at the same moment (imports alone take longer than a migration).
MIGRATOR = """
import asyncio, sys, time, pathlib
from gateway.db.engine import create_engine
from gateway.db.migrate import migrate
go = pathlib.Path(sys.argv[2])
print("ready", flush=True)
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
async def main():
    engine = create_engine(sys.argv[1])
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
asyncio.run(main())
print("migrated", flush=True)
"""


async def test_two_processes_migrating_a_fresh_database_at_once(database_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, database_url, str(go)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        go.touch()
        results = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert out.strip() == "migrated"
    engine = create_engine(database_url)
    try:
        assert await versions(engine) == [HEAD]
        assert await schema_differences(engine) == []
    finally:
        await engine.dispose()


def test_every_business_table_carries_tenant_id() -> None:
    # Tables that belong to no single tenant. Anything else must say whose it is.
    global_tables = {
        "tenants",  # the tenants themselves
        "users",  # a person may work for several tenants (memberships say which)
        "agent_states",  # the person's presence, across all the tenants they serve
        "sip_phones",  # the person's own desk phone, ringing with any of their tenants' calls
    }
    # May hold center-wide rows too (operator actions, system events): tenant_id is nullable.
    nullable_tenant = {"events", "audit_log"}
    missing = [name for name in metadata.tables if name not in global_tables and "tenant_id" not in metadata.tables[name].c]
    assert missing == []
    for name, table in metadata.tables.items():
        if name in global_tables:
            continue
        column = table.c.tenant_id
        assert column.nullable == (name in nullable_tenant), name
        assert [fk.column.table.name for fk in column.foreign_keys] == ["tenants"], name
    assert global_tables <= set(metadata.tables)
