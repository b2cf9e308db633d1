// The "screen pop": who the customer is (identities, profile, the pre-chat form), their whole history
// on every channel, and contacts that look like the same person, with a merge. Every value shown
// here came from a customer or a web page: text nodes only.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "../api.js";
import { useT } from "../i18n.js";
import { channelLabel, getChannel } from "../channels/index.js";
import { fullTime, humanize, shortTime } from "../util.js";
import { useCallContext } from "../calls.js";
import { Icon } from "./Icon.jsx";

const HISTORY_PAGE = 20;

function asText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return "";
  }
}

function Fields({ rows }) {
  const shown = rows.filter(([, value]) => asText(value).trim() !== "");
  if (shown.length === 0) return null;
  return (
    <dl class="fields">
      {shown.map(([label, value], i) => (
        <div class="field-row" key={`${label}-${i}`}>
          <dt>{label}</dt>
          <dd>{asText(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Section({ title, icon, children, count }) {
  return (
    <section class="panel-section">
      <h3>
        {icon && <Icon name={icon} size={16} />} {title}
        {count != null && <span class="panel-count">{count}</span>}
      </h3>
      {children}
    </section>
  );
}

function identityLabel(kind, t) {
  return t(`identity.${kind}`, null, humanize(kind));
}

/** Contacts that share the pre-chat e-mail or name (or the contact's name), other than this one. */
async function findDuplicates(contact, prechat) {
  const terms = new Set();
  const email = typeof prechat?.email === "string" ? prechat.email.trim() : "";
  if (email.includes("@")) terms.add(email);
  for (const ident of contact.identities ?? []) if (ident.kind === "email" || ident.kind === "phone") terms.add(ident.value);
  for (const name of [prechat?.name, contact.name]) {
    const n = typeof name === "string" ? name.trim() : "";
    if (n.length >= 3) terms.add(n);
  }
  const found = new Map();
  await Promise.all(
    [...terms].slice(0, 4).map((q) =>
      api.searchContacts({ q, tenant_id: contact.tenant_id, limit: 10 }).then(
        (res) => {
          for (const c of res?.items ?? []) if (c.id !== contact.id && !c.merged_into_id) found.set(c.id, c);
        },
        () => {},
      ),
    ),
  );
  return [...found.values()];
}

function MergeDialog({ current, other, onCancel, onMerged }) {
  const t = useT();
  const ref = useRef(null);
  const [keep, setKeep] = useState("current");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal?.();
  }, []);
  const nameOf = (c) => c.name || t("list.unknownContact");

  async function merge(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const [kept, folded] = keep === "current" ? [current, other] : [other, current];
    try {
      const result = await api.mergeContacts(kept.id, folded.id);
      onMerged(result ?? kept);
    } catch (err) {
      setError(describeError(err, t));
      setBusy(false);
    }
  }

  return (
    <dialog ref={ref} class="dialog" onClose={onCancel} aria-labelledby="merge-title">
      <form method="dialog" onSubmit={merge}>
        <h2 id="merge-title">{t("merge.title")}</h2>
        <p class="dialog-text">{t("merge.explain")}</p>
        <fieldset class="choice-group">
          <legend>{t("merge.keep")}</legend>
          {[
            ["current", current],
            ["other", other],
          ].map(([value, c]) => (
            <label key={value} class="choice">
              <input type="radio" name="keep" value={value} checked={keep === value} onChange={() => setKeep(value)} />
              <span>
                <strong>{nameOf(c)}</strong>
                {value === "current" && <span class="muted"> · {t("merge.thisOne")}</span>}
                <span class="choice-sub">{(c.identities ?? []).map((i) => i.value).join(", ")}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="button" onClick={() => ref.current?.close()} disabled={busy}>
            {t("dialog.cancel")}
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            <Icon name="merge" size={16} /> {busy ? t("merge.merging") : t("merge.confirm")}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * The customer panel for one conversation. `conversation` carries contact {id, name} and
 * attributes.prechat; `onOpenConversation(id)` opens a past conversation; `onContactChanged()` is
 * called after a merge (the conversation may now belong to the kept contact).
 */
export function CustomerPanel({ conversation, onOpenConversation, onContactChanged, onClose, tenantName }) {
  const t = useT();
  const calls = useCallContext();
  const contactId = conversation?.contact?.id ?? null;
  const [contact, setContact] = useState({ loading: true, data: null, error: null });
  const [history, setHistory] = useState({ loading: true, items: [], next: null, error: null });
  const [dupes, setDupes] = useState([]);
  const [merging, setMerging] = useState(null);
  const [reloads, setReloads] = useState(0);
  const prechat = conversation?.attributes?.prechat && typeof conversation.attributes.prechat === "object" ? conversation.attributes.prechat : null;

  useEffect(() => {
    if (!contactId) return undefined;
    const ctrl = new AbortController();
    setContact({ loading: true, data: null, error: null });
    setHistory({ loading: true, items: [], next: null, error: null });
    setDupes([]);
    api.getContact(contactId, ctrl.signal).then(
      (data) => {
        setContact({ loading: false, data, error: null });
        findDuplicates(data, prechat).then((list) => !ctrl.signal.aborted && setDupes(list));
      },
      (err) => err?.name !== "AbortError" && setContact({ loading: false, data: null, error: describeError(err, t) }),
    );
    api.contactConversations(contactId, { limit: HISTORY_PAGE }, ctrl.signal).then(
      (res) => setHistory({ loading: false, items: res?.items ?? [], next: res?.next_cursor ?? null, error: null }),
      (err) => err?.name !== "AbortError" && setHistory({ loading: false, items: [], next: null, error: describeError(err, t) }),
    );
    return () => ctrl.abort();
  }, [contactId, reloads]);

  const loadMoreHistory = useCallback(() => {
    if (!history.next) return;
    setHistory((h) => ({ ...h, loading: true }));
    api.contactConversations(contactId, { limit: HISTORY_PAGE, cursor: history.next }).then(
      (res) => setHistory((h) => ({ loading: false, items: [...h.items, ...(res?.items ?? [])], next: res?.next_cursor ?? null, error: null })),
      (err) => setHistory((h) => ({ ...h, loading: false, error: describeError(err, t) })),
    );
  }, [contactId, history.next, t]);

  if (!conversation) return null;
  const c = contact.data;
  // Click-to-call: one of the contact's numbers, dialled through the gateway's trunk (not while on a call).
  const onCall = Boolean(calls.call && calls.call.phase !== "ended" && calls.call.phase !== "failed");
  const identities = c?.identities ?? [];
  const emails = identities.filter((i) => i.kind === "email").map((i) => i.value);
  const phones = identities.filter((i) => i.kind === "phone" || i.kind === "fax").map((i) => i.value);
  const name = c?.name || conversation.contact?.name || (typeof prechat?.name === "string" ? prechat.name : "") || t("list.unknownContact");
  const custom = c?.attributes && typeof c.attributes === "object" ? Object.entries(c.attributes) : [];
  const prechatFields = prechat?.fields && typeof prechat.fields === "object" ? Object.entries(prechat.fields) : [];
  // What the host page told about its visitor (the widget's JS API): conversation.attributes.custom.
  const customAttributes = conversation.attributes?.custom;
  const custAttrs = customAttributes && typeof customAttributes === "object" && !Array.isArray(customAttributes) ? Object.entries(customAttributes) : [];

  return (
    <aside class="customer-panel" aria-labelledby="customer-title">
      <header class="panel-header">
        <span class="avatar" aria-hidden="true">
          <Icon name="user" size={20} />
        </span>
        <div class="panel-heading">
          <h2 id="customer-title" title={name}>
            {name}
          </h2>
          <p class="panel-sub" title={tenantName ? `${t("customer.heading")} · ${tenantName}` : undefined}>
            {t("customer.heading")}
            {tenantName ? ` · ${tenantName}` : ""}
            {c?.vip_tier > 0 && <span class="pill vip"> {t("customer.vip", { tier: c.vip_tier })}</span>}
          </p>
        </div>
        <button type="button" class="button button-quiet icon-button" onClick={onClose} aria-label={t("customer.close")} title={t("customer.close")}>
          <Icon name="close" size={18} />
        </button>
      </header>
      <div class="panel-scroll">
        {contact.error && (
          <p class="panel-state error" role="alert">
            {t("customer.error", { message: contact.error })}
          </p>
        )}
        <Section title={t("customer.profile")} icon="user">
          {contact.loading ? (
            <p class="panel-state">{t("app.loading")}</p>
          ) : (
            <Fields
              rows={[
                [t("customer.name"), c?.name || conversation.contact?.name],
                [t("customer.email"), emails.join(", ")],
                [t("customer.phone"), phones.join(", ")],
                ...custom.map(([k, v]) => [humanize(k), v]),
              ]}
            />
          )}
        </Section>
        {identities.length > 0 && (
          <Section title={t("customer.identities")} icon="list" count={identities.length}>
            <ul class="identities">
              {identities.map((i) => (
                <li key={i.id}>
                  <span class="identity-kind">{identityLabel(i.kind, t)}</span>
                  <span class="identity-value">{i.value}</span>
                  {i.kind === "phone" && calls.place && (
                    <button
                      type="button"
                      class="button button-quiet icon-button call-number"
                      disabled={onCall}
                      title={onCall ? t("call.placeBusy") : t("call.place", { number: i.value })}
                      aria-label={t("call.place", { number: i.value })}
                      onClick={() => calls.place({ tenantId: conversation.tenant_id, contactId: c.id, number: i.value, contactName: c.name || i.value })}
                    >
                      <Icon name="phone" size={16} />
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </Section>
        )}
        {prechat && (
          <Section title={t("customer.prechat")} icon="note">
            <Fields
              rows={[
                [t("customer.name"), prechat.name],
                [t("customer.email"), prechat.email],
                ...prechatFields.map(([k, v]) => [humanize(k), v]),
              ]}
            />
            {!asText(prechat.name) && !asText(prechat.email) && prechatFields.length === 0 && <p class="panel-state">{t("customer.prechatEmpty")}</p>}
          </Section>
        )}
        {custAttrs.length > 0 && (
          <Section title={t("customer.pageDetails")} icon="list">
            <Fields rows={custAttrs.map(([k, v]) => [humanize(k), v])} />
          </Section>
        )}
        {dupes.length > 0 && c && (
          <Section title={t("customer.duplicates")} icon="merge" count={dupes.length}>
            <p class="panel-hint">{t("customer.duplicatesHint")}</p>
            <ul class="dupes">
              {dupes.map((d) => (
                <li key={d.id} class="dupe">
                  <div class="dupe-main">
                    <span class="dupe-name">{d.name || t("list.unknownContact")}</span>
                    <span class="dupe-ids">{(d.identities ?? []).map((i) => i.value).join(", ")}</span>
                  </div>
                  <button type="button" class="button" onClick={() => setMerging(d)}>
                    {t("customer.merge")}
                  </button>
                </li>
              ))}
            </ul>
          </Section>
        )}
        <Section title={t("customer.history")} icon="history" count={history.items.length || null}>
          {history.error && (
            <p class="panel-state error" role="alert">
              {history.error}
            </p>
          )}
          {!history.loading && !history.error && history.items.length === 0 && <p class="panel-state">{t("customer.noHistory")}</p>}
          <ul class="history">
            {history.items.map((h) => {
              const ch = getChannel(h.channel);
              const current = h.id === conversation.id;
              const when = h.last_message_at || h.updated_at || h.created_at;
              return (
                <li key={h.id}>
                  <button
                    type="button"
                    class={`history-item${current ? " current" : ""}`}
                    onClick={() => !current && onOpenConversation(h.id, h)}
                    aria-current={current ? "true" : undefined}
                  >
                    <span class={`conv-channel small channel-${ch.id}`} aria-hidden="true">
                      <Icon name={ch.icon} size={14} />
                    </span>
                    <span class="history-main">
                      <span class="history-line">
                        <span class="history-channel">{channelLabel(ch, t)}</span>
                        <time dateTime={when} title={fullTime(when, t.lang)}>
                          {shortTime(when, t.lang)}
                        </time>
                      </span>
                      <span class="history-subject">{current ? t("customer.thisConversation") : h.subject || t("list.noSubject")}</span>
                    </span>
                    <span class={`pill status-${h.status}`}>{t(`status.${h.status}`, null, h.status)}</span>
                  </button>
                </li>
              );
            })}
          </ul>
          {history.loading && <p class="panel-state">{t("app.loading")}</p>}
          {history.next && !history.loading && (
            <button type="button" class="button button-quiet" onClick={loadMoreHistory}>
              {t("list.loadMore")}
            </button>
          )}
        </Section>
      </div>
      {merging && c && (
        <MergeDialog
          current={c}
          other={merging}
          onCancel={() => setMerging(null)}
          onMerged={() => {
            setMerging(null);
            setReloads((n) => n + 1);
            onContactChanged?.();
          }}
        />
      )}
    </aside>
  );
}
