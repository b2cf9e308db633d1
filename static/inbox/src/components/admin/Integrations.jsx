// A business's integrations: webhooks (the business's servers hear of its events, signed with a
// secret shown once; their recent deliveries, with a retry for failed ones) and API tokens (its
// servers call the REST API; the token is shown once, and can be revoked).
import { useEffect, useRef, useState } from "preact/hooks";
import { namingFields, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { fullTime } from "../../util.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import "./Integrations.css";

// The limits of the API's models (gateway/api/routes/webhooks.py, admin.py). (A webhook may name
// up to 100 event types: more than there are.)
const MAX_URL_LENGTH = 2000;
const MAX_TOKEN_NAME = 100;
// What a token may be granted (gateway/auth/principal.py TOKEN_SCOPES); each has its description.
const SCOPES = ["conversations:read", "conversations:write", "contacts:read", "contacts:write", "supervise", "admin"];
const DELIVERY_STATUSES = ["pending", "delivered", "failed"];
const DELIVERIES_PAGE = 20;
const DELIVERIES_REFRESH_MS = 2000;

const enc = encodeURIComponent;
const webhooksPath = (tenantId) => `/tenants/${enc(tenantId)}/webhooks`;
const tokensPath = (tenantId) => `/tenants/${enc(tenantId)}/api-tokens`;

export function Integrations({ tenant, run }) {
  return (
    <>
      <Webhooks tenant={tenant} run={run} />
      <ApiTokens tenant={tenant} run={run} />
    </>
  );
}

/** A secret the API shows only once: copy it now. */
function SecretOnce({ id, title, secret, usage, onDone }) {
  const t = useT();
  const [copied, setCopied] = useState(false);
  const box = useRef(null);
  useEffect(() => box.current?.focus(), [secret]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setCopied(false); // no clipboard here: the text stays selectable
    }
  }
  return (
    <div class="integrations-secret" role="group" aria-labelledby={id} tabIndex={-1} ref={box}>
      <p id={id}>
        <strong>{title}</strong>
      </p>
      <p class="integrations-secret-warning">{t("admin.integrations.copyNow")}</p>
      <p>
        <code class="integrations-secret-value">{secret}</code>
      </p>
      {usage && <p class="integrations-hint">{usage}</p>}
      <div class="integrations-actions">
        <button type="button" class="button button-small" onClick={copy}>
          {t(copied ? "admin.integrations.copied" : "admin.integrations.copy")}
        </button>
        <button type="button" class="button button-small button-primary" onClick={onDone}>
          {t("admin.integrations.stored")}
        </button>
      </div>
    </div>
  );
}

// ---- Webhooks ----

const EMPTY_HOOK = { url: "", every: true, events: [], active: true };

function Webhooks({ tenant, run }) {
  const t = useT();
  const [hooks, setHooks] = useState(null);
  const [eventTypes, setEventTypes] = useState([]);
  const [form, setForm] = useState(EMPTY_HOOK);
  const [editing, setEditing] = useState(null); // the webhook being changed, else a new one
  const [created, setCreated] = useState(null); // {url, secret}, shown once
  const [openId, setOpenId] = useState(null); // whose deliveries show
  const urlInput = useRef(null);
  const base = webhooksPath(tenant.id);
  const fieldLabel = (field) =>
    ({ url: t("admin.webhooks.url"), event_types: t("admin.webhooks.events"), active: t("admin.webhooks.active") })[field] ?? field;

  const load = () => run(() => request("GET", base), (got) => setHooks(got.items));
  useEffect(() => {
    load();
    run(() => request("GET", "/webhook-event-types"), (got) => setEventTypes(got.items.map((e) => e.name)));
  }, [tenant.id]);

  function startEdit(hook) {
    setEditing(hook);
    setForm({ url: hook.url, every: hook.event_types.length === 0, events: hook.event_types, active: hook.active });
    urlInput.current?.focus();
  }
  function stopEdit() {
    setEditing(null);
    setForm(EMPTY_HOOK);
  }
  async function save(event) {
    event.preventDefault();
    if (!form.every && form.events.length === 0) {
      await run(() => Promise.reject(new Error(t("admin.webhooks.noEventsChosen"))));
      return;
    }
    const body = { url: form.url.trim(), event_types: form.every ? [] : form.events, active: form.active };
    if (editing) {
      if (await run(namingFields(() => request("PATCH", `${base}/${enc(editing.id)}`, { body }), (f) => fieldLabel(f.split(".")[0])), load)) stopEdit();
      return;
    }
    const done = await run(namingFields(() => request("POST", base, { body }), (f) => fieldLabel(f.split(".")[0])), async (hook) => {
      setCreated({ url: hook.url, secret: hook.secret });
      await load();
    });
    if (done) setForm(EMPTY_HOOK);
  }
  const setActive = (hook, active) => run(() => request("PATCH", `${base}/${enc(hook.id)}`, { body: { active } }), load);
  async function remove(hook) {
    await run(() => request("DELETE", `${base}/${enc(hook.id)}`), load);
    if (openId === hook.id) setOpenId(null);
    if (editing?.id === hook.id) stopEdit();
  }
  const open = hooks?.find((h) => h.id === openId);

  return (
    <section class="admin-section" aria-labelledby="admin-webhooks">
      <h3 id="admin-webhooks">{t("admin.webhooks.title", { name: tenant.name })}</h3>
      <p class="integrations-hint">{t("admin.webhooks.intro")}</p>
      {created && (
        <SecretOnce
          id="admin-webhook-secret"
          title={t("admin.webhooks.secretOf", { url: created.url })}
          secret={created.secret}
          usage={t("admin.webhooks.signature")}
          onDone={() => setCreated(null)}
        />
      )}
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.webhooks.url")}</th>
              <th scope="col">{t("admin.webhooks.events")}</th>
              <th scope="col">{t("admin.webhooks.state")}</th>
              <th scope="col">{t("admin.integrations.created")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {hooks?.length === 0 && (
              <tr>
                <td colSpan={5}>{t("admin.webhooks.none")}</td>
              </tr>
            )}
            {(hooks ?? []).map((hook) => (
              <tr key={hook.id} class={hook.active ? "" : "is-suspended"}>
                <th scope="row" class="integrations-url">
                  <code>{hook.url}</code>
                </th>
                <td class="integrations-events">{hook.event_types.length ? hook.event_types.join(", ") : t("admin.webhooks.everyEvent")}</td>
                <td>{t(hook.active ? "admin.webhooks.on" : "admin.webhooks.paused")}</td>
                <td>{fullTime(hook.created_at, t.lang)}</td>
                <td class="integrations-actions">
                  <button
                    type="button"
                    class="button button-small"
                    aria-expanded={openId === hook.id}
                    aria-controls={openId === hook.id ? "admin-deliveries" : undefined}
                    onClick={() => setOpenId(openId === hook.id ? null : hook.id)}
                  >
                    {t("admin.webhooks.deliveries")}
                  </button>
                  <button type="button" class="button button-small" onClick={() => startEdit(hook)}>
                    {t("admin.webhooks.edit")}
                  </button>
                  <button type="button" class="button button-small" onClick={() => setActive(hook, !hook.active)}>
                    {t(hook.active ? "admin.webhooks.pause" : "admin.webhooks.resume")}
                  </button>
                  <ConfirmButton label={t("admin.webhooks.delete")} confirmLabel={t("admin.webhooks.confirmDelete")} onConfirm={() => remove(hook)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && <Deliveries key={open.id} base={`${base}/${enc(open.id)}`} hook={open} run={run} />}
      <form class="reports-form integrations-form" onSubmit={save} aria-labelledby="admin-webhook-form">
        <h4 id="admin-webhook-form">{editing ? t("admin.webhooks.change", { url: editing.url }) : t("admin.webhooks.new")}</h4>
        <label class="integrations-wide">
          {t("admin.webhooks.url")}
          <input
            ref={urlInput}
            type="url"
            value={form.url}
            onInput={(e) => setForm((f) => ({ ...f, url: e.currentTarget.value }))}
            required
            maxLength={MAX_URL_LENGTH}
            placeholder="https://crm.example.com/wecc-events"
          />
        </label>
        <label class="integrations-check">
          <input type="checkbox" checked={form.active} onChange={(e) => setForm((f) => ({ ...f, active: e.currentTarget.checked }))} />
          {t("admin.webhooks.activeLabel")}
        </label>
        <EventPicker eventTypes={eventTypes} form={form} setForm={setForm} />
        <div class="integrations-actions">
          <button type="submit" class="button button-primary">
            {t(editing ? "admin.webhooks.save" : "admin.webhooks.create")}
          </button>
          {editing && (
            <button type="button" class="button" onClick={stopEdit}>
              {t("admin.integrations.cancel")}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

/** Every event (an empty list: also the ones added later), or some, grouped by what they are about. */
function EventPicker({ eventTypes, form, setForm }) {
  const t = useT();
  const groups = {};
  for (const name of eventTypes) (groups[name.split(".")[0]] ??= []).push(name);
  const toggle = (name, on) =>
    setForm((f) => ({ ...f, events: on ? [...f.events, name].sort() : f.events.filter((x) => x !== name) }));
  return (
    <fieldset class="integrations-wide integrations-events-picker">
      <legend>{t("admin.webhooks.events")}</legend>
      <label class="integrations-check">
        <input type="radio" name="webhook-events" checked={form.every} onChange={() => setForm((f) => ({ ...f, every: true }))} />
        {t("admin.webhooks.everyEventLong")}
      </label>
      <label class="integrations-check">
        <input type="radio" name="webhook-events" checked={!form.every} onChange={() => setForm((f) => ({ ...f, every: false }))} />
        {t("admin.webhooks.someEvents", { count: form.events.length })}
      </label>
      {!form.every && (
        <div class="integrations-event-groups">
          {Object.entries(groups).map(([group, names]) => (
            <fieldset key={group} class="integrations-event-group">
              <legend>{group}</legend>
              {names.map((name) => (
                <label key={name} class="integrations-check">
                  <input
                    type="checkbox"
                    checked={form.events.includes(name)}
                    onChange={(e) => toggle(name, e.currentTarget.checked)}
                  />
                  {name}
                </label>
              ))}
            </fieldset>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** A webhook's recent deliveries, newest first; refreshed while some are still on their way. */
function Deliveries({ base, hook, run }) {
  const t = useT();
  const [status, setStatus] = useState("");
  const [page, showPage] = useState(null); // {items, next_cursor}
  const asked = useRef(0); // only the latest question's answer shows (a slow poll never overwrites a new filter's list)
  const fetchPage = (query) => {
    const mine = ++asked.current;
    return request("GET", `${base}/deliveries`, { query: { status, ...query } }).then((got) => ({ got, mine }));
  };
  const showLatest = ({ got, mine }) => {
    if (mine === asked.current) showPage(got);
  };
  // The newest ones, as many as are shown now.
  const reload = () => fetchPage({ limit: Math.min(200, Math.max(DELIVERIES_PAGE, page?.items.length ?? 0)) });
  useEffect(() => {
    run(() => fetchPage({ limit: DELIVERIES_PAGE }), showLatest);
  }, [status]);
  const waiting = page?.items.some((d) => d.status === "pending");
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setTimeout(() => reload().then(showLatest, () => {}), DELIVERIES_REFRESH_MS);
    return () => clearTimeout(timer);
  }, [page, status]);
  const more = () =>
    run(() => fetchPage({ limit: DELIVERIES_PAGE, cursor: page.next_cursor }), ({ got, mine }) => {
      if (mine === asked.current) showPage((p) => ({ items: [...p.items, ...got.items], next_cursor: got.next_cursor }));
    });
  const retry = (delivery) => run(() => request("POST", `${base}/deliveries/${enc(delivery.id)}/retry`), async () => showLatest(await reload()));

  return (
    <section class="admin-section integrations-deliveries" id="admin-deliveries" aria-labelledby="admin-deliveries-title">
      <h4 id="admin-deliveries-title">{t("admin.deliveries.title", { url: hook.url })}</h4>
      <div class="reports-form">
        <label>
          {t("admin.deliveries.show")}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">{t("admin.deliveries.all")}</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`admin.deliveries.status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="button" onClick={() => run(reload, showLatest)}>
          {t("admin.deliveries.refresh")}
        </button>
      </div>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.deliveries.event")}</th>
              <th scope="col">{t("admin.deliveries.status")}</th>
              <th scope="col">{t("admin.deliveries.code")}</th>
              <th scope="col">{t("admin.deliveries.attempts")}</th>
              <th scope="col">{t("admin.deliveries.error")}</th>
              <th scope="col">{t("admin.deliveries.when")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.length === 0 && (
              <tr>
                <td colSpan={7}>{t("admin.deliveries.none")}</td>
              </tr>
            )}
            {(page?.items ?? []).map((d) => (
              <tr key={d.id} class={`integrations-delivery-${d.status}`}>
                <th scope="row">
                  {d.event_type} <span class="integrations-muted">#{d.event_id}</span>
                </th>
                <td>{t(`admin.deliveries.status.${d.status}`, null, d.status)}</td>
                <td>{d.last_status_code ?? "—"}</td>
                <td>{d.attempts}</td>
                <td class="integrations-error">{d.last_error ?? ""}</td>
                <td>
                  {fullTime(d.updated_at, t.lang)}
                  {d.status === "pending" && d.attempts > 0 && (
                    <span class="integrations-muted"> · {t("admin.deliveries.next", { time: fullTime(d.next_attempt_at, t.lang) })}</span>
                  )}
                </td>
                <td>
                  {d.status === "failed" && (
                    <button type="button" class="button button-small" onClick={() => retry(d)}>
                      {t("admin.deliveries.retry")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page?.next_cursor && (
        <button type="button" class="button button-small" onClick={more}>
          {t("admin.deliveries.more")}
        </button>
      )}
    </section>
  );
}

// ---- API tokens ----

function ApiTokens({ tenant, run }) {
  const t = useT();
  const [tokens, setTokens] = useState(null);
  const [form, setForm] = useState({ name: "", scopes: [] });
  const [created, setCreated] = useState(null); // {name, token}, shown once
  const base = tokensPath(tenant.id);
  const fieldLabel = (field) => ({ name: t("admin.name"), scopes: t("admin.tokens.scopes") })[field] ?? field;
  const load = () => run(() => request("GET", base), (got) => setTokens(got.items));
  useEffect(() => {
    load();
  }, [tenant.id]);
  const toggle = (scope, on) => setForm((f) => ({ ...f, scopes: on ? [...f.scopes, scope] : f.scopes.filter((s) => s !== scope) }));
  async function create(event) {
    event.preventDefault();
    const body = { name: form.name.trim(), scopes: form.scopes };
    const done = await run(namingFields(() => request("POST", base, { body }), (f) => fieldLabel(f.split(".")[0])), async (token) => {
      setCreated({ name: token.name, token: token.token });
      await load();
    });
    if (done) setForm({ name: "", scopes: [] });
  }
  const revoke = (token) => run(() => request("DELETE", `${base}/${enc(token.id)}`), load);

  return (
    <section class="admin-section" aria-labelledby="admin-api-tokens">
      <h3 id="admin-api-tokens">{t("admin.tokens.title", { name: tenant.name })}</h3>
      <p class="integrations-hint">{t("admin.tokens.intro")}</p>
      {created && (
        <SecretOnce
          id="admin-token-secret"
          title={t("admin.tokens.secretOf", { name: created.name })}
          secret={created.token}
          usage={t("admin.tokens.usage")}
          onDone={() => setCreated(null)}
        />
      )}
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.name")}</th>
              <th scope="col">{t("admin.tokens.scopes")}</th>
              <th scope="col">{t("admin.integrations.created")}</th>
              <th scope="col">{t("admin.tokens.lastUsed")}</th>
              <th scope="col">{t("admin.status")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {tokens?.length === 0 && (
              <tr>
                <td colSpan={6}>{t("admin.tokens.none")}</td>
              </tr>
            )}
            {(tokens ?? []).map((token) => (
              <tr key={token.id} class={token.revoked_at ? "is-suspended" : ""}>
                <th scope="row">{token.name}</th>
                <td>{token.scopes.join(", ")}</td>
                <td>{fullTime(token.created_at, t.lang)}</td>
                <td>{token.last_used_at ? fullTime(token.last_used_at, t.lang) : t("admin.tokens.never")}</td>
                <td>{token.revoked_at ? t("admin.tokens.revokedAt", { time: fullTime(token.revoked_at, t.lang) }) : t("admin.tokens.active")}</td>
                <td>
                  {!token.revoked_at && (
                    <ConfirmButton label={t("admin.tokens.revoke")} confirmLabel={t("admin.tokens.confirmRevoke")} onConfirm={() => revoke(token)} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="reports-form integrations-form" onSubmit={create} aria-labelledby="admin-token-form">
        <h4 id="admin-token-form">{t("admin.tokens.new")}</h4>
        <label>
          {t("admin.name")}
          <input
            value={form.name}
            onInput={(e) => setForm((f) => ({ ...f, name: e.currentTarget.value }))}
            required
            maxLength={MAX_TOKEN_NAME}
            placeholder={t("admin.tokens.namePlaceholder")}
          />
        </label>
        <fieldset class="integrations-wide">
          <legend>{t("admin.tokens.scopes")}</legend>
          {SCOPES.map((scope) => (
            <label key={scope} class="integrations-check">
              <input type="checkbox" checked={form.scopes.includes(scope)} onChange={(e) => toggle(scope, e.currentTarget.checked)} />
              <span>
                <code>{scope}</code> — {t(`admin.tokens.scope.${scope}`)}
              </span>
            </label>
          ))}
        </fieldset>
        <div class="integrations-actions">
          <button type="submit" class="button button-primary">
            {t("admin.tokens.create")}
          </button>
        </div>
      </form>
    </section>
  );
}
