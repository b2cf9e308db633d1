"""The REST route registry: one declaration per operation gives the aiohttp route, request
validation (pydantic), the auth rule and the OpenAPI document, so the document cannot drift from
the routes.

Written by hand because the aiohttp OpenAPI helpers on PyPI are either unmaintained
(aiohttp-apispec) or tie handlers to class-based views; what we need is ~150 lines on pydantic.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from gateway.api.errors import ApiError
from gateway.auth.principal import Principal

AuthMode = Literal["public", "user"]
PRINCIPAL = web.RequestKey("principal", Principal)
SESSION_AUTH = web.RequestKey("session_auth", bool)  # authenticated by cookie (so CSRF applies)
CSRF_TOKEN = web.RequestKey("csrf_token", str)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PATH_PARAM = re.compile(r"{(\w+)}")


class Error(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


@dataclass
class Call:
    """What a handler gets: the request, the authenticated caller and the validated input."""

    request: web.Request
    principal: Principal | None
    body: Any
    query: Any

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def app(self) -> web.Application:
        return self.request.app

    @property
    def user(self) -> Principal:
        assert self.principal is not None  # guaranteed by auth="user"
        return self.principal


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: AuthMode
    errors: tuple[int, ...]
    # Takes multipart/form-data with a "file" part and these optional text parts (JSON schemas).
    upload: dict[str, Any] | None


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


async def _parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        # Also what keeps plain HTML forms on other sites from posting here (CSRF).
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "some fields are not valid", details=_validation_details(exc)) from None


def _parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "some query parameters are not valid", details=_validation_details(exc)) from None


def _check_csrf(request: web.Request) -> None:
    if request.method in UNSAFE_METHODS and request.get(SESSION_AUTH):
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), request[CSRF_TOKEN].encode()):
            raise ApiError(403, "csrf_failed", "missing or wrong X-CSRF-Token header")


class ApiRegistry:
    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: AuthMode = "user",
        errors: tuple[int, ...] = (),
        upload: dict[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(method.upper(), path, handler, summary, tag, body, query, response, status, auth, errors, upload)
            )
            return handler

        return register

    def _aiohttp_handler(self, op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            principal = request.get(PRINCIPAL)
            if op.auth == "user":
                if principal is None:
                    raise ApiError(401, "unauthenticated", "log in or send an API token")
                _check_csrf(request)
            body = await _parse_body(request, op.body) if op.body else None
            query = _parse_query(request, op.query) if op.query else None
            result = await op.handler(Call(request, principal, body, query))
            if isinstance(result, web.StreamResponse):
                return result
            if result is None:
                return web.Response(status=204)
            if isinstance(result, BaseModel):
                return web.json_response(text=result.model_dump_json(), status=op.status)
            return web.json_response(result, status=op.status)

        return handle

    def install(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path, self._aiohttp_handler(op))
        app.router.add_get(self.prefix + "/openapi.json", self._serve_openapi)

    async def _serve_openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self.openapi())

    def openapi(self) -> dict[str, Any]:
        models: set[type[BaseModel]] = {Error}
        for op in self.operations:
            models.update(m for m in (op.body, op.response) if m is not None)
        keyed = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
        refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
        schemas = defs.get("$defs", {})

        def ref(model: type[BaseModel]) -> dict[str, Any]:
            return refs[(model, "validation")]

        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            params: list[dict[str, Any]] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PATH_PARAM.findall(op.path)
            ]
            if op.query:
                qschema = op.query.model_json_schema()
                required = set(qschema.get("required", []))
                for name, prop in qschema.get("properties", {}).items():
                    params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
            responses: dict[str, Any] = {}
            if op.response:
                responses[str(op.status)] = {
                    "description": "OK",
                    "content": {"application/json": {"schema": ref(op.response)}},
                }
            else:
                responses["204" if op.status == 200 else str(op.status)] = {"description": "done, no body"}
            error_codes = set(op.errors) | ({401, 403} if op.auth == "user" else set())
            if op.body or op.query or op.upload is not None:
                error_codes.add(422)
            for code in sorted(error_codes):
                responses[str(code)] = {
                    "description": "error",
                    "content": {"application/json": {"schema": ref(Error)}},
                }
            entry: dict[str, Any] = {
                "summary": op.summary,
                "operationId": op.handler.__name__,
                "tags": [op.tag],
                "parameters": params,
                "responses": responses,
            }
            if op.body:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
            if op.upload is not None:
                entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}, **op.upload},
                }}}}
            if op.auth == "user":
                entry["security"] = [{"session": []}, {"token": []}]
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": "WECC gateway API", "version": "1"},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "wecc_session"},
                    "token": {"type": "http", "scheme": "bearer"},
                },
            },
        }
