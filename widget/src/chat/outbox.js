// Lines the visitor sent that the gateway has not acknowledged yet. Kept in localStorage (read
// afresh on every change, so tabs of one site share it) so that a reload, a navigation or a dropped
// network loses none of them: after each (re)connect they are resent with their original client_id,
// which the gateway uses to store each line once however often it arrives.
// An item: {client_id, text, at, conversation_id, form?, via?: "leave", failed?: "reason"}.
import { load, save } from "../storage.js";

export function createOutbox(widgetKey) {
  const key = `wecc.outbox.${widgetKey}`;
  const read = () => {
    const items = load("localStorage", key, []);
    return Array.isArray(items) ? items : [];
  };
  const change = (fn) => {
    const items = fn(read());
    save("localStorage", key, items.length ? items : null);
  };
  return {
    items: read,
    add: (item) => change((items) => [...items, item]),
    update: (clientId, patch) => change((items) => items.map((i) => (i.client_id === clientId ? { ...i, ...patch } : i))),
    remove: (clientId) => change((items) => items.filter((i) => i.client_id !== clientId)),
  };
}
