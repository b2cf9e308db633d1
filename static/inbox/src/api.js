// The inbox's only door to the REST API (/api/v1). Same-origin cookies carry the session; every
// state-changing request also carries the CSRF token the gateway handed out at login or /auth/me.

const BASE = "/api/v1";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let csrfToken = null;
let onUnauthorized = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called when an authenticated request gets 401 (the session ended elsewhere or expired). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {string} code the gateway's stable error code ("network_error", "http_error" when it sent none)
   * @param {string} message the gateway's human message ("" when it sent none)
   */
  constructor(status, code, message, { retryAfter = null, details = null } = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

/**
 * A message fit to show a person: the gateway's own message when it gave one (with what it said of
 * each refused field: "some fields are not valid" alone doesn't say which), else a translated fallback.
 */
export function describeError(err, t) {
  if (err instanceof ApiError) {
    const fields = Array.isArray(err.details) ? err.details.filter((d) => d?.message) : [];
    if (err.serverMessage && fields.length) {
      const name = err.fieldName ?? String;
      const said = fields
        .map((d) => String(d.message).replace(/^Value error, /, ""))
        .map((words, i) => (fields[i].field ? `${name(String(fields[i].field))}: ${words}` : words))
        .filter((line) => !err.serverMessage.includes(line));
      return said.length ? `${err.serverMessage} (${said.join("; ")})` : err.serverMessage;
    }
    if (err.serverMessage) return err.serverMessage;
    if (err.status === 0) return t("error.network");
    return t("error.http", { status: err.status });
  }
  return String(err?.message ?? err);
}

/** The action, with the fields its refusal names called as the page calls them (in describeError). */
export function namingFields(action, fieldName) {
  return async () => {
    try {
      return await action();
    } catch (err) {
      if (err instanceof ApiError) err.fieldName = fieldName;
      throw err;
    }
  };
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * @param {string} method
 * @param {string} path under /api/v1, e.g. "/conversations"
 * @param {{query?: Record<string, string|number|null|undefined>, body?: unknown, signal?: AbortSignal, auth?: boolean}} [opts]
 *   auth=false: a 401 is an answer (login, /auth/me), not a lost session.
 */
export async function request(method, path, { query, body, signal, auth = true } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (STATE_CHANGING.has(method)) {
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
    if (body instanceof FormData) {
      init.body = body; // the browser sets multipart/form-data with its boundary
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body ?? {});
    }
  }

  let response;
  try {
    response = await fetch(url.pathname + url.search, init);
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", "");
  }

  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    data = await response.json().catch(() => null);
  }
  if (response.ok) return data;

  const error = new ApiError(response.status, data?.code || "http_error", typeof data?.message === "string" ? data.message : "", {
    retryAfter: parseRetryAfter(response.headers.get("Retry-After")),
    details: data?.details ?? null,
  });
  if (response.status === 401 && auth && onUnauthorized) onUnauthorized(error);
  throw error;
}

const enc = encodeURIComponent;

/** The traffic report as CSV, for a download link (same origin, session cookie). */
export function trafficReportCsvUrl(tenantId, query) {
  return `${BASE}/tenants/${enc(tenantId)}/reports/traffic?${new URLSearchParams({ ...query, format: "csv" })}`;
}

/** Seat usage of every business as CSV (the operator's billing). */
export function seatsCsvUrl(query) {
  return `${BASE}/reports/seats?${new URLSearchParams({ ...query, format: "csv" })}`;
}

/** Where the inbox downloads an attachment (same origin, session cookie). */
export function attachmentUrl(attachmentId) {
  return `${BASE}/attachments/${enc(attachmentId)}`;
}

export const api = {
  me: (signal) => request("GET", "/auth/me", { signal, auth: false }),
  login: (email, password) => request("POST", "/auth/login", { body: { email, password }, auth: false }),
  logout: () => request("POST", "/auth/logout", { auth: false }),
  listConversations: (query, signal) => request("GET", "/conversations", { query, signal }),
  listMessages: (conversationId, query, signal) =>
    request("GET", `/conversations/${encodeURIComponent(conversationId)}/messages`, { query, signal }),
  sendMessage: (conversationId, { body_text, kind, client_id }) =>
    request("POST", `/conversations/${encodeURIComponent(conversationId)}/messages`, { body: { body_text, kind, client_id } }),
  /** Send a reply whose delivery failed once more; its new status arrives as a delivery event. */
  retryDelivery: (conversationId, messageId) =>
    request("POST", `/conversations/${enc(conversationId)}/messages/${enc(messageId)}/retry`),
  getConversation: (conversationId, signal) => request("GET", `/conversations/${enc(conversationId)}`, { signal }),
  updateConversation: (conversationId, changes) => request("PATCH", `/conversations/${enc(conversationId)}`, { body: changes }),
  /**
   * multipart: optional body_text, kind ("message" | "note"), client_id, then 1–10 files, in order.
   * Answers the one stored message that carries them all.
   */
  uploadAttachment: (conversationId, { files, body_text, kind, client_id }) => {
    const form = new FormData();
    if (body_text) form.append("body_text", body_text);
    form.append("kind", kind || "message");
    if (client_id) form.append("client_id", client_id);
    for (const file of files) form.append("file", file, file.name);
    return request("POST", `/conversations/${enc(conversationId)}/attachments`, { body: form });
  },
  /** The conversation's tasks, newest first: which one this agent holds, also in a fresh tab. */
  conversationTasks: (conversationId, signal) => request("GET", `/conversations/${enc(conversationId)}/tasks`, { signal }),
  /** The agent's own SIP phone (404 when none is set up); issuing new credentials shows the password once. */
  sipPhone: (signal) => request("GET", "/me/sip-phone", { signal }),
  issueSipPhone: () => request("POST", "/me/sip-phone"),
  removeSipPhone: () => request("DELETE", "/me/sip-phone"),
  getContact: (contactId, signal) => request("GET", `/contacts/${enc(contactId)}`, { signal }),
  searchContacts: (query, signal) => request("GET", "/contacts", { query, signal }),
  contactConversations: (contactId, query, signal) => request("GET", `/contacts/${enc(contactId)}/conversations`, { query, signal }),
  /** Folds other_contact_id into contactId (the kept one); answers the kept contact. */
  mergeContacts: (contactId, otherContactId) => request("POST", `/contacts/${enc(contactId)}/merge`, { body: { other_contact_id: otherContactId } }),
  cannedReplies: (tenantId, signal) => request("GET", `/tenants/${enc(tenantId)}/canned-replies`, { signal }),
  wrapupCodes: (tenantId, signal) => request("GET", `/tenants/${enc(tenantId)}/wrapup-codes`, { signal }),
  transferTargets: (tenantId, signal) => request("GET", `/tenants/${enc(tenantId)}/transfer-targets`, { signal }),
  /** The tenant's recorded events, newest first ({type?, limit?, cursor?}); supervisors and admins only. */
  tenantEvents: (tenantId, query, signal) => request("GET", `/tenants/${enc(tenantId)}/events`, { query, signal }),
  tenants: (signal) => request("GET", "/tenants", { signal }),
  seats: (query, signal) => request("GET", "/reports/seats", { query, signal }),
  createTenant: (body) => request("POST", "/tenants", { body }),
  updateTenant: (tenantId, changes) => request("PATCH", `/tenants/${enc(tenantId)}`, { body: changes }),
  members: (tenantId, signal) => request("GET", `/tenants/${enc(tenantId)}/members`, { signal }),
  addMember: (tenantId, body) => request("POST", `/tenants/${enc(tenantId)}/members`, { body }),
  updateMember: (tenantId, userId, changes) => request("PATCH", `/tenants/${enc(tenantId)}/members/${enc(userId)}`, { body: changes }),
  removeMember: (tenantId, userId) => request("DELETE", `/tenants/${enc(tenantId)}/members/${enc(userId)}`),
  wallboard: (tenantId, signal) => request("GET", `/tenants/${enc(tenantId)}/wallboard`, { signal }),
  setAgentPresence: (tenantId, userId, status) =>
    request("PUT", `/tenants/${enc(tenantId)}/agents/${enc(userId)}/presence`, { body: { status } }),
  reassignTask: (taskId, target) => request("POST", `/tasks/${enc(taskId)}/reassign`, { body: target }),
  closeTask: (taskId) => request("POST", `/tasks/${enc(taskId)}/close`, { body: {} }),
  trafficReport: (tenantId, query, signal) => request("GET", `/tenants/${enc(tenantId)}/reports/traffic`, { query, signal }),
};
