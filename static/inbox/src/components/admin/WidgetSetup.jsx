// A business's web widget: how it looks, what its pre-chat form asks (a department picker sends the
// chat to a queue), when it invites visitors, its extras and what co-browsing may see, with a live
// preview of the real widget drawn from the unsaved settings (WidgetPreview.jsx); and, above that,
// the tag to paste into the business's site and the sites it may run on (WidgetSite.jsx).
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import { WidgetPreview } from "./WidgetPreview.jsx";
import { WidgetSite } from "./WidgetSite.jsx";
import "./WidgetSetup.css";

const enc = encodeURIComponent;
const settingsPath = (tenantId) => `/tenants/${enc(tenantId)}/widget/settings`;

// The API's limits (gateway/widget/settings.py), mirrored in the form.
const FIELD_NAME = "[a-z][a-z0-9_]{0,39}";
const MAX_FIELDS = 20;
const MAX_OPTIONS = 50;
const MAX_RULES = 20;
const FIELD_TYPES = ["text", "textarea", "email", "tel", "select"];
const ASK = ["required", "optional", "hidden"];
const FEATURES = ["attachments", "csat", "transcript", "calls"];
const SELECTORS = ["mask_selectors", "block_selectors"];

const clone = (value) => JSON.parse(JSON.stringify(value));

/** The form holds the settings as the API has them, but selectors as text, one a line. */
function toForm(settings) {
  const form = clone(settings);
  for (const key of SELECTORS) form.cobrowse[key] = form.cobrowse[key].join("\n");
  return form;
}

function toBody(form) {
  const body = clone(form);
  for (const key of SELECTORS) body.cobrowse[key] = form.cobrowse[key].split("\n").map((s) => s.trim()).filter(Boolean);
  return body;
}

const newOption = () => ({ value: "", label: "", queue_id: null });
const newField = () => ({ name: "", label: "", type: "text", required: false, options: [] });
const newRule = () => ({ id: `invite-${Math.random().toString(36).slice(2, 12)}`, message: "", after_seconds: 30, url_pattern: "" });

// Where a refusal points (the API's "prechat.fields.0.name"), in the words of the form.
const PLACES = {
  title: "admin.widget.titleField",
  subtitle: "admin.widget.subtitle",
  color: "admin.widget.colorCode",
  position: "admin.widget.position",
  locale: "admin.widget.locale",
  prechat: "admin.widget.prechat",
  fields: "admin.widget.fieldN",
  options: "admin.widget.optionN",
  proactive: "admin.widget.ruleN",
  name: "admin.widget.fieldName",
  label: "admin.widget.fieldLabel",
  value: "admin.widget.optionValue",
  message: "admin.widget.ruleMessage",
  after_seconds: "admin.widget.afterSeconds",
  url_pattern: "admin.widget.urlPattern",
  features: "admin.widget.features",
  cobrowse: "admin.widget.cobrowse",
  mask_selectors: "admin.widget.maskSelectors",
  block_selectors: "admin.widget.blockSelectors",
};

function describePlace(t, field) {
  const steps = String(field).split(".");
  const words = [];
  for (let i = 0; i < steps.length; i++) {
    const numbered = /^\d+$/.test(steps[i + 1] ?? "");
    words.push(t(PLACES[steps[i]] ?? "", numbered ? { n: Number(steps[i + 1]) + 1 } : undefined, steps[i]));
    if (numbered) i++;
  }
  return words.join(" › ");
}

export function WidgetSetup({ tenant, run }) {
  const t = useT();
  const [saved, setSaved] = useState(null);
  const [form, setForm] = useState(null);
  const [queues, setQueues] = useState([]);
  const [refusal, setRefusal] = useState(null); // {message, details} of the last refused save
  const [justSaved, setJustSaved] = useState(false);

  const show = (settings) => {
    setSaved(settings);
    setForm(toForm(settings));
  };
  const load = useCallback(async () => {
    await run(() => request("GET", settingsPath(tenant.id)), show);
    await run(() => request("GET", `/tenants/${enc(tenant.id)}/queues`), (got) => setQueues(got.items));
  }, [tenant.id]);
  useEffect(() => {
    load();
  }, [load]);

  const body = useMemo(() => form && toBody(form), [form]);
  const dirty = !!saved && JSON.stringify(body) !== JSON.stringify(saved);

  /** Changes the form: `change` edits a copy of it. */
  function edit(change) {
    setJustSaved(false);
    setForm((now) => {
      const next = clone(now);
      change(next);
      return next;
    });
  }
  const text = (apply) => (e) => {
    const value = e.currentTarget.value;
    edit((f) => apply(f, value));
  };
  const check = (apply) => (e) => {
    const value = e.currentTarget.checked;
    edit((f) => apply(f, value));
  };

  async function save(event) {
    event.preventDefault();
    setRefusal(null);
    await run(
      async () => {
        try {
          return await request("PUT", settingsPath(tenant.id), { body });
        } catch (err) {
          setRefusal({ message: err.serverMessage || "", details: err.details ?? [] });
          throw new ApiError(err.status, err.code, err.serverMessage); // its fields are listed by the Save button, not twice
        }
      },
      (got) => {
        show(got);
        setJustSaved(true);
      },
    );
  }

  function discard() {
    setRefusal(null);
    setForm(toForm(saved));
  }

  return (
    <section class="admin-section widget-setup" aria-labelledby="admin-widget">
      <h3 id="admin-widget">{t("admin.widget.heading", { name: tenant.name })}</h3>
      <WidgetSite tenant={tenant} run={run} />
      {form && (
        <div class="widget-setup-columns">
          <form class="widget-setup-form" onSubmit={save} aria-labelledby="admin-widget-settings">
            <h4 id="admin-widget-settings">{t("admin.widget.settings")}</h4>
            <Look t={t} form={form} text={text} />
            <PrechatForm t={t} form={form} queues={queues} edit={edit} text={text} check={check} />
            <Invitations t={t} form={form} edit={edit} text={text} />
            <fieldset class="widget-setup-group">
              <legend>{t("admin.widget.features")}</legend>
              {FEATURES.map((name) => (
                <label key={name} class="widget-setup-check">
                  <input type="checkbox" checked={form.features[name]} onChange={check((f, v) => (f.features[name] = v))} />
                  {t(`admin.widget.feature.${name}`)}
                </label>
              ))}
            </fieldset>
            <Cobrowse t={t} form={form} text={text} check={check} />
            {refusal && (
              <div class="widget-setup-refusal" role="alert">
                <p>{t("admin.widget.notSaved", { message: refusal.message })}</p>
                {refusal.details.length > 0 && (
                  <ul>
                    {refusal.details.map((d, i) => (
                      <li key={i}>
                        <strong>{describePlace(t, d.field)}</strong>: {String(d.message).replace(/^Value error, /, "")}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            )}
            <div class="widget-setup-actions">
              <button type="submit" class="button button-primary" disabled={!dirty}>
                {t("admin.widget.save")}
              </button>
              {dirty && (
                <ConfirmButton label={t("admin.widget.discard")} confirmLabel={t("admin.widget.discardConfirm")} onConfirm={discard} />
              )}
              <span role="status" class="widget-setup-state">
                {dirty ? t("admin.widget.unsaved") : justSaved ? t("admin.widget.saved") : ""}
              </span>
            </div>
          </form>
          <WidgetPreview settings={body} />
        </div>
      )}
    </section>
  );
}

function Look({ t, form, text }) {
  return (
    <fieldset class="widget-setup-group reports-form">
      <legend>{t("admin.widget.look")}</legend>
      <label>
        {t("admin.widget.titleField")}
        <input value={form.title} onInput={text((f, v) => (f.title = v))} maxLength={60} placeholder={t("admin.widget.ownWords")} />
      </label>
      <label>
        {t("admin.widget.subtitle")}
        <input value={form.subtitle} onInput={text((f, v) => (f.subtitle = v))} maxLength={120} placeholder={t("admin.widget.ownWords")} />
      </label>
      <label>
        {t("admin.widget.color")}
        <input type="color" value={/^#[0-9a-f]{6}$/i.test(form.color) ? form.color : "#000000"} onInput={text((f, v) => (f.color = v))} />
      </label>
      <label>
        {t("admin.widget.colorCode")}
        <input
          value={form.color}
          onInput={text((f, v) => (f.color = v))}
          size={8}
          required
          pattern="#[0-9a-fA-F]{6}"
          placeholder="#1f6feb"
          title={t("admin.widget.colorHint")}
        />
      </label>
      <label>
        {t("admin.widget.position")}
        <select value={form.position} onChange={text((f, v) => (f.position = v))}>
          <option value="right">{t("admin.widget.position.right")}</option>
          <option value="left">{t("admin.widget.position.left")}</option>
        </select>
      </label>
      <label>
        {t("admin.widget.locale")}
        <select value={form.locale} onChange={text((f, v) => (f.locale = v))}>
          <option value="auto">{t("admin.widget.locale.auto")}</option>
          <option value="en">English</option>
          <option value="zh-CN">简体中文</option>
        </select>
      </label>
    </fieldset>
  );
}

function PrechatForm({ t, form, queues, edit, text, check }) {
  const prechat = form.prechat;
  return (
    <fieldset class="widget-setup-group">
      <legend>{t("admin.widget.prechat")}</legend>
      <label class="widget-setup-check">
        <input type="checkbox" checked={prechat.enabled} onChange={check((f, v) => (f.prechat.enabled = v))} />
        {t("admin.widget.prechatEnabled")}
      </label>
      <div class="reports-form">
        {["name", "email"].map((ask) => (
          <label key={ask}>
            {t(`admin.widget.ask.${ask}`)}
            <select value={prechat[ask]} onChange={text((f, v) => (f.prechat[ask] = v))}>
              {ASK.map((how) => (
                <option key={how} value={how}>
                  {t(`admin.widget.ask.how.${how}`)}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {prechat.fields.map((field, i) => (
        <fieldset key={i} class="widget-setup-item">
          <legend>{t("admin.widget.fieldN", { n: i + 1 })}</legend>
          <div class="reports-form">
            <label>
              {t("admin.widget.fieldLabel")}
              <input value={field.label} onInput={text((f, v) => (f.prechat.fields[i].label = v))} required maxLength={100} />
            </label>
            <label>
              {t("admin.widget.fieldName")}
              <input
                value={field.name}
                onInput={text((f, v) => (f.prechat.fields[i].name = v))}
                required
                pattern={FIELD_NAME}
                maxLength={40}
                placeholder="order_number"
                title={t("admin.widget.fieldNameHint")}
              />
            </label>
            <label>
              {t("admin.widget.fieldType")}
              <select
                value={field.type}
                onChange={text((f, v) => {
                  const target = f.prechat.fields[i];
                  target.type = v;
                  // Only a choice has choices: one to start with, none otherwise.
                  target.options = v === "select" ? (target.options.length ? target.options : [newOption()]) : [];
                })}
              >
                {FIELD_TYPES.map((type) => (
                  <option key={type} value={type}>
                    {t(`admin.widget.type.${type}`)}
                  </option>
                ))}
              </select>
            </label>
            <label class="widget-setup-check">
              <input type="checkbox" checked={field.required} onChange={check((f, v) => (f.prechat.fields[i].required = v))} />
              {t("admin.widget.fieldRequired")}
            </label>
            <button type="button" class="button button-small" onClick={() => edit((f) => f.prechat.fields.splice(i, 1))}>
              {t("admin.widget.removeField", { n: i + 1 })}
            </button>
          </div>
          {field.type === "select" && <Options t={t} field={field} i={i} queues={queues} edit={edit} text={text} />}
        </fieldset>
      ))}
      <button
        type="button"
        class="button button-small"
        disabled={prechat.fields.length >= MAX_FIELDS}
        onClick={() => edit((f) => f.prechat.fields.push(newField()))}
      >
        {t("admin.widget.addField")}
      </button>
    </fieldset>
  );
}

/** A choice field's choices; each may send the chat to one of the business's queues. */
function Options({ t, field, i, queues, edit, text }) {
  const n = i + 1;
  return (
    <div class="reports-table-wrap">
      <table class="reports-table admin-table widget-setup-options">
        <caption>{t("admin.widget.optionsOf", { n })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.widget.optionLabel")}</th>
            <th scope="col">{t("admin.widget.optionValue")}</th>
            <th scope="col">{t("admin.widget.optionQueue")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {field.options.map((option, j) => {
            const which = { n, m: j + 1 };
            const set = (key) => text((f, v) => (f.prechat.fields[i].options[j][key] = key === "queue_id" ? v || null : v));
            return (
              <tr key={j}>
                <td>
                  <input aria-label={t("admin.widget.optionLabelOf", which)} value={option.label} onInput={set("label")} required maxLength={100} />
                </td>
                <td>
                  <input aria-label={t("admin.widget.optionValueOf", which)} value={option.value} onInput={set("value")} required maxLength={100} />
                </td>
                <td>
                  <select aria-label={t("admin.widget.optionQueueOf", which)} value={option.queue_id ?? ""} onChange={set("queue_id")}>
                    <option value="">{t("admin.widget.usualQueue")}</option>
                    {queues.map((q) => (
                      <option key={q.id} value={q.id}>
                        {q.name}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button
                    type="button"
                    class="button button-small"
                    disabled={field.options.length <= 1}
                    onClick={() => edit((f) => f.prechat.fields[i].options.splice(j, 1))}
                  >
                    {t("admin.widget.removeOption", which)}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <button
        type="button"
        class="button button-small"
        disabled={field.options.length >= MAX_OPTIONS}
        onClick={() => edit((f) => f.prechat.fields[i].options.push(newOption()))}
      >
        {t("admin.widget.addOption", { n })}
      </button>
    </div>
  );
}

function Invitations({ t, form, edit, text }) {
  return (
    <fieldset class="widget-setup-group">
      <legend>{t("admin.widget.proactive")}</legend>
      <p class="muted">{t("admin.widget.proactiveHint")}</p>
      {form.proactive.map((rule, i) => (
        <fieldset key={rule.id} class="widget-setup-item reports-form">
          <legend>{t("admin.widget.ruleN", { n: i + 1 })}</legend>
          <label class="widget-setup-wide">
            {t("admin.widget.ruleMessage")}
            <input value={rule.message} onInput={text((f, v) => (f.proactive[i].message = v))} required maxLength={300} />
          </label>
          <label>
            {t("admin.widget.afterSeconds")}
            <input
              type="number"
              value={rule.after_seconds}
              onInput={text((f, v) => (f.proactive[i].after_seconds = v === "" ? "" : Number(v)))}
              required
              min={0}
              max={3600}
              step={1}
            />
          </label>
          <label>
            {t("admin.widget.urlPattern")}
            <input value={rule.url_pattern} onInput={text((f, v) => (f.proactive[i].url_pattern = v))} maxLength={200} placeholder="/pricing*" />
          </label>
          <button type="button" class="button button-small" onClick={() => edit((f) => f.proactive.splice(i, 1))}>
            {t("admin.widget.removeRule", { n: i + 1 })}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        class="button button-small"
        disabled={form.proactive.length >= MAX_RULES}
        onClick={() => edit((f) => f.proactive.push(newRule()))}
      >
        {t("admin.widget.addRule")}
      </button>
    </fieldset>
  );
}

function Cobrowse({ t, form, text, check }) {
  const cobrowse = form.cobrowse;
  return (
    <fieldset class="widget-setup-group">
      <legend>{t("admin.widget.cobrowse")}</legend>
      <label class="widget-setup-check">
        <input type="checkbox" checked={cobrowse.enabled} onChange={check((f, v) => (f.cobrowse.enabled = v))} />
        {t("admin.widget.cobrowseEnabled")}
      </label>
      <label class="widget-setup-check">
        <input type="checkbox" checked={cobrowse.control} disabled={!cobrowse.enabled} onChange={check((f, v) => (f.cobrowse.control = v))} />
        {t("admin.widget.cobrowseControl")}
      </label>
      <p class="muted">{t("admin.widget.cobrowseHint")}</p>
      <div class="reports-form">
        {SELECTORS.map((key) => (
          <label key={key} class="widget-setup-wide">
            {t(key === "mask_selectors" ? "admin.widget.maskSelectors" : "admin.widget.blockSelectors")}
            <textarea rows={3} value={cobrowse[key]} onInput={text((f, v) => (f.cobrowse[key] = v))} placeholder={key === "mask_selectors" ? ".account-number" : "#payment-form"} />
          </label>
        ))}
      </div>
    </fieldset>
  );
}
