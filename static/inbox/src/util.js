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

/** An http(s) URL fit for an href, or null (javascript:, data: and the like are never links). */
export function safeUrl(value, base = location.origin) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;

/**
 * Splits untrusted text into plain strings and {href, text} links (http, https and www. only), for
 * rendering as text nodes and <a> elements — never as HTML.
 */
export function linkify(text) {
  const parts = [];
  const source = String(text ?? "");
  let last = 0;
  for (const match of source.matchAll(LINK)) {
    let raw = match[0];
    // Leave sentence punctuation that follows a link out of it.
    const trail = /[.,;:!?)\]}'"]+$/.exec(raw);
    if (trail) raw = raw.slice(0, -trail[0].length);
    const href = safeUrl(raw.startsWith("www.") ? `https://${raw}` : raw);
    if (!href || !raw) continue;
    if (match.index > last) parts.push(source.slice(last, match.index));
    parts.push({ href, text: raw });
    last = match.index + raw.length;
  }
  if (last < source.length) parts.push(source.slice(last));
  return parts;
}

/** 1234567 → "1.2 MB" (decimal units, as people read file sizes). */
export function formatBytes(bytes, lang) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}

/** A readable label for a form field or attribute name: "order_number" → "Order number". */
export function humanize(name) {
  const text = String(name ?? "").replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}
