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
  // The conversation rooms to be in, id → view: the open one is viewed (colleagues see the agent on
  // it); the chats the agent holds only follow live (messages, typing) without being "viewed".
  const rooms = new Map();
  const unsupported = new Set(); // client events this gateway answered "unknown_event" to

  function setState(next) {
    state = next;
    for (const fn of stateListeners) fn(next);
  }

  socket.on("connect", () => {
    connects += 1;
    setState("connected");
    // Rooms don't survive a reconnect, and the server may not remember the agent's presence.
    if (presence) emitPresence(presence);
    for (const [id, view] of rooms) emitWithAck("join_conversation", { conversation_id: id, view });
    if (connects > 1) for (const fn of reconnectListeners) fn();
  });
  // socket.active is false when the server refused the connection (e.g. no session): no retry then.
  socket.on("disconnect", () => setState(socket.active ? "reconnecting" : "refused"));
  socket.on("connect_error", () => setState(socket.active ? "reconnecting" : "refused"));

  /**
   * Emits and resolves with the server's ack ({ok:true} / {ok:false, code}), {ok:false, code:"timeout"},
   * or {ok:false, code:"offline"} while disconnected. An event the gateway does not know (an older
   * gateway) is remembered and not sent again.
   */
  function emitWithAck(event, payload) {
    if (unsupported.has(event)) return Promise.resolve({ ok: false, code: "unknown_event" });
    if (!socket.connected) return Promise.resolve({ ok: false, code: "offline" });
    return new Promise((resolve) => {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, response) => {
        if (err) return resolve({ ok: false, code: "timeout" });
        const ack = response && typeof response === "object" ? response : { ok: true };
        if (ack.ok === false && ack.code === "unknown_event") unsupported.add(event);
        resolve(ack);
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
    /**
     * Joins the conversation's room, viewing it (view=true: colleagues see the agent has it open) or
     * only following it live (view=false). Joining again with the other view switches between the
     * two. Resolves with the server's ack (or {ok:true, queued:true} while offline).
     */
    joinConversation(conversationId, view = true) {
      const before = rooms.get(conversationId);
      rooms.set(conversationId, view);
      if (!socket.connected) return Promise.resolve({ ok: true, queued: true });
      if (before === view) return Promise.resolve({ ok: true });
      return emitWithAck("join_conversation", { conversation_id: conversationId, view });
    },
    leaveConversation(conversationId) {
      if (!rooms.delete(conversationId)) return;
      if (socket.connected) socket.emit("leave_conversation", { conversation_id: conversationId });
    },
    /**
     * Makes the joined conversation rooms exactly `wanted` (a Map id → view): leaves the others, joins
     * the new ones and re-joins those whose view changed. Answers the acks of those joins by id.
     */
    syncRooms(wanted) {
      const acks = new Map();
      for (const id of [...rooms.keys()]) if (!wanted.has(id)) this.leaveConversation(id);
      for (const [id, view] of wanted) if (rooms.get(id) !== view) acks.set(id, this.joinConversation(id, view));
      return acks;
    },
    /** Whether the gateway answered "unknown_event" to this client event earlier in the session. */
    supports(event) {
      return !unsupported.has(event);
    },
    emit: emitWithAck,
    acceptTask: (taskId) => emitWithAck("accept_task", { task_id: taskId }),
    rejectTask: (taskId) => emitWithAck("reject_task", { task_id: taskId }),
    /** extra: {wrapup_code?, note?}: how the agent sums up the work (kept on the conversation). */
    wrapupTask: (taskId, extra = {}) => emitWithAck("wrapup_task", { task_id: taskId, ...extra }),
    completeTask: (taskId, extra = {}) => emitWithAck("complete_task", { task_id: taskId, ...extra }),
    transferTask: (taskId, target, note) => emitWithAck("transfer_task", { task_id: taskId, ...target, ...(note ? { note } : {}) }),
    typing: (conversationId, typing) => emitWithAck("typing", { conversation_id: conversationId, typing }),
    receipt: (conversationId, messageId, status) => emitWithAck("receipt", { conversation_id: conversationId, message_id: messageId, status }),
  };
}

/**
 * The /supervisor namespace, for staff who supervise a tenant: every event of those tenants
 * (supervision.* among them, which agents never hear), over the same connection as /agent. Only
 * receives; refused by the gateway for anyone who supervises no tenant.
 */
export function createSupervisorConnection() {
  const socket = io("/supervisor", {
    path: "/socket.io",
    withCredentials: true,
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    autoConnect: false,
  });
  let watching = null; // an operator's chosen business (they supervise every one, one at a time)
  socket.on("connect", () => {
    if (watching) socket.emit("watch_tenant", { tenant_id: watching });
  });
  return {
    connect() {
      socket.connect();
    },
    /** Operators: hear this business's events now (each reconnect asks again). */
    watch(tenantId) {
      watching = tenantId;
      if (socket.connected) socket.emit("watch_tenant", { tenant_id: tenantId });
    },
    close() {
      socket.disconnect();
    },
    /** Subscribes to a server event; returns the unsubscribe function. */
    on(event, fn) {
      socket.on(event, fn);
      return () => socket.off(event, fn);
    },
  };
}
