// The visitor's socket.io connection to the gateway's /visitor namespace, opened the first time the
// panel opens. Views subscribe to its state; the chat/voice code will use `socket` for its events.
import { io } from "socket.io-client";

/**
 * @param {{origin: string, widgetKey: string, visitorId: string}} options
 * state.status: "idle" | "connecting" | "connected" | "error"; state.error: the last error's message;
 * state.retrying: whether socket.io is retrying by itself (false when the gateway refused us).
 */
export function createConnection({ origin, widgetKey, visitorId }) {
  let socket = null;
  let state = { status: "idle", error: null, retrying: false };
  const listeners = new Set();

  function set(patch) {
    state = { ...state, ...patch };
    listeners.forEach((fn) => fn(state));
  }

  function open() {
    if (socket) return;
    set({ status: "connecting", error: null });
    socket = io(`${origin}/visitor`, {
      path: "/socket.io",
      auth: { widget_key: widgetKey, visitor_id: visitorId },
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      withCredentials: false,
      reconnectionDelayMax: 15000,
    });
    socket.on("connect", () => set({ status: "connected", error: null, retrying: false }));
    socket.on("connect_error", (err) => set({ status: "error", error: (err && err.message) || "", retrying: socket.active }));
    socket.on("disconnect", (reason) => {
      // The gateway hung up on purpose (socket.active false): no automatic retry.
      if (socket.active) set({ status: "connecting", error: null, retrying: true });
      else set({ status: "error", error: reason, retrying: false });
    });
  }

  return {
    get state() {
      return state;
    },
    get socket() {
      return socket;
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    open,
    /** After a refusal: ask again now. */
    retry() {
      if (!socket) return open();
      set({ status: "connecting", error: null, retrying: false });
      socket.connect();
    },
  };
}
