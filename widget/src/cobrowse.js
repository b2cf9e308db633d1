// Co-browsing, the visitor's side: an agent asks to see this page (cobrowse.requested), the visitor
// allows or declines, and while it runs a banner says so with a stop button that ends it at once.
// The recorder itself (parts/cobrowse.jsx, with rrweb) is loaded only once the visitor allowed it.
import { loadPart } from "./parts.js";
import { createStore } from "./store.js";

/** store: {request: {sessionId, agentName} | null, active: {sessionId, agentName} | null, error}. */
export function createCobrowse(connection) {
  const store = createStore({ request: null, active: null, error: false });
  let stopRecording = null;

  function finish() {
    if (stopRecording) stopRecording();
    stopRecording = null;
    store.set({ request: null, active: null });
  }

  connection.on("cobrowse.requested", (data) => {
    if (!data || !data.session_id || store.get().active) return;
    store.set({ request: { sessionId: data.session_id, agentName: data.agent_name || "" }, error: false });
  });
  connection.on("cobrowse.stopped", (data) => {
    const now = store.get();
    const current = (now.active && now.active.sessionId) || (now.request && now.request.sessionId);
    if (data && data.session_id === current) finish();
  });

  async function allow() {
    const request = store.get().request;
    if (!request) return;
    let recorder;
    try {
      recorder = await loadPart("cobrowse");
    } catch {
      store.set({ error: true });
      return;
    }
    const ack = await connection.call("cobrowse_consent", { session_id: request.sessionId, accept: true });
    if (!ack || !ack.ok) {
      store.set({ request: null, error: ack && ack.code !== "not_asked" });
      return;
    }
    store.set({ request: null, active: request, error: false });
    stopRecording = recorder.start({ send: (batch) => connection.call("cobrowse_batch", { session_id: request.sessionId, ...batch }) });
  }

  async function decline() {
    const request = store.get().request;
    store.set({ request: null });
    if (request) await connection.call("cobrowse_consent", { session_id: request.sessionId, accept: false });
  }

  /** The visitor ends it: nothing more leaves this page from now on. */
  async function stop() {
    const active = store.get().active;
    finish();
    if (active) await connection.call("cobrowse_stop", { session_id: active.sessionId });
  }

  return { store, allow, decline, stop };
}
