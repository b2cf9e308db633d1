"""Login sessions and rate limits in Redis — on the embedded redis-server and on the real Redis at
:6379 — and the embedded server's own life cycle."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.auth.sessions import SessionStore
from gateway.embedded_redis import EmbeddedRedis
from gateway.ratelimit import RateLimiter


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


async def eventually(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.fixture
async def redis(redis_url: str, tmp_path: Path) -> AsyncIterator[Redis]:
    embedded = None
    if not redis_url:
        embedded = EmbeddedRedis(tmp_path)
        await embedded.start()
        redis_url = embedded.url
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
    if embedded:
        await embedded.stop()


async def everything_stored(redis: Redis) -> list[str]:
    """Every key and every value in the database, as text."""
    found: list[str] = []
    async for key in redis.scan_iter(count=1000):
        found.append(key)
        kind = await redis.type(key)
        if kind == "string":
            found.append(await redis.get(key))
        elif kind == "set":
            found.extend(await redis.smembers(key))
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():
                found += [field, value]
        elif kind == "list":
            found.extend(await redis.lrange(key, 0, -1))
        elif kind == "zset":
            found.extend(await redis.zrange(key, 0, -1))
    return found


# --- sessions ---------------------------------------------------------------------------------


async def test_session_create_get_delete(redis: Redis) -> None:
    store = SessionStore(redis, ttl_seconds=3600)
    token, session = await store.create("user-1")
    found = await store.get(token)
    assert found == session
    assert found.user_id == "user-1" and len(found.csrf_token) >= 32
    assert await store.get(token + "x") is None
    assert await store.get("") is None
    assert await store.get("a" * 500) is None

    await store.delete(session)
    assert await store.get(token) is None


async def test_redis_holds_only_the_tokens_digest(redis: Redis) -> None:
    store = SessionStore(redis, ttl_seconds=3600)
    token, session = await store.create("user-1")
    stored = await everything_stored(redis)
    assert stored, "nothing stored at all"
    assert not any(token in item for item in stored)
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert session.token_digest == digest
    assert any(digest in item for item in stored)


async def test_sessions_expire_and_slide(redis: Redis) -> None:
    store = SessionStore(redis, ttl_seconds=3600)
    token, session = await store.create("user-1")
    key = next(k for k in await redis.keys("*") if session.token_digest in k and "session:" in k)
    assert 3500 < await redis.ttl(key) <= 3600
    await redis.expire(key, 100)
    await store.get(token)  # an active agent stays logged in
    assert await redis.ttl(key) > 3500


async def test_log_out_everywhere(redis: Redis) -> None:
    store = SessionStore(redis, ttl_seconds=3600)
    tokens = [(await store.create("user-1"))[0] for _ in range(3)]
    other, _ = await store.create("user-2")
    await store.delete_all_for_user("user-1")
    assert [await store.get(token) for token in tokens] == [None, None, None]
    assert (await store.get(other)).user_id == "user-2"
    await store.delete_all_for_user("nobody")  # no sessions: nothing to do, no error
    # Nothing of user-1's is left behind.
    assert not any("user-1" in key for key in await redis.keys("*"))


async def test_log_out_everywhere_reaches_long_lived_active_sessions(redis: Redis) -> None:
    # An agent who keeps working stays logged in past the first TTL (sliding expiry); a password
    # change must still end that session.
    store = SessionStore(redis, ttl_seconds=1)
    token, _ = await store.create("user-1")
    loop = asyncio.get_running_loop()
    until = loop.time() + 1.6
    while loop.time() < until:
        assert await store.get(token) is not None
        await asyncio.sleep(0.1)
    await store.delete_all_for_user("user-1")
    assert await store.get(token) is None


# --- rate limits ------------------------------------------------------------------------------


async def test_rate_limiter_counts_hits_in_a_window(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    decisions = [await limiter.hit("login:1.2.3.4", limit=3, window_seconds=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert all(1 <= d.retry_after <= 60 for d in decisions)

    peeked = await limiter.peek("login:1.2.3.4", limit=3)
    assert (peeked.allowed, peeked.count) == (False, 4)
    assert (await limiter.peek("login:1.2.3.4", limit=3)).count == 4  # peeking is not a hit
    assert (await limiter.peek("login:5.6.7.8", limit=3)).allowed  # other keys are separate

    await limiter.reset("login:1.2.3.4")
    assert (await limiter.peek("login:1.2.3.4", limit=3)).count == 0
    assert (await limiter.hit("login:1.2.3.4", limit=3, window_seconds=60)).count == 1


async def test_several_budgets_are_counted_in_one_hit(redis: Redis) -> None:
    # A visitor's event counts against the visitor's budget and the address's: either refuses it.
    limiter = RateLimiter(redis)
    for _ in range(2):
        visitor, address = await limiter.hit_all([("visitor:a", 5, 60), ("ip:1.2.3.4", 2, 30)])
        assert visitor.allowed and address.allowed
    visitor, address = await limiter.hit_all([("visitor:a", 5, 60), ("ip:1.2.3.4", 2, 30)])
    assert (visitor.allowed, visitor.count) == (True, 3)
    assert (address.allowed, address.count) == (False, 3)
    assert 30 < await redis.ttl("wecc:rl:visitor:a") <= 60 and 0 < await redis.ttl("wecc:rl:ip:1.2.3.4") <= 30
    # A visitor over their own budget is refused without using up the address's, which others share.
    for _ in range(3):
        refused = await limiter.hit_all([("visitor:b", 1, 60), ("ip:5.6.7.8", 10, 60)])
    assert [d.allowed for d in refused] == [False]
    assert (await limiter.peek("ip:5.6.7.8", limit=10)).count == 1


async def test_peek_allows_up_to_the_limit(redis: Redis) -> None:
    # peek answers "may one more attempt happen?", hit "was this attempt within the limit?".
    limiter = RateLimiter(redis)
    for _ in range(2):
        await limiter.hit("k", limit=3, window_seconds=60)
    assert (await limiter.peek("k", limit=3)).allowed
    await limiter.hit("k", limit=3, window_seconds=60)
    assert not (await limiter.peek("k", limit=3)).allowed


async def test_rate_limit_window_expires(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    await limiter.hit("k", limit=1, window_seconds=1)
    assert not (await limiter.hit("k", limit=1, window_seconds=1)).allowed

    async def reset() -> bool:
        return (await limiter.peek("k", limit=1)).count == 0

    assert await eventually(reset, timeout=10)
    assert (await limiter.hit("k", limit=1, window_seconds=1)).allowed


async def test_a_counter_without_expiry_gets_one(redis: Redis) -> None:
    # A counter left without a TTL (say, written by an older version) must not lock anyone out forever.
    limiter = RateLimiter(redis)
    await redis.set("wecc:rl:k", 5)
    await limiter.hit("k", limit=10, window_seconds=60)
    assert 0 < await redis.ttl("wecc:rl:k") <= 60


# --- the embedded server ----------------------------------------------------------------------


async def test_embedded_redis_start_stop_leaves_nothing_running(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    await embedded.start()
    pid = int(embedded.pid_path.read_text())
    assert running(pid)
    client = Redis.from_url(embedded.url)
    await client.set("kept", "1")
    await client.aclose()

    await embedded.stop()
    assert not running(pid)
    assert not embedded.socket_path.exists()
    await embedded.stop()  # a second stop is harmless

    # The append-only file brings the data back on the next start.
    again = EmbeddedRedis(tmp_path)
    await again.start()
    client = Redis.from_url(again.url)
    try:
        assert await client.get("kept") == b"1"
    finally:
        await client.aclose()
        await again.stop()


async def test_embedded_redis_is_usable_once_started_even_with_much_to_reload(tmp_path: Path) -> None:
    # Restarting on a data dir with a big append-only file: start() must not return while the
    # server still answers -LOADING, or the gateway's first command fails.
    embedded = EmbeddedRedis(tmp_path)
    await embedded.start()
    client = Redis.from_url(embedded.url, decode_responses=True)
    await client.execute_command("DEBUG", "POPULATE", "500000")
    await client.bgrewriteaof()

    async def rewritten() -> bool:
        info = await client.info("persistence")
        return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

    assert await eventually(rewritten)
    await client.aclose()
    await embedded.stop()

    again = EmbeddedRedis(tmp_path)
    await again.start()
    client = Redis.from_url(again.url)
    try:
        assert await client.dbsize() == 500000
    finally:
        await client.aclose()
        await again.stop()


async def test_embedded_redis_only_listens_on_its_socket(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    await embedded.start()
    try:
        client = Redis.from_url(embedded.url, decode_responses=True)
        try:
            assert (await client.config_get("port"))["port"] == "0"
        finally:
            await client.aclose()
        assert embedded.socket_path.stat().st_mode & 0o077 == 0
    finally:
        await embedded.stop()


async def test_a_leftover_server_is_replaced_not_left_to_break_the_new_one(tmp_path: Path) -> None:
    crashed = EmbeddedRedis(tmp_path)  # as if its gateway had died without stopping it
    await crashed.start()
    old_pid = int(crashed.pid_path.read_text())

    fresh = EmbeddedRedis(tmp_path)
    await fresh.start()
    try:
        assert not running(old_pid)
        # The old server deletes its socket and pid file on the way out; those must not be the
        # new server's.
        assert int(fresh.pid_path.read_text()) != old_pid
        client = Redis.from_url(fresh.url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
    finally:
        await fresh.stop()
        await crashed.stop()
