// Per-tenant lists the inbox needs while working a conversation: canned replies (spec I), wrap-up
// codes (spec J) and transfer targets (spec K). Each is fetched once per signed-in shell and
// shared; a gateway without the endpoint answers {supported: false} and the UI hides the feature.
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { api, isMissingEndpoint } from "./api.js";

function unsupported(extra = {}) {
  return { supported: false, ...extra };
}

const LOADERS = {
  canned: async (tenantId) => {
    try {
      const res = await api.cannedReplies(tenantId);
      const items = (res?.items ?? []).filter((r) => r && typeof r.body === "string");
      return { supported: true, items };
    } catch (err) {
      if (isMissingEndpoint(err) || err.status === 403) return unsupported({ items: [] });
      throw err;
    }
  },
  wrapup: async (tenantId) => {
    try {
      const res = await api.wrapupCodes(tenantId);
      return { supported: true, items: (res?.items ?? []).filter((c) => c && c.code), required: Boolean(res?.required) };
    } catch (err) {
      if (isMissingEndpoint(err) || err.status === 403) return unsupported({ items: [], required: false });
      throw err;
    }
  },
  transfer: async (tenantId) => {
    try {
      const res = await api.transferTargets(tenantId);
      return { supported: true, queues: res?.queues ?? [], agents: res?.agents ?? [], agentsKnown: Array.isArray(res?.agents) };
    } catch (err) {
      if (!isMissingEndpoint(err) && err.status !== 403) throw err;
    }
    // No transfer-targets endpoint: queues from the admin list if this account may read it; no agent list.
    try {
      const res = await api.tenantQueues(tenantId);
      return { supported: true, queues: (res?.items ?? []).map((q) => ({ id: q.id, name: q.name })), agents: [], agentsKnown: false };
    } catch {
      return unsupported({ queues: [], agents: [], agentsKnown: false });
    }
  },
};

export function createTenantData() {
  const cache = new Map();
  return {
    /** A promise of the list; failures other than "not supported" are not cached (retried next time). */
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
