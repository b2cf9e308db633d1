// Co-browsing in a conversation: the button that asks the customer, what became of the request,
// and the customer's page replayed live (rrweb, in the sandboxed frame its Replayer makes), scaled
// to fit, its outline the customer's viewport.
import { Replayer } from "@rrweb/replay";
import "@rrweb/replay/dist/style.css";
import { useEffect, useRef } from "preact/hooks";
import { useCobrowseContext } from "../cobrowse.js";
import { useT } from "../i18n.js";
import { Icon } from "./Icon.jsx";

// How far behind the customer the replay runs: rrweb's live mode plays events on their own clock
// from this baseline, so a little slack absorbs the network's jitter and any clock difference.
const BUFFER_MS = 150;
const MESSAGES = new Set(["not_yours", "no_visitor", "not_found"]);

/** Under the conversation's header, for web visitors' conversations (chat, web calls). */
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
        {elsewhere && <span class="cobrowse-note">{t("cobrowse.busy")}</span>}
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
            : t(`cobrowse.${here.phase}`)}
      </span>
      {ended ? (
        <button type="button" class="button button-small" onClick={cobrowse.dismiss}>
          {t("cobrowse.dismiss")}
        </button>
      ) : (
        <button type="button" class="button button-small cobrowse-stop" onClick={cobrowse.stop}>
          {t("cobrowse.stop")}
        </button>
      )}
      {here.phase === "watching" && <CobrowseViewer subscribe={cobrowse.subscribe} />}
    </div>
  );
}

/** The customer's page, live: a fresh Replayer at each full snapshot (rrweb's live list never shrinks). */
function CobrowseViewer({ subscribe }) {
  const t = useT();
  const frame = useRef(null);
  const stage = useRef(null);
  useEffect(() => {
    let replayer = null;
    let viewport = null;
    const parts = new Map(); // a large batch arrives in parts
    const fit = () => {
      if (!replayer || !viewport || !frame.current) return;
      const scale = Math.min(1, frame.current.clientWidth / viewport.width);
      replayer.wrapper.style.transform = `scale(${scale})`;
      replayer.wrapper.style.transformOrigin = "0 0";
      stage.current.style.height = `${Math.round(viewport.height * scale)}px`;
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
        replayer?.destroy();
        stage.current.replaceChildren();
        replayer = new Replayer([], { root: stage.current, liveMode: true, mouseTail: false, showWarning: false, showDebug: false });
        replayer.on("resize", (size) => {
          viewport = size;
          fit();
        });
        replayer.startLive(events[0].timestamp - BUFFER_MS);
      }
      if (!replayer) return; // changes before the page's first snapshot can't be shown
      events.forEach((event) => replayer.addEvent(event));
    };
    const off = subscribe(feed);
    window.addEventListener("resize", fit);
    return () => {
      off();
      window.removeEventListener("resize", fit);
      replayer?.destroy();
    };
  }, [subscribe]);
  return (
    <div class="cobrowse-frame" ref={frame} aria-label={t("cobrowse.view")}>
      <div class="cobrowse-stage" ref={stage} />
    </div>
  );
}
