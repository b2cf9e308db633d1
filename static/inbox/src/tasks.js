// Work routed to this agent: offers ringing now (task.offered, with their expiry) and the tasks the
// agent holds, by conversation. The routing engine decides; this only mirrors its events and sends
// the agent's answers (accept/reject/wrap-up/complete/transfer) over the /agent socket. Which task
// the agent holds on a conversation is also asked of the gateway (GET /conversations/{id}/tasks), so
// a reload or a fresh tab can still transfer and close it.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.js";

const STORE_KEY = "wecc.inbox.tasks";
// An offer whose expiry looks wrong (clocks far apart) rings for this long instead.
const FALLBACK_RING_MS = 30000;
const ENDED = new Set(["done", "cancelled", "abandoned", "timed_out"]);
// Answers meaning "this task is not (or no longer) yours to end".
const STALE = new Set(["not_assigned", "unknown_task", "finished", "not_yours"]);
// The states of a task the agent holds (offered to them, taken, or being wrapped up).
const HELD_STATES = new Set(["offered", "assigned", "wrapup"]);

/** The task `userId` holds among a conversation's tasks (newest first), or null. */
export function heldTask(items, userId) {
  return (items ?? []).find((task) => task && task.assigned_agent_id === userId && HELD_STATES.has(task.state)) ?? null;
}

function loadHeld(userId) {
  try {
    const raw = JSON.parse(sessionStorage.getItem(`${STORE_KEY}.${userId}`) || "{}");
    return raw && typeof raw === "object" ? raw : {};
  } catch {
    return {};
  }
}

function saveHeld(userId, held) {
  try {
    sessionStorage.setItem(`${STORE_KEY}.${userId}`, JSON.stringify(held));
  } catch {
    // storage blocked: the tasks are known until the page reloads
  }
}

/** The offer's deadline in this browser's clock, from the gateway's expires_ms. */
export function offerDeadline(expiresMs, now = Date.now()) {
  const expires = Number(expiresMs);
  if (!Number.isFinite(expires) || expires <= 0) return now + FALLBACK_RING_MS;
  // Far in the past or future: the two clocks disagree; trust the usual ring time instead.
  if (expires < now - 2000 || expires > now + 10 * 60 * 1000) return now + FALLBACK_RING_MS;
  return expires;
}

export function useTasks({ realtime, userId }) {
  const [offers, setOffers] = useState([]);
  const [held, setHeld] = useState(() => loadHeld(userId)); // conversation id → {task_id, state}
  const heldRef = useRef(held);
  heldRef.current = held;

  useEffect(() => saveHeld(userId, held), [userId, held]);

  const dropOffer = useCallback((taskId) => setOffers((list) => list.filter((o) => o.task_id !== taskId)), []);
  const patchOffer = useCallback((taskId, patch) => setOffers((list) => list.map((o) => (o.task_id === taskId ? { ...o, ...patch } : o))), []);

  // Bumped on every local change of a conversation's task, so a lookup answered meanwhile is not applied over it.
  const changes = useRef({});
  const changed = (conversationId) => {
    changes.current[conversationId] = (changes.current[conversationId] ?? 0) + 1;
  };

  const hold = useCallback((conversationId, taskId, state) => {
    changed(conversationId);
    setHeld((h) => (h[conversationId]?.task_id === taskId && h[conversationId]?.state === state ? h : { ...h, [conversationId]: { task_id: taskId, state } }));
  }, []);
  const release = useCallback((conversationId, taskId) => {
    changed(conversationId);
    setHeld((h) => {
      if (!h[conversationId] || (taskId && h[conversationId].task_id !== taskId)) return h;
      const next = { ...h };
      delete next[conversationId];
      return next;
    });
  }, []);

  /**
   * Asks the gateway which task this agent holds on the conversation (a reload, a fresh tab, or work
   * ended elsewhere meanwhile) and mirrors the answer, unless the task changed here in the meantime.
   */
  const lookup = useCallback(
    (conversationId) => {
      const before = changes.current[conversationId] ?? 0;
      return api.conversationTasks(conversationId).then(
        (res) => {
          if ((changes.current[conversationId] ?? 0) !== before) return;
          const task = heldTask(res?.items, userId);
          const known = heldRef.current[conversationId];
          if (task) {
            if (known?.task_id !== task.id || known?.state !== task.state) hold(conversationId, task.id, task.state);
          } else if (known) {
            release(conversationId);
          }
        },
        (err) => {
          // Gone, or no longer readable by this agent: nothing of it is held.
          if ((err?.status === 404 || err?.status === 403) && (changes.current[conversationId] ?? 0) === before) release(conversationId);
        },
      );
    },
    [userId, hold, release],
  );

  // Tasks remembered from before a reload may have ended meanwhile (auto wrap-up, a supervisor).
  useEffect(() => {
    for (const conversationId of Object.keys(heldRef.current)) lookup(conversationId);
  }, []);

  /** task.offered: ring, and look up who it is for the card. */
  const offered = useCallback(
    (data) => {
      if (!data?.task_id || !data.conversation_id) return;
      const now = Date.now();
      const deadline = offerDeadline(data.expires_ms, now);
      const offer = {
        task_id: data.task_id,
        conversation_id: data.conversation_id,
        channel: data.channel || "chat",
        queue_id: data.queue_id ?? null,
        receivedAt: now,
        deadline,
        conversation: null,
        preview: "",
        busy: false,
      };
      setOffers((list) => [...list.filter((o) => o.task_id !== offer.task_id), offer]);
      api.getConversation(data.conversation_id).then(
        (conversation) => patchOffer(offer.task_id, { conversation }),
        () => {},
      );
      api.listMessages(data.conversation_id, { limit: 5, kind: "message" }).then(
        (res) => {
          const items = res?.items ?? [];
          const first = items.find((m) => m.author_type === "contact") ?? items[0];
          if (first) patchOffer(offer.task_id, { preview: first.body_text || "" });
        },
        () => {},
      );
    },
    [patchOffer],
  );

  /** Every other task.* event: keep offers and held tasks true to what routing did. */
  const taskEvent = useCallback(
    (type, data) => {
      if (!data?.task_id) return;
      const kind = type.slice("task.".length);
      const mine = data.agent_id === userId;
      if (["offer_timed_out", "rejected", "cancelled", "abandoned", "timed_out", "done", "accepted", "requeued"].includes(kind)) {
        dropOffer(data.task_id);
      }
      if (!data.conversation_id) return;
      if (kind === "accepted" && mine) hold(data.conversation_id, data.task_id, "assigned");
      else if (kind === "wrapup" && mine) hold(data.conversation_id, data.task_id, "wrapup");
      else if (ENDED.has(kind) || ["requeued", "accepted", "offer_timed_out", "rejected"].includes(kind)) {
        // Ended, handed on (a transfer requeues it), accepted by someone else, or an offer (known from
        // a lookup) that was let ring out or turned down.
        if (!(kind === "accepted" && mine)) release(data.conversation_id, data.task_id);
      }
    },
    [userId, dropOffer, hold, release],
  );

  // An offer the gateway never told us the end of stops ringing a little after its deadline.
  useEffect(() => {
    if (offers.length === 0) return undefined;
    const timer = setInterval(() => {
      const now = Date.now();
      setOffers((list) => {
        const kept = list.filter((o) => o.deadline + 3000 > now || o.busy);
        return kept.length === list.length ? list : kept;
      });
    }, 1000);
    return () => clearInterval(timer);
  }, [offers.length > 0]);

  const accept = useCallback(
    async (offer) => {
      patchOffer(offer.task_id, { busy: true });
      const ack = await realtime.acceptTask(offer.task_id);
      if (ack.ok) {
        hold(offer.conversation_id, offer.task_id, "assigned");
        dropOffer(offer.task_id);
      } else {
        patchOffer(offer.task_id, { busy: false });
        // Gone meanwhile (taken, timed out): it won't come back under this id.
        if (ack.code !== "timeout" && ack.code !== "offline") dropOffer(offer.task_id);
      }
      return ack;
    },
    [realtime, hold, dropOffer, patchOffer],
  );

  const reject = useCallback(
    async (offer) => {
      patchOffer(offer.task_id, { busy: true });
      const ack = await realtime.rejectTask(offer.task_id);
      if (ack.ok || (ack.code !== "timeout" && ack.code !== "offline")) dropOffer(offer.task_id);
      else patchOffer(offer.task_id, { busy: false });
      return ack;
    },
    [realtime, dropOffer, patchOffer],
  );

  /**
   * Ends the agent's task on a conversation: takes it if it was only offered, wraps it up (when still
   * assigned), then completes it. extra is {wrapup_code?, note?}, sent with the first of those steps
   * that ends the work; the gateway refuses to complete without a code where the tenant requires one
   * ("wrapup_code_required") and refuses a code it does not know ("unknown_wrapup_code").
   */
  const finish = useCallback(
    async (conversationId, extra = {}) => {
      const task = heldRef.current[conversationId];
      if (!task) return { ok: true, noTask: true };
      let state = task.state;
      if (state === "offered") {
        const ack = await realtime.acceptTask(task.task_id);
        if (!ack.ok && !STALE.has(ack.code) && ack.code !== "not_offered") return ack;
        if (ack.ok) state = "assigned";
      }
      let summed = false; // the code and note went with the wrap-up already
      if (state !== "wrapup") {
        const ack = await realtime.wrapupTask(task.task_id, extra);
        if (!ack.ok && !STALE.has(ack.code)) return ack;
        if (ack.ok) {
          summed = true;
          hold(conversationId, task.task_id, "wrapup");
        }
      }
      const done = await realtime.completeTask(task.task_id, summed ? {} : extra);
      if (done.ok || STALE.has(done.code)) {
        // Stale: routing no longer has this task as ours (finished elsewhere, or after a restart).
        release(conversationId, task.task_id);
        return { ok: true, stale: !done.ok };
      }
      return done;
    },
    [realtime, hold, release],
  );

  const transfer = useCallback(
    async (conversationId, target, note) => {
      const task = heldRef.current[conversationId];
      if (!task) return { ok: false, code: "no_task" };
      const ack = await realtime.transferTask(task.task_id, target, note);
      if (ack.ok) release(conversationId, task.task_id);
      else if (ack.code === "not_yours") lookup(conversationId); // ended or taken meanwhile: see what is left
      return ack;
    },
    [realtime, release, lookup],
  );

  return { offers, held, offered, taskEvent, accept, reject, finish, transfer, release, lookup };
}
