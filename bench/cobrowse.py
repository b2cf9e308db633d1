"""Co-browsing benchmark: a busy page mirrored to one agent. DOM change ->
agent view latency, the agent's pointer -> drawn on the visitor's page, and bytes per second, with
a bare socket.io relay carrying the same frames in the same run as the baseline.

What runs, all on this machine:
- the gateway, in this process (create_app on a free port, a temporary data dir with SQLite, as
  tests/browser/conftest.py's serve_gateway), on a private redis-server (bench/private_redis.py)
  unless --redis or WECC_BENCH_REDIS names one;
- a shop page on a second aiohttp server (another origin, added to the demo tenant's allowed
  origins) with the widget's <script> tag; it is busy: every 50 ms a list item whose text carries a
  sequence number ("mk#N#") is added (and an old one removed), a counter's text changes and an
  item's class flips; the visitor's mouse moves every 50 ms and the page scrolls every second;
- one Chromium (Debian's, through Playwright), two contexts: the visitor on the shop page, who
  starts a chat and allows co-browsing; the demo agent in the inbox, who accepts the chat, clicks
  "Co-browse" and watches the replay while pointing at the page every 100 ms;
- the baseline: a bare python-socketio server (in-memory manager, no Redis, no checks, no record),
  in this process too, so it shares the event loop with the gateway as the gateway shares it with
  Playwright. The visitor's page sends it a copy of every cobrowse_batch frame it sends the gateway
  (right after, same bytes), the agent's page a copy of every cobrowse_pointer; it broadcasts them
  as cobrowse.batch / cobrowse.pointer, which the pages read on a second socket.

Every time is taken inside the browsers (performance.timeOrigin + performance.now(), or an input
event's timeStamp): both pages run in one Chromium on one machine, so their clocks agree.
- DOM change -> agent view: from the visitor's script writing marker N to the marker appearing in
  the replay's document in the inbox (a MutationObserver on the rrweb Replayer's iframe). Split
  into: write -> batch frame sent (the widget flushes every 50 ms), sent -> frame at the agent's
  socket (the gateway; the bare relay for comparison), and frame -> replay DOM (rrweb's live replay
  plays each event BUFFER_MS = 80 ms after the page's clock stamped it, the inbox keeping that clock
  from the page's small batches; see bench/README.md).
- pointer: from the agent's mousemove over the replay (the event's timeStamp) to the visitor's
  widget drawing the pointer there (a MutationObserver on <wecc-cobrowse>'s .pointer style), and to
  the cobrowse.pointer frame arriving at the visitor's socket (gateway; bare relay).
- bytes/s: UTF-8 bytes of the socket.io frames carrying cobrowse.batch that the agent's page
  received, and of cobrowse_batch frames the visitor's page sent (WebSocket framing not counted).
- rejoin (--rejoin SECONDS, 0 to skip): then the agent's inbox reloads while the page keeps
  changing; the agent asks again (as tests/browser/test_cobrowse.py's reloaded inbox), catches up
  from the session's latest snapshot, and DOM change -> view is measured again.

Not a test: nothing is asserted. Writes bench/results/cobrowse-<date>T<time>.json.

    .venv/bin/python bench/cobrowse.py [--seconds 20] [--quick] [--rejoin 5] [--redis redis://127.0.0.1:PORT/0]
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# As bench/sip.py: this folder off sys.path, or bench/email.py would hide the standard library's email.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH, ROOT)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any  # noqa: E402

import socketio  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402
from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.config import Config  # noqa: E402
from gateway.db import schema as t  # noqa: E402
from gateway.keys import DB  # noqa: E402


def _sibling(name: str) -> Any:
    """Another benchmark script as a module (as bench/sip.py loads them)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


private_redis, _chat = _sibling("private_redis"), _sibling("chat")
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]  # chat.py put it back
cpu_seconds, free_port, machine, percentile = _chat.cpu_seconds, _chat.free_port, _chat.machine, _chat.percentile

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
TICK_MS = 50  # the shop page changes its DOM (with a new marker) this often
LIST_KEEP = 40  # list items kept on the page: older ones are removed as new ones come
VISITOR_MOUSE_S = 0.05
SCROLL_S = 1.0
SCROLL_PX = 300
POINTER_S = 0.1  # the agent moves the pointer this often (the inbox sends at most every 30 ms)
COLUMNS = 16  # the agent points at 16 places in turn along the shop's top bar, to tell moves apart
REPLAY_BUFFER_MS = 80  # static/inbox/src/components/Cobrowse.jsx: BUFFER_MS
FLUSH_MS = 50  # widget/src/parts/cobrowse.jsx: FLUSH_MS
TARGET_DOM_P95_MS = 150.0
TARGET_POINTER_P95_MS = 100.0


# ---------------------------------------------------------------- the pages

def shop_page(gateway: str) -> str:
    """A busy shop: a fixed bar to point at, a list that changes every TICK_MS, cards to scroll."""
    cards = "\n".join(f'<div class=card><h3>Product {n}</h3><p>Fine thing number {n}, in stock.</p></div>' for n in range(1, 121))
    return """<!doctype html><meta charset=utf-8><title>Busy shop</title>
<style>
body{margin:0;font:15px/1.4 sans-serif}
#bench-bar{position:fixed;top:0;left:0;right:0;height:56px;background:#234;z-index:10}
main{padding:72px 24px 24px;max-width:560px}
.card{height:110px;border:1px solid #ccc;margin:8px 0;padding:0 8px}
.hot{background:#fdd}
</style>
<div id=bench-bar></div>
<main>
<h1>Busy shop</h1>
<p>Items seen: <b id=total>0</b></p>
<ul id=feed></ul>
CARDS
</main>
<script>
// Marker N goes in as a new list item; when it was written is kept for the benchmark.
window.__shop = (() => {
  const now = () => performance.timeOrigin + performance.now();
  const feed = document.getElementById("feed");
  const total = document.getElementById("total");
  const writes = {};
  let n = 0;
  let timer = null;
  function tick() {
    n += 1;
    const item = document.createElement("li");
    item.textContent = `mk#${n}#`;
    writes[n] = now();
    feed.prepend(item);
    if (feed.children.length > KEEP) feed.lastElementChild.remove();
    total.textContent = String(n);
    feed.children[(n * 7) % feed.children.length].classList.toggle("hot");
  }
  return {
    start: (ms) => { timer = timer || setInterval(tick, ms); },
    stop: () => { clearInterval(timer); timer = null; },
    writes: () => writes,
  };
})();
</script>
<script src="GATEWAY/widget.js" data-tenant="demo-widget-key" async></script>
""".replace("CARDS", cards).replace("KEEP", str(LIST_KEEP)).replace("GATEWAY", gateway)


# Added to both contexts before any page script: watches the page's socket.io WebSocket to the
# gateway (what it sends and receives, with times), and keeps a second, hand-made socket.io client
# (engine.io v4 over a plain WebSocket) to the bare relay, which gets a copy of the frames.
INSTRUMENT = """
((cfg) => {
  const now = () => performance.timeOrigin + performance.now();
  const encoder = new TextEncoder();
  const size = (text) => encoder.encode(text).length;
  const markers = (text) => Array.from(text.matchAll(/mk#(\\d+)#/g), (m) => m[1]);
  const xOf = (text) => { const m = /"x":(-?[0-9.eE+-]+)/.exec(text); return m ? Number(m[1]) : null; };
  const stamp = (text) => { const m = /"timestamp":(\\d+)/.exec(text); return m ? Number(m[1]) : null; };  // the Meta event's
  const B = (window.__bench = {
    out: [], in: [], relayIn: [],                 // [time, bytes] of co-browsing frames
    marks: { sent: {}, gateway: {}, relay: {}, view: {} },   // marker -> first time seen
    pointer: { sent: [], gateway: [], relay: [], drawn: [] }, // [time, x share along the bar]
    snapshots: [],                                 // [time, rrweb timestamp] of batches starting a full snapshot
    moves: [], failed: [], relay: "connecting", frames: 0,
  });
  const ns = cfg.role === "visitor" ? "/visitor" : "/agent";
  const Native = window.WebSocket;

  const relay = new Native(`${cfg.relay}/socket.io/?EIO=4&transport=websocket`);
  let relayReady = false;
  relay.onmessage = (event) => {
    const at = now();
    const data = event.data;
    if (data[0] === "0") relay.send(`40${ns},`);
    else if (data === "2") relay.send("3");
    else if (data.startsWith(`40${ns}`)) { relayReady = true; B.relay = "connected"; }
    else if (data.startsWith(`42${ns},`)) {
      if (data.includes('"cobrowse.batch"')) {
        B.relayIn.push([at, size(data)]);
        for (const n of markers(data)) B.marks.relay[n] ??= at;
      } else if (data.includes('"cobrowse.pointer"')) B.pointer.relay.push([at, xOf(data)]);
    }
  };
  relay.onclose = () => { relayReady = false; B.relay = "closed"; };
  const copy = (frame) => relayReady && relay.send(`42${ns},${frame.slice(frame.indexOf("["))}`);  // without the ack id

  function received(data, at) {
    if (typeof data !== "string") return;
    if (cfg.role === "agent") {
      if (data.startsWith("42/agent,") && data.slice(0, 40).includes('"cobrowse.batch"')) {
        B.in.push([at, size(data)]);
        for (const n of markers(data)) B.marks.gateway[n] ??= at;
        if (data.slice(0, 120).includes('"snapshot":true')) B.snapshots.push([at, stamp(data)]);
      } else if (data.startsWith("43/agent,") && data.includes('"batches":[{')) {
        B.snapshots.push([at, stamp(data)]);  // cobrowse_join's ack: what to catch up with
      }
    } else if (data.startsWith("42/visitor,") && data.slice(0, 40).includes('"cobrowse.pointer"')) {
      B.pointer.gateway.push([at, xOf(data)]);
    } else if (data.startsWith("43/visitor,") && data.includes('"ok":false')) {
      B.failed.push(data.slice(0, 300));
    }
  }

  const sends = cfg.role === "visitor" ? '"cobrowse_batch"' : '"cobrowse_pointer"';
  class Watched extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.gateway = String(url).includes(`${cfg.gateway}/socket.io/`);
      if (this.gateway) this.addEventListener("message", (event) => received(event.data, now()));
    }
    send(data) {
      const at = now();
      super.send(data);
      if (!this.gateway || typeof data !== "string" || !data.startsWith(`42${ns},`) || !data.slice(0, 64).includes(sends)) return;
      if (cfg.role === "visitor") {
        B.out.push([at, size(data)]);
        if (data.slice(0, 120).includes('"snapshot":true')) B.snapshots.push([at, stamp(data)]);
        for (const n of markers(data)) B.marks.sent[n] ??= at;
      } else B.pointer.sent.push([at, xOf(data)]);
      copy(data);  // the relay's copy leaves just after the gateway's
    }
  }
  window.WebSocket = Watched;

  if (cfg.role === "agent") {
    window.addEventListener("mousemove", (event) => {
      const glass = event.target.closest && event.target.closest(".cobrowse-glass");
      if (glass) B.moves.push([performance.timeOrigin + event.timeStamp, event.clientX]);  // when the input happened
    }, true);
  }
})(CONFIG);
"""

# In the inbox: the first time each marker shows in the replay's document. A new Replayer (and
# iframe) comes with each full snapshot, so the iframe is looked for again and again.
WATCH_REPLAY = """
() => {
  const B = window.__bench;
  const now = () => performance.timeOrigin + performance.now();
  const scan = (text, at) => { for (const m of text.matchAll(/mk#(\\d+)#/g)) B.marks.view[m[1]] ??= at; };
  const observer = new MutationObserver((records) => {
    const at = now();
    for (const record of records) {
      if (record.type === "characterData") scan(record.target.data || "", at);
      else for (const node of record.addedNodes) scan(node.textContent || "", at);
    }
  });
  let watched = null;
  setInterval(() => {
    const frame = document.querySelector(".cobrowse-stage iframe");
    const doc = frame && frame.contentDocument;
    if (!doc || doc === watched) return;
    watched = doc;
    B.frames += 1;
    observer.observe(doc, { childList: true, subtree: true, characterData: true });
    scan(doc.documentElement ? doc.documentElement.textContent : "", now());
  }, 20);
}
"""

# On the shop page: each time the agent's pointer is drawn somewhere else along the bar.
WATCH_POINTER = """
() => {
  const B = window.__bench;
  const host = document.querySelector("wecc-cobrowse");
  const pointer = host && host.shadowRoot && host.shadowRoot.querySelector(".pointer");
  if (!pointer) return false;
  const bar = document.getElementById("bench-bar").getBoundingClientRect();
  let last = null;
  new MutationObserver(() => {
    const at = performance.timeOrigin + performance.now();
    const m = /translate\\((-?[0-9.]+)px/.exec(pointer.style.transform);
    if (pointer.style.display !== "block" || !m) { last = null; return; }
    const x = (Number(m[1]) + 2 - bar.left) / bar.width;  // the widget draws the tip 2 px up and left
    if (last === null || Math.abs(x - last) > 0.001) B.pointer.drawn.push([at, x]);
    last = x;
  }).observe(pointer, { attributes: true, attributeFilter: ["style"] });
  return true;
}
"""

# Where the shop's top bar is drawn in the inbox's (scaled) replay, in the inbox's coordinates.
BAR_IN_REPLAY = """
() => {
  const frame = document.querySelector(".cobrowse-stage iframe");
  const bar = frame.contentDocument.getElementById("bench-bar").getBoundingClientRect();
  const box = frame.getBoundingClientRect();
  const scale = box.width / frame.offsetWidth;
  return { left: box.left + bar.left * scale, top: box.top + bar.top * scale, width: bar.width * scale, height: bar.height * scale, scale };
}
"""

NOW = "() => performance.timeOrigin + performance.now()"

# The relay's own server log: a page that navigates on while its relay socket's handshake is in
# flight (the inbox right after logging in) makes aiohttp log a traceback there, which is no finding.
QUIET = logging.getLogger("bench.cobrowse.relay")
QUIET.setLevel(logging.CRITICAL)


# ---------------------------------------------------------------- servers

def bare_relay() -> web.Application:
    """The baseline: python-socketio relaying the same two events, nothing else (no Redis, no
    session lookup, no record, no rate limit)."""
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False,
                               max_http_buffer_size=1_000_000)
    app = web.Application()
    sio.attach(app)

    @sio.on("cobrowse_batch", namespace="/visitor")
    async def batch(sid: str, data: Any = None) -> None:
        await sio.emit("cobrowse.batch", data, namespace="/agent")

    @sio.on("cobrowse_pointer", namespace="/agent")
    async def pointer(sid: str, data: Any = None) -> None:
        await sio.emit("cobrowse.pointer", data, namespace="/visitor")

    return app


def shop(gateway: str) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=shop_page(gateway), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return app


async def serve(app: web.Application, port: int, **kwargs: Any) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, **kwargs)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def gateway_config(data_dir: Path, port: int, redis_url: str) -> Config:
    """As tests/conftest.py's make_config and serve_gateway: config defaults, this data dir, this port."""
    return Config.model_validate({
        "data": {"dir": str(data_dir)},
        "logging": {"format": "text", "level": "WARNING"},
        "server": {"port": port, "public_url": f"http://127.0.0.1:{port}"},
        "redis": {"url": redis_url},
        # pub/sub ignores the database index: a channel of our own on a shared Redis
        "realtime": {"channel": f"wecc-bench-cobrowse:{uuid.uuid4().hex[:8]}"},
    })


async def allow_origin(app: web.Application, site: str) -> None:
    """The shop is one of the demo tenant's sites (tests/browser/test_cobrowse.py's _allow_origin)."""
    async with app[DB].begin() as conn:
        row = (await conn.execute(sa.select(t.tenants.c.id, t.tenants.c.allowed_origins).where(t.tenants.c.slug == "demo"))).one()
        await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == row.id).values(allowed_origins=[*row.allowed_origins, site]))


# ---------------------------------------------------------------- the two people (as the browser tests drive them)

async def log_in(page: Page, base: str, config: Config) -> None:  # tests/browser/test_inbox_chat.py
    await page.goto(f"{base}/")
    await page.fill("#login-email", config.demo.agent_email)
    await page.fill("#login-password", config.demo.agent_password)
    await page.click("button[type=submit]")
    await expect(page.get_by_text("Demo Agent")).to_be_visible()
    await expect(page.locator(".live-connected")).to_be_visible()


async def start_chat(page: Page, text: str) -> None:  # tests/browser/test_widget.py
    await page.get_by_role("button", name="Open chat with us").click()
    await page.get_by_label("Name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_role("log").locator(".msg", has_text=text)).to_have_count(1)


async def start_cobrowsing(browser: Browser, base: str, site: str, relay: str, config: Config) -> tuple[Page, Page]:
    """The visitor chats from the shop, the agent accepts and asks to co-browse, the visitor allows."""
    gateway_host = base.split("://", 1)[1]

    async def context(role: str, width: int, height: int) -> Page:
        ctx = await browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        await ctx.add_init_script(INSTRUMENT.replace("CONFIG", json.dumps({"role": role, "gateway": gateway_host, "relay": relay})))
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: print(f"  {role} page error: {exc}", flush=True))
        return page

    agent = await context("agent", 1440, 1000)
    await log_in(agent, base, config)
    await agent.get_by_label("Your status").select_option("available")
    visitor = await context("visitor", 1100, 800)
    await visitor.goto(f"{site}/")
    await start_chat(visitor, "Can you help me with my basket?")
    await agent.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(agent.locator("#conv-title")).to_be_visible()
    await agent.get_by_role("button", name="Co-browse").click()
    await visitor.get_by_role("alertdialog").get_by_role("button", name="Allow").click()
    await expect(agent.frame_locator(".cobrowse-stage iframe").locator("h1")).to_have_text("Busy shop", timeout=15000)
    return visitor, agent


# ---------------------------------------------------------------- load

async def every(seconds: float, until: float, step: Any) -> int:
    """Calls `step(n)` on a fixed schedule until the monotonic time `until`; returns the count."""
    start = time.monotonic()
    n = 0
    while (due := start + n * seconds) < until:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        await step(n)
        n += 1
    return n


async def busy_visitor(visitor: Page, until: float) -> dict[str, int]:
    """The visitor's mouse wanders over the page's left part and the page scrolls down and up."""
    rng = random.Random(7)

    async def move(_: int) -> None:
        await visitor.mouse.move(rng.uniform(40, 560), rng.uniform(90, 700))

    async def scroll(n: int) -> None:
        await visitor.mouse.wheel(0, SCROLL_PX if (n // 4) % 2 == 0 else -SCROLL_PX)  # 4 down, 4 up

    moves, scrolls = await asyncio.gather(every(VISITOR_MOUSE_S, until, move), every(SCROLL_S, until, scroll))
    return {"mouse_moves": moves, "scrolls": scrolls}


async def pointing_agent(agent: Page, until: float) -> int:
    """The agent points along the shop's top bar, at COLUMNS places in turn."""
    await agent.locator(".cobrowse-glass").scroll_into_view_if_needed()
    bar = await agent.evaluate(BAR_IN_REPLAY)
    y = bar["top"] + bar["height"] / 2

    async def point(n: int) -> None:
        column = (n * 5) % COLUMNS  # 5 and 16 are coprime: every column, never the same twice running
        await agent.mouse.move(bar["left"] + (column + 0.5) / COLUMNS * bar["width"], y)

    return await every(POINTER_S, until, point)


# ---------------------------------------------------------------- figures

def stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": _r(percentile(values, 50)), "p95_ms": _r(percentile(values, 95)),
            "max_ms": _r(max(values) if values else None)}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _text(s: dict[str, Any]) -> str:
    return f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms (n={s['n']})"


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def dom_figures(writes: dict[str, float], visitor: dict[str, Any], agent: dict[str, Any], t0: float, t1: float) -> dict[str, Any]:
    """Per marker written in the window: when it was sent, reached the agent (gateway, relay) and showed in the replay."""
    sent, gateway, relay, view = visitor["marks"]["sent"], agent["marks"]["gateway"], agent["marks"]["relay"], agent["marks"]["view"]
    written = {n: at for n, at in writes.items() if t0 <= at <= t1}

    def spans(start: dict[str, float], end: dict[str, float]) -> list[float]:
        return [end[n] - start[n] for n in written if n in start and n in end]

    return {
        "markers_written": len(written),
        "not_in_view": sum(n not in view for n in written),
        "not_at_agent_socket": sum(n not in gateway for n in written),
        "not_through_relay": sum(n not in relay for n in written),
        "change_to_view": stats(spans(written, view)),
        "change_to_sent": stats(spans(written, sent)),
        "sent_to_agent_socket_gateway": stats(spans(sent, gateway)),
        "sent_to_agent_socket_relay": stats(spans(sent, relay)),
        "agent_socket_to_view": stats(spans(gateway, view)),
        "change_to_agent_socket_gateway": stats(spans(written, gateway)),
    }


def pointer_figures(moves: list[list[float]], bar: dict[str, float], visitor: dict[str, Any], agent: dict[str, Any],
                    t0: float, t1: float) -> dict[str, Any]:
    """Each agent move (its column along the bar) matched, on each path, with the first later sign
    of that column before the agent pointed at that column again."""
    def column(share: float | None) -> int | None:
        return None if share is None else min(COLUMNS - 1, max(0, int(share * COLUMNS)))

    timed = [(at, column((x - bar["left"]) / bar["width"])) for at, x in moves]

    def first_signs(seen: list[list[float]]) -> list[float | None]:
        events = sorted((at, column(x)) for at, x in seen)
        found: list[float | None] = []
        for i, (at, col) in enumerate(timed):
            again = next((later for later, c in timed[i + 1:] if c == col), float("inf"))
            found.append(next((when for when, c in events if c == col and at <= when < again), None))
        return found

    moved = [at for at, _ in timed]
    sent, gateway, relay, drawn = (first_signs(seen) for seen in (
        agent["pointer"]["sent"], visitor["pointer"]["gateway"], visitor["pointer"]["relay"], visitor["pointer"]["drawn"]))
    inside = [i for i, at in enumerate(moved) if t0 <= at <= t1]

    def spans(start: list[float | None], end: list[float | None]) -> dict[str, Any]:
        return stats([end[i] - start[i] for i in inside if start[i] is not None and end[i] is not None])  # type: ignore[operator]

    return {
        "moves": len(inside),
        "not_drawn": sum(drawn[i] is None for i in inside),
        "not_through_relay": sum(relay[i] is None for i in inside),
        "move_to_drawn": spans(moved, drawn),  # type: ignore[arg-type]
        "move_to_sent": spans(moved, sent),  # type: ignore[arg-type]
        "sent_to_visitor_socket_gateway": spans(sent, gateway),
        "sent_to_visitor_socket_relay": spans(sent, relay),
        "visitor_socket_to_drawn": spans(gateway, drawn),
    }


def first_snapshot(seen: dict[str, Any]) -> float | None:
    """How old (ms, on the visitor's clock) the page's first full snapshot was when it reached this page."""
    stamped = [(at, stamp) for at, stamp in seen["snapshots"] if stamp]
    return round(stamped[0][0] - stamped[0][1], 1) if stamped else None


def traffic(frames: list[list[float]], t0: float, t1: float) -> dict[str, Any]:
    inside = [size for at, size in frames if t0 <= at <= t1]
    seconds = (t1 - t0) / 1000
    return {"frames": len(inside), "bytes": sum(inside), "frames_per_s": round(len(inside) / seconds, 1),
            "kb_per_s": round(sum(inside) / 1024 / seconds, 1), "bytes_per_frame": round(sum(inside) / max(len(inside), 1))}


def busy_cores() -> float:
    """CPU seconds the whole machine has used so far (/proc/stat, less idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the run

async def measure(opts: argparse.Namespace, redis_url: str, redis_pid: int | None, workdir: Path) -> dict[str, Any]:
    port, shop_port, relay_port = free_port(), free_port(), free_port()
    config = gateway_config(workdir / "data", port, redis_url)
    app = create_app(config)
    base, site, relay = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{shop_port}", f"ws://127.0.0.1:{relay_port}"
    runners = [await serve(app, port), await serve(shop(base), shop_port), await serve(bare_relay(), relay_port, logger=QUIET)]
    try:
        await allow_origin(app, site)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return {**await measure_in(browser, opts, base, site, relay, config, redis_pid), "chromium": browser.version}
            finally:
                await browser.close()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def measure_in(browser: Browser, opts: argparse.Namespace, base: str, site: str, relay: str, config: Config,
                     redis_pid: int | None) -> dict[str, Any]:
    started = time.monotonic()
    visitor, agent = await start_cobrowsing(browser, base, site, relay, config)
    print(f"  co-browsing live after {time.monotonic() - started:.1f} s (gateway {base}, shop {site}, relay {relay})", flush=True)
    await agent.evaluate(WATCH_REPLAY)
    if not await visitor.evaluate(WATCH_POINTER):
        raise RuntimeError("the widget drew no <wecc-cobrowse> overlay on the shop page")
    relays = await visitor.evaluate("() => window.__bench.relay"), await agent.evaluate("() => window.__bench.relay")
    if relays != ("connected", "connected"):
        raise RuntimeError(f"the pages' relay sockets: {relays}")
    bar = await agent.evaluate(BAR_IN_REPLAY)

    await visitor.evaluate(f"() => window.__shop.start({TICK_MS})")
    until = time.monotonic() + opts.warmup + opts.seconds
    load = asyncio.gather(busy_visitor(visitor, until), pointing_agent(agent, until))
    await asyncio.sleep(opts.warmup)  # the figures start once everything runs
    t0 = await visitor.evaluate(NOW)
    cpu0 = (time.monotonic(), cpu_seconds(os.getpid()), cpu_seconds(redis_pid), busy_cores())
    done_visitor, pointer_moves = await load
    t1 = await visitor.evaluate(NOW)
    cpu1 = (time.monotonic(), cpu_seconds(os.getpid()), cpu_seconds(redis_pid), busy_cores())
    await asyncio.sleep(1.5)  # what was written last still reaches the agent (the page keeps changing)
    seen_visitor = await visitor.evaluate("() => window.__bench")
    seen_agent = await agent.evaluate("() => window.__bench")
    rejoined = await rejoin(visitor, agent, opts.rejoin) if opts.rejoin else None
    await visitor.evaluate("() => window.__shop.stop()")
    writes = await visitor.evaluate("() => window.__shop.writes()")
    if rejoined is not None:
        summary, seen_again, (r0, r1) = rejoined
        rejoined = {**summary, "dom": dom_figures(writes, await visitor.evaluate("() => window.__bench"), seen_again, r0, r1)}
    wall = cpu1[0] - cpu0[0]
    return {
        "window_s": round((t1 - t0) / 1000, 2),
        "load": {**done_visitor, "agent_pointer_moves": pointer_moves, "dom_changes_every_ms": TICK_MS},
        "replay_scale": round(bar["scale"], 3),
        "replayer_iframes": seen_agent["frames"],
        "first_snapshot_age_when_sent_ms": first_snapshot(seen_visitor),
        "first_snapshot_age_at_agent_ms": first_snapshot(seen_agent),
        "dom": dom_figures(writes, seen_visitor, seen_agent, t0, t1),
        "pointer": pointer_figures(seen_agent["moves"], bar, seen_visitor, seen_agent, t0, t1),
        "bytes": {
            "agent_received_gateway": traffic(seen_agent["in"], t0, t1),
            "visitor_sent": traffic(seen_visitor["out"], t0, t1),
            "agent_received_relay": traffic(seen_agent["relayIn"], t0, t1),
        },
        "failed_acks": seen_visitor["failed"],
        "cpu_cores": {  # this process runs the gateway, the relay, the shop and Playwright's client
            "bench_process": round((cpu1[1] - cpu0[1]) / wall, 2),
            "redis": round((cpu1[2] - cpu0[2]) / wall, 2) if redis_pid else None,
            "whole_machine": round((cpu1[3] - cpu0[3]) / wall, 2),
        },
        "rejoin": rejoined,
    }


async def rejoin(visitor: Page, agent: Page, seconds: float) -> tuple[dict[str, Any], dict[str, Any], tuple[float, float]]:
    """The agent's inbox reloads (a crash, a reconnect) while the page is still shared and changing:
    they ask again, catch up from the session's latest full snapshot, and watch for `seconds`.
    Returns (figures, what the inbox saw, the window)."""
    shared_for = (await visitor.evaluate(NOW) - first_snapshot_sent(await visitor.evaluate("() => window.__bench"))) / 1000
    await agent.reload()  # then as tests/browser/test_cobrowse.py's reloaded inbox
    await agent.locator(".conv-item").first.click()
    await agent.get_by_role("button", name="Co-browse").click()
    await expect(agent.frame_locator(".cobrowse-stage iframe").locator("h1")).to_have_text("Busy shop", timeout=15000)
    await agent.evaluate(WATCH_REPLAY)
    t0 = await visitor.evaluate(NOW)
    await asyncio.sleep(seconds)
    t1 = await visitor.evaluate(NOW)
    await asyncio.sleep(1.5)
    seen = await agent.evaluate("() => window.__bench")
    # the join's ack carries the batches since the snapshot: its first timestamp says how old it was
    figures = {"seconds": round((t1 - t0) / 1000, 2), "page_shared_for_s": round(shared_for, 1),
               "catch_up_snapshot_age_ms": first_snapshot(seen)}
    return figures, seen, (t0, t1)


def first_snapshot_sent(seen: dict[str, Any]) -> float:
    return seen["snapshots"][0][0] if seen["snapshots"] else float("nan")


def report(r: dict[str, Any]) -> dict[str, Any]:
    dom, ptr, by = r["dom"], r["pointer"], r["bytes"]
    print(f"  window {r['window_s']} s: {dom['markers_written']} DOM changes with a marker, {ptr['moves']} agent pointer moves, "
          f"{r['load']['mouse_moves']} visitor mouse moves, {r['load']['scrolls']} scrolls; replay scaled {r['replay_scale']}, "
          f"{r['replayer_iframes']} replayer iframe(s)")
    print(f"  DOM change -> agent view:       {_text(dom['change_to_view'])}; not shown {dom['not_in_view']}")
    print(f"    change -> agent socket:       {_text(dom['change_to_agent_socket_gateway'])}  (what the inbox has in hand)")
    print(f"    change -> batch sent:         {_text(dom['change_to_sent'])}  (the widget flushes every {FLUSH_MS} ms)")
    print(f"    sent -> agent socket, gateway {_text(dom['sent_to_agent_socket_gateway'])}")
    print(f"    sent -> agent socket, relay   {_text(dom['sent_to_agent_socket_relay'])}")
    print(f"    agent socket -> replay DOM:   {_text(dom['agent_socket_to_view'])}")
    print(f"      rrweb's live replay plays each change {REPLAY_BUFFER_MS} ms after the page's clock stamped it (the first full "
          f"snapshot was sent {r['first_snapshot_age_when_sent_ms']} ms and reached the agent's socket "
          f"{r['first_snapshot_age_at_agent_ms']} ms after it was taken)")
    print(f"  pointer, agent move -> drawn:   {_text(ptr['move_to_drawn'])}; not drawn {ptr['not_drawn']}")
    print(f"    move -> sent by the inbox:      {_text(ptr['move_to_sent'])}")
    print(f"    sent -> visitor socket, gateway {_text(ptr['sent_to_visitor_socket_gateway'])}")
    print(f"    sent -> visitor socket, relay   {_text(ptr['sent_to_visitor_socket_relay'])}")
    print(f"    visitor socket -> drawn:        {_text(ptr['visitor_socket_to_drawn'])}  (the widget draws at the next frame)")
    g, v, rl = by["agent_received_gateway"], by["visitor_sent"], by["agent_received_relay"]
    print(f"  bytes: agent received {g['kb_per_s']} KB/s ({g['frames_per_s']} cobrowse.batch frames/s, {g['bytes_per_frame']} B each); "
          f"visitor sent {v['kb_per_s']} KB/s ({v['frames_per_s']} frames/s); relay delivered {rl['kb_per_s']} KB/s")
    cpu = r["cpu_cores"]
    print(f"  CPU: bench process (gateway, relay, Playwright client) {cpu['bench_process']} cores, redis {cpu['redis']}, "
          f"whole machine {cpu['whole_machine']} of {os.cpu_count()} cores")
    if r["failed_acks"]:
        print(f"  failed acks to the visitor: {len(r['failed_acks'])}, first: {r['failed_acks'][0]}")
    if r["rejoin"]:
        j = r["rejoin"]
        shown = _text(j["dom"]["change_to_view"]) if j["dom"]["change_to_view"]["n"] else "none shown"
        print(f"  rejoin, the inbox reloaded {j['page_shared_for_s']} s into the session (catch-up snapshot "
              f"{j['catch_up_snapshot_age_ms']} ms old): DOM change -> view {shown}; {j['dom']['not_in_view']} of the "
              f"{j['dom']['markers_written']} changes of the next {j['seconds']:g} s not shown 1.5 s after")
    ratios = {
        "dom_network_p50": ratio(dom["sent_to_agent_socket_gateway"]["p50_ms"], dom["sent_to_agent_socket_relay"]["p50_ms"]),
        "dom_network_p95": ratio(dom["sent_to_agent_socket_gateway"]["p95_ms"], dom["sent_to_agent_socket_relay"]["p95_ms"]),
        "pointer_network_p50": ratio(ptr["sent_to_visitor_socket_gateway"]["p50_ms"], ptr["sent_to_visitor_socket_relay"]["p50_ms"]),
        "pointer_network_p95": ratio(ptr["sent_to_visitor_socket_gateway"]["p95_ms"], ptr["sent_to_visitor_socket_relay"]["p95_ms"]),
        "bytes_per_s": ratio(g["bytes"], rl["bytes"]),
    }
    print(f"  gateway / bare relay, frame sent -> frame received: DOM batches p50 {ratios['dom_network_p50']}x, "
          f"p95 {ratios['dom_network_p95']}x; pointer p50 {ratios['pointer_network_p50']}x, p95 {ratios['pointer_network_p95']}x")
    dom_p95, ptr_p95 = dom["change_to_view"]["p95_ms"], ptr["move_to_drawn"]["p95_ms"]
    met = {
        "dom_p95_within_150ms": dom_p95 is not None and dom_p95 <= TARGET_DOM_P95_MS and dom["not_in_view"] == 0,
        "pointer_p95_within_100ms": ptr_p95 is not None and ptr_p95 <= TARGET_POINTER_P95_MS and ptr["not_drawn"] == 0,
    }
    verdict = {True: "met", False: "NOT met"}
    print(f"  targets: DOM change -> view p95 <= {TARGET_DOM_P95_MS:g} ms {verdict[met['dom_p95_within_150ms']]} ({dom_p95} ms, "
          f"of which {REPLAY_BUFFER_MS} ms is the replay's buffer by design); pointer p95 <= {TARGET_POINTER_P95_MS:g} ms "
          f"{verdict[met['pointer_p95_within_100ms']]} ({ptr_p95} ms) (load average now {os.getloadavg()[0]:.2f})")
    return {"ratios_gateway_to_relay": ratios, "met": met}


async def run_bench(opts: argparse.Namespace) -> None:
    host = {**machine(), "playwright": metadata.version("playwright")}
    started = time.time()
    print(f"cobrowse bench: {opts.seconds:g} s after {opts.warmup:g} s warm-up; a DOM change every {TICK_MS} ms, visitor mouse "
          f"every {VISITOR_MOUSE_S * 1000:.0f} ms, a {SCROLL_PX} px scroll every {SCROLL_S:g} s, agent pointer every "
          f"{POINTER_S * 1000:.0f} ms", flush=True)
    with tempfile.TemporaryDirectory(prefix="wecc-bench-cobrowse-") as tmp:
        redis_server = None
        redis_url = opts.redis
        if not redis_url:  # a private redis-server, never the machine's (the tests FLUSHALL it)
            redis_server, redis_port = private_redis.start(tmp)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
        print(f"  redis {redis_url}{' (private)' if redis_server else ''}", flush=True)
        try:
            measured = await measure(opts, redis_url, redis_server.pid if redis_server else None, Path(tmp))
        finally:
            if redis_server is not None:
                private_redis.stop(redis_server)
    host["chromium"] = f"{CHROMIUM} {measured.pop('chromium')}"
    verdicts = report(measured)
    result = {
        "benchmark": "cobrowse",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": host,
        "quick": opts.quick,
        "setup": {
            "seconds": opts.seconds, "warmup_s": opts.warmup, "rejoin_s": opts.rejoin,
            "dom_change_every_ms": TICK_MS, "list_items_kept": LIST_KEEP,
            "visitor_mouse_every_ms": VISITOR_MOUSE_S * 1000, "scroll_every_s": SCROLL_S, "scroll_px": SCROLL_PX,
            "agent_pointer_every_ms": POINTER_S * 1000, "replay_buffer_ms": REPLAY_BUFFER_MS, "widget_flush_ms": FLUSH_MS,
            "redis": "private redis-server" if not opts.redis else opts.redis,
            "gateway": "in this process (create_app, SQLite in a temp dir), config defaults",
            "baseline": "bare python-socketio relay in this process; the pages send it a copy of each frame",
            "clock": "times taken in the pages: performance.timeOrigin + performance.now(), input events' timeStamp",
        },
        **measured,
        **verdicts,
        "targets": {"dom_p95_ms": TARGET_DOM_P95_MS, "pointer_p95_ms": TARGET_POINTER_P95_MS},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cobrowse-{dt.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds (default 20; quick 8)")
    parser.add_argument("--quick", action="store_true", help="8 s measured after 1 s warm-up")
    parser.add_argument("--rejoin", type=float, default=None,
                        help="then the agent's inbox reloads and rejoins: seconds to watch after (default 5; quick 3; 0: skip)")
    parser.add_argument("--redis", default=os.environ.get("WECC_BENCH_REDIS", ""),
                        help="a Redis URL (not 127.0.0.1:6379: the tests FLUSHALL it); default: a private redis-server")
    parser.add_argument("--out", default=str(BENCH / "results"))
    opts = parser.parse_args()
    opts.seconds = opts.seconds or (8.0 if opts.quick else 20.0)
    opts.warmup = 1.0 if opts.quick else 2.0
    opts.rejoin = (3.0 if opts.quick else 5.0) if opts.rejoin is None else opts.rejoin
    asyncio.run(run_bench(opts))


if __name__ == "__main__":
    main()
