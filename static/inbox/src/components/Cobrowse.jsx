// Co-browsing in a conversation: the button that asks the customer (or the field for the code they
// read out on a call), what became of it, and the customer's page replayed live (rrweb, in the
// sandboxed frame its Replayer makes), scaled to fit, its outline the customer's viewport. Over the
// replay lies a glass pane: moving over it points at the element below on the customer's page;
// clicking highlights it there, or, with control granted, clicks it; the wheel scrolls it.
import { Replayer } from "@rrweb/replay";
import "@rrweb/replay/dist/style.css";
import { useEffect, useRef, useState } from "preact/hooks";
import { useCobrowseContext } from "../cobrowse.js";
import { useT } from "../i18n.js";
import { Icon } from "./Icon.jsx";

// How far behind the customer's page the replay runs, on the page's own clock (rrweb's live mode
// plays each event this long after the page stamped it): the widget's 50 ms batching and the trip
// here fit in it, so events play evenly spaced as they happened; any later ones play on arrival.
const BUFFER_MS = 80;
const POINTER_MS = 30; // the agent's pointer goes out at most this often
const SCROLL_MS = 60;
const MESSAGES = new Set(["not_yours", "no_visitor", "not_found", "disabled", "bad_code", "busy", "rate_limited"]);
const TYPABLE = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** Under the conversation's header, for web visitors' conversations (chat, web calls) and phone calls. */
export function CobrowseBar({ conversation, closed }) {
  const t = useT();
  const cobrowse = useCobrowseContext();
  if (!cobrowse.request) return null;
  const here = cobrowse.state?.conversationId === conversation.id ? cobrowse.state : null;
  const elsewhere = cobrowse.state && !here && ["asking", "watching"].includes(cobrowse.state.phase);
  if (!here) {
    if (closed) return null;
    return (
      <div class="cobrowse-bar">
        <button type="button" class="button button-small cobrowse-start" disabled={elsewhere} onClick={() => cobrowse.request(conversation.id)}>
          <Icon name="eye" size={14} /> {t("cobrowse.start")}
        </button>
        {elsewhere ? <span class="cobrowse-note">{t("cobrowse.busy")}</span> : <CodeForm conversationId={conversation.id} />}
      </div>
    );
  }
  const ended = ["declined", "stopped", "failed"].includes(here.phase);
  return (
    <div class={`cobrowse-bar cobrowse-${here.phase}`}>
      <span class="cobrowse-state" role="status">
        {here.phase === "failed"
          ? MESSAGES.has(here.code) ? t(`cobrowse.error.${here.code}`) : here.message || t("cobrowse.error.other")
          : here.phase === "stopped"
            ? t(here.by === "visitor" ? "cobrowse.stoppedByCustomer" : "cobrowse.stopped")
            : t(here.phase === "watching" && here.control === "granted" ? "cobrowse.controlling" : `cobrowse.${here.phase}`)}
      </span>
      {here.phase === "watching" && here.away && <span class="cobrowse-note cobrowse-away">{t("cobrowse.away")}</span>}
      {here.phase === "watching" && <ControlButton t={t} cobrowse={cobrowse} control={here.control} by={here.controlBy} />}
      {ended ? (
        <button type="button" class="button button-small" onClick={cobrowse.dismiss}>
          {t("cobrowse.dismiss")}
        </button>
      ) : (
        <button type="button" class="button button-small cobrowse-stop" onClick={cobrowse.stop}>
          {t("cobrowse.stop")}
        </button>
      )}
      {here.phase === "watching" && <CobrowseViewer cobrowse={cobrowse} control={here.control} />}
    </div>
  );
}

/** The six digits a customer reads out (they pressed "Share this page" in the widget). */
function CodeForm({ conversationId }) {
  const t = useT();
  const cobrowse = useCobrowseContext();
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState("");
  async function submit(event) {
    event.preventDefault();
    setProblem("");
    const ack = await cobrowse.claim(conversationId, code.replace(/\D/g, ""));
    if (ack?.ok) return setCode("");
    setProblem(MESSAGES.has(ack?.code) ? t(`cobrowse.error.${ack.code}`) : ack?.message || t("cobrowse.error.other"));
  }
  return (
    <form class="cobrowse-code" onSubmit={submit}>
      <label>
        {t("cobrowse.codeLabel")}{" "}
        <input
          class="cobrowse-input"
          inputMode="numeric"
          autocomplete="off"
          maxLength={7}
          size={8}
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
          pattern="[0-9 ]{6,7}"
          required
        />
      </label>
      <button type="submit" class="button button-small">
        {t("cobrowse.codeConnect")}
      </button>
      {problem && (
        <span class="cobrowse-problem" role="alert">
          {problem}
        </span>
      )}
    </form>
  );
}

function ControlButton({ t, cobrowse, control, by }) {
  if (control === "granted")
    return (
      <button type="button" class="button button-small cobrowse-release" onClick={() => cobrowse.control(false)}>
        {t("cobrowse.releaseControl")}
      </button>
    );
  if (control === "asked") return <span class="cobrowse-note">{t("cobrowse.controlAsked")}</span>;
  return (
    <>
      <button type="button" class="button button-small cobrowse-ask-control" onClick={() => cobrowse.control(true)}>
        {t("cobrowse.askControl")}
      </button>
      {by === "visitor" && <span class="cobrowse-note">{t("cobrowse.controlKept")}</span>}
    </>
  );
}

/** The customer's page, live: a fresh Replayer at each full snapshot (rrweb's live list never shrinks). */
function CobrowseViewer({ cobrowse, control }) {
  const t = useT();
  const frame = useRef(null);
  const stage = useRef(null);
  const view = useRef({ replayer: null, scale: 1, stream: "" }); // stream: the page shown (its node ids)
  const [field, setField] = useState(null); // {node, tag} the agent clicked, to type into
  const [text, setText] = useState("");
  const [address, setAddress] = useState("");
  const { subscribe, pageNow } = cobrowse;
  useEffect(() => {
    let viewport = null;
    const parts = new Map(); // a large batch arrives in parts
    const fit = () => {
      const { replayer } = view.current;
      if (!replayer || !viewport || !frame.current) return;
      const scale = Math.min(1, frame.current.clientWidth / viewport.width);
      view.current.scale = scale;
      replayer.wrapper.style.transform = `scale(${scale})`;
      replayer.wrapper.style.transformOrigin = "0 0";
      stage.current.style.height = `${Math.round(viewport.height * scale)}px`;
      stage.current.style.width = `${Math.round(viewport.width * scale)}px`;
    };
    const feed = (batch) => {
      let events = batch.events;
      if (batch.part) {
        const got = parts.get(batch.part.id) ?? [];
        got[batch.part.index] = batch.part.text;
        parts.set(batch.part.id, got);
        if (got.filter((piece) => typeof piece === "string").length < batch.part.count) return;
        parts.delete(batch.part.id);
        try {
          events = JSON.parse(got.join(""));
        } catch {
          return;
        }
      }
      if (!Array.isArray(events) || events.length === 0) return;
      if (batch.snapshot) {
        view.current.replayer?.destroy();
        stage.current.querySelector(".replayer-wrapper")?.remove();
        // Events older than the start play at once, "in sync": without a virtual DOM, so they reach
        // the view even when nothing newer comes to flush them (a quiet page caught up with).
        const replayer = new Replayer([], { root: stage.current, liveMode: true, mouseTail: false, showWarning: false, showDebug: false, useVirtualDom: false });
        view.current.replayer = replayer;
        view.current.stream = batch.stream || "";
        replayer.on("resize", (size) => {
          viewport = size;
          fit();
        });
        // From the page's clock now, not the snapshot's own time: a snapshot caught up with may be
        // minutes old, and the replay would stay that far behind.
        replayer.startLive(Math.max(events[0].timestamp, pageNow() ?? 0) - BUFFER_MS);
      }
      const { replayer } = view.current;
      if (!replayer) return; // changes before the page's first snapshot can't be shown
      events.forEach((event) => replayer.addEvent(event));
    };
    const off = subscribe(feed);
    window.addEventListener("resize", fit);
    return () => {
      off();
      window.removeEventListener("resize", fit);
      view.current.replayer?.destroy();
      view.current.replayer = null;
    };
  }, [subscribe, pageNow]);

  /** What is under the agent's pointer on the customer's page: {node, x, y, element}, or null. */
  function under(event) {
    const { replayer, scale } = view.current;
    const doc = replayer?.iframe?.contentDocument;
    if (!doc) return null;
    const pane = event.currentTarget.getBoundingClientRect();
    const x = (event.clientX - pane.left) / scale;
    const y = (event.clientY - pane.top) / scale;
    const element = doc.elementFromPoint(x, y);
    const node = element ? replayer.getMirror().getId(element) : -1;
    if (!element || node < 1) return null;
    const box = element.getBoundingClientRect();
    const share = (at, from, size) => (size > 0 ? Math.min(1, Math.max(0, (at - from) / size)) : 0.5);
    return { node, x: share(x, box.left, box.width), y: share(y, box.top, box.height), element };
  }

  const last = useRef({ pointer: 0, scroll: 0, dy: 0, dx: 0, timer: null });
  function onMove(event) {
    const now = performance.now();
    if (now - last.current.pointer < POINTER_MS) return;
    last.current.pointer = now;
    const at = under(event);
    if (at) cobrowse.point({ stream: view.current.stream, node: at.node, x: at.x, y: at.y });
  }
  function onClick(event) {
    const at = under(event);
    if (!at) return;
    const stream = view.current.stream;
    if (control !== "granted") return cobrowse.point({ stream, node: at.node, x: at.x, y: at.y, highlight: true });
    cobrowse.act({ stream, kind: "click", node: at.node, x: at.x, y: at.y });
    const tag = at.element.tagName;
    setField(TYPABLE.has(tag) || at.element.isContentEditable ? { node: at.node, tag, stream } : null);
    setText("");
  }
  function onWheel(event) {
    if (control !== "granted") return;
    event.preventDefault();
    const pending = last.current;
    pending.dx += Math.round(event.deltaX);
    pending.dy += Math.round(event.deltaY);
    if (pending.timer) return;
    const at = under(event);
    pending.timer = setTimeout(() => {
      if (at) cobrowse.act({ stream: view.current.stream, kind: "scroll", node: at.node, dx: pending.dx, dy: pending.dy });
      Object.assign(pending, { dx: 0, dy: 0, timer: null });
    }, SCROLL_MS);
  }
  function type(event) {
    event.preventDefault();
    if (field) cobrowse.act({ stream: field.stream, kind: "input", node: field.node, value: text });
  }
  function go(event) {
    event.preventDefault();
    if (address.trim()) cobrowse.act({ stream: view.current.stream, kind: "navigate", url: address.trim() });
  }

  return (
    <div class={`cobrowse-view${control === "granted" ? " in-control" : ""}`}>
      <div class="cobrowse-frame" ref={frame} aria-label={t("cobrowse.view")}>
        <div class="cobrowse-stage" ref={stage}>
          <div
            class="cobrowse-glass"
            title={t(control === "granted" ? "cobrowse.glassControl" : "cobrowse.glassPoint")}
            onMouseMove={onMove}
            onMouseLeave={() => view.current.stream && cobrowse.point({ stream: view.current.stream, hide: true })}
            onClick={onClick}
            onWheel={onWheel}
          />
        </div>
      </div>
      {control === "granted" && (
        <div class="cobrowse-tools">
          {field && (
            <form class="cobrowse-type" onSubmit={type}>
              <label>
                {t("cobrowse.typeLabel")}{" "}
                <input class="cobrowse-input" value={text} maxLength={2000} onInput={(e) => setText(e.currentTarget.value)} />
              </label>
              <button type="submit" class="button button-small">
                {t("cobrowse.typeSend")}
              </button>
            </form>
          )}
          <form class="cobrowse-go" onSubmit={go}>
            <label>
              {t("cobrowse.goLabel")}{" "}
              <input class="cobrowse-input" value={address} maxLength={2000} placeholder="/checkout" onInput={(e) => setAddress(e.currentTarget.value)} />
            </label>
            <button type="submit" class="button button-small">
              {t("cobrowse.goOpen")}
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
