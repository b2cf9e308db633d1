// Co-browsing, the agent's side: ask the customer (cobrowse_request) and wait for their consent, or
// enter the code they read out on a call (cobrowse_claim); then watch their page live (cobrowse_join,
// then cobrowse.batch as it changes) until either side stops. The agent points at the page
// (cobrowse_pointer) and, once the customer grants control, acts on it (cobrowse_action).
// One session at a time per inbox; the view (components/Cobrowse.jsx) replays what comes in.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";

const RECHECK_MS = 300;

/**
 * state: {conversationId, sessionId, phase: "asking" | "watching" | "declined" | "stopped" | "failed",
 *         control: "" | "asked" | "granted", away: bool (the page is not there right now), code?} or null.
 */
export function useCobrowse({ realtime }) {
  const [state, setState] = useState(null);
  const stateRef = useRef(null);
  const feeds = useRef(new Set()); // the view's replayers
  const pending = useRef([]); // batches caught up with before a view subscribed
  // The customer's page clock (rrweb stamps its events with it), as last heard: {page, at} (ms, and
  // our performance.now() then). The replay keeps time by it, whatever the two clocks say.
  const clock = useRef(null);
  const pageNow = useCallback(() => (clock.current ? clock.current.page + (performance.now() - clock.current.at) : null), []);
  // Each report of the page's clock comes a trip late (a big batch's trip is long): the latest
  // estimate is the largest.
  const noteClock = useCallback((page) => {
    if (page && page > (pageNow() ?? 0)) clock.current = { page, at: performance.now() };
  }, [pageNow]);
  const update = useCallback((next) => {
    stateRef.current = typeof next === "function" ? next(stateRef.current) : next;
    setState(stateRef.current);
  }, []);

  // Batches are numbered (seq) by the gateway. Joining enters the room before reading what to catch
  // up with, so a batch may come both ways: the live ones that come while joining wait, and only
  // those past the catch-up are played.
  const lastSeq = useRef(0);
  const joining = useRef(null); // live batches held while a join is under way

  const deliver = useCallback((batch) => {
    lastSeq.current = Math.max(lastSeq.current, batch.seq || 0);
    if (feeds.current.size === 0) pending.current.push(batch);
    else feeds.current.forEach((feed) => feed(batch));
  }, []);

  const join = useCallback(
    async (sessionId) => {
      const held = [];
      joining.current = held;
      const ack = await realtime.emit("cobrowse_join", { session_id: sessionId });
      if (joining.current === held) joining.current = null;
      if (stateRef.current?.sessionId !== sessionId) return;
      if (!ack?.ok) return update((now) => ({ ...now, phase: "failed", code: ack?.code || "error" }));
      if (ack.state === "ended" || ack.state === "declined") return update((now) => ({ ...now, phase: ack.state === "ended" ? "stopped" : "declined" }));
      if (ack.state !== "active") return;
      pending.current = [];
      noteClock(ack.page_now);
      update((now) => ({ ...now, phase: "watching", control: ack.control || "", away: false }));
      const caughtUp = ack.batches ?? [];
      lastSeq.current = 0;
      caughtUp.forEach(deliver);
      held.filter((batch) => (batch.seq || 0) > lastSeq.current).forEach(deliver);
    },
    [realtime, update, deliver, noteClock],
  );

  const request = useCallback(
    async (conversationId) => {
      clock.current = null; // another customer's page, maybe another clock
      update({ conversationId, sessionId: null, phase: "asking" });
      const ack = await realtime.emit("cobrowse_request", { conversation_id: conversationId });
      if (stateRef.current?.conversationId !== conversationId) return;
      if (!ack?.ok) return update({ conversationId, sessionId: null, phase: "failed", code: ack?.code || "error", message: ack?.message || "" });
      update({ conversationId, sessionId: ack.session_id, phase: "asking" });
      if (ack.state === "active") await join(ack.session_id);
    },
    [realtime, update, join],
  );

  /** The code the customer read out (they started it from the widget): their page, on this conversation. */
  const claim = useCallback(
    async (conversationId, code) => {
      const ack = await realtime.emit("cobrowse_claim", { conversation_id: conversationId, code });
      if (!ack?.ok) return ack;
      clock.current = null;
      update({ conversationId, sessionId: ack.session_id, phase: "asking", control: "" });
      await join(ack.session_id);
      return ack;
    },
    [realtime, update, join],
  );

  const control = useCallback(
    async (want) => {
      const now = stateRef.current;
      if (!now?.sessionId) return;
      const ack = await realtime.emit("cobrowse_control", { session_id: now.sessionId, want });
      if (ack?.ok && stateRef.current?.sessionId === now.sessionId) update((was) => ({ ...was, control: ack.control }));
    },
    [realtime, update],
  );

  /** Pointing ({node, x, y, highlight?, hide?}) and, with control, acting ({kind, ...}) on the page. */
  const point = useCallback(
    (pointer) => stateRef.current?.sessionId && realtime.emit("cobrowse_pointer", { session_id: stateRef.current.sessionId, ...pointer }),
    [realtime],
  );
  const act = useCallback(
    (action) => stateRef.current?.control === "granted" && realtime.emit("cobrowse_action", { session_id: stateRef.current.sessionId, ...action }),
    [realtime],
  );

  const stop = useCallback(async () => {
    const now = stateRef.current;
    if (!now?.sessionId) return update(null);
    update({ ...now, phase: "stopped", by: "agent" });
    await realtime.emit("cobrowse_stop", { session_id: now.sessionId });
  }, [realtime, update]);

  const dismiss = useCallback(() => update(null), [update]);

  useEffect(() => {
    const mine = (data) => data?.session_id && data.session_id === stateRef.current?.sessionId;
    const offs = [
      realtime.on("cobrowse.started", (data) => mine(data) && join(data.session_id)),
      realtime.on("cobrowse.declined", (data) => mine(data) && update((now) => ({ ...now, phase: "declined" }))),
      realtime.on("cobrowse.stopped", (data) => mine(data) && update((now) => ({ ...now, phase: "stopped", by: data.by, control: "" }))),
      // The conversation changed hands: whoever may still watch gets back in (the gateway checks).
      // (A moment later: the gateway closes the room right after saying so, on every process.)
      realtime.on("cobrowse.recheck", (data) => mine(data) && setTimeout(() => join(data.session_id), RECHECK_MS)),
      realtime.on("cobrowse.control", (data) => mine(data) && update((now) => ({ ...now, control: data.control, controlBy: data.by }))),
      realtime.on("cobrowse.batch", (data) => {
        if (!mine(data)) return;
        noteClock(data.sent);
        if (joining.current) return joining.current.push(data);
        if (stateRef.current.phase !== "watching" || (data.seq || 0) <= lastSeq.current) return;
        if (stateRef.current.away) update((now) => ({ ...now, away: false }));
        deliver(data);
      }),
      // The customer's page went (closed, or on its way to another page of the site) until it sends again.
      realtime.on("cobrowse.away", (data) => mine(data) && update((now) => ({ ...now, away: true }))),
    ];
    // A new socket is in no session's room: join again, which also catches up from the latest snapshot.
    offs.push(realtime.onReconnect(() => {
      const now = stateRef.current;
      if (now?.sessionId && (now.phase === "asking" || now.phase === "watching")) join(now.sessionId);
    }));
    return () => offs.forEach((off) => off());
  }, [realtime, join, update, deliver, noteClock]);

  /** A view's feed of batches: those caught up with first, then each as it comes. */
  const subscribe = useCallback((feed) => {
    feeds.current.add(feed);
    pending.current.splice(0).forEach(feed);
    return () => feeds.current.delete(feed);
  }, []);

  return useMemo(
    () => ({ state, request, claim, control, point, act, stop, dismiss, subscribe, pageNow }),
    [state, request, claim, control, point, act, stop, dismiss, subscribe, pageNow],
  );
}

export const CobrowseContext = createContext({ state: null });

export function useCobrowseContext() {
  return useContext(CobrowseContext);
}
