// The chat's message list as pure functions. A message is shown once however it arrived (the ack
// of our send, the live push, a history fetch after a reconnect, a resend after a lost ack):
// entries are keyed by the server id, and a server copy replaces the pending line with its client_id.
// Message ids are UUIDv7, so comparing them as strings orders them in time.

/** A fresh client id for a line we send: stable across resends, so the gateway stores it once. */
export function clientId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "w" + Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
}

const keyOf = (m) => (m.id ? "i" + m.id : "c" + m.client_id);

/** The list with `incoming` merged in: server messages in id order, then pending lines in typing order. */
export function merge(list, incoming) {
  const byKey = new Map(list.map((m) => [keyOf(m), m]));
  for (const m of incoming) {
    if (!m) continue;
    if (m.id && m.client_id) byKey.delete("c" + m.client_id);
    byKey.set(keyOf(m), m);
  }
  return Array.from(byKey.values()).sort(order);
}

function order(a, b) {
  if (!a.id || !b.id) return a.id ? -1 : b.id ? 1 : a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The later of two message ids (receipt watermarks only move forward). */
export function later(a, b) {
  return !a || (b && b > a) ? b : a;
}

/** What the visitor sees under their own line: sending, failed, sent, delivered or read. */
export function receiptOf(message, receipts) {
  if (!message.id) return message.failed ? "failed" : "sending";
  if (receipts.read && message.id <= receipts.read) return "read";
  if (receipts.delivered && message.id <= receipts.delivered) return "delivered";
  return "sent";
}
