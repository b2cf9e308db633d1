// Per-tenant lists the inbox needs while working a conversation: canned replies, wrap-up codes and
// transfer targets. Each is fetched once and shared by the signed-in shell, then asked again when it
// is about to be used (the /canned picker, the wrap-up dialog) and is older than STALE_MS, or when the
// agent comes back to the tab or the connection comes back — never on a timer. A failed refetch keeps
// the copy already shown; a failed first fetch is not kept (the next use asks again) and the feature
// says it could not load.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { api } from "./api.js";

/** How old a list may be when it is about to be used; an admin's change shows up after this at most. */
export const STALE_MS = 10000;

const LOADERS = {
  /** {items: [{id, shortcut, title, body, updated_at}]}, by shortcut. */
  canned: async (tenantId) => {
    const res = await api.cannedReplies(tenantId);
    return { items: (res?.items ?? []).filter((r) => r && r.shortcut && typeof r.body === "string") };
  },
  /** {items: [{code, label}], required}: required means work cannot be completed without a code. */
  wrapup: async (tenantId) => {
    const res = await api.wrapupCodes(tenantId);
    return { items: (res?.items ?? []).filter((c) => c && c.code), required: Boolean(res?.required) };
  },
  /** {queues: [{id, name}], agents: [{id, name, presence}]}. */
  transfer: async (tenantId) => {
    const res = await api.transferTargets(tenantId);
    return { queues: res?.queues ?? [], agents: res?.agents ?? [] };
  },
};

export function createTenantData() {
  const entries = new Map(); // "kind:tenant" → {kind, tenantId, data, fetchedAt, pending}
  const listeners = new Map(); // "kind:tenant" → Set of functions called with the entry when it changes

  function changed(key) {
    for (const fn of listeners.get(key) ?? []) fn(entries.get(key) ?? null);
  }

  function load(kind, tenantId) {
    const key = `${kind}:${tenantId}`;
    const entry = entries.get(key);
    if (entry?.pending) return entry.pending;
    const pending = LOADERS[kind](tenantId).then(
      (data) => {
        entries.set(key, { kind, tenantId, data, fetchedAt: Date.now(), pending: null });
        changed(key);
        return data;
      },
      (err) => {
        const before = entries.get(key);
        if (before?.data) entries.set(key, { ...before, pending: null });
        else entries.delete(key);
        changed(key);
        throw err;
      },
    );
    entries.set(key, { kind, tenantId, data: null, fetchedAt: 0, ...entry, pending });
    return pending;
  }

  function isStale(entry, maxAge) {
    return !entry?.data || Date.now() - entry.fetchedAt > maxAge;
  }

  return {
    /** The copy in hand ({data, fetchedAt}) or null. */
    peek(kind, tenantId) {
      return entries.get(`${kind}:${tenantId}`) ?? null;
    },
    /** A promise of the list: the copy in hand unless older than maxAge ms, else asked again. */
    get(kind, tenantId, maxAge = Infinity) {
      const entry = entries.get(`${kind}:${tenantId}`);
      return isStale(entry, maxAge) ? load(kind, tenantId) : Promise.resolve(entry.data);
    },
    /** Asks again if the copy is older than maxAge; whoever shows the list hears of the answer. */
    revalidate(kind, tenantId, maxAge = STALE_MS) {
      if (isStale(entries.get(`${kind}:${tenantId}`), maxAge)) load(kind, tenantId).catch(() => {});
    },
    /** The same for every list shown now (the others are asked again when next used). */
    revalidateShown(maxAge = STALE_MS) {
      for (const [key, fns] of listeners) {
        const entry = entries.get(key);
        if (fns.size && entry) this.revalidate(entry.kind, entry.tenantId, maxAge);
      }
    },
    subscribe(kind, tenantId, fn) {
      const key = `${kind}:${tenantId}`;
      if (!listeners.has(key)) listeners.set(key, new Set());
      listeners.get(key).add(fn);
      return () => listeners.get(key)?.delete(fn);
    },
  };
}

export const TenantDataContext = createContext(null);

/**
 * {loading, data, error, revalidate} for one list of one tenant. On mount the copy in hand is shown
 * at once and asked again when older than maxAge ms (0: always, e.g. agents' presence); revalidate()
 * asks again if it is older than STALE_MS (call it when the list is about to be used).
 */
export function useTenantData(kind, tenantId, { maxAge = STALE_MS } = {}) {
  const store = useContext(TenantDataContext);
  const [state, setState] = useState(() => {
    const data = tenantId ? store?.peek(kind, tenantId)?.data ?? null : null;
    return { loading: Boolean(tenantId) && !data, data, error: null };
  });
  useEffect(() => {
    if (!tenantId || !store) {
      setState({ loading: false, data: null, error: null });
      return undefined;
    }
    let live = true;
    const cached = store.peek(kind, tenantId)?.data ?? null;
    setState({ loading: !cached, data: cached, error: null });
    const off = store.subscribe(kind, tenantId, (entry) => {
      if (live && entry?.data) setState({ loading: false, data: entry.data, error: null });
    });
    store.get(kind, tenantId, maxAge).then(
      (data) => live && setState({ loading: false, data, error: null }),
      // A copy already shown stays; with none, the feature says it could not load.
      (error) => live && !store.peek(kind, tenantId)?.data && setState({ loading: false, data: null, error }),
    );
    return () => {
      live = false;
      off();
    };
  }, [store, kind, tenantId, maxAge]);
  const revalidate = useCallback(() => {
    if (tenantId && store) store.revalidate(kind, tenantId);
  }, [store, kind, tenantId]);
  return { ...state, revalidate };
}
