// The visitor's socket.io connection to the gateway's /visitor namespace. Opened when the panel
// first opens, or at page load when the visitor has a chat going; the socket.io client itself is an
// on-demand part (parts/socket.js), so a page view without a chat never downloads it. Views read
// `store`; the chat session uses call() for acknowledged events and on() for the gateway's pushes.
import { createStore } from "./store.js";
import { loadPart } from "./parts.js";

// An event's answer that doesn't come within this long is treated as lost (the outbox resends).
const ACK_TIMEOUT_MS = 10000;

/**
 * @param {{origin: string, widgetKey: string, visitorId: string}} options
 * store: {status: "idle" | "connecting" | "connected" | "error", error, retrying (socket.io retries by itself)}.
 */
export function createConnection({ origin, widgetKey, visitorId }) {
  let socket = null;
  let loading = false;
  let user = null; // {id, hash} from WECC.setUser
  const store = createStore({ status: "idle", error: null, retrying: false });
  const handlers = []; // [event, fn], attached to the socket whenever it exists

  function auth() {
    const base = { widget_key: widgetKey, visitor_id: visitorId };
    return user ? { ...base, user_id: user.id, user_hash: user.hash } : base;
  }

  function open() {
    if (socket || loading) return;
    loading = true;
    store.set({ status: "connecting", error: null, retrying: false });
    loadPart("socket").then(
      ({ io }) => {
        loading = false;
        connect(io);
      },
      () => {
        loading = false; // the visitor is told the help desk can't be reached, and can try again
        store.set({ status: "error", error: "", retrying: false });
      },
    );
  }

  function connect(io) {
    socket = io(`${origin}/visitor`, {
      path: "/socket.io",
      auth: auth(),
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      withCredentials: false,
      reconnectionDelayMax: 15000,
    });
    socket.on("connect", () => store.set({ status: "connected", error: null, retrying: false }));
    socket.on("connect_error", (err) => store.set({ status: "error", error: (err && err.message) || "", retrying: socket.active }));
    socket.on("disconnect", (reason) => {
      // The gateway hung up on purpose (socket.active false): no automatic retry.
      if (socket.active) store.set({ status: "connecting", error: null, retrying: true });
      else store.set({ status: "error", error: reason, retrying: false });
    });
    handlers.forEach(([event, fn]) => socket.on(event, fn));
  }

  /** Resolves with the gateway's ack, or {ok: false, code: "offline" | "timeout"}; never rejects. */
  function call(event, data = {}) {
    return new Promise((resolve) => {
      if (!socket || !socket.connected) return resolve({ ok: false, code: "offline" });
      socket.timeout(ACK_TIMEOUT_MS).emit(event, data, (err, ack) => resolve(err ? { ok: false, code: "timeout" } : ack || { ok: false, code: "invalid" }));
    });
  }

  return {
    store,
    open,
    /** The visitor may be about to open the panel: fetch the client ahead. */
    preload: () => loadPart("socket").catch(() => {}),
    call,
    get connected() {
      return !!(socket && socket.connected);
    },
    /** A push from the gateway ("message.created"...), or "connect" (also after each reconnect). */
    on(event, fn) {
      handlers.push([event, fn]);
      if (socket) socket.on(event, fn);
    },
    /** After a refusal: ask again now. */
    retry() {
      if (!socket) return open();
      store.set({ status: "connecting", error: null, retrying: false });
      socket.connect();
    },
    /** Signed-in user of the host site ({id, hash}) or null: reconnects with the new identity. */
    setUser(next) {
      user = next && next.id && next.hash ? { id: String(next.id), hash: String(next.hash) } : null;
      if (!socket) return;
      socket.auth = auth();
      socket.disconnect();
      store.set({ status: "connecting", error: null });
      socket.connect();
    },
  };
}
