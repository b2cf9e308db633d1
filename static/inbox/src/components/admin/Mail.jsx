// A business's mailboxes: where the e-mail channel reads customers' mail (IMAP) and sends the
// agents' replies from (SMTP), which queue that mail waits in, and which of it is a fax from a
// fax-to-email service (its fax rules, as channels/fax/profiles.py reads them). Each mailbox's
// health is the intake's own report (connected, the last error, when it last read), refreshed
// while the section is open. Passwords are write-only: the API only says whether one is set.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { fullTime } from "../../util.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import "./Mail.css";

const enc = encodeURIComponent;
const mailboxApi = {
  list: (tenantId) => request("GET", `/tenants/${enc(tenantId)}/mailboxes`),
  create: (tenantId, body) => request("POST", `/tenants/${enc(tenantId)}/mailboxes`, { body }),
  update: (tenantId, id, body) => request("PATCH", `/tenants/${enc(tenantId)}/mailboxes/${enc(id)}`, { body }),
  remove: (tenantId, id) => request("DELETE", `/tenants/${enc(tenantId)}/mailboxes/${enc(id)}`),
  queues: (tenantId) => request("GET", `/tenants/${enc(tenantId)}/queues`),
};

const REFRESH_MS = 4000; // health is the intake's: read it again while the section is open
const SECURITY = ["tls", "starttls", "none"];
const IMAP_PORTS = { tls: 993, starttls: 143, none: 143 };
const SMTP_PORTS = { tls: 465, starttls: 587, none: 25 };
const AFTER_STORE = ["seen", "move"];
const IMPORT_EXISTING = ["unseen", "all", "none"];
const PROFILES = ["hylafax", "efax", "generic"];
const GENERIC_ONLY = ["number_pattern", "csid_pattern", "pages_pattern"];
const MAX_RULES = 10;

function blankRule() {
  return { profile: "hylafax", sender_pattern: "", subject_pattern: "", number_pattern: "", csid_pattern: "", pages_pattern: "",
    default_region: "", reply_address: "", queue_id: "" };
}

function blankForm() {
  return { name: "", address: "", enabled: true, queue_id: "", signature: "",
    imap_host: "", imap_port: String(IMAP_PORTS.tls), imap_security: "tls", imap_username: "", imap_password: "", folder: "INBOX",
    after_store: "seen", move_to: "", import_existing: "unseen",
    smtp_host: "", smtp_port: String(SMTP_PORTS.starttls), smtp_security: "starttls", smtp_username: "", smtp_password: "",
    forget_smtp_password: false, fax_rules: [] };
}

/** A mailbox as the form edits it: text for every input, "" for what is not set, no passwords. */
function formOf(mailbox) {
  const form = blankForm();
  for (const key of Object.keys(form)) {
    const value = mailbox[key];
    if (value !== null && value !== undefined && typeof value !== "object") form[key] = typeof value === "number" ? String(value) : value;
  }
  form.imap_password = form.smtp_password = "";
  form.fax_rules = (mailbox.fax_rules ?? []).map((rule) => ({ ...blankRule(), ...rule, queue_id: rule.queue_id ?? "" }));
  return form;
}

function ruleBody(rule) {
  const body = { profile: rule.profile, queue_id: rule.queue_id || null };
  for (const key of ["sender_pattern", "subject_pattern", "default_region", "reply_address", ...GENERIC_ONLY]) {
    body[key] = GENERIC_ONLY.includes(key) && rule.profile !== "generic" ? "" : rule[key].trim();
  }
  return body;
}

/** What the API is sent: null clears a field; a blank password is left out (unchanged). */
function bodyOf(form) {
  const smtp = form.smtp_host.trim();
  const body = {
    name: form.name.trim(), address: form.address.trim(), enabled: form.enabled, queue_id: form.queue_id || null,
    signature: form.signature,
    imap_host: form.imap_host.trim(), imap_port: Number(form.imap_port), imap_security: form.imap_security,
    imap_username: form.imap_username.trim(), folder: form.folder.trim(), after_store: form.after_store,
    move_to: form.after_store === "move" ? form.move_to.trim() : null, import_existing: form.import_existing,
    smtp_host: smtp || null, smtp_port: smtp ? Number(form.smtp_port) : null, smtp_security: smtp ? form.smtp_security : null,
    smtp_username: form.smtp_username.trim() || null,
    fax_rules: form.fax_rules.map(ruleBody),
  };
  if (form.imap_password) body.imap_password = form.imap_password;
  if (form.smtp_password) body.smtp_password = form.smtp_password;
  else if (form.forget_smtp_password) body.smtp_password = null;
  return body;
}

/** Of the whole body, what differs from the mailbox as it is (so the audit log names real changes). */
function changesOf(mailbox, form) {
  const before = bodyOf(formOf(mailbox));
  return Object.fromEntries(Object.entries(bodyOf(form)).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key])));
}

export function Mail({ tenant, run }) {
  const t = useT();
  const [items, setItems] = useState(null);
  const [queues, setQueues] = useState([]);
  const [editing, setEditing] = useState(null); // null: no form; "new"; or the mailbox being changed

  const load = useCallback(async () => {
    await run(() => Promise.all([mailboxApi.list(tenant.id), mailboxApi.queues(tenant.id)]), ([boxes, found]) => {
      setItems(boxes.items);
      setQueues(found.items);
    });
  }, [tenant.id]);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => {
    const timer = setInterval(async () => {
      if (document.hidden) return;
      try {
        setItems((await mailboxApi.list(tenant.id)).items);
      } catch {
        // a missed refresh is not worth a message: the next one comes in a moment
      }
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [tenant.id]);

  const queueName = (id, fallback) => (id ? (queues.find((q) => q.id === id)?.name ?? t("admin.mail.queueGone")) : fallback);
  const update = (mailbox, body) => run(() => mailboxApi.update(tenant.id, mailbox.id, body), load);
  async function remove(mailbox) {
    if (await run(() => mailboxApi.remove(tenant.id, mailbox.id), load) && editing?.id === mailbox.id) setEditing(null);
  }

  return (
    <section class="admin-section" aria-labelledby="admin-mail">
      <h3 id="admin-mail">{t("admin.mail.title", { name: tenant.name })}</h3>
      <p class="reports-note">{t("admin.mail.intro")}</p>
      {items && items.length === 0 && <p class="reports-note">{t("admin.mail.none")}</p>}
      {items && items.length > 0 && (
        <div class="reports-table-wrap">
          <table class="reports-table admin-table mail-table">
            <thead>
              <tr>
                <th scope="col">{t("admin.mail.mailbox")}</th>
                <th scope="col">{t("admin.mail.health")}</th>
                <th scope="col">{t("admin.mail.reads")}</th>
                <th scope="col">{t("admin.mail.sends")}</th>
                <th scope="col">{t("admin.mail.queue")}</th>
                <th scope="col">{t("admin.mail.faxRules")}</th>
                <th scope="col">{t("admin.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((mailbox) => (
                <tr key={mailbox.id} data-mailbox-id={mailbox.id} class={mailbox.enabled ? "" : "is-suspended"}>
                  <th scope="row">
                    {mailbox.name}
                    <div class="mail-sub">{mailbox.address}</div>
                  </th>
                  <td>
                    <Health mailbox={mailbox} onDismiss={() => update(mailbox, { warning: null })} />
                  </td>
                  <td>
                    {mailbox.imap_host}:{mailbox.imap_port}
                    <div class="mail-sub">
                      {mailbox.imap_username} · {mailbox.folder}
                    </div>
                  </td>
                  <td>
                    {mailbox.smtp_host ? `${mailbox.smtp_host}:${mailbox.smtp_port}` : <span class="mail-sub">{t("admin.mail.noSmtp")}</span>}
                  </td>
                  <td>{queueName(mailbox.queue_id, t("admin.mail.defaultQueue"))}</td>
                  <td>
                    {mailbox.fax_rules.length === 0
                      ? t("admin.mail.noFax")
                      : mailbox.fax_rules.map((rule, i) => (
                          <div key={i}>
                            {t(`admin.mail.profile.${rule.profile}`)}
                            {rule.sender_pattern && <span class="mail-sub"> · {rule.sender_pattern}</span>}
                            {rule.queue_id && <span class="mail-sub"> → {queueName(rule.queue_id)}</span>}
                          </div>
                        ))}
                  </td>
                  <td>
                    <div class="mail-actions">
                      <button type="button" class="button button-small" onClick={() => setEditing(mailbox)}>
                        {t("admin.mail.edit", { name: mailbox.name })}
                      </button>
                      <button type="button" class="button button-small" onClick={() => update(mailbox, { enabled: !mailbox.enabled })}>
                        {t(mailbox.enabled ? "admin.mail.switchOff" : "admin.mail.switchOn", { name: mailbox.name })}
                      </button>
                      <ConfirmButton
                        label={t("admin.mail.remove", { name: mailbox.name })}
                        confirmLabel={t("admin.mail.confirmRemove", { name: mailbox.name })}
                        onConfirm={() => remove(mailbox)}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <MailboxForm
          key={editing === "new" ? "new" : editing.id}
          tenant={tenant}
          mailbox={editing === "new" ? null : editing}
          queues={queues}
          run={run}
          onDone={() => {
            setEditing(null);
            load();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : (
        <button type="button" class="button button-primary mail-add" onClick={() => setEditing("new")}>
          {t("admin.mail.add")}
        </button>
      )}
    </section>
  );
}

function Health({ mailbox, onDismiss }) {
  const t = useT();
  const state = mailbox.enabled ? mailbox.state : "off";
  return (
    <div class="mail-health" aria-live="polite">
      <span class={`badge mail-state mail-state-${state}`}>{t(`admin.mail.state.${state}`, undefined, state)}</span>
      {mailbox.enabled && mailbox.state === "error" && mailbox.last_error && <div class="mail-error">{mailbox.last_error}</div>}
      <div class="mail-sub">
        {mailbox.last_synced_at ? t("admin.mail.lastRead", { time: fullTime(mailbox.last_synced_at, t.lang) }) : t("admin.mail.neverRead")}
      </div>
      {mailbox.warning && (
        <div class="mail-warning">
          {mailbox.warning}{" "}
          <button type="button" class="link-button" onClick={onDismiss}>
            {t("admin.mail.dismiss")}
          </button>
        </div>
      )}
    </div>
  );
}

/** The form's words for a field the API named ("imap_port", "fax_rules.0.number_pattern"). */
function fieldLabel(t, field) {
  const rule = /^fax_rules\.(\d+)(?:\.(\w+))?$/.exec(field);
  if (rule) {
    const which = t("admin.mail.ruleN", { n: Number(rule[1]) + 1 });
    const key = rule[2] === "queue_id" ? "rule_queue" : rule[2];
    return key ? `${which}, ${t(`admin.mail.field.${key}`, undefined, key)}` : which;
  }
  return t(`admin.mail.field.${field}`, undefined, field);
}

function MailboxForm({ tenant, mailbox, queues, run, onDone, onCancel }) {
  const t = useT();
  const [form, setForm] = useState(() => (mailbox ? formOf(mailbox) : blankForm()));
  const [errors, setErrors] = useState({});
  const formRef = useRef(null);
  useEffect(() => {
    formRef.current.querySelector("input")?.focus(); // the form opens below the table: take the admin there
  }, []);
  const set = (name, value) => setForm((f) => ({ ...f, [name]: value }));
  const setRule = (i, name, value) => setForm((f) => ({ ...f, fax_rules: f.fax_rules.map((r, j) => (j === i ? { ...r, [name]: value } : r)) }));
  const text = (name) => (e) => set(name, e.currentTarget.value);
  /** Security picks its usual port, unless the admin typed another one. */
  const security = (name, ports) => (e) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [`${name}_security`]: value,
      [`${name}_port`]: f[`${name}_port`] === String(ports[f[`${name}_security`]]) ? String(ports[value]) : f[`${name}_port`] }));
  };

  async function save(event) {
    event.preventDefault();
    setErrors({});
    const body = mailbox ? changesOf(mailbox, form) : bodyOf(form);
    if (mailbox && Object.keys(body).length === 0) {
      onDone();
      return;
    }
    const done = await run(async () => {
      try {
        return await (mailbox ? mailboxApi.update(tenant.id, mailbox.id, body) : mailboxApi.create(tenant.id, body));
      } catch (err) {
        const details = err instanceof ApiError && Array.isArray(err.details) ? err.details : [];
        if (details.length === 0) throw err;
        const found = Object.fromEntries(details.map((d) => [d.field, String(d.message).replace(/^Value error, /, "")]));
        setErrors(found);
        err.fieldName = (field) => fieldLabel(t, field);
        throw err;
      }
    });
    if (done) onDone();
  }

  const queueOptions = (none, current) => (
    <>
      <option value="">{none}</option>
      {queues.map((q) => (
        <option key={q.id} value={q.id}>
          {q.name}
        </option>
      ))}
      {current && !queues.some((q) => q.id === current) && <option value={current}>{t("admin.mail.queueGone")}</option>}
    </>
  );
  const securityOptions = SECURITY.map((s) => (
    <option key={s} value={s}>
      {t(`admin.mail.security.${s}`)}
    </option>
  ));
  const title = mailbox ? t("admin.mail.changeTitle", { name: mailbox.name }) : t("admin.mail.newTitle");
  return (
    <form ref={formRef} class="reports-form mail-form" onSubmit={save} aria-label={title}>
      <h4>{title}</h4>
      <fieldset>
        <legend>{t("admin.mail.general")}</legend>
        <Field errors={errors} name="name" label={t("admin.name")}>
          {(a) => <input {...a} value={form.name} onInput={text("name")} required maxLength={100} />}
        </Field>
        <Field errors={errors} name="address" label={t("admin.mail.field.address")} hint={t("admin.mail.addressHint")}>
          {(a) => <input {...a} type="email" value={form.address} onInput={text("address")} required maxLength={254} />}
        </Field>
        <Field errors={errors} name="queue_id" label={t("admin.mail.field.queue_id")}>
          {(a) => (
            <select {...a} value={form.queue_id} onChange={text("queue_id")}>
              {queueOptions(t("admin.mail.defaultQueue"), form.queue_id)}
            </select>
          )}
        </Field>
        <Field errors={errors} name="enabled" check label={t("admin.mail.field.enabled")} hint={t("admin.mail.enabledHint")}>
          {(a) => <input {...a} type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.currentTarget.checked)} />}
        </Field>
        <Field errors={errors} name="signature" wide label={t("admin.mail.field.signature")} hint={t("admin.mail.signatureHint")}>
          {(a) => <textarea {...a} rows={3} value={form.signature} onInput={text("signature")} maxLength={5000} />}
        </Field>
      </fieldset>

      <fieldset>
        <legend>{t("admin.mail.imap")}</legend>
        <Field errors={errors} name="imap_host" label={t("admin.mail.field.imap_host")} hint={t("admin.mail.hostHint")}>
          {(a) => <input {...a} value={form.imap_host} onInput={text("imap_host")} required maxLength={255} placeholder="imap.example.com" />}
        </Field>
        <Field errors={errors} name="imap_security" label={t("admin.mail.field.imap_security")}>
          {(a) => (
            <select {...a} value={form.imap_security} onChange={security("imap", IMAP_PORTS)}>
              {securityOptions}
            </select>
          )}
        </Field>
        <Field errors={errors} name="imap_port" label={t("admin.mail.field.imap_port")}>
          {(a) => <input {...a} type="number" value={form.imap_port} onInput={text("imap_port")} required min={1} max={65535} />}
        </Field>
        <Field errors={errors} name="imap_username" label={t("admin.mail.field.imap_username")}>
          {(a) => <input {...a} value={form.imap_username} onInput={text("imap_username")} required maxLength={255} autocomplete="off" />}
        </Field>
        <Field
          errors={errors}
          name="imap_password"
          label={t("admin.mail.field.imap_password")}
          hint={mailbox ? t("admin.mail.passwordKept") : undefined}
        >
          {(a) => (
            <input
              {...a}
              type="password"
              value={form.imap_password}
              onInput={text("imap_password")}
              required={!mailbox}
              maxLength={500}
              autocomplete="new-password"
              placeholder={mailbox ? t("admin.mail.unchanged") : ""}
            />
          )}
        </Field>
        <Field errors={errors} name="folder" label={t("admin.mail.field.folder")}>
          {(a) => <input {...a} value={form.folder} onInput={text("folder")} required maxLength={200} />}
        </Field>
        <Field errors={errors} name="after_store" label={t("admin.mail.field.after_store")}>
          {(a) => (
            <select {...a} value={form.after_store} onChange={text("after_store")}>
              {AFTER_STORE.map((v) => (
                <option key={v} value={v}>
                  {t(`admin.mail.after.${v}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {form.after_store === "move" && (
          <Field errors={errors} name="move_to" label={t("admin.mail.field.move_to")}>
            {(a) => <input {...a} value={form.move_to} onInput={text("move_to")} required maxLength={200} placeholder="Archive" />}
          </Field>
        )}
        <Field errors={errors} name="import_existing" label={t("admin.mail.field.import_existing")}>
          {(a) => (
            <select {...a} value={form.import_existing} onChange={text("import_existing")}>
              {IMPORT_EXISTING.map((v) => (
                <option key={v} value={v}>
                  {t(`admin.mail.import.${v}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>

      <fieldset>
        <legend>{t("admin.mail.smtp")}</legend>
        <p class="mail-hint mail-fieldset-note">{t("admin.mail.smtpHint")}</p>
        <Field errors={errors} name="smtp_host" label={t("admin.mail.field.smtp_host")}>
          {(a) => <input {...a} value={form.smtp_host} onInput={text("smtp_host")} maxLength={255} placeholder="smtp.example.com" />}
        </Field>
        <Field errors={errors} name="smtp_security" label={t("admin.mail.field.smtp_security")}>
          {(a) => (
            <select {...a} value={form.smtp_security} onChange={security("smtp", SMTP_PORTS)} disabled={!form.smtp_host.trim()}>
              {securityOptions}
            </select>
          )}
        </Field>
        <Field errors={errors} name="smtp_port" label={t("admin.mail.field.smtp_port")}>
          {(a) => (
            <input
              {...a}
              type="number"
              value={form.smtp_port}
              onInput={text("smtp_port")}
              min={1}
              max={65535}
              required={Boolean(form.smtp_host.trim())}
              disabled={!form.smtp_host.trim()}
            />
          )}
        </Field>
        <Field errors={errors} name="smtp_username" label={t("admin.mail.field.smtp_username")}>
          {(a) => <input {...a} value={form.smtp_username} onInput={text("smtp_username")} maxLength={255} autocomplete="off" />}
        </Field>
        <Field
          errors={errors}
          name="smtp_password"
          label={t("admin.mail.field.smtp_password")}
          hint={mailbox?.smtp_password_set ? t("admin.mail.passwordKept") : undefined}
        >
          {(a) => (
            <input
              {...a}
              type="password"
              value={form.smtp_password}
              onInput={text("smtp_password")}
              maxLength={500}
              autocomplete="new-password"
              placeholder={mailbox?.smtp_password_set ? t("admin.mail.unchanged") : ""}
            />
          )}
        </Field>
        {mailbox?.smtp_password_set && (
          <Field errors={errors} name="forget_smtp_password" check label={t("admin.mail.forgetSmtpPassword")}>
            {(a) => (
              <input
                {...a}
                type="checkbox"
                checked={form.forget_smtp_password}
                onChange={(e) => set("forget_smtp_password", e.currentTarget.checked)}
                disabled={Boolean(form.smtp_password)}
              />
            )}
          </Field>
        )}
      </fieldset>

      <fieldset>
        <legend>{t("admin.mail.fax")}</legend>
        <p class="mail-hint mail-fieldset-note">{t("admin.mail.faxIntro")}</p>
        {errors.fax_rules && <p class="mail-field-error mail-fieldset-note">{errors.fax_rules}</p>}
        {form.fax_rules.map((rule, i) => (
          <FaxRuleFields
            key={i}
            index={i}
            rule={rule}
            errors={errors}
            queueOptions={queueOptions(t("admin.mail.mailboxQueue"), rule.queue_id)}
            onChange={(name, value) => setRule(i, name, value)}
            onRemove={() => setForm((f) => ({ ...f, fax_rules: f.fax_rules.filter((_, j) => j !== i) }))}
          />
        ))}
        {form.fax_rules.length < MAX_RULES && (
          <button type="button" class="button button-small" onClick={() => set("fax_rules", [...form.fax_rules, blankRule()])}>
            {t("admin.mail.addRule")}
          </button>
        )}
      </fieldset>

      <div class="mail-form-buttons">
        <button type="submit" class="button button-primary">
          {mailbox ? t("admin.mail.save") : t("admin.mail.create")}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          {t("admin.mail.cancel")}
        </button>
      </div>
    </form>
  );
}

function FaxRuleFields({ index, rule, errors, queueOptions, onChange, onRemove }) {
  const t = useT();
  const name = (key) => `fax_rules.${index}.${key}`;
  const text = (key) => (e) => onChange(key, e.currentTarget.value);
  const generic = rule.profile === "generic";
  const pattern = (key, props = {}) => (
    <Field errors={errors} name={name(key)} label={t(`admin.mail.field.${key}`)} hint={t(`admin.mail.hint.${key}`)}>
      {(a) => <input {...a} value={rule[key]} onInput={text(key)} maxLength={300} spellcheck={false} {...props} />}
    </Field>
  );
  const title = t("admin.mail.ruleN", { n: index + 1 });
  return (
    <fieldset class="mail-rule" aria-label={title}>
      <legend>{title}</legend>
      <Field errors={errors} name={name("profile")} label={t("admin.mail.field.profile")} hint={t(`admin.mail.profileHint.${rule.profile}`)}>
        {(a) => (
          <select {...a} value={rule.profile} onChange={text("profile")}>
            {PROFILES.map((p) => (
              <option key={p} value={p}>
                {t(`admin.mail.profile.${p}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field errors={errors} name={name("sender_pattern")} label={t("admin.mail.field.sender_pattern")} hint={t("admin.mail.hint.sender_pattern")}>
        {(a) => <input {...a} value={rule.sender_pattern} onInput={text("sender_pattern")} maxLength={254} placeholder="*@fax.example" />}
      </Field>
      {pattern("subject_pattern")}
      {generic && pattern("number_pattern", { required: true })}
      {generic && pattern("csid_pattern")}
      {generic && pattern("pages_pattern")}
      <Field errors={errors} name={name("default_region")} label={t("admin.mail.field.default_region")} hint={t("admin.mail.hint.default_region")}>
        {(a) => (
          <input
            {...a}
            value={rule.default_region}
            onInput={(e) => onChange("default_region", e.currentTarget.value.toUpperCase())}
            maxLength={2}
            pattern="[A-Za-z]{2}"
            placeholder="US"
            size={4}
          />
        )}
      </Field>
      <Field errors={errors} name={name("reply_address")} label={t("admin.mail.field.reply_address")} hint={t("admin.mail.hint.reply_address")}>
        {(a) => <input {...a} value={rule.reply_address} onInput={text("reply_address")} maxLength={254} placeholder="{number}@fax.example" />}
      </Field>
      <Field errors={errors} name={name("queue_id")} label={t("admin.mail.field.rule_queue")}>
        {(a) => (
          <select {...a} value={rule.queue_id} onChange={text("queue_id")}>
            {queueOptions}
          </select>
        )}
      </Field>
      <button type="button" class="button button-small" onClick={onRemove}>
        {t("admin.mail.removeRule", { n: index + 1 })}
      </button>
    </fieldset>
  );
}

/** A labelled input with its hint and the API's complaint about it, if any (`children` renders the input). */
function Field({ name, label, hint, errors, wide, check, children }) {
  const id = `mail-${name}`;
  const error = errors[name];
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`mail-field${wide ? " mail-field-wide" : ""}${check ? " mail-field-check" : ""}`}>
      <label>
        {label}
        {children({ "aria-describedby": describedBy, "aria-invalid": error ? "true" : undefined })}
      </label>
      {hint && (
        <small id={`${id}-hint`} class="mail-hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="mail-field-error">
          {error}
        </small>
      )}
    </div>
  );
}
