// The conversation list: loading by filter, paging, and keeping it current from realtime events.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "./api.js";
import { byActivityDesc } from "./util.js";

const PAGE = 50;
export const DEFAULT_FILTER = { view: "all", channel: "", tenantId: "", status: "" };

/** The REST query for a filter: All / Mine / Unassigned → assignee=me|none, plus channel and tenant_id. */
export function filterQuery(filter) {
  return {
    limit: PAGE,
    assignee: filter.view === "mine" ? "me" : filter.view === "unassigned" ? "none" : undefined,
    channel: filter.channel || undefined,
    tenant_id: filter.tenantId || undefined,
    status: filter.status || undefined,
  };
}

/** Whether a conversation pushed by the server belongs in the list as filtered now. */
export function matchesFilter(filter, conversation, userId) {
  if (filter.channel && conversation.channel !== filter.channel) return false;
  if (filter.tenantId && conversation.tenant_id !== filter.tenantId) return false;
  if (filter.status && conversation.status !== filter.status) return false;
  if (filter.view === "mine" && conversation.assignee_id !== userId) return false;
  if (filter.view === "unassigned" && conversation.assignee_id != null) return false;
  return true;
}

function mergeConversations(items, incoming) {
  const byId = new Map(items.map((c) => [c.id, c]));
  for (const c of incoming) byId.set(c.id, { ...byId.get(c.id), ...c });
  return [...byId.values()].sort(byActivityDesc);
}

export function useConversations({ filter, userId, t }) {
  const [list, setList] = useState({ items: [], loading: true, error: null, nextCursor: null, loadingMore: false });
  const [reloads, setReloads] = useState(0);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const key = JSON.stringify(filter);
  const loadedKey = useRef(null);

  useEffect(() => {
    const ctrl = new AbortController();
    // A new filter starts from an empty list; a refresh (e.g. after a reconnect) keeps showing the old one.
    const refresh = loadedKey.current === key;
    loadedKey.current = key;
    setList((l) => ({ ...l, items: refresh ? l.items : [], nextCursor: refresh ? l.nextCursor : null, loading: true, error: null }));
    api.listConversations(filterQuery(filter), ctrl.signal).then(
      (res) => setList({ items: mergeConversations([], res?.items ?? []), loading: false, error: null, nextCursor: res?.next_cursor ?? null, loadingMore: false }),
      (err) => {
        if (err?.name !== "AbortError") setList((l) => ({ ...l, loading: false, error: describeError(err, t) }));
      },
    );
    return () => ctrl.abort();
    // The filter is compared by value (key), not by object identity.
  }, [key, reloads]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);

  const listRef = useRef(list);
  listRef.current = list;

  const loadMore = useCallback(() => {
    const { nextCursor, loadingMore } = listRef.current;
    if (!nextCursor || loadingMore) return;
    const requested = JSON.stringify(filterRef.current);
    setList((l) => ({ ...l, loadingMore: true }));
    api.listConversations({ ...filterQuery(filterRef.current), cursor: nextCursor }).then(
      (res) => {
        if (JSON.stringify(filterRef.current) !== requested) return; // the filter changed meanwhile
        setList((l) => ({ ...l, loadingMore: false, items: mergeConversations(l.items, res?.items ?? []), nextCursor: res?.next_cursor ?? null }));
      },
      (err) => setList((l) => ({ ...l, loadingMore: false, error: describeError(err, t) })),
    );
  }, [t]);

  /** conversation.created / conversation.updated: insert, update, or drop it if it no longer matches. */
  const upsert = useCallback(
    (conversation) => {
      if (!conversation || conversation.id == null) return;
      setList((l) => {
        const present = l.items.some((c) => c.id === conversation.id);
        if (matchesFilter(filterRef.current, conversation, userId)) return { ...l, items: mergeConversations(l.items, [conversation]) };
        return present ? { ...l, items: l.items.filter((c) => c.id !== conversation.id) } : l;
      });
    },
    [userId],
  );

  /** A change to a conversation already listed (e.g. a new message moves it up); others are left alone. */
  const touch = useCallback((id, patch) => {
    setList((l) => (l.items.some((c) => c.id === id) ? { ...l, items: mergeConversations(l.items, [{ id, ...patch }]) } : l));
  }, []);

  return { list, reload, loadMore, upsert, touch };
}
