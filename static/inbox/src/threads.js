// Message threads, one per opened conversation, kept for the session so that switching back is
// instant and a reply still being sent (or failed) isn't lost when the agent looks elsewhere.
import { useCallback, useRef, useState } from "preact/hooks";
import { api, describeError } from "./api.js";
import { byCreatedAsc, uuid } from "./util.js";

export const EMPTY_THREAD = { items: [], loading: false, loaded: false, error: null, nextCursor: null, loadingEarlier: false, deliveries: {} };
const PAGE = 50;

const DELIVERY_ORDER = { queued: 0, retrying: 1, sent: 2, failed: 2 };

/** The later of two reports of how a message fared on its way out (meta.delivery: {status, at, error?}). */
export function laterDelivery(a, b) {
  if (!a) return b ?? null;
  if (!b) return a;
  if (a.at && b.at && a.at !== b.at) return a.at > b.at ? a : b;
  return (DELIVERY_ORDER[b.status] ?? 0) >= (DELIVERY_ORDER[a.status] ?? 0) ? b : a;
}

/**
 * Merges server messages into a thread: one entry per id; a server copy of a message sent from
 * here (same client_id) replaces its local placeholder; oldest first. `deliveries` (message id →
 * meta.delivery heard live) wins over an older copy's: the copy a send answered can arrive after
 * the event that says the mail failed.
 */
export function mergeMessages(items, incoming, deliveries = {}) {
  const byId = new Map(items.map((m) => [m.id, m]));
  for (const msg of incoming) {
    if (!msg || msg.id == null) continue;
    if (msg.client_id) byId.delete(`local:${msg.client_id}`);
    const before = byId.get(msg.id);
    const merged = { ...before, ...msg };
    const delivery = laterDelivery(laterDelivery(before?.meta?.delivery, msg.meta?.delivery), deliveries[msg.id]);
    if (delivery) merged.meta = { ...merged.meta, delivery };
    byId.set(msg.id, merged);
  }
  return [...byId.values()].sort(byCreatedAsc);
}

export function useThreads({ user, t }) {
  const [threads, setThreads] = useState(() => new Map());
  const inflight = useRef(new Map()); // conversation id → AbortController of its first-page load

  const update = useCallback((conversationId, fn) => {
    setThreads((prev) => {
      const next = new Map(prev);
      next.set(conversationId, fn(prev.get(conversationId) ?? EMPTY_THREAD));
      return next;
    });
  }, []);

  /** Loads (or refreshes) the newest page, merging into what is already shown. */
  const load = useCallback(
    (conversationId) => {
      inflight.current.get(conversationId)?.abort();
      const ctrl = new AbortController();
      inflight.current.set(conversationId, ctrl);
      update(conversationId, (th) => ({ ...th, loading: !th.loaded, error: null }));
      api.listMessages(conversationId, { limit: PAGE }, ctrl.signal).then(
        (res) =>
          update(conversationId, (th) => ({
            ...th,
            loading: false,
            loaded: true,
            items: mergeMessages(th.items, res?.items ?? [], th.deliveries),
            // Keep the cursor of older pages already walked; else start from this page's.
            nextCursor: th.loaded ? th.nextCursor : (res?.next_cursor ?? null),
          })),
        (err) => {
          if (err?.name === "AbortError") return;
          update(conversationId, (th) => ({ ...th, loading: false, error: describeError(err, t) }));
        },
      );
    },
    [update, t],
  );

  const loadEarlier = useCallback(
    (conversationId, cursor) => {
      if (!cursor) return;
      update(conversationId, (th) => ({ ...th, loadingEarlier: true }));
      api.listMessages(conversationId, { limit: PAGE, cursor }).then(
        (res) =>
          update(conversationId, (th) => ({
            ...th,
            loadingEarlier: false,
            items: mergeMessages(th.items, res?.items ?? [], th.deliveries),
            nextCursor: res?.next_cursor ?? null,
          })),
        (err) => update(conversationId, (th) => ({ ...th, loadingEarlier: false, error: describeError(err, t) })),
      );
    },
    [update, t],
  );

  /** A message pushed by the server (message.created). */
  const receive = useCallback(
    (conversationId, message) => update(conversationId, (th) => ({ ...th, items: mergeMessages(th.items, [message], th.deliveries) })),
    [update],
  );

  /** How an agent's message fared on its way out (message.delivery_updated / message.delivery_failed). */
  const delivery = useCallback(
    (conversationId, messageId, report) =>
      update(conversationId, (th) => {
        const known = laterDelivery(th.deliveries?.[messageId], report);
        return {
          ...th,
          deliveries: { ...th.deliveries, [messageId]: known },
          items: th.items.map((m) => (m.id === messageId ? { ...m, meta: { ...m.meta, delivery: laterDelivery(m.meta?.delivery, known) } } : m)),
        };
      }),
    [update],
  );

  /**
   * Sends a reply or note, with `files` when given (one multipart upload: one message, one mail).
   * It shows at once as "sending"; the server's copy replaces it. client_id makes a resend after a
   * failure idempotent.
   */
  const send = useCallback(
    (conversationId, { body_text, kind, files = [] }, clientId = uuid()) => {
      const localId = `local:${clientId}`;
      const placeholder = {
        id: localId,
        client_id: clientId,
        kind,
        author_type: "agent",
        author_id: user.id,
        body_text,
        created_at: new Date().toISOString(),
        _pending: true,
        _files: files,
        _localAttachments: files.length ? files.map((f) => ({ id: null, filename: f.name, content_type: f.type, size: f.size })) : null,
      };
      update(conversationId, (th) => ({ ...th, items: [...th.items.filter((m) => m.id !== localId), placeholder] }));
      const request = files.length
        ? api.uploadAttachment(conversationId, { files, body_text, kind, client_id: clientId })
        : api.sendMessage(conversationId, { body_text, kind, client_id: clientId });
      request.then(
        (res) => {
          const msg = res?.message ?? res;
          if (msg && msg.id != null) {
            receive(conversationId, { ...msg, client_id: msg.client_id ?? clientId });
          } else {
            // Accepted without a body: keep the text, drop the spinner; message.created brings the real one.
            update(conversationId, (th) => ({ ...th, items: th.items.map((m) => (m.id === localId ? { ...m, _pending: false } : m)) }));
          }
        },
        (err) =>
          update(conversationId, (th) => ({
            ...th,
            items: th.items.map((m) => (m.id === localId ? { ...m, _pending: false, _failed: true, _error: describeError(err, t) } : m)),
          })),
      );
    },
    [update, receive, user.id, t],
  );

  const resend = useCallback(
    (conversationId, clientId) => {
      const msg = threads.get(conversationId)?.items.find((m) => m.id === `local:${clientId}`);
      if (msg) send(conversationId, { body_text: msg.body_text, kind: msg.kind, files: msg._files ?? [] }, clientId);
    },
    [threads, send],
  );

  /** Drops a message that failed to send (the agent gave up on it). */
  const discard = useCallback(
    (conversationId, clientId) => update(conversationId, (th) => ({ ...th, items: th.items.filter((m) => m.id !== `local:${clientId}`) })),
    [update],
  );

  return { threads, load, loadEarlier, receive, delivery, send, resend, discard };
}
