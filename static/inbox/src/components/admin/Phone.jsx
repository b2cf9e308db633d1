// A business's phone: the numbers (DIDs) the center's operator gave it, each named and sent to a
// queue by the business's admin, and what phone callers hear: a greeting, a key-press menu leading
// to queues or skills, recording, and how callbacks are dialled. The operator also hands numbers
// out and takes them back here.
import { useEffect, useState } from "preact/hooks";
import { request } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import "./Phone.css";

const enc = encodeURIComponent;
const phoneApi = {
  numbers: (tid) => request("GET", `/tenants/${enc(tid)}/phone-numbers`),
  addNumber: (tid, body) => request("POST", `/tenants/${enc(tid)}/phone-numbers`, { body }),
  updateNumber: (tid, id, body) => request("PATCH", `/tenants/${enc(tid)}/phone-numbers/${enc(id)}`, { body }),
  removeNumber: (tid, id) => request("DELETE", `/tenants/${enc(tid)}/phone-numbers/${enc(id)}`),
  settings: (tid) => request("GET", `/tenants/${enc(tid)}/calls/settings`),
  saveSettings: (tid, body) => request("PUT", `/tenants/${enc(tid)}/calls/settings`, { body }),
  queues: (tid) => request("GET", `/tenants/${enc(tid)}/queues`),
  skills: (tid) => request("GET", `/tenants/${enc(tid)}/skills`),
};
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

export function Phone({ tenant, run, operator }) {
  const [queues, setQueues] = useState([]);
  const [skills, setSkills] = useState([]);
  useEffect(() => {
    run(() => Promise.all([phoneApi.queues(tenant.id), phoneApi.skills(tenant.id)]), ([q, s]) => {
      setQueues(q.items);
      setSkills(s.items);
    });
  }, [tenant.id]);
  return (
    <>
      <Numbers tenant={tenant} run={run} operator={operator} queues={queues} />
      <CallSettings tenant={tenant} run={run} queues={queues} skills={skills} />
    </>
  );
}

function QueueSelect({ value, queues, onChange, label }) {
  const t = useT();
  return (
    <select aria-label={label} value={value ?? ""} onChange={(e) => onChange(e.currentTarget.value || null)}>
      <option value="">{t("admin.phone.defaultQueue")}</option>
      {queues.map((q) => (
        <option key={q.id} value={q.id}>
          {q.name}
        </option>
      ))}
    </select>
  );
}

function Numbers({ tenant, run, operator, queues }) {
  const t = useT();
  const [numbers, setNumbers] = useState(null);
  const [form, setForm] = useState({ number: "", label: "" });
  const load = () => run(() => phoneApi.numbers(tenant.id), (got) => setNumbers(got.items));
  useEffect(() => {
    load();
  }, [tenant.id]);
  const change = (number, body) => run(() => phoneApi.updateNumber(tenant.id, number.id, body), load);
  async function add(event) {
    event.preventDefault();
    if (await run(() => phoneApi.addNumber(tenant.id, { number: form.number.trim(), label: form.label.trim() }), load)) {
      setForm({ number: "", label: "" });
    }
  }
  return (
    <section class="admin-section" aria-labelledby="admin-phone-numbers">
      <h3 id="admin-phone-numbers">{t("admin.phone.numbers")}</h3>
      <p class="reports-note">{t(operator ? "admin.phone.numbersOperatorHint" : "admin.phone.numbersHint")}</p>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.phone.number")}</th>
              <th scope="col">{t("admin.phone.label")}</th>
              <th scope="col">{t("admin.phone.queue")}</th>
              {operator && <th scope="col">{t("admin.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {(numbers ?? []).map((number) => (
              <tr key={number.id}>
                <th scope="row">{number.number}</th>
                <td>
                  <input
                    aria-label={t("admin.phone.labelOf", { number: number.number })}
                    defaultValue={number.label}
                    maxLength={100}
                    onChange={(e) => e.currentTarget.value.trim() !== number.label && change(number, { label: e.currentTarget.value.trim() })}
                  />
                </td>
                <td>
                  <QueueSelect
                    label={t("admin.phone.queueOf", { number: number.number })}
                    value={number.queue_id}
                    queues={queues}
                    onChange={(queue_id) => change(number, { queue_id })}
                  />
                </td>
                {operator && (
                  <td>
                    <ConfirmButton
                      label={t("admin.phone.takeBack", { number: number.number })}
                      confirmLabel={t("admin.phone.confirmTakeBack", { number: number.number })}
                      onConfirm={() => run(() => phoneApi.removeNumber(tenant.id, number.id), load)}
                    />
                  </td>
                )}
              </tr>
            ))}
            {numbers?.length === 0 && (
              <tr>
                <td colSpan={operator ? 4 : 3}>{t("admin.phone.noNumbers")}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {operator && (
        <form class="reports-form" onSubmit={add} aria-label={t("admin.phone.addNumber")}>
          <label>
            {t("admin.phone.number")}
            <input value={form.number} onInput={(e) => setForm({ ...form, number: e.currentTarget.value })} required maxLength={40} placeholder="+49 30 1234567" />
          </label>
          <label>
            {t("admin.phone.label")}
            <input value={form.label} onInput={(e) => setForm({ ...form, label: e.currentTarget.value })} maxLength={100} />
          </label>
          <button type="submit" class="button button-primary">
            {t("admin.phone.give")}
          </button>
        </form>
      )}
    </section>
  );
}

function CallSettings({ tenant, run, queues, skills }) {
  const t = useT();
  const [draft, setDraft] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    run(() => phoneApi.settings(tenant.id), (got) => setDraft({ ...got, callback_countries: got.callback_countries.join(", ") }));
  }, [tenant.id]);
  if (!draft) return null;
  const set = (name, value) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [name]: value }));
  };
  const setOption = (i, changes) => set("menu", draft.menu.map((o, j) => (j === i ? { ...o, ...changes } : o)));
  const freeKey = KEYS.find((k) => !draft.menu.some((o) => o.key === k));
  async function save(event) {
    event.preventDefault();
    const body = { ...draft, callback_countries: draft.callback_countries.split(/[\s,]+/).filter(Boolean) };
    setSaved(await run(() => phoneApi.saveSettings(tenant.id, body), (got) => setDraft({ ...got, callback_countries: got.callback_countries.join(", ") })));
  }
  return (
    <section class="admin-section" aria-labelledby="admin-phone-calls">
      <h3 id="admin-phone-calls">{t("admin.phone.calls")}</h3>
      <form class="admin-phone-form" onSubmit={save} aria-label={t("admin.phone.calls")}>
        <label class="admin-phone-wide">
          {t("admin.phone.greeting")}
          <textarea rows={2} maxLength={300} value={draft.greeting} onInput={(e) => set("greeting", e.currentTarget.value)} placeholder={t("admin.phone.greetingHint")} />
        </label>
        <fieldset class="admin-phone-wide">
          <legend>{t("admin.phone.menu")}</legend>
          <p class="reports-note">{t("admin.phone.menuHint")}</p>
          {draft.menu.map((option, i) => (
            <div class="admin-phone-option" key={i} role="group" aria-label={t("admin.phone.option", { key: option.key })}>
              <label>
                {t("admin.phone.key")}
                <select value={option.key} onChange={(e) => setOption(i, { key: e.currentTarget.value })}>
                  {KEYS.filter((k) => k === option.key || !draft.menu.some((o) => o.key === k)).map((k) => (
                    <option key={k} value={k}>
                      {k}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("admin.phone.optionLabel")}
                <input value={option.label} required maxLength={60} onInput={(e) => setOption(i, { label: e.currentTarget.value })} />
              </label>
              <label>
                {t("admin.phone.queue")}
                <QueueSelect label={t("admin.phone.queue")} value={option.queue_id} queues={queues} onChange={(queue_id) => setOption(i, { queue_id })} />
              </label>
              <label>
                {t("admin.phone.skill")}
                <select value={option.skill ?? ""} onChange={(e) => setOption(i, { skill: e.currentTarget.value || null })}>
                  <option value="">{t("admin.phone.anySkill")}</option>
                  {skills.map((s) => (
                    <option key={s.id} value={s.name}>
                      {s.name}
                    </option>
                  ))}
                </select>
              </label>
              {option.skill && (
                <label>
                  {t("admin.phone.skillLevel")}
                  <input type="number" min={1} max={10} value={option.skill_level} onInput={(e) => setOption(i, { skill_level: Number(e.currentTarget.value) })} />
                </label>
              )}
              <button type="button" class="button button-small" onClick={() => set("menu", draft.menu.filter((_, j) => j !== i))}>
                {t("admin.phone.removeOption", { key: option.key })}
              </button>
            </div>
          ))}
          {freeKey && draft.menu.length < 12 && (
            <button type="button" class="button button-small" onClick={() => set("menu", [...draft.menu, { key: freeKey, label: "", queue_id: null, skill: null, skill_level: 1 }])}>
              {t("admin.phone.addOption")}
            </button>
          )}
          <label>
            {t("admin.phone.menuTimeout")}
            <input type="number" min={3} max={60} value={draft.menu_timeout_seconds} onInput={(e) => set("menu_timeout_seconds", Number(e.currentTarget.value))} />
          </label>
        </fieldset>
        <label class="admin-phone-check">
          <input type="checkbox" checked={draft.record} onChange={(e) => set("record", e.currentTarget.checked)} />
          {t("admin.phone.record")}
        </label>
        <label>
          {t("admin.phone.region")}
          <input value={draft.default_region} maxLength={2} size={4} onInput={(e) => set("default_region", e.currentTarget.value.toUpperCase())} placeholder="DE" />
        </label>
        <label>
          {t("admin.phone.callbackCountries")}
          <input value={draft.callback_countries} onInput={(e) => set("callback_countries", e.currentTarget.value)} placeholder={t("admin.phone.anyCountry")} />
        </label>
        <label>
          {t("admin.phone.callbackAttempts")}
          <input type="number" min={1} max={10} value={draft.callback_attempts} onInput={(e) => set("callback_attempts", Number(e.currentTarget.value))} />
        </label>
        <label>
          {t("admin.phone.callbackRetry")}
          <input type="number" min={1} max={1440} value={draft.callback_retry_minutes} onInput={(e) => set("callback_retry_minutes", Number(e.currentTarget.value))} />
        </label>
        <div class="admin-phone-wide">
          <button type="submit" class="button button-primary">
            {t("admin.phone.save")}
          </button>
          {saved && (
            <span role="status" class="reports-note">
              {" "}
              {t("admin.phone.saved")}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}
