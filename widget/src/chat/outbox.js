// Lines the visitor sent that the gateway has not acknowledged yet. Kept in localStorage (read
// afresh on every change, so tabs of one site share it) so that a reload, a navigation or a dropped
// network loses none of them: after each (re)connect they are resent with their original client_id,
// which the gateway uses to store each line once however often it arrives.
// Files wait here too, but only in this page's memory: a File can't be stored, so a reload drops them.
// An item: {client_id, text, at, conversation_id, form?, via?: "leave", failed?: "reason",
//           file?, attachments?, reason?, refused?}.
import { load, save } from "../storage.js";

export function createOutbox(widgetKey) {
  const key = `wecc.outbox.${widgetKey}`;
  let files = [];
  const read = () => {
    const items = load("localStorage", key, []);
    return Array.isArray(items) ? items : [];
  };
  const store = (items) => save("localStorage", key, items.length ? items : null);
  const change = (fn) => {
    files = fn(files);
    store(fn(read()));
  };
  return {
    items: () => [...read(), ...files].sort((a, b) => a.at - b.at),
    add: (item) => (item.file ? (files = [...files, item]) : store([...read(), item])),
    update: (clientId, patch) => change((items) => items.map((i) => (i.client_id === clientId ? { ...i, ...patch } : i))),
    remove: (clientId) => change((items) => items.filter((i) => i.client_id !== clientId)),
  };
}
