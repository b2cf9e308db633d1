"""Request ids and JSON log lines: what an operator greps when a user reports a problem."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.config import Config
from gateway.logs import JsonFormatter, configure_logging

WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The gateway's logging as `format = "json"` sets it up, written to a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("aiohttp.access").level)
    configure_logging("INFO", "json")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("aiohttp.access").setLevel(saved[2])


def lines_of(buffer: io.StringIO) -> list[dict[str, Any]]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # each line is one whole JSON object


@pytest.fixture
async def app_client(aiohttp_client, config: Config) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(config)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("bug")

    app.router.add_get("/boom", boom)
    return await aiohttp_client(app, cookie_jar=DummyCookieJar())


async def test_every_response_carries_a_request_id(app_client: TestClient) -> None:
    for method, path in [
        ("GET", "/healthz"),
        ("GET", "/no/such/page"),  # 404 from the router
        ("GET", "/api/v1/auth/me"),  # 401 from the API
        ("POST", "/api/v1/auth/login"),  # 422: no body
        ("GET", "/metrics"),
        ("GET", "/boom"),  # an unexpected error outside the API
    ]:
        resp = await app_client.request(method, path)
        assert WELL_FORMED.match(resp.headers.get("X-Request-Id", "")), (path, resp.status, dict(resp.headers))


async def test_request_ids_differ_between_requests(app_client: TestClient) -> None:
    ids = {(await app_client.get("/healthz")).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


async def test_a_well_formed_incoming_request_id_is_kept(app_client: TestClient) -> None:
    resp = await app_client.get("/healthz", headers={"X-Request-Id": "lb-4f2a.9_1"})
    assert resp.headers["X-Request-Id"] == "lb-4f2a.9_1"
    resp = await app_client.get("/api/v1/auth/me", headers={"X-Request-Id": "trace-77"})
    assert resp.headers["X-Request-Id"] == "trace-77"
    assert (await resp.json())["request_id"] == "trace-77"  # errors quote it for support requests


async def test_a_malformed_incoming_request_id_is_replaced(app_client: TestClient) -> None:
    for bad in ["has spaces in it", "x" * 200, "a\tb", "<script>", "ünï", "a" * 65]:
        resp = await app_client.get("/healthz", headers={"X-Request-Id": bad})
        assert resp.headers["X-Request-Id"] != bad
        assert WELL_FORMED.match(resp.headers["X-Request-Id"]), bad


async def test_access_log_is_json_with_the_request_id_and_no_query_string(
    app_client: TestClient, json_log: io.StringIO
) -> None:
    resp = await app_client.get("/healthz?token=s3cr3t-value&email=ann@example.com", headers={"X-Request-Id": "req-1"})
    assert resp.status == 200
    resp = await app_client.get("/no/such?token=s3cr3t-value")
    other_id = resp.headers["X-Request-Id"]

    assert "s3cr3t" not in json_log.getvalue() and "ann@example.com" not in json_log.getvalue()
    access = [line for line in lines_of(json_log) if line["logger"] == "wecc.access"]
    assert [(a["request_id"], a["method"], a["path"], a["status"]) for a in access] == [
        ("req-1", "GET", "/healthz", 200),
        (other_id, "GET", "/no/such", 404),
    ]
    assert all(a["level"] == "info" and isinstance(a["ms"], float) for a in access)


async def test_errors_are_logged_with_the_request_id(app_client: TestClient, json_log: io.StringIO) -> None:
    resp = await app_client.get("/boom?token=s3cr3t", headers={"X-Request-Id": "req-boom"})
    assert resp.status == 500
    lines = lines_of(json_log)
    errors = [line for line in lines if line["level"] == "error"]
    assert errors and all(e.get("request_id") == "req-boom" for e in errors)
    assert any("RuntimeError: bug" in e.get("exc", "") for e in errors)
    assert "s3cr3t" not in json_log.getvalue()


def test_json_formatter_one_line_per_record_with_extras_and_utc_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the timestamp says Z: it must be UTC whatever the host's zone
    time.tzset()
    try:
        record = logging.LogRecord("wecc.test", logging.WARNING, __file__, 1, "multi\nline %s", ("msg",), None)
        record.created = 0.0
        record.msecs = 5.0
        record.channel = "email"
        line = JsonFormatter().format(record)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["ts"] == "1970-01-01T00:00:00.005Z"
    assert (entry["level"], entry["logger"], entry["msg"], entry["channel"]) == ("warning", "wecc.test", "multi\nline msg", "email")
