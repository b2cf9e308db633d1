// Co-browsing's recorder, loaded only once the visitor consented: rrweb records this page and the
// events go to the gateway (cobrowse_batch), which relays them to the agent helping the visitor.
// What is private never leaves this browser: every input's value is masked, password, card-number
// and one-time-code fields (and anything marked data-wecc-block, or matching the tenant's
// selectors) are replaced by an empty box with no value at all, text marked data-wecc-mask is
// masked, and the widget itself is not recorded.
//
// The agent's side comes back the other way: their pointer and highlights are drawn over the page,
// anchored to the element they point at (rrweb's node ids are the same in the agent's replay), so
// they land right whatever the two screens' sizes. With control granted, their clicks, typing,
// scrolling and same-site navigation are applied here, and refused for what is private.
// rrweb has no remote control of its own (rrweb#1773): this is it, by hand.
import { record } from "@rrweb/record";
import { adoptStyles } from "../shadow-styles.js";

// Never sent in any form (rrweb's blockSelector: a same-size placeholder, no content, no events).
const PRIVATE = [
  "input[type=password]",
  '[autocomplete*="cc-" i]', // "cc-number", "billing cc-csc"...
  '[autocomplete*="password" i]',
  '[autocomplete~="one-time-code" i]',
  "[data-wecc-block]",
  "wecc-widget",
  "wecc-cobrowse",
];
const MASK = "********"; // the same whatever was typed: not even its length goes out
const FLUSH_MS = 50; // how often what changed goes out: the agent sees it about this late
// A batch larger than this as sent (UTF-8, escapes and all; a big page's snapshot) goes in parts, each
// no larger: the gateway takes messages of up to 128 KB, and a larger one would cost the connection.
const PART_BYTES = 100000;
const PART_CHARS = 60000; // where to cut first: ASCII stays well under PART_BYTES, other scripts are cut again
const MAX_EVENTS = 1000; // the gateway takes up to 2,000 events a batch; more go in parts
const RETRY_MS = 3000; // after a batch the gateway refused or lost: a new snapshot, this long after
const META = 4;
const utf8 = new TextEncoder();

/** The text cut into pieces whose size as a JSON string (as sent) fits in a part. */
function pieces(text) {
  if (utf8.encode(JSON.stringify(text)).length <= PART_BYTES) return [text];
  const half = cutAt(text, Math.ceil(text.length / 2));
  return [...pieces(text.slice(0, half)), ...pieces(text.slice(half))];
}
const POINTER_IDLE_MS = 8000; // an agent's pointer that stopped moving fades away
const HIGHLIGHT_MS = 2500;
// What an agent may type into: text-like fields; never a password (blocked anyway) nor a file.
const TYPABLE = new Set(["", "text", "search", "email", "tel", "url", "number"]);

/** The tenant's selectors, each one this browser understands; else it throws (nothing is recorded:
 * a selector the browser can't read would leave those parts of the page unprotected). */
function checked(selectors) {
  for (const selector of selectors) document.createDocumentFragment().querySelector(selector);
  return selectors;
}

/** A random id for this recorder: the gateway takes one page's stream at a time, and the agent's
 * pointer and actions name the page they were aimed at. */
function streamId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[b & 63]).join("");
}

/** Where to cut text near `at` without splitting a surrogate pair (an emoji). */
function cutAt(text, at) {
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff ? at + 1 : at;
}

/**
 * Starts recording. `send(batch)` resolves with the gateway's ack; `blockSelectors` and
 * `maskSelectors` are the tenant's own additions; `onEnded(code)`: the gateway no longer takes
 * this page ("not_active": the session ended; "superseded": another page of the visitor's took
 * over). Returns {stop, point, act, resnapshot}. Throws when a tenant selector is not one this
 * browser reads.
 */
export function start({ send, blockSelectors = [], maskSelectors = [], onEnded = () => {} }) {
  let queue = [];
  let snapshot = false; // the queue starts a new full snapshot
  let timer = null;
  let partNumber = 0;
  let sending = Promise.resolve(); // one flush at a time: a snapshot's parts must not interleave with later batches
  const stream = streamId();
  let stopped = false;
  const blockSelector = [...PRIVATE, ...checked(blockSelectors)].join(",");
  const maskSelector = ["[data-wecc-mask]", ...checked(maskSelectors)].join(",");

  function flushSoon() {
    timer = null;
    sending = sending.then(flush, flush);
  }

  async function flush() {
    if (queue.length === 0 || stopped) return;
    const events = queue;
    const starts = snapshot;
    queue = [];
    snapshot = false;
    const text = JSON.stringify(events);
    let ack;
    if (events.length <= MAX_EVENTS && text.length <= PART_CHARS && utf8.encode(text).length <= PART_BYTES) {
      ack = await send({ stream, snapshot: starts, sent: Date.now(), events });
    } else {
      const id = `p${Date.now().toString(36)}${(partNumber += 1)}`;
      const texts = [];
      for (let at = 0; at < text.length; ) {
        const end = cutAt(text, Math.min(at + PART_CHARS, text.length));
        texts.push(...pieces(text.slice(at, end)));
        at = end;
      }
      for (let index = 0; index < texts.length; index += 1) {
        ack = await send({ stream, snapshot: starts, sent: Date.now(), part: { id, index, count: texts.length, text: texts[index] } });
        if (!ack || !ack.ok) break;
      }
    }
    if (stopped) return;
    if (ack && (ack.code === "not_active" || ack.code === "superseded")) onEnded(ack.code);
    else if (ack && ack.resnapshot) record.takeFullSnapshot(true); // the gateway keeps only so much since the last one
    else if (ack && !ack.ok && ack.code !== "offline") retry(ack.retry_after);
  }

  // A batch that didn't arrive leaves the agent's view wrong: a new snapshot puts it right (offline
  // waits for the reconnect, which asks for one; a session that ended is over).
  let retrying = null;
  function retry(afterSeconds) {
    if (retrying || stopped) return;
    retrying = setTimeout(() => {
      retrying = null;
      if (!stopped) record.takeFullSnapshot(true);
    }, Math.max(RETRY_MS, (afterSeconds || 0) * 1000));
  }

  // First a tiny batch with no events: it tells the agent's replay the page's clock before the first
  // snapshot (which takes a while to travel) arrives, so the replay starts in time with the page.
  send({ stream, snapshot: false, sent: Date.now(), events: [] });
  const stopRecording = record({
    emit(event) {
      if (event.type === META) {
        // A new full snapshot (the start, or a checkout): what was queued before belongs to the old one.
        if (queue.length) flushSoon();
        snapshot = true;
      }
      queue.push(event);
      if (!timer) timer = setTimeout(flushSoon, FLUSH_MS);
    },
    blockSelector,
    maskAllInputs: true,
    maskInputFn: (text, element) => (element && element.matches && element.matches(blockSelector) ? "" : text ? MASK : ""),
    maskTextSelector: maskSelector,
    // rrweb sends pointer moves every 500 ms by default: far too late to point at anything together.
    sampling: { mousemove: 20, mousemoveCallback: FLUSH_MS, scroll: 50, input: "last" },
    checkoutEveryNms: 120000, // a fresh snapshot now and then keeps catching up (and the agent's replay) small
    recordCanvas: false,
    collectFonts: false,
    slimDOMOptions: "all",
  });
  const overlay = createOverlay();
  const clickedFields = new Map(); // the agent's clicks: node id then -> element (see act)

  /** The element rrweb knows by this id, if still there; to act on, not private either. */
  function target(id, toActOn) {
    let node = record.mirror.getNode(id);
    if (node && node.nodeType !== 1) node = node.parentElement;
    if (!node || !node.isConnected || (toActOn && node.closest(blockSelector))) return null;
    return node;
  }

  function at(element, x, y) {
    const box = element.getBoundingClientRect();
    return { x: box.left + x * box.width, y: box.top + y * box.height };
  }

  const actions = {
    click(element, data) {
      // Leaving the site would end co-browsing, and is not the agent's to decide: no links or
      // forms to another site.
      const link = element.closest("a[href], area[href]");
      if (link && !sameSite(link.href)) return;
      const submits = element.form && (element.type === "submit" || element.type === "image");
      if (submits && !sameSite(element.formAction || element.form.action || window.location.href)) return;
      const { x, y } = at(element, data.x, data.y);
      overlay.ripple(x, y);
      const pointer = { bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, view: window };
      element.dispatchEvent(new PointerEvent("pointerdown", pointer));
      element.dispatchEvent(new MouseEvent("mousedown", pointer));
      if (typeof element.focus === "function") element.focus({ preventScroll: true });
      element.dispatchEvent(new PointerEvent("pointerup", pointer));
      element.dispatchEvent(new MouseEvent("mouseup", pointer));
      element.click();
    },
    input(element, data) {
      if (element.closest(maskSelector)) return; // masked: the agent can't see it, so can't type into it
      const tag = element.tagName;
      if (tag === "INPUT" && !TYPABLE.has((element.getAttribute("type") || "").toLowerCase())) return;
      if (tag === "SELECT" && ![...element.options].some((option) => option.value === data.value)) return;
      if (tag !== "INPUT" && tag !== "TEXTAREA" && tag !== "SELECT") {
        if (!element.isContentEditable) return;
        element.textContent = data.value;
      } else {
        // The prototype's setter, so frameworks that track the value (React) see the change as typed.
        const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(element), "value").set;
        setter.call(element, data.value);
      }
      element.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
      element.dispatchEvent(new Event("change", { bubbles: true }));
      overlay.highlight(element);
    },
    scroll(element, data) {
      for (let box = element; box && box !== document.body && box !== document.documentElement; box = box.parentElement) {
        const style = getComputedStyle(box);
        const scrolls = /(auto|scroll)/.test(style.overflowY + style.overflowX);
        if (scrolls && (box.scrollHeight > box.clientHeight || box.scrollWidth > box.clientWidth)) return box.scrollBy(data.dx, data.dy);
      }
      window.scrollBy(data.dx, data.dy);
    },
  };

  return {
    stop() {
      stopped = true;
      if (stopRecording) stopRecording();
      clearTimeout(retrying);
      if (timer) clearTimeout(timer);
      timer = null;
      queue = [];
      overlay.remove();
    },
    resnapshot() {
      if (!stopped) record.takeFullSnapshot(true);
    },
    /** The agent's pointer {stream, node, x, y, highlight, hide}: aimed at this page, or ignored. */
    point(data) {
      if (data.stream !== stream) return;
      const element = !data.hide && target(data.node, false);
      if (!element) return overlay.hidePointer();
      overlay.pointAt(element, data.x, data.y);
      if (data.highlight) overlay.highlight(element);
    },
    /** What the agent in control does {stream, kind, node, x, y, value, dx, dy, url}, if aimed at this page. */
    act(data) {
      if (data.stream !== stream) return;
      if (data.kind === "navigate") {
        if (sameSite(data.url)) window.location.assign(new URL(data.url, window.location.href).href);
        return;
      }
      // Typing goes to the field the agent clicked: by the element it was then, should a new
      // snapshot (a reconnect, a joiner's catch-up) have renumbered the page's nodes meanwhile.
      const clicked = data.kind === "input" ? clickedFields.get(data.node) : null;
      const element = target(data.node, true) ?? (clicked?.isConnected && !clicked.closest(blockSelector) ? clicked : null);
      if (!element || !actions[data.kind]) return;
      if (data.kind === "click") {
        clickedFields.set(data.node, element);
        if (clickedFields.size > 50) clickedFields.delete(clickedFields.keys().next().value);
      }
      actions[data.kind](element, data);
    },
  };
}

function sameSite(url) {
  try {
    const to = new URL(url, window.location.href);
    return to.origin === window.location.origin && /^https?:$/.test(to.protocol);
  } catch {
    return false;
  }
}

const OVERLAY_CSS = `
:host{all:initial}
.pointer,.highlight,.ripple{position:fixed;left:0;top:0;pointer-events:none;display:none}
.pointer{width:22px;height:22px}
.pointer svg{display:block;filter:drop-shadow(0 1px 2px rgba(0,0,0,.45))}
.highlight{border:3px solid #f97316;border-radius:4px;box-shadow:0 0 0 4px rgba(249,115,22,.25)}
.ripple{width:28px;height:28px;margin:-14px 0 0 -14px;border-radius:50%;border:3px solid #f97316;animation:wecc-ripple 600ms ease-out forwards}
@keyframes wecc-ripple{from{transform:scale(.3);opacity:1}to{transform:scale(1.6);opacity:0}}
`;

/**
 * What the visitor sees of the agent: a pointer and a highlight over the page, in a host element of
 * its own (not recorded, so it never echoes back into the agent's replay), kept on its element as
 * the page scrolls or reflows.
 */
function createOverlay() {
  const host = document.createElement("wecc-cobrowse");
  const style = { position: "fixed", left: "0", top: "0", width: "0", height: "0", overflow: "visible", "z-index": "2147483647", "pointer-events": "none" };
  for (const [property, value] of Object.entries(style)) host.style.setProperty(property, value, "important");
  const root = host.attachShadow({ mode: "open" });
  adoptStyles(root, OVERLAY_CSS);
  root.innerHTML =
    '<div class="highlight" part="highlight"></div>' +
    '<div class="pointer" part="pointer"><svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true">' +
    '<path d="M2 2l7 18 2.6-7.4L19 10z" fill="#f97316" stroke="#fff" stroke-width="1.5" stroke-linejoin="round"/></svg></div>';
  document.documentElement.appendChild(host);
  const pointer = root.querySelector(".pointer");
  const box = root.querySelector(".highlight");
  let pointed = null; // {element, x, y}
  let highlighted = null;
  let idle = null;
  let fade = null;
  let frame = 0;

  function place() {
    frame = 0;
    if (pointed && pointed.element.isConnected) {
      const r = pointed.element.getBoundingClientRect();
      pointer.style.transform = `translate(${r.left + pointed.x * r.width - 2}px, ${r.top + pointed.y * r.height - 2}px)`;
      pointer.style.display = "block";
    } else pointer.style.display = "none";
    if (highlighted && highlighted.isConnected) {
      const r = highlighted.getBoundingClientRect();
      Object.assign(box.style, { display: "block", transform: `translate(${r.left - 4}px, ${r.top - 4}px)`, width: `${r.width + 2}px`, height: `${r.height + 2}px` });
    } else box.style.display = "none";
  }
  const later = () => frame || (frame = requestAnimationFrame(place));
  window.addEventListener("scroll", later, true);
  window.addEventListener("resize", later);

  return {
    pointAt(element, x, y) {
      pointed = { element, x, y };
      clearTimeout(idle);
      idle = setTimeout(() => ((pointed = null), later()), POINTER_IDLE_MS);
      later();
    },
    hidePointer() {
      pointed = null;
      later();
    },
    highlight(element) {
      highlighted = element;
      clearTimeout(fade);
      fade = setTimeout(() => ((highlighted = null), later()), HIGHLIGHT_MS);
      later();
    },
    ripple(x, y) {
      const ring = document.createElement("div");
      ring.className = "ripple";
      Object.assign(ring.style, { display: "block", left: `${x}px`, top: `${y}px` });
      root.appendChild(ring);
      setTimeout(() => ring.remove(), 700);
    },
    remove() {
      clearTimeout(idle);
      clearTimeout(fade);
      if (frame) cancelAnimationFrame(frame);
      window.removeEventListener("scroll", later, true);
      window.removeEventListener("resize", later);
      host.remove();
    },
  };
}
