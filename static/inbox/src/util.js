// Small helpers shared by the inbox's components.

/** A random RFC 4122 v4 id; crypto.randomUUID only exists in secure contexts, so build one if needed. */
export function uuid() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function toDate(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Today: "14:05"; this year: "3 Mar"; else "3 Mar 2023" — in the inbox's language. */
export function shortTime(value, lang) {
  const d = toDate(value);
  if (!d) return "";
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  const opts = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : d.getFullYear() === now.getFullYear()
      ? { day: "numeric", month: "short" }
      : { day: "numeric", month: "short", year: "numeric" };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}

export function fullTime(value, lang) {
  const d = toDate(value);
  return d ? new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(d) : "";
}

/** Most recent activity first: last_message_at, else updated_at. */
export function activityKey(conversation) {
  return toDate(conversation.last_message_at)?.getTime() ?? toDate(conversation.updated_at)?.getTime() ?? 0;
}

export function byActivityDesc(a, b) {
  return activityKey(b) - activityKey(a);
}

/** Oldest first, ties broken by id so the order is stable. */
export function byCreatedAsc(a, b) {
  const ta = toDate(a.created_at)?.getTime() ?? 0;
  const tb = toDate(b.created_at)?.getTime() ?? 0;
  return ta - tb || String(a.id).localeCompare(String(b.id));
}
