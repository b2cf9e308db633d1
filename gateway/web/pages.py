"""The browser-facing pages: the agent inbox, the visitor widget script and the demo site.
What the front-end build emits lives in static/dist (built by `npm run build`, not committed)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
DIST_DIR = STATIC_DIR / "dist"

_NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>WECC</title>"
    "<p>The browser assets are not built yet. Run <code>make run</code> (or <code>npm ci &amp;&amp; npm run build</code>) "
    "and reload.</p>"
)


def _page(path: Path, **headers: str) -> web.StreamResponse:
    if not (DIST_DIR / "inbox.js").is_file():
        return web.Response(text=_NOT_BUILT, content_type="text/html", status=503)
    return web.FileResponse(path, headers={"Cache-Control": "no-cache", **headers})


async def inbox(request: web.Request) -> web.StreamResponse:
    return _page(STATIC_DIR / "inbox" / "index.html")


async def demo(request: web.Request) -> web.StreamResponse:
    return _page(STATIC_DIR / "demo" / "index.html")


# The widget drawn from an admin's unsaved settings, in a frame of the inbox's widget setup: an opaque
# origin (no cookies, no storage, nothing of the inbox's), no network but the gateway's own scripts
# (so nothing is ever sent), framed by the gateway's pages only.
PREVIEW_POLICY = (
    "sandbox allow-scripts allow-forms; default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)


async def widget_preview(request: web.Request) -> web.StreamResponse:
    return _page(STATIC_DIR / "widget-preview" / "index.html", **{"Content-Security-Policy": PREVIEW_POLICY})


# Tenants' pages load these from another origin; with this header a page that isolates itself
# (Cross-Origin-Embedder-Policy) may still run them.
_EMBEDDABLE = {"Cross-Origin-Resource-Policy": "cross-origin"}


async def widget_script(request: web.Request) -> web.StreamResponse:
    path = DIST_DIR / request.path.lstrip("/")
    if not path.is_file():
        raise web.HTTPServiceUnavailable(text="widget not built: run npm run build")
    # Short cache: tenants embed this URL once and must get fixes without editing their sites.
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=300", **_EMBEDDABLE})


async def widget_part(request: web.Request) -> web.StreamResponse:
    """A part the widget loads on demand (widget-NAME-HASH.js): its name changes with its content,
    so browsers may keep it for good (the build keeps earlier builds' parts a week)."""
    path = DIST_DIR / request.match_info["name"]
    if not path.is_file():
        raise web.HTTPNotFound(text="no such widget part")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable", **_EMBEDDABLE})


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/inbox/")


def setup_pages(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/inbox/", inbox)
    app.router.add_get("/demo/", demo)
    app.router.add_get("/widget/preview", widget_preview)
    app.router.add_get("/widget.js", widget_script)
    app.router.add_get("/widget.js.map", widget_script)
    # Before the static route, which would answer these with a short cache; the pattern admits no path.
    app.router.add_get(r"/static/dist/{name:widget-[a-z0-9_-]+-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?}", widget_part)
    DIST_DIR.mkdir(parents=True, exist_ok=True)  # add_static wants the folder before the build ran
    app.router.add_static("/static/dist/", DIST_DIR)
