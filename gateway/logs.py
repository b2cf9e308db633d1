"""Logging: one JSON object a line (or plain text for a terminal), each carrying the request id."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from aiohttp import web

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # the timestamp is written with a Z: it must be UTC

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: the message, then its fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")}
        request_id = REQUEST_ID.get()
        if request_id:
            fields["request_id"] = request_id
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log would duplicate ours, without the request id.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Database drivers log SQL and its parameters (password hashes, webhook secrets): never.
    for noisy in ("aiosqlite", "asyncpg", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Take a well-formed X-Request-Id from a proxy, else make one; echo it and log the request."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = request_id
        raise
    except Exception:
        # Answer here rather than let aiohttp do it: its 500 would carry no request id, and it
        # logs the error after the request id has left the context.
        logging.getLogger("wecc").exception("unhandled error", extra={"method": request.method, "path": request.path})
        return web.Response(status=500, text="500 Internal Server Error", headers={"X-Request-Id": request_id})
    finally:
        logging.getLogger("wecc.access").info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,  # never the query string: it may carry tokens
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        REQUEST_ID.reset(token)
