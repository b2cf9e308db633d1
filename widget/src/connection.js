// The visitor's socket.io connection to the gateway's /visitor namespace. Opened when the panel
// first opens, or at page load when the visitor has a chat going. Views read `store`; the chat
// session uses call() for acknowledged events and on() for the gateway's pushes.
import { io } from "socket.io-client";
import { createStore } from "./store.js";

// An event's answer that doesn't come within this long is treated as lost (the outbox resends).
const ACK_TIMEOUT_MS = 10000;

/**
 * @param {{origin: string, widgetKey: string, visitorId: string}} options
 * store: {status: "idle" | "connecting" | "connected" | "error", error, retrying (socket.io retries by itself)}.
 */
export function createConnection({ origin, widgetKey, visitorId }) {
  let socket = null;
  let user = null; // {id, hash} from WECC.setUser
  const store = createStore({ status: "idle", error: null, retrying: false });
  const handlers = []; // [event, fn], attached to the socket whenever it exists

  function auth() {
    const base = { widget_key: widgetKey, visitor_id: visitorId };
    return user ? { ...base, user_id: user.id, user_hash: user.hash } : base;
  }

  function open() {
    if (socket) return;
    store.set({ status: "connecting", error: null });
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
