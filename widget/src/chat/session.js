// The visitor's chat with the help desk: which conversation, its messages, the queue position, the
// agent's typing, receipts and the rating, and how each line gets to the gateway and back.
// It survives reloads and navigation (conversation id in localStorage; `resume`, or `history` on a
// gateway without it, at every connect) and network drops (the outbox, resent with the same client
// ids after each reconnect; history fetched again to fill what the visitor missed meanwhile).
// Files wait in the outbox too, for as long as the page lives (a File can't be stored): one that
// fails is marked so, with retry and remove, and tried again at the next connect unless it was refused.
// Older messages than those shown come a page at a time, on request (loadEarlier).
// Features the gateway answers with unknown_event (an older gateway) are switched off quietly.
import { createStore } from "../store.js";
import { load, save } from "../storage.js";
import { clientId, later, merge } from "./messages.js";
import { createOutbox } from "./outbox.js";

const TYPING_IDLE_MS = 3000; // "stopped typing" after this long without a keystroke
const TYPING_REPEAT_MS = 8000; // long typing: say so again, so the inbox's own timeout doesn't hide it
const AGENT_TYPING_MAX_MS = 15000; // a lost "stopped typing" must not leave the dots forever
const HISTORY_PAGES = 5; // after a long outage, page back this far to fill the gap
const RECEIPT_DELAY_MS = 300;
const TRANSIENT = ["offline", "timeout", "rate_limited", "internal_error"];

const pending = (item) => ({
  client_id: item.client_id,
  author_type: "contact",
  body_text: item.text,
  at: item.at,
  failed: item.failed,
  attachments: item.attachments,
  upload: !!item.file,
  reason: item.reason, // an upload's refusal, from the gateway
  refused: item.refused, // not to be tried again by itself
});

/** Files' links come as paths on the gateway: make them absolute, for the tenant's page. */
function withLinks(message, origin) {
  if (!message || !message.attachments || !message.attachments.length) return message;
  return { ...message, attachments: message.attachments.map((a) => ({ ...a, url: a.url && new URL(a.url, origin).href })) };
}

export function createSession({ connection, widgetKey, origin, emit }) {
  const chatKey = `wecc.chat.${widgetKey}`;
  const saved = load("localStorage", chatKey) || {};
  const outbox = createOutbox(widgetKey);
  const store = createStore({
    conversationId: saved.id || null,
    status: saved.status || "open", // of the conversation; "closed" shows the end and the rating
    offline: !!saved.offline, // started by the offline form
    agentName: saved.agent || null,
    rated: !!saved.rated,
    email: saved.email || "", // from the pre-chat form: where the transcript goes by default
    messages: merge([], outbox.items().filter((i) => !i.form).map(pending)),
    receipts: { delivered: null, read: null }, // the agent side's watermarks
    position: null, // the last task.position
    agentTyping: false,
    availability: null, // {open, agents_available} | {error}
    starting: outbox.items().some((i) => i.form && !i.failed),
    syncing: false,
    earlier: false, // there may be messages before the oldest shown
    loadingEarlier: false,
    unread: 0,
    attachments: true, // false once upload_ticket is unknown to the gateway
    csat: true, // false once rate is
  });
  const { get, set } = store;
  const unsupported = new Set();
  let attributes = null; // WECC.setAttributes; sent with start_chat once the gateway takes them
  let attributesTaken = false;
  let panelOpen = false;
  let receiptsSent = { delivered: null, read: null };
  let typingSince = 0;
  let typingTimer = null;
  let agentTypingTimer = null;
  let retryTimer = null;
  let receiptTimer = null;
  let syncTimer = null;
  let chain = Promise.resolve();

  /** Persists what a reload needs to pick the chat up again. */
  function update(patch) {
    set(patch);
    const s = get();
    save("localStorage", chatKey, s.conversationId && { id: s.conversationId, status: s.status, offline: s.offline, agent: s.agentName, rated: s.rated, email: s.email });
  }

  async function call(event, data) {
    if (unsupported.has(event)) return { ok: false, code: "unknown_event" };
    const ack = await connection.call(event, data);
    if (ack.code === "unknown_event") unsupported.add(event);
    return ack;
  }

  /** Merges messages from an ack, a push or history; `live` ones are news (events, unread count). */
  function receive(messages, live) {
    messages = messages.map((m) => withLinks(m, origin));
    const s = get();
    const known = new Set(s.messages.map((m) => m.id));
    const fresh = messages.filter((m) => m && m.id && !known.has(m.id));
    const fromAgent = fresh.filter((m) => m.author_type === "agent");
    const patch = { messages: merge(s.messages, messages) };
    if (fromAgent.length) Object.assign(patch, { agentTyping: false, position: null });
    if (live && fromAgent.length && !seen()) patch.unread = s.unread + fromAgent.length;
    set(patch);
    if (live) fresh.forEach((message) => emit("message", { conversation_id: s.conversationId, message }));
    acknowledge();
  }

  const seen = () => panelOpen && document.visibilityState === "visible";

  /** Receipts for the agent's latest line: delivered when it got here, read when it was shown. */
  function acknowledge() {
    if (seen() && get().unread) set({ unread: 0 });
    // A burst of lines gets one receipt, not one each (they count against the visitor's event rate).
    clearTimeout(receiptTimer);
    receiptTimer = setTimeout(sendReceipt, RECEIPT_DELAY_MS);
  }

  function sendReceipt() {
    const s = get();
    const last = s.messages.filter((m) => m.id && m.author_type === "agent").pop();
    if (!last || !s.conversationId) return;
    const status = seen() ? "read" : "delivered";
    if (receiptsSent[status] >= last.id || (status === "delivered" && receiptsSent.read >= last.id)) return;
    receiptsSent[status] = last.id;
    call("receipt", { conversation_id: s.conversationId, message_id: last.id, status });
  }

  function markReceipt(status, messageId) {
    const r = get().receipts;
    const next = { ...r, [status]: later(r[status], messageId) };
    if (status === "read") next.delivered = later(next.delivered, messageId);
    set({ receipts: next });
  }

  function setStatus(status) {
    const s = get();
    update({ status: status === "closed" ? "closed" : "open", ...(status === "closed" && { agentTyping: false, position: null }) });
    if (status === "closed" && s.status !== "closed") emit("chat_ended", { conversation_id: s.conversationId });
  }

  function adopt(id, patch) {
    const s = get();
    if (id === s.conversationId) return update(patch);
    update({ conversationId: id, status: "open", offline: false, rated: false, agentName: null, position: null, email: "", earlier: false,
      receipts: { delivered: null, read: null }, messages: s.messages.filter((m) => !m.id), ...patch });
    receiptsSent = { delivered: null, read: null };
  }

  /** Leaves the conversation behind (ended, or not ours any more): the next line starts a new one. */
  function forget() {
    const old = get().conversationId;
    outbox.items().forEach((i) => i.conversation_id === old && outbox.remove(i.client_id));
    update({ conversationId: null, status: "open", offline: false, rated: false, agentName: null, position: null, agentTyping: false,
      email: "", receipts: { delivered: null, read: null }, messages: [], unread: 0, earlier: false });
    receiptsSent = { delivered: null, read: null };
  }

  // ---- on every connect: catch up, then send what waits ----

  async function sync() {
    clearTimeout(syncTimer);
    set({ syncing: true });
    if (attributes) await sendAttributes();
    const had = get().conversationId;
    const known = new Set(get().messages.map((m) => m.id).filter(Boolean));
    const r = await call("resume", {});
    if (!r.ok && TRANSIENT.includes(r.code) && r.code !== "offline") {
      // Busy or rate-limited: catch up a little later rather than show an empty chat (offline: the next connect does).
      syncTimer = setTimeout(sync, 1000 * Math.max(2, Number(r.retry_after) || 3));
      return set({ syncing: false });
    }
    if (r.ok && r.conversation && r.conversation.id) {
      const c = r.conversation;
      const same = c.id === had;
      adopt(c.id, { agentName: c.agent_name || (same ? get().agentName : null) });
      setStatus(c.status);
      const batch = r.messages || [];
      receivePage(batch, olderExist(r));
      if (r.receipts) ["delivered", "read"].forEach((k) => r.receipts[k] && markReceipt(k, r.receipts[k]));
      if (same && gap(batch, known, olderExist(r))) await fill(known, batch[0].id); // resume gives the last 50 only
    } else if (had) {
      await fill(known);
      // The gateway has no open chat for us: ours ended while we were away.
      if (r.ok && get().conversationId) setStatus("closed");
    }
    set({ syncing: false });
    if (!get().conversationId) await checkAvailability();
    // Files that failed for want of a network go again; refused ones wait for the visitor.
    outbox.items().forEach((i) => i.file && i.failed && !i.refused && retry(i.client_id));
    await flush();
  }

  const oldestId = () => (get().messages.find((m) => m.id) || {}).id;

  // Whether there are older messages than a page's: the gateway says so with each page.
  const olderExist = (r) => r.has_more === true;

  /** Merges a page of history (oldest first) and notes whether there are more before it. */
  function receivePage(batch, more) {
    const oldest = oldestId();
    receive(batch);
    if (!more) set({ earlier: false });
    else if (!oldest || batch[0].id <= oldest) set({ earlier: true });
  }

  /** "Earlier messages": the page before the oldest shown. Resolves with the gateway's ack. */
  async function loadEarlier() {
    const id = get().conversationId;
    const before = oldestId();
    if (!id || !before || get().loadingEarlier) return { ok: true };
    set({ loadingEarlier: true });
    const r = await call("history", { conversation_id: id, before });
    if (r.ok && id === get().conversationId) receivePage(r.messages || [], olderExist(r));
    set({ loadingEarlier: false }); // after the merge: the view keeps its place until then
    return r;
  }

  // A page none of whose messages we held, with older ones before it: we may have missed those too.
  const gap = (batch, known, more) => more && known.size > 0 && !batch.some((m) => known.has(m.id));

  /** History pages back from `before` (null: the latest) until one meets a message we held. */
  async function fill(known, before = null) {
    const id = get().conversationId;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const r = await call("history", before ? { conversation_id: id, before } : { conversation_id: id });
      if (id !== get().conversationId) return;
      if (!r.ok) return r.code === "not_found" && forget();
      const batch = r.messages || [];
      const more = olderExist(r);
      receivePage(batch, more);
      if (!gap(batch, known, more)) return;
      before = batch[0].id;
    }
  }

  async function checkAvailability() {
    const r = await call("availability", {});
    if (r.ok) set({ availability: { open: r.open !== false, agents_available: r.agents_available !== false } });
    else if (r.code === "unknown_event") set({ availability: { open: true, agents_available: true } });
    else if (!TRANSIENT.includes(r.code)) set({ availability: { error: r.message || r.code } });
  }

  async function sendAttributes() {
    const ack = await call("set_attributes", { attributes });
    attributesTaken = attributesTaken || !!ack.ok;
  }

  // ---- sending ----

  /** Sends the outbox in order, one at a time (a start must give us the conversation before the next line). */
  function flush() {
    chain = chain.then(flushNow, flushNow);
    return chain;
  }

  async function flushNow() {
    clearTimeout(retryTimer);
    for (const item of outbox.items()) {
      if (item.failed) continue;
      const ack = item.file ? await deliverFile(item) : await deliver(item);
      if (!ack.ok && TRANSIENT.includes(ack.code)) {
        // Offline: the next connect flushes (files waiting behind say they are not sent: a reload
        // would lose them). Otherwise try again shortly.
        if (ack.code !== "offline") retryTimer = setTimeout(flush, 1000 * Math.max(2, Number(ack.retry_after) || 3));
        else outbox.items().forEach((i) => i.file && !i.failed && failUpload(i, { code: "offline", transient: true }));
        return;
      }
    }
  }

  async function deliver(item) {
    const conversationId = item.conversation_id || get().conversationId;
    const data = { client_id: item.client_id, text: item.text, ...item.form };
    let event = "send_message";
    if (item.via === "leave" || item.form || !conversationId) {
      event = item.via === "leave" ? "leave_message" : "start_chat";
      if (attributes && attributesTaken) data.attributes = attributes;
    } else data.conversation_id = conversationId;
    const ack = await call(event, data);
    if (ack.ok) {
      outbox.remove(item.client_id);
      if (ack.conversation_id && ack.conversation_id !== get().conversationId) {
        adopt(ack.conversation_id, { offline: item.via === "leave", email: (item.form && item.form.email) || "" });
        emit("chat_started", { conversation_id: ack.conversation_id });
      }
      set({ starting: false });
      receive([ack.message], true);
    } else if (!TRANSIENT.includes(ack.code)) {
      const failed = ack.message || ack.code || "error";
      outbox.update(item.client_id, { failed });
      if (item.form) set({ starting: false });
      else set({ messages: merge(get().messages, [pending({ ...item, failed })]) });
    }
    return ack;
  }

  function queue(item) {
    stopTyping();
    outbox.add(item);
    if (item.form) set({ starting: true });
    else set({ messages: merge(get().messages, [pending(item)]) });
    return flush();
  }

  /** Pre-chat form or offline form: resolves {ok} once sent or queued, or the gateway's refusal. */
  async function start(form, text, via) {
    const item = { client_id: clientId(), text, at: Date.now(), conversation_id: null, form, via };
    await queue(item);
    const refused = outbox.items().find((i) => i.client_id === item.client_id && i.failed);
    if (!refused) return { ok: true };
    outbox.remove(item.client_id);
    return { ok: false, message: refused.failed };
  }

  // ---- typing ----

  function typed() {
    const s = get();
    if (!s.conversationId || s.status === "closed") return;
    const now = Date.now();
    if (now - typingSince > TYPING_REPEAT_MS) {
      typingSince = now;
      call("typing", { conversation_id: s.conversationId, typing: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (!typingSince) return;
    typingSince = 0;
    const id = get().conversationId;
    if (id) call("typing", { conversation_id: id, typing: false });
  }

  function agentTyping(typing) {
    clearTimeout(agentTypingTimer);
    set({ agentTyping: typing });
    if (typing) agentTypingTimer = setTimeout(() => set({ agentTyping: false }), AGENT_TYPING_MAX_MS);
  }

  // ---- attachments: in the outbox while the page lives; a failure stays there, marked ----

  /** Once per page: does the gateway take files at all? (An older one answers unknown_event.) */
  let probed = false;
  function probeUploads() {
    if (probed || !get().conversationId) return;
    probed = true;
    call("upload_ticket", { conversation_id: get().conversationId }).then((r) => r.code === "unknown_event" && set({ attachments: false }));
  }

  /** Why the gateway would refuse this file, as far as its published limits tell. */
  function refusal(file, limits) {
    if (limits && limits.max_bytes && file.size > limits.max_bytes) return "file_too_large";
    const types = (limits && limits.allowed_types) || [];
    if (types.length && !types.includes(file.type)) return "file_type_refused";
    return null;
  }

  /** Queues a file: {ok} once queued (its line shows how it goes), or {code} when it can't be sent at all. */
  function upload(file, limits) {
    const code = refusal(file, limits);
    if (code) return { ok: false, code };
    const preview = /^image\//.test(file.type) && URL.createObjectURL(file);
    const attachments = [{ filename: file.name, content_type: file.type, size: file.size, url: preview }];
    queue({ client_id: clientId(), text: "", at: Date.now(), conversation_id: get().conversationId, file, attachments });
    return { ok: true };
  }

  /** Ticket, then the file over HTTP. Never stops the flush: a failure is the file's own. */
  async function deliverFile(item) {
    const ticket = await call("upload_ticket", { conversation_id: item.conversation_id });
    if (ticket.code === "unknown_event") set({ attachments: false });
    const code = ticket.ok && refusal(item.file, ticket);
    const result = !ticket.ok ? { ...ticket, transient: TRANSIENT.includes(ticket.code) } : code ? { code } : await post(ticket, item);
    // The stored copy may have come as a push though the answer was lost: then it was sent.
    if (result.ok || get().messages.some((m) => m.id && m.client_id === item.client_id)) {
      outbox.remove(item.client_id);
      if (result.message) receive([result.message], true);
      revoke(item, 60000); // the stored copy's own link replaces the preview
      return { ok: true };
    }
    failUpload(item, result);
    return { ok: false, code: "upload_failed" };
  }

  function failUpload(item, result) {
    const failed = { failed: result.code || "failed", reason: result.message, refused: !result.transient };
    outbox.update(item.client_id, failed);
    set({ messages: merge(get().messages, [pending({ ...item, ...failed })]) });
  }

  async function post(ticket, item) {
    const body = new FormData();
    body.append("token", ticket.token);
    body.append("client_id", item.client_id);
    body.append("file", item.file);
    try {
      const res = await fetch(new URL(ticket.url, origin).href, { method: "POST", body, credentials: "omit" });
      const json = await res.json().catch(() => ({}));
      if (res.ok && json.message) return { ok: true, message: json.message };
      // A 4xx is the gateway's refusal (too big, wrong type...): trying again by itself won't help.
      return { code: json.code || "failed", message: json.message, transient: !(res.status >= 400 && res.status < 500) };
    } catch (e) {
      return { code: "failed", transient: true };
    }
  }

  function revoke(item, delay = 0) {
    const url = item.attachments && item.attachments[0].url;
    if (url) setTimeout(() => URL.revokeObjectURL(url), delay);
  }

  /** Tries a failed line or file again, now. */
  function retry(id) {
    outbox.update(id, { failed: undefined, reason: undefined, refused: undefined });
    set({ messages: get().messages.map((m) => (m.client_id === id && !m.id ? { ...m, failed: undefined, reason: undefined, refused: undefined } : m)) });
  }

  // ---- the gateway's pushes ----

  const ours = (d) => d && d.conversation_id && d.conversation_id === get().conversationId;
  const pushes = {
    "message.created": (d) => receive([d.message], true),
    "task.position": (d) => set({ position: d }),
    "conversation.typing": (d) => agentTyping(!!d.typing),
    "task.accepted": (d) => update({ agentName: d.agent_name || null, position: null }),
    "conversation.updated": (d) => d.status && setStatus(d.status),
    "conversation.receipt": (d) => d.message_id && (d.status === "read" || d.status === "delivered") && markReceipt(d.status, d.message_id),
  };
  Object.entries(pushes).forEach(([event, fn]) => connection.on(event, (d) => ours(d) && fn(d)));
  connection.on("connect", sync);
  document.addEventListener("visibilitychange", acknowledge);

  return {
    store,
    draftKey: `wecc.draft.${widgetKey}`,
    /** Whether to connect at page load: a chat is going on or a line waits to be sent (not for an ended chat). */
    get active() {
      return (!!get().conversationId && get().status !== "closed") || outbox.items().length > 0;
    },
    start: (form, text) => start(form, text),
    leave: (form, text) => start(form, text, "leave"),
    send(text) {
      queue({ client_id: clientId(), text, at: Date.now(), conversation_id: get().conversationId });
    },
    resend(id) {
      retry(id);
      flush();
    },
    /** Gives up on a line or file that was not sent. */
    discard(id) {
      const item = outbox.items().find((i) => i.client_id === id);
      if (item) revoke(item);
      outbox.remove(id);
      set({ messages: get().messages.filter((m) => m.id || m.client_id !== id) });
    },
    loadEarlier,
    typed,
    stopTyping,
    upload,
    probeUploads,
    /** The visitor ends the chat: while waiting it is given up; with an agent, they are told. */
    async endChat() {
      const id = get().conversationId;
      if (!id) return { ok: false };
      const ack = await call("end_chat", { conversation_id: id });
      if (ack.ok && get().conversationId === id) setStatus("closed");
      return ack;
    },
    async rate(score, comment) {
      const ack = await call("rate", { conversation_id: get().conversationId, score, comment });
      if (ack.ok) update({ rated: true });
      if (ack.code === "unknown_event") set({ csat: false });
      return ack;
    },
    /** Mails the chat to the visitor: {ok} or the gateway's {code, message}. */
    transcript: (email) => call("transcript", { conversation_id: get().conversationId, email }),
    async newChat() {
      forget();
      set({ availability: null });
      await checkAvailability();
    },
    setPanelOpen(open) {
      panelOpen = open;
      acknowledge();
    },
    /** WECC.setAttributes: at most 20 string values, for the agents to see with the chat. */
    setAttributes(values) {
      const next = { ...attributes };
      Object.keys(values || {}).forEach((k) => (next[String(k).slice(0, 64)] = String(values[k] == null ? "" : values[k]).slice(0, 500)));
      attributes = {};
      Object.keys(next).slice(-20).forEach((k) => (attributes[k] = next[k]));
      if (connection.connected) sendAttributes();
    },
  };
}
