// Co-browsing, the agent's side: ask the customer (cobrowse_request), wait for their consent, then
// watch their page live (cobrowse_join, then cobrowse.batch as it changes) until either side stops.
// One session at a time per inbox; the view (components/Cobrowse.jsx) replays what comes in.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";

/** state: {conversationId, sessionId, phase: "asking" | "watching" | "declined" | "stopped" | "failed", code?} or null. */
export function useCobrowse({ realtime }) {
  const [state, setState] = useState(null);
  const stateRef = useRef(null);
  const feeds = useRef(new Set()); // the view's replayers
  const pending = useRef([]); // batches caught up with before a view subscribed
  const update = useCallback((next) => {
    stateRef.current = typeof next === "function" ? next(stateRef.current) : next;
    setState(stateRef.current);
  }, []);

  const deliver = useCallback((batch) => {
    if (feeds.current.size === 0) pending.current.push(batch);
    else feeds.current.forEach((feed) => feed(batch));
  }, []);

  const join = useCallback(
    async (sessionId) => {
      const ack = await realtime.emit("cobrowse_join", { session_id: sessionId });
      if (stateRef.current?.sessionId !== sessionId) return;
      if (!ack?.ok) return update((now) => ({ ...now, phase: "failed", code: ack?.code || "error" }));
      if (ack.state !== "active") return;
      pending.current = [];
      update((now) => ({ ...now, phase: "watching" }));
      (ack.batches ?? []).forEach(deliver);
    },
    [realtime, update, deliver],
  );

  const request = useCallback(
    async (conversationId) => {
      update({ conversationId, sessionId: null, phase: "asking" });
      const ack = await realtime.emit("cobrowse_request", { conversation_id: conversationId });
      if (stateRef.current?.conversationId !== conversationId) return;
      if (!ack?.ok) return update({ conversationId, sessionId: null, phase: "failed", code: ack?.code || "error", message: ack?.message || "" });
      update({ conversationId, sessionId: ack.session_id, phase: "asking" });
      if (ack.state === "active") await join(ack.session_id);
    },
    [realtime, update, join],
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
      realtime.on("cobrowse.stopped", (data) => mine(data) && update((now) => ({ ...now, phase: "stopped", by: data.by }))),
      realtime.on("cobrowse.batch", (data) => mine(data) && stateRef.current.phase === "watching" && deliver(data)),
    ];
    return () => offs.forEach((off) => off());
  }, [realtime, join, update, deliver]);

  /** A view's feed of batches: those caught up with first, then each as it comes. */
  const subscribe = useCallback((feed) => {
    feeds.current.add(feed);
    pending.current.splice(0).forEach(feed);
    return () => feeds.current.delete(feed);
  }, []);

  return useMemo(() => ({ state, request, stop, dismiss, subscribe }), [state, request, stop, dismiss, subscribe]);
}

export const CobrowseContext = createContext({ state: null });

export function useCobrowseContext() {
  return useContext(CobrowseContext);
}
