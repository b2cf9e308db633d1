// What is happening on conversations right now, from live events only: who is typing (the customer,
// other agents), which agents are viewing (spec H, conversation.viewers), and how far the customer
// got the agents' messages (spec D, conversation.receipt: delivered/read up to a message id).
import { useCallback, useEffect, useState } from "preact/hooks";

// A "typing: true" with no "false" after it (a closed tab) stops showing after this long.
const TYPING_TTL_MS = 8000;

/** The later of two UUIDv7 message ids (they compare as plain strings); null-safe. */
export function laterId(a, b) {
  if (!a) return b ?? null;
  if (!b) return a;
  return a >= b ? a : b;
}

/** "read" | "delivered" | "sent" for a message id, given a conversation's receipts. */
export function receiptStatus(receipts, messageId) {
  if (!receipts || !messageId || String(messageId).startsWith("local:")) return "sent";
  if (receipts.read && receipts.read >= messageId) return "read";
  if (receipts.delivered && receipts.delivered >= messageId) return "delivered";
  return "sent";
}

export function useActivity({ userId }) {
  // conversation id → {contact: until-ms, agents: {user id: until-ms}}
  const [typing, setTyping] = useState({});
  // conversation id → [{user_id, name}] (everyone, this agent included)
  const [viewers, setViewers] = useState({});
  // conversation id → {delivered, read} message ids the customer reached
  const [receipts, setReceipts] = useState({});
  // user id → name, learnt from viewers lists (to name a colleague who types)
  const [names, setNames] = useState({});

  const onTyping = useCallback(
    (data) => {
      const id = data?.conversation_id;
      if (!id) return;
      const until = data.typing ? Date.now() + TYPING_TTL_MS : 0;
      setTyping((all) => {
        const current = all[id] ?? { contact: 0, agents: {} };
        let next;
        if (data.author_type === "contact") next = { ...current, contact: until };
        else if (data.author_type === "agent" && data.author_id && data.author_id !== userId) {
          const agents = { ...current.agents };
          if (until) agents[data.author_id] = until;
          else delete agents[data.author_id];
          next = { ...current, agents };
        } else return all;
        return { ...all, [id]: next };
      });
    },
    [userId],
  );

  const onViewers = useCallback((data) => {
    const id = data?.conversation_id;
    if (!id || !Array.isArray(data.viewers)) return;
    const list = data.viewers.filter((v) => v && v.user_id).map((v) => ({ user_id: String(v.user_id), name: String(v.name ?? "") }));
    setViewers((all) => ({ ...all, [id]: list }));
    // A colleague who closed the conversation (or the tab) is no longer typing in it.
    const present = new Set(list.map((v) => v.user_id));
    setTyping((all) => {
      const current = all[id];
      if (!current || Object.keys(current.agents).every((uid) => present.has(uid))) return all;
      const agents = Object.fromEntries(Object.entries(current.agents).filter(([uid]) => present.has(uid)));
      return { ...all, [id]: { ...current, agents } };
    });
    setNames((all) => {
      const next = { ...all };
      for (const v of list) if (v.name) next[v.user_id] = v.name;
      return next;
    });
  }, []);

  const onReceipt = useCallback((data) => {
    const id = data?.conversation_id;
    if (!id || !data.message_id) return;
    if (data.by && data.by !== "contact") return; // the agents' side of the receipt: not a tick
    setReceipts((all) => {
      const current = all[id] ?? { delivered: null, read: null };
      const next =
        data.status === "read"
          ? { read: laterId(current.read, data.message_id), delivered: laterId(current.delivered, data.message_id) }
          : data.status === "delivered"
            ? { ...current, delivered: laterId(current.delivered, data.message_id) }
            : current;
      return next === current ? all : { ...all, [id]: next };
    });
  }, []);

  /** A message from the customer ends their typing; an agent's ends that agent's. */
  const onMessage = useCallback((conversationId, message) => {
    if (!message) return;
    setTyping((all) => {
      const current = all[conversationId];
      if (!current) return all;
      if (message.author_type === "contact" && current.contact) return { ...all, [conversationId]: { ...current, contact: 0 } };
      if (message.author_type === "agent" && message.author_id && current.agents[message.author_id]) {
        const agents = { ...current.agents };
        delete agents[message.author_id];
        return { ...all, [conversationId]: { ...current, agents } };
      }
      return all;
    });
  }, []);

  // Expire typing nobody switched off.
  const anyTyping = Object.values(typing).some((v) => v.contact || Object.keys(v.agents).length);
  useEffect(() => {
    if (!anyTyping) return undefined;
    const timer = setInterval(() => {
      const now = Date.now();
      setTyping((all) => {
        let changed = false;
        const next = {};
        for (const [id, v] of Object.entries(all)) {
          const agents = Object.fromEntries(Object.entries(v.agents).filter(([, until]) => until > now));
          const contact = v.contact > now ? v.contact : 0;
          if (contact !== v.contact || Object.keys(agents).length !== Object.keys(v.agents).length) changed = true;
          next[id] = { contact, agents };
        }
        return changed ? next : all;
      });
    }, 1000);
    return () => clearInterval(timer);
  }, [anyTyping]);

  /** For one conversation: is the customer typing, which other agents type, which other agents view. */
  const about = useCallback(
    (conversationId) => {
      const now = Date.now();
      const tp = typing[conversationId];
      const others = (viewers[conversationId] ?? []).filter((v) => v.user_id !== userId);
      return {
        contactTyping: Boolean(tp && tp.contact > now),
        agentsTyping: tp ? Object.entries(tp.agents).filter(([, until]) => until > now).map(([id]) => ({ user_id: id, name: names[id] || "" })) : [],
        otherViewers: others,
        receipts: receipts[conversationId] ?? null,
      };
    },
    [typing, viewers, receipts, names, userId],
  );

  return { onTyping, onViewers, onReceipt, onMessage, about, typing };
}
