import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, describeError } from "../api.js";
import { useT } from "../i18n.js";
import { createAgentConnection, createSupervisorConnection } from "../realtime.js";
import { CobrowseContext, useCobrowse } from "../cobrowse.js";
import { DEFAULT_FILTER, useConversations } from "../conversations.js";
import { useThreads } from "../threads.js";
import { useTasks } from "../tasks.js";
import { laterId, useActivity } from "../activity.js";
import { TenantDataContext, createTenantData } from "../tenantData.js";
import { loadMuted, saveMuted, startRinging, unlockAudioOnGesture } from "../sound.js";
import { byActivityDesc } from "../util.js";
import { CALL_EVENTS, CallContext, maySupervise, useCall } from "../calls.js";
import { SupervisionContext, useSupervision } from "../supervise.js";
import { getChannel } from "../channels/index.js";
import { PRESENCE_VALUES, TopBar } from "./TopBar.jsx";
import { ConversationList } from "./ConversationList.jsx";
import { ConversationPane } from "./ConversationPane.jsx";
import { CustomerPanel } from "./CustomerPanel.jsx";
import { Offers } from "./Offers.jsx";
import { Notices } from "./Notices.jsx";
import { CallBar } from "./CallBar.jsx";
import { SuperviseBar } from "./SuperviseBar.jsx";
import { ConsultBar } from "./Consult.jsx";
import { ReportsPage } from "./Reports.jsx";
import { AdminPage } from "./admin/AdminPage.jsx";

const NOTICE_MS = 8000;
const WIDE_PANEL = "(min-width: 1200px)";
const TASK_EVENTS = [
  "task.offer_timed_out",
  "task.rejected",
  "task.accepted",
  "task.wrapup",
  "task.done",
  "task.cancelled",
  "task.abandoned",
  "task.timed_out",
  "task.requeued",
];

function storedPresence(userId) {
  try {
    return sessionStorage.getItem(`wecc.inbox.presence.${userId}`);
  } catch {
    return null;
  }
}

function storePresence(userId, status) {
  try {
    sessionStorage.setItem(`wecc.inbox.presence.${userId}`, status);
  } catch {
    // blocked storage: the status is chosen again after a reload
  }
}

function usePageVisible() {
  const [visible, setVisible] = useState(() => document.visibilityState !== "hidden");
  useEffect(() => {
    const on = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", on);
    return () => document.removeEventListener("visibilitychange", on);
  }, []);
  return visible;
}

/** The signed-in inbox: top bar, offers, conversation list, the open conversation and its customer, kept live over socket.io. */
export function Shell({ session, lang, onLangChange, onLogout }) {
  const t = useT();
  const { user, memberships = [] } = session;

  const [filter, setFilter] = useState(DEFAULT_FILTER);
  const { list, reload, loadMore, upsert, touch } = useConversations({ filter, userId: user.id, t });
  const { threads, load, loadEarlier, receive, delivery, send, resend, discard } = useThreads({ user, t });

  const realtime = useMemo(() => createAgentConnection(), []);
  const tenantData = useMemo(() => createTenantData(), []);
  const [realtimeState, setRealtimeState] = useState(realtime.state);
  const tasks = useTasks({ realtime, userId: user.id });
  const cobrowse = useCobrowse({ realtime });
  const activity = useActivity({ userId: user.id });
  // The agent's call; hanging up themselves leads straight on to the call's wrap-up.
  const wrapUpRef = useRef(null);
  const calls = useCall({
    realtime,
    held: tasks.held,
    user,
    memberships,
    onEnded: (ended) => {
      if (ended.byAgent) wrapUpRef.current?.(ended.conversationId);
    },
    // Transferred or handed over: the work went on, no wrap-up here.
    onHandedOn: (handed) => handedOnRef.current?.(handed),
    // A colleague handed their caller over after consulting: now this agent's call.
    onTakenOver: (c) => takenOverRef.current?.(c),
    lookupTask: (conversationId) => tasks.lookup(conversationId),
  });
  const handedOnRef = useRef(null);
  const takenOverRef = useRef(null);
  const consultation = calls.consultation;
  const consultRinging = Boolean(consultation && ["ringing", "microphone", "connecting"].includes(consultation.phase));
  const consulting = Boolean(consultation && ["microphone", "connecting", "on"].includes(consultation.phase));
  const onCall = Boolean(calls.call && calls.call.phase !== "ended" && calls.call.phase !== "failed") || consulting;

  // Supervisors (of any tenant the session has) also hear /supervisor: every event of their tenants,
  // the supervision.* ones among them, and calls they do not follow from a conversation room.
  const supervises = user.is_operator || memberships.some((m) => m.role === "supervisor" || m.role === "tenant_admin");
  const administers = user.is_operator || memberships.some((m) => m.role === "tenant_admin");
  const supervisorEvents = useMemo(() => (supervises ? createSupervisorConnection() : null), [supervises]);
  const supervision = useSupervision({ realtime, supervisorEvents, userId: user.id, onCall });
  const supervisionValue = useMemo(
    () => ({ ...supervision, maySupervise: (tenantId) => maySupervise(user, memberships, tenantId) }),
    [supervision, user, memberships],
  );
  const noteCallEvent = calls.note;
  useEffect(() => {
    if (!supervisorEvents) return undefined;
    const offs = CALL_EVENTS.map((type) =>
      supervisorEvents.on(type, (data) => {
        if (data?.conversation_id) noteCallEvent(data.conversation_id, type, data, { server: true });
      }),
    );
    supervisorEvents.connect();
    return () => {
      offs.forEach((off) => off());
      supervisorEvents.close();
    };
  }, [supervisorEvents, noteCallEvent]);

  const [known, setKnown] = useState({}); // conversation id → the latest copy seen (list, events, fetches)
  const [selectedId, setSelectedId] = useState(null);
  // A conversation a supervisor opened from the wallboard to watch: followed live without showing
  // them as viewing it, until they choose to be seen.
  const [silentId, setSilentId] = useState(null);
  const selectedIdRef = useRef(null);
  selectedIdRef.current = selectedId;
  const selected = selectedId ? known[selectedId] ?? null : null;
  const [fresh, setFresh] = useState(() => new Set()); // changed while not open, no message count known
  const [unreadCounts, setUnreadCounts] = useState({}); // conversation id → messages arrived while not open
  const [drafts, setDrafts] = useState({}); // conversation id → {text, kind, files}: switching away keeps what was typed and attached
  const [presence, setPresence] = useState(() => storedPresence(user.id) || "offline");
  const [muted, setMuted] = useState(loadMuted);
  const [panelOpen, setPanelOpen] = useState(() => window.matchMedia?.(WIDE_PANEL).matches ?? true);
  const [liveError, setLiveError] = useState(null);
  const [handedOff, setHandedOff] = useState(() => new Set()); // transferred away: events may still name us until someone takes them
  const [notices, setNotices] = useState([]);
  const [closeRequest, setCloseRequest] = useState(null); // {id, at}: open the wrap-up of that conversation
  const [page, setPage] = useState("inbox"); // or "reports" (supervisors), "admin": the inbox stays mounted, hidden
  const visible = usePageVisible();

  const notify = useCallback((text, tone = "info") => {
    const id = Math.random().toString(36).slice(2);
    setNotices((n) => [...n, { id, text, tone }]);
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), NOTICE_MS);
  }, []);

  const remember = useCallback((conversations) => {
    setKnown((prev) => {
      let next = prev;
      for (const c of conversations) {
        if (!c || c.id == null) continue;
        if (next === prev) next = { ...prev };
        next[c.id] = { ...prev[c.id], ...c };
      }
      return next;
    });
  }, []);

  useEffect(() => remember(list.items), [list.items, remember]);

  const markFresh = useCallback((id, on) => {
    setFresh((prev) => {
      if (prev.has(id) === on) return prev;
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);

  const clearUnread = useCallback((id) => {
    setUnreadCounts((c) => {
      if (!c[id]) return c;
      const next = { ...c };
      delete next[id];
      return next;
    });
    markFresh(id, false);
  }, [markFresh]);

  // The conversations this agent is working on: tasks held, or assigned to them and not closed.
  const active = useMemo(() => {
    const ids = new Set(Object.keys(tasks.held));
    for (const c of Object.values(known)) if (c.assignee_id === user.id && c.status !== "closed" && !handedOff.has(c.id)) ids.add(c.id);
    return [...ids].map((id) => known[id]).filter(Boolean).sort(byActivityDesc);
  }, [known, tasks.held, user.id, handedOff]);
  const activeIds = useMemo(() => new Set(active.map((c) => c.id)), [active]);

  const fetchMine = useCallback(() => {
    api.listConversations({ assignee: "me", limit: 50 }).then((res) => remember(res?.items ?? []), () => {});
    for (const id of Object.keys(tasks.held)) api.getConversation(id).then((c) => remember([c]), () => {});
  }, [remember, tasks.held]);

  // Event handlers read the latest callbacks through a ref, so the socket is set up once per shell.
  const live = useRef(null);
  live.current = { upsert, touch, receive, delivery, reload, load, markFresh, remember, tasks, activity, fetchMine, visible, tenantData };

  // The socket lives as long as the signed-in shell.
  useEffect(() => {
    const L = () => live.current;
    function onConversationEvent(c) {
      if (!c || c.id == null) return;
      L().upsert(c);
      L().remember([c]);
      if (c.id !== selectedIdRef.current) L().markFresh(c.id, true);
    }
    const offs = [
      realtime.onState(setRealtimeState),
      realtime.on("conversation.created", onConversationEvent),
      realtime.on("conversation.updated", onConversationEvent),
      realtime.on("message.created", (payload) => {
        const id = payload?.conversation_id;
        const message = payload?.message;
        if (id == null || !message) return;
        L().receive(id, message);
        L().activity.onMessage(id, message);
        if (message.kind !== "note") {
          const stamp = { last_message_at: message.created_at, updated_at: message.created_at };
          L().touch(id, stamp);
          setKnown((k) => (k[id] ? { ...k, [id]: { ...k[id], ...stamp } } : k));
        }
        const fromMe = message.author_type === "agent" && message.author_id === user.id;
        if (!fromMe && message.kind !== "system" && (id !== selectedIdRef.current || !L().visible)) {
          setUnreadCounts((c) => ({ ...c, [id]: (c[id] ?? 0) + 1 }));
        }
        // The inbox got the customer's message: tell them it was delivered (read comes when shown).
        if (message.author_type === "contact" && id !== selectedIdRef.current && realtime.supports("receipt")) {
          realtime.receipt(id, message.id, "delivered");
        }
      }),
      // How an agent's reply fared on its way out (a mail sent, retried, bounced…), shown on the message.
      realtime.on("message.delivery_updated", (data) => {
        if (data?.conversation_id == null || data.message_id == null || !data.delivery) return;
        L().delivery(data.conversation_id, data.message_id, data.delivery);
      }),
      realtime.on("message.delivery_failed", (data) => {
        if (data?.conversation_id == null || data.message_id == null) return;
        const report = data.delivery ?? { status: "failed", at: new Date().toISOString() };
        L().delivery(data.conversation_id, data.message_id, { ...report, status: "failed", error: report.error ?? data.error ?? "" });
      }),
      // A supervisor set this agent's status, or routing did (missed offers): the select follows,
      // and so does what a reconnect announces.
      realtime.on("agent.presence_changed", (data) => {
        if (data?.agent_id !== user.id || !PRESENCE_VALUES.includes(data.status)) return;
        setPresence(data.status);
        storePresence(user.id, data.status);
      }),
      realtime.on("conversation.typing", (data) => L().activity.onTyping(data)),
      realtime.on("conversation.viewers", (data) => L().activity.onViewers(data)),
      realtime.on("conversation.receipt", (data) => L().activity.onReceipt(data)),
      realtime.on("task.offered", (data) => {
        if (data?.agent_id && data.agent_id !== user.id) return;
        L().tasks.offered(data);
      }),
      ...TASK_EVENTS.map((type) => realtime.on(type, (data) => L().tasks.taskEvent(type, data))),
      realtime.onReconnect(() => {
        // Events sent while we were away are lost: catch up from the REST API.
        L().reload();
        L().fetchMine();
        L().tenantData.revalidateShown();
        if (selectedIdRef.current) {
          L().load(selectedIdRef.current);
          L().tasks.lookup(selectedIdRef.current);
        }
      }),
    ];
    realtime.connect();
    const storedStatus = storedPresence(user.id);
    if (storedStatus) realtime.setPresence(storedStatus);
    return () => {
      offs.forEach((off) => off());
      realtime.close();
    };
  }, [realtime, user.id]);

  // Back at the inbox (tab shown again, window focused): canned replies and wrap-up codes in use may
  // have been changed by an admin meanwhile; asked again if older than a few seconds.
  useEffect(() => {
    if (!visible) return undefined;
    tenantData.revalidateShown();
    const onFocus = () => tenantData.revalidateShown();
    window.addEventListener("focus", onFocus);
    return () => window.removeEventListener("focus", onFocus);
  }, [visible, tenantData]);

  // What this agent holds already (after a reload: tasks remembered by this tab, assigned conversations).
  useEffect(() => {
    fetchMine();
  }, []);

  // Rooms: the open conversation, viewed (colleagues see the agent has it open), and every other chat
  // the agent works on, only followed live (so their unread counts and typing stay live) without
  // showing the agent as viewing them. Switching away from a held chat re-joins it unviewed; one no
  // longer held is left.
  // A call the user supervises is followed too, wherever they are in the inbox: its end reaches them.
  const watchedId = supervision.active ? supervision.watch.conversationId : null;
  // So is the call a colleague consults this agent about (its consultation's end, the hand-over).
  const consultId = consultation && consultation.phase !== "ended" && consultation.phase !== "failed" ? consultation.conversationId : null;
  const roomsKey = [...new Set([...activeIds, ...(selectedId ? [selectedId] : []), ...(watchedId ? [watchedId] : []), ...(consultId ? [consultId] : [])])]
    .sort()
    .map((id) => `${id}${id === selectedId && id !== silentId ? "=view" : ""}`)
    .join(",");
  useEffect(() => {
    const wanted = new Map();
    for (const entry of roomsKey ? roomsKey.split(",") : []) {
      const view = entry.endsWith("=view");
      wanted.set(view ? entry.slice(0, -"=view".length) : entry, view);
    }
    const acks = realtime.syncRooms(wanted);
    let current = true;
    for (const [id, pending] of acks) {
      pending.then((ack) => {
        // The answer says who else has it open.
        if (ack?.ok && Array.isArray(ack.viewers)) live.current.activity.onViewers({ conversation_id: id, viewers: ack.viewers });
        if (current && id === selectedIdRef.current && ack && ack.ok === false) setLiveError(ack.code || "error");
      });
    }
    return () => {
      current = false;
    };
  }, [roomsKey, realtime]);

  // Opening a conversation: load its thread, and ask which task the agent holds on it (after a reload
  // or in a fresh tab this tab may not know it yet; Transfer and Close need it).
  useEffect(() => {
    if (!selectedId) return;
    setLiveError(null);
    live.current.load(selectedId);
    live.current.tasks.lookup(selectedId);
  }, [selectedId]);

  // Read receipts (spec D): the newest customer message shown in the open conversation of a visible page.
  const sentRead = useRef({});
  const selectedThread = selectedId ? threads.get(selectedId) : null;
  const lastContactId = useMemo(() => {
    const items = selectedThread?.items ?? [];
    for (let i = items.length - 1; i >= 0; i -= 1) if (items[i].author_type === "contact" && !String(items[i].id).startsWith("local:")) return items[i].id;
    return null;
  }, [selectedThread?.items]);
  useEffect(() => {
    if (!selectedId || !lastContactId || !visible || realtimeState !== "connected" || !realtime.supports("receipt")) return;
    if (sentRead.current[selectedId] && sentRead.current[selectedId] >= lastContactId) return;
    sentRead.current[selectedId] = lastContactId;
    realtime.receipt(selectedId, lastContactId, "read");
  }, [selectedId, lastContactId, visible, realtimeState, realtime]);

  // Seeing the conversation clears its unread count (also when the page becomes visible again).
  useEffect(() => {
    if (selectedId && visible) clearUnread(selectedId);
  }, [selectedId, visible, unreadCounts[selectedId ?? ""], clearUnread]);

  // Offers ring until answered, unless muted; the tab's title shows how many wait.
  // The call a colleague hands over after consulting is offered to this agent and taken for them at once: it does not ring.
  const offers = consultId ? tasks.offers.filter((o) => o.conversation_id !== consultId) : tasks.offers;
  const ringing = offers.length > 0 || consultation?.phase === "ringing";
  const ringKind = consultation?.phase === "ringing" || offers.some((o) => getChannel(o.channel).call) ? "call" : "offer";
  useEffect(() => unlockAudioOnGesture(), []);
  useEffect(() => {
    if (!ringing || muted) return undefined;
    return startRinging(ringKind);
  }, [ringing, muted, ringKind]);
  useEffect(() => {
    const base = `${t("app.inbox")} · ${t("app.name")}`;
    const count = offers.length + (consultation?.phase === "ringing" ? 1 : 0);
    document.title = ringing ? `(${count}) ${t("offer.tabTitle")} · ${base}` : base;
  }, [ringing, offers.length, consultation?.phase, t]);

  const select = useCallback(
    (id, hint, { silent = false } = {}) => {
      if (!id) return;
      if (hint) remember([hint]);
      setSelectedId(id);
      setSilentId(silent ? id : null);
      clearUnread(id);
      // Not in the list (another filter, an old conversation from the history): fetch it.
      api.getConversation(id).then((c) => remember([c]), (err) => notify(() => describeError(err, t), "error"));
      // The list may disappear at narrow widths: put focus where the content is.
      requestAnimationFrame(() => document.getElementById("conv-title")?.focus());
    },
    [remember, clearUnread, notify, t],
  );

  const back = useCallback(() => {
    setSelectedId(null);
    requestAnimationFrame(() => document.getElementById("list-heading")?.focus());
  }, []);

  async function acceptOffer(offer) {
    const ack = await tasks.accept(offer);
    if (ack.ok) {
      setHandedOff((s) => {
        if (!s.has(offer.conversation_id)) return s;
        const next = new Set(s);
        next.delete(offer.conversation_id);
        return next;
      });
      if (offer.conversation) remember([offer.conversation]);
      select(offer.conversation_id, offer.conversation);
      setPanelOpen(true); // the screen pop
      // A call is answered now: the microphone, then the agent's leg of it (the call bar shows how it goes).
      if (getChannel(offer.channel).call) {
        const c = offer.conversation;
        const prechatName = typeof c?.attributes?.prechat?.name === "string" ? c.attributes.prechat.name : "";
        calls.answer({ taskId: offer.task_id, conversationId: offer.conversation_id, conversation: c, contactName: c?.contact?.name || prechatName });
      }
    } else {
      notify((tr) => tr("offer.gone", { code: ack.code || "error" }), "error");
    }
  }

  /** Shows the conversation with its wrap-up (close) dialog open. */
  const wrapUp = useCallback(
    (conversationId) => {
      if (!conversationId) return;
      select(conversationId);
      setCloseRequest({ id: conversationId, at: Date.now() });
    },
    [select],
  );
  wrapUpRef.current = wrapUp;

  handedOnRef.current = ({ conversationId, taskId, warm }) => {
    if (!conversationId) return;
    tasks.release(conversationId, taskId);
    setHandedOff((s) => new Set(s).add(conversationId));
    notify((tr) => tr(warm ? "call.consult.handedOver" : "call.transfer.done"));
    api.getConversation(conversationId).then(
      (c) => {
        remember([c]);
        upsert(c);
      },
      () => {},
    );
  };
  takenOverRef.current = (c) => {
    setHandedOff((s) => {
      if (!s.has(c.conversationId)) return s;
      const next = new Set(s);
      next.delete(c.conversationId);
      return next;
    });
    select(c.conversationId);
    setPanelOpen(true);
  };

  async function rejectOffer(offer) {
    const ack = await tasks.reject(offer);
    if (!ack.ok && ack.code !== "not_offered") notify((tr) => tr("task.failed", { code: ack.code || "error" }), "error");
  }

  function changePresence(status) {
    setPresence(status);
    storePresence(user.id, status);
    realtime.setPresence(status, (code) => notify((tr) => tr("notice.presenceFailed", { code }), "error"));
  }

  function toggleMute() {
    setMuted((m) => {
      saveMuted(!m);
      return !m;
    });
  }

  async function transferSelected(target, note) {
    const id = selectedId;
    const ack = await tasks.transfer(id, target, note);
    if (ack.ok) {
      setHandedOff((s) => new Set(s).add(id));
      notify((tr) => tr("transfer.done"));
      // No event says the conversation left this agent until someone takes it: ask, so the lists
      // (Mine, the assignee in All) stop showing it as theirs.
      api.getConversation(id).then(
        (c) => {
          remember([c]);
          upsert(c);
        },
        () => {},
      );
    }
    return ack;
  }

  /** extra: {wrapup_code?, note?}, kept with the wrap-up of the agent's task on it. */
  async function closeSelected(extra) {
    const id = selectedId;
    const conversation = known[id];
    if (tasks.held[id]) {
      const ack = await tasks.finish(id, extra);
      if (!ack.ok) return ack;
    }
    if (conversation && conversation.status !== "closed") {
      try {
        const updated = await api.updateConversation(id, { status: "closed" });
        if (updated) {
          remember([updated]);
          upsert(updated);
        }
      } catch (err) {
        return { ok: false, message: describeError(err, t) };
      }
    }
    if (calls.call?.conversationId === id && !onCall) calls.dismiss(); // wrapped up: the call bar goes
    notify((tr) => tr("close.done"));
    return { ok: true };
  }

  async function logout() {
    try {
      await onLogout();
    } catch (err) {
      notify(() => describeError(err, t), "error");
    }
  }

  const tenantNames = new Map(memberships.map((m) => [m.tenant_id, m.tenant_name]));
  const selectedActivity = useMemo(() => {
    if (!selectedId) return null;
    const now = activity.about(selectedId);
    // The customer's receipts as recorded on the conversation, moved on by live conversation.receipt events.
    const stored = selected?.attributes?.receipts?.contact;
    const live = now.receipts;
    const receipts = stored || live
      ? { delivered: laterId(stored?.delivered, live?.delivered), read: laterId(stored?.read, live?.read) }
      : null;
    return { ...now, receipts };
  }, [selectedId, activity.about, selected?.attributes?.receipts]);
  const typingIds = new Set(Object.entries(activity.typing).filter(([, v]) => v.contact > Date.now()).map(([id]) => id));
  const showPanel = Boolean(selected && panelOpen);

  // The customer drawer (narrower screens) closes with Escape, like a dialog.
  useEffect(() => {
    if (!showPanel) return undefined;
    const onKey = (e) => {
      if (e.key !== "Escape" || e.defaultPrevented || window.matchMedia?.(WIDE_PANEL).matches) return;
      if (document.querySelector("dialog[open]")) return;
      setPanelOpen(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [showPanel]);

  return (
    <TenantDataContext.Provider value={tenantData}>
      <CallContext.Provider value={calls}>
      <CobrowseContext.Provider value={cobrowse}>
      <SupervisionContext.Provider value={supervisionValue}>
      <div class={`app${calls.call || supervision.watch || (consultation && !consultRinging) ? " has-call" : ""}`}>
        <TopBar
          onReports={supervises ? () => setPage(page === "reports" ? "inbox" : "reports") : null}
          reportsOpen={page === "reports"}
          onAdmin={administers ? () => setPage(page === "admin" ? "inbox" : "admin") : null}
          adminOpen={page === "admin"}
          user={user}
          presence={presence}
          onPresenceChange={changePresence}
          realtimeState={realtimeState}
          lang={lang}
          onLangChange={onLangChange}
          onLogout={logout}
          muted={muted}
          onToggleMute={toggleMute}
        />
        {(calls.call || supervision.watch || (consultation && !consultRinging)) && (
          <div class="call-bars">
            <CallBar onOpen={(id) => select(id)} onWrapUp={wrapUp} user={user} />
            <ConsultBar />
            <SuperviseBar onOpen={(id) => select(id)} />
          </div>
        )}
        {page === "reports" && (
          <ReportsPage
            user={user}
            memberships={memberships}
            supervisorEvents={supervisorEvents}
            onClose={() => setPage("inbox")}
            onWatch={(id) => {
              setPage("inbox");
              select(id, null, { silent: true });
            }}
          />
        )}
        {page === "admin" && <AdminPage user={user} memberships={memberships} onClose={() => setPage("inbox")} />}
        <div class={`shell${selected ? " has-selection" : ""}${showPanel ? " has-panel" : ""}`} hidden={page !== "inbox"}>
          <ConversationList
            filter={filter}
            onFilterChange={setFilter}
            memberships={memberships}
            list={list}
            selectedId={selectedId}
            unread={fresh}
            unreadCounts={unreadCounts}
            active={active}
            typingIds={typingIds}
            held={tasks.held}
            onSelect={select}
            onLoadMore={loadMore}
            onRetry={reload}
            user={user}
          />
          <ConversationPane
            conversation={selected}
            thread={selectedThread}
            liveError={liveError}
            silent={selectedId !== null && selectedId === silentId}
            onShowMe={() => setSilentId(null)}
            user={user}
            tenantName={memberships.length > 1 && selected ? tenantNames.get(selected.tenant_id) : null}
            draft={selectedId ? drafts[selectedId] : null}
            onDraftChange={(draft) => setDrafts((d) => ({ ...d, [selectedId]: draft }))}
            onSend={(message) => send(selectedId, message)}
            onResend={(clientId) => resend(selectedId, clientId)}
            onDiscard={(clientId) => discard(selectedId, clientId)}
            onLoadEarlier={() => loadEarlier(selectedId, threads.get(selectedId)?.nextCursor)}
            onBack={back}
            activity={selectedActivity}
            task={selectedId ? tasks.held[selectedId] ?? null : null}
            onTyping={(on) => selectedId && realtime.typing(selectedId, on)}
            onTransfer={transferSelected}
            onCloseConversation={closeSelected}
            closeRequest={closeRequest}
            onOpenConversation={select}
            panelOpen={showPanel}
            onTogglePanel={() => setPanelOpen((o) => !o)}
          />
          {showPanel && (
            <>
              <div class="panel-backdrop" onClick={() => setPanelOpen(false)} aria-hidden="true" />
              <div id="customer-panel" class="panel-slot">
                <CustomerPanel
                  key={selected.id}
                  conversation={selected}
                  tenantName={memberships.length > 1 ? tenantNames.get(selected.tenant_id) : null}
                  onOpenConversation={(id, hint) => select(id, hint)}
                  onContactChanged={() => {
                    api.getConversation(selected.id).then((c) => remember([c]), () => {});
                    reload();
                  }}
                  onClose={() => setPanelOpen(false)}
                />
              </div>
            </>
          )}
        </div>
        <Offers offers={offers} muted={muted} onToggleMute={toggleMute} onAccept={acceptOffer} onReject={rejectOffer} onCall={onCall} consultRinging={consultRinging} />
        <Notices notices={notices} onDismiss={(id) => setNotices((n) => n.filter((x) => x.id !== id))} />
      </div>
      </SupervisionContext.Provider>
      </CobrowseContext.Provider>
      </CallContext.Provider>
    </TenantDataContext.Provider>
  );
}
