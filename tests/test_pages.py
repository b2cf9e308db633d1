"""The browser-facing files: widget.js has a short cache (tenants embed its URL once and must get
fixes), the parts it loads on demand carry their content hash and are cached for good, and both
may be used by pages of other origins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.web import pages
from tests.conftest import make_config


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "widget.js").write_text("/* the widget */")
    (dist / "widget-rating-QUAWGB73.js").write_text("/* a part */")
    (dist / "inbox.js").write_text("/* the inbox */")
    monkeypatch.setattr(pages, "DIST_DIR", dist)
    return await aiohttp_client(create_app(make_config(tmp_path / "data")))


async def test_the_widget_is_cached_briefly_and_its_parts_for_good(site: TestClient) -> None:
    widget = await site.get("/widget.js")
    assert widget.status == 200 and await widget.text() == "/* the widget */"
    assert widget.headers["Cache-Control"] == "public, max-age=300"
    assert widget.headers["Cross-Origin-Resource-Policy"] == "cross-origin"

    part = await site.get("/static/dist/widget-rating-QUAWGB73.js")
    assert part.status == 200 and await part.text() == "/* a part */"
    assert part.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert part.headers["Cross-Origin-Resource-Policy"] == "cross-origin"

    # A part of a build that is gone: not found, and nothing cached for good.
    gone = await site.get("/static/dist/widget-rating-AAAAAAAA.js")
    assert gone.status == 404 and "immutable" not in gone.headers.get("Cache-Control", "")
    # Other built files keep the static route's ordinary answer.
    inbox = await site.get("/static/dist/inbox.js")
    assert inbox.status == 200 and "immutable" not in inbox.headers.get("Cache-Control", "")
