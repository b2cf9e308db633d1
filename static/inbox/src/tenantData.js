// Per-tenant lists the inbox needs while working a conversation: canned replies, wrap-up codes and
// transfer targets. Each is fetched once per signed-in shell and shared; a failed fetch is not kept
// (the next use asks again) and the feature says it could not load.
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { api } from "./api.js";

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
  const cache = new Map();
  return {
    /** A promise of the list; a failure is not cached (retried next time). */
    get(kind, tenantId) {
      const key = `${kind}:${tenantId}`;
      if (!cache.has(key)) {
        const promise = LOADERS[kind](tenantId).catch((err) => {
          cache.delete(key);
          throw err;
        });
        cache.set(key, promise);
      }
      return cache.get(key);
    },
    /** Forget a list, e.g. to see agents' presence as it is now in the transfer dialog. */
    refresh(kind, tenantId) {
      cache.delete(`${kind}:${tenantId}`);
    },
  };
}

export const TenantDataContext = createContext(null);

/** {loading, data, error} for one list of one tenant. */
export function useTenantData(kind, tenantId, { fresh = false } = {}) {
  const store = useContext(TenantDataContext);
  const [state, setState] = useState({ loading: Boolean(tenantId), data: null, error: null });
  useEffect(() => {
    if (!tenantId || !store) {
      setState({ loading: false, data: null, error: null });
      return undefined;
    }
    let live = true;
    if (fresh) store.refresh(kind, tenantId);
    setState((s) => ({ ...s, loading: true, error: null }));
    store.get(kind, tenantId).then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState({ loading: false, data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [store, kind, tenantId, fresh]);
  return state;
}
