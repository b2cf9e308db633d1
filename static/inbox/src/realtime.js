// The inbox's socket.io connection to the gateway's /agent namespace (same origin, session cookie).
import { io } from "socket.io-client";

const ACK_TIMEOUT_MS = 10000;

/**
 * One connection per signed-in session. Components subscribe with on(); the wrapper remembers what
 * must be re-established after a reconnect (presence, the open conversation's room).
 */
export function createAgentConnection() {
  const socket = io("/agent", {
    path: "/socket.io",
    withCredentials: true,
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    autoConnect: false,
  });

  const stateListeners = new Set();
  const reconnectListeners = new Set();
  let state = "connecting"; // connecting | connected | reconnecting | refused
  let connects = 0;
  let presence = null; // re-announced after every (re)connect, once the agent chose one
  let joined = null; // the conversation room to be in

  function setState(next) {
    state = next;
    for (const fn of stateListeners) fn(next);
  }

  socket.on("connect", () => {
    connects += 1;
    setState("connected");
    // Rooms don't survive a reconnect, and the server may not remember the agent's presence.
    if (presence) emitPresence(presence);
    if (joined) emitWithAck("join_conversation", { conversation_id: joined });
    if (connects > 1) for (const fn of reconnectListeners) fn();
  });
  // socket.active is false when the server refused the connection (e.g. no session): no retry then.
  socket.on("disconnect", () => setState(socket.active ? "reconnecting" : "refused"));
  socket.on("connect_error", () => setState(socket.active ? "reconnecting" : "refused"));

  /** Emits and resolves with the server's ack ({ok:true} / {ok:false, code}), or {ok:false, code:"timeout"}. */
  function emitWithAck(event, payload) {
    return new Promise((resolve) => {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, response) => {
        if (err) resolve({ ok: false, code: "timeout" });
        else resolve(response && typeof response === "object" ? response : { ok: true });
      });
    });
  }

  /** Presence is fire-and-forget; if the server acks with {ok:false, code} the caller hears of it. */
  let presenceRejected = null;
  function emitPresence(status) {
    socket.emit("presence", { status }, (response) => {
      if (response && response.ok === false && presenceRejected) presenceRejected(response.code || "rejected");
    });
  }

  return {
    connect() {
      socket.connect();
    },
    close() {
      stateListeners.clear();
      reconnectListeners.clear();
      socket.disconnect();
    },
    get state() {
      return state;
    },
    onState(fn) {
      stateListeners.add(fn);
      return () => stateListeners.delete(fn);
    },
    /** Subscribes to a server event; returns the unsubscribe function. */
    on(event, fn) {
      socket.on(event, fn);
      return () => socket.off(event, fn);
    },
    /** Called after every reconnect (not the first connect): refetch what may have been missed. */
    onReconnect(fn) {
      reconnectListeners.add(fn);
      return () => reconnectListeners.delete(fn);
    },
    /** Sends the agent's presence now if connected, and again after every reconnect. */
    setPresence(status, onRejected) {
      presence = status;
      presenceRejected = onRejected ?? null;
      if (socket.connected) emitPresence(status);
    },
    /** Joins the conversation's room; resolves with the server's ack (or {ok:true, queued:true} while offline). */
    joinConversation(conversationId) {
      joined = conversationId;
      if (!socket.connected) return Promise.resolve({ ok: true, queued: true });
      return emitWithAck("join_conversation", { conversation_id: conversationId });
    },
    leaveConversation(conversationId) {
      if (joined === conversationId) joined = null;
      if (socket.connected) socket.emit("leave_conversation", { conversation_id: conversationId });
    },
  };
}
