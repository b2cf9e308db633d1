import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { useT } from "../i18n.js";
import { createAgentConnection } from "../realtime.js";
import { DEFAULT_FILTER, useConversations } from "../conversations.js";
import { useThreads } from "../threads.js";
import { TopBar } from "./TopBar.jsx";
import { ConversationList } from "./ConversationList.jsx";
import { ConversationPane } from "./ConversationPane.jsx";
import { Notices } from "./Notices.jsx";

const NOTICE_MS = 8000;

/** The signed-in inbox: top bar, conversation list, and the open conversation, kept live over socket.io. */
export function Shell({ session, lang, onLangChange, onLogout }) {
  const t = useT();
  const { user, memberships = [] } = session;

  const [filter, setFilter] = useState(DEFAULT_FILTER);
  const { list, reload, loadMore, upsert } = useConversations({ filter, userId: user.id, t });
  const { threads, load, loadEarlier, receive, send, resend } = useThreads({ user, t });

  const [selected, setSelected] = useState(null); // the open conversation (kept even if a filter hides it)
  const selectedId = selected?.id ?? null;
  const selectedIdRef = useRef(null);
  selectedIdRef.current = selectedId;
  const [unread, setUnread] = useState(() => new Set());
  const [drafts, setDrafts] = useState({}); // conversation id → {text, kind}: switching away keeps what was typed
  const [presence, setPresence] = useState("offline");
  const [liveError, setLiveError] = useState(null);
  const [notices, setNotices] = useState([]);

  const realtime = useMemo(() => createAgentConnection(), []);
  const [realtimeState, setRealtimeState] = useState(realtime.state);

  const notify = useCallback((text, tone = "info") => {
    const id = Math.random().toString(36).slice(2);
    setNotices((n) => [...n, { id, text, tone }]);
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), NOTICE_MS);
  }, []);

  const markUnread = useCallback((id, on) => {
    setUnread((prev) => {
      if (prev.has(id) === on) return prev;
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);

  // Event handlers read the latest callbacks through a ref, so the socket is set up once per shell.
  const live = useRef(null);
  live.current = { upsert, receive, reload, load, markUnread };

  // The socket lives as long as the signed-in shell.
  useEffect(() => {
    function onConversationEvent(c) {
      if (!c || c.id == null) return;
      live.current.upsert(c);
      if (c.id === selectedIdRef.current) setSelected((prev) => (prev && prev.id === c.id ? { ...prev, ...c } : prev));
      else live.current.markUnread(c.id, true);
    }
    const offs = [
      realtime.onState(setRealtimeState),
      realtime.on("conversation.created", onConversationEvent),
      realtime.on("conversation.updated", onConversationEvent),
      realtime.on("message.created", (payload) => {
        const id = payload?.conversation_id;
        if (id == null || !payload.message) return;
        if (id === selectedIdRef.current) live.current.receive(id, payload.message);
        else live.current.markUnread(id, true);
      }),
      realtime.onReconnect(() => {
        // Events sent while we were away are lost: catch up from the REST API.
        live.current.reload();
        if (selectedIdRef.current) live.current.load(selectedIdRef.current);
      }),
    ];
    realtime.connect();
    return () => {
      offs.forEach((off) => off());
      realtime.close();
    };
  }, [realtime]);

  // Opening a conversation: load its thread and join its room; switching away leaves the room.
  useEffect(() => {
    if (!selectedId) return undefined;
    let current = true;
    setLiveError(null);
    live.current.load(selectedId);
    realtime.joinConversation(selectedId).then((ack) => {
      if (current && ack && ack.ok === false) setLiveError(ack.code || "error");
    });
    return () => {
      current = false;
      realtime.leaveConversation(selectedId);
    };
  }, [selectedId, realtime]);

  const select = useCallback(
    (id) => {
      const conversation = list.items.find((c) => c.id === id);
      if (!conversation) return;
      setSelected(conversation);
      markUnread(id, false);
      // The list may disappear at narrow widths: put focus where the content is.
      requestAnimationFrame(() => document.getElementById("conv-title")?.focus());
    },
    [list.items, markUnread],
  );

  const back = useCallback(() => {
    setSelected(null);
    requestAnimationFrame(() => document.getElementById("list-heading")?.focus());
  }, []);

  function changePresence(status) {
    setPresence(status);
    realtime.setPresence(status, (code) => notify((tr) => tr("notice.presenceFailed", { code }), "error"));
  }

  async function logout() {
    try {
      await onLogout();
    } catch (err) {
      notify(() => describeError(err, t), "error");
    }
  }

  const tenantNames = new Map(memberships.map((m) => [m.tenant_id, m.tenant_name]));

  return (
    <div class="app">
      <TopBar
        user={user}
        presence={presence}
        onPresenceChange={changePresence}
        realtimeState={realtimeState}
        lang={lang}
        onLangChange={onLangChange}
        onLogout={logout}
      />
      <div class={`shell${selected ? " has-selection" : ""}`}>
        <ConversationList
          filter={filter}
          onFilterChange={setFilter}
          memberships={memberships}
          list={list}
          selectedId={selectedId}
          unread={unread}
          onSelect={select}
          onLoadMore={loadMore}
          onRetry={reload}
          user={user}
        />
        <ConversationPane
          conversation={selected}
          thread={selectedId ? threads.get(selectedId) : null}
          liveError={liveError}
          user={user}
          tenantName={memberships.length > 1 && selected ? tenantNames.get(selected.tenant_id) : null}
          draft={selectedId ? drafts[selectedId] : null}
          onDraftChange={(draft) => setDrafts((d) => ({ ...d, [selectedId]: draft }))}
          onSend={(message) => send(selectedId, message)}
          onResend={(clientId) => resend(selectedId, clientId)}
          onLoadEarlier={() => loadEarlier(selectedId, threads.get(selectedId)?.nextCursor)}
          onBack={back}
        />
      </div>
      <Notices notices={notices} onDismiss={(id) => setNotices((n) => n.filter((x) => x.id !== id))} />
    </div>
  );
}
