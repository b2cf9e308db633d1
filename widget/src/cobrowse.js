// Co-browsing, the visitor's side. Either an agent asks to see this page (cobrowse.requested) and the
// visitor allows or declines, or the visitor starts it (offerCode) and reads the code to the agent on
// the phone. While it runs a banner says so, with a stop button that ends it at once. The agent may
// ask for control, a second consent the visitor can take back at any moment. The recorder (and what
// draws the agent's pointer and applies their actions) is parts/cobrowse.jsx, loaded only once the
// visitor agreed. The session outlives the page: on the site's next page the widget carries on
// (sessionStorage: this tab, this site only).
import { loadPart } from "./parts.js";
import { load, save } from "./storage.js";
import { createStore } from "./store.js";

/**
 * store: {request: {sessionId, agentName} | null, active: {sessionId, agentName} | null,
 *         control: "" | "asked" | "granted", offering: bool, code: {sessionId, code, expiresAt} | null, error}.
 * configure(settings): the tenant's widget settings' `cobrowse` ({enabled, control, mask_selectors,
 * block_selectors}), once fetched; recording waits for them (they say what must stay private).
 */
export function createCobrowse(connection, widgetKey) {
  const store = createStore({ request: null, active: null, control: "", offering: false, code: null, error: false, enabled: true });
  const key = `wecc-cobrowse:${widgetKey}`;
  let recorder = null; // {stop, point, act, resnapshot} while recording
  let settingsKnown;
  const settingsReady = new Promise((resolve) => (settingsKnown = resolve));

  /** `known`: the settings came from the gateway (not the widget's fallback, which has none of the
   * tenant's private selectors: nothing is recorded then). */
  function configure(settings, known) {
    const own = { enabled: true, ...settings, known };
    store.set({ enabled: own.enabled !== false && known });
    settingsKnown(own);
  }

  function remember(value) {
    save("sessionStorage", key, value);
  }

  let codeTimer = null;
  function finish() {
    if (recorder) recorder.stop();
    recorder = null;
    clearTimeout(codeTimer);
    remember(null);
    store.set({ request: null, active: null, control: "", offering: false, code: null });
  }

  /** A code on screen until the agent enters it, or it runs out. */
  function showCode(code) {
    clearTimeout(codeTimer);
    const left = code.expiresAt ? code.expiresAt - Date.now() : 0;
    if (code.expiresAt && left <= 0) return finish();
    store.set({ offering: false, code, error: false });
    if (left > 0) codeTimer = setTimeout(finish, left);
  }

  /** Records and streams this page to the session's agent. False when the recorder can't load. */
  async function record(session, control) {
    let part;
    try {
      part = await loadPart("cobrowse");
    } catch {
      store.set({ error: true });
      return false;
    }
    const settings = await settingsReady;
    if (recorder) recorder.stop();
    recorder = null;
    try {
      if (!settings.known) throw new Error("the site's co-browsing settings could not be read");
      recorder = part.start({
        send: (batch) => connection.call("cobrowse_batch", { session_id: session.sessionId, ...batch }),
        blockSelectors: settings.block_selectors || [],
        maskSelectors: settings.mask_selectors || [],
        onEnded: finish, // the session ended, or another page of this visitor's shares now
      });
    } catch (err) {
      console.warn("[wecc] co-browsing not started:", err && err.message);
      store.set({ error: true });
      return false;
    }
    remember({ ...session, state: "active" });
    store.set({ request: null, active: session, control, offering: false, code: null, error: false });
    return true;
  }

  const current = () => {
    const now = store.get();
    return (now.active && now.active.sessionId) || (now.request && now.request.sessionId) || (now.code && now.code.sessionId);
  };
  const activeIs = (data) => data && store.get().active && data.session_id === store.get().active.sessionId;

  connection.on("cobrowse.requested", (data) => {
    if (!data || !data.session_id || store.get().active) return;
    store.set({ request: { sessionId: data.session_id, agentName: data.agent_name || "" }, error: false });
  });
  connection.on("cobrowse.started", (data) => {
    // The agent entered the code this visitor read out: the page is shared from now on.
    const code = store.get().code;
    if (data && code && data.session_id === code.sessionId) {
      clearTimeout(codeTimer);
      record({ sessionId: code.sessionId, agentName: data.agent_name || "" }, "");
    }
  });
  connection.on("cobrowse.stopped", (data) => {
    if (data && data.session_id === current()) finish();
  });
  connection.on("cobrowse.control", (data) => {
    if (!activeIs(data)) return;
    const control = data.control === "asked" || data.control === "granted" ? data.control : "";
    if (data.agent_name) store.set({ active: { ...store.get().active, agentName: data.agent_name } });
    store.set({ control });
  });
  connection.on("cobrowse.pointer", (data) => {
    if (activeIs(data) && recorder) recorder.point(data);
  });
  connection.on("cobrowse.action", (data) => {
    if (activeIs(data) && recorder && store.get().control === "granted") recorder.act(data);
  });
  connection.on("connect", async () => {
    const kept = load("sessionStorage", key);
    if (!kept || !kept.sessionId) return;
    if (!recorder) return resume(kept);
    // Back after a drop: still on? (a stop may have come meanwhile) Then what was sent while
    // offline is lost: the agent's view starts afresh.
    const ack = await connection.call("cobrowse_resume", { session_id: kept.sessionId });
    if (ack && ack.code === "not_active") finish();
    else if (recorder) recorder.resnapshot();
  });

  /** This tab shared its page (or waited with a code) on the site's previous page. */
  async function resume(kept) {
    const ack = await connection.call("cobrowse_resume", { session_id: kept.sessionId });
    if (!ack || !ack.ok) {
      if (ack && ack.code === "not_active") remember(null); // ended meanwhile; offline: try at the next connect
      return;
    }
    const session = { sessionId: kept.sessionId, agentName: ack.agent_name || kept.agentName || "" };
    if (ack.state === "code") showCode({ sessionId: kept.sessionId, code: ack.code, expiresAt: kept.expiresAt });
    else await record(session, ack.control || "");
  }
  if (load("sessionStorage", key)) connection.open();

  async function allow() {
    const request = store.get().request;
    if (!request) return;
    try {
      await loadPart("cobrowse"); // before consenting: nothing is promised that can't be kept
      if (!(await settingsReady).known) throw new Error("no settings");
    } catch {
      store.set({ error: true });
      return;
    }
    const ack = await connection.call("cobrowse_consent", { session_id: request.sessionId, accept: true });
    if (!ack || !ack.ok) {
      store.set({ request: null, error: ack && ack.code !== "not_asked" });
      return;
    }
    await record(request, "");
  }

  async function decline() {
    const request = store.get().request;
    store.set({ request: null });
    if (request) await connection.call("cobrowse_consent", { session_id: request.sessionId, accept: false });
  }

  /** The visitor ends it: nothing more leaves this page from now on. */
  async function stop() {
    const session = current();
    finish();
    if (session) await connection.call("cobrowse_stop", { session_id: session });
  }

  /** Answers the agent's ask for control; false also takes back control given. */
  async function grant(yes) {
    const active = store.get().active;
    if (!active) return;
    store.set({ control: yes ? "granted" : "" }); // taking back counts at once, before the gateway hears it
    const ack = await connection.call("cobrowse_grant", { session_id: active.sessionId, grant: yes });
    if (yes && (!ack || !ack.ok)) store.set({ control: "" });
  }

  /** "Share this page": explains first; getCode() then asks the gateway for the code to read out. */
  function offerCode() {
    if (!store.get().enabled || store.get().active || store.get().code) return;
    store.set({ offering: true, error: false });
  }

  async function getCode() {
    if (!connection.connected) {
      if (connection.store.get().status === "error") connection.retry();
      else connection.open();
      await new Promise((resolve) => {
        const unsubscribe = connection.store.subscribe((s) => s.status !== "connecting" && (unsubscribe(), resolve()));
      });
    }
    const ack = await connection.call("cobrowse_code", {});
    if (!ack || !ack.ok) return store.set({ error: true });
    const code = { sessionId: ack.session_id, code: ack.code, expiresAt: Date.now() + ack.expires_in * 1000 };
    remember({ sessionId: code.sessionId, state: "code", expiresAt: code.expiresAt });
    showCode(code);
  }

  function cancelOffer() {
    store.set({ offering: false, error: false });
  }

  return { store, configure, allow, decline, stop, grant, offerCode, getCode, cancelOffer };
}
