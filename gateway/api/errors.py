"""JSON errors for the whole HTTP surface: {"code": stable machine code, "message": for people}."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.logs import REQUEST_ID

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers or {}


def not_found(what: str = "resource") -> ApiError:
    # The same answer whether the row does not exist or belongs to a tenant the caller can't see.
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str = "you do not have permission to do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def error_response(status: int, code: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    request_id = REQUEST_ID.get()
    if request_id:
        body["request_id"] = request_id
    return web.json_response(body, status=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 413 else "request body too large"
        return error_response(exc.status, code, message)
    except Exception:
        if not request.path.startswith("/api/"):
            raise
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal_error", "something went wrong on our side; the request id helps us find it")
