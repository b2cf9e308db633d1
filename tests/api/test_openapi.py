"""The OpenAPI document lists every route the gateway serves under /api/v1, and is valid."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


async def test_document_is_valid_and_lists_every_api_route(client):
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    document = await resp.json()
    validate(document)
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/v1/") and route.method != "HEAD" and path != "/api/v1/openapi.json":
            served.add((route.method, re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", path)))
    assert served, "no API routes found"
    assert served == documented
    login = document["paths"]["/api/v1/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]["required"] == ["email", "password"]
    assert "429" in login["responses"]
    assert document["paths"]["/api/v1/conversations"]["get"]["security"]
