// The form of one queue's settings (gateway/routing/queues.py): a new queue, or changes to one.
// Every setting the API takes is here, with its limits: the service level target, the default
// priority, the required skills, business hours per weekday with closed dates, and what happens to
// work that waits long (overflow to another queue, relaxed skills, a way out for the customer).
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { useT } from "../../i18n.js";
import { Hours, hoursForm, hoursOf } from "./BusinessHours.jsx";
import { SkillLevels } from "./SkillLevels.jsx";

const CHANNELS = ["chat", "voice", "email", "fax", "callback"];
const LONGEST = 7 * 86400; // every wait the API takes is 1 s to 7 days
const UNITS = [86400, 3600, 60, 1];

/** Seconds as the largest unit that divides them: {amount: "2", unit: 60} for 120. */
export function asDuration(seconds) {
  const unit = UNITS.find((size) => seconds % size === 0);
  return { amount: String(seconds / unit), unit };
}

const inSeconds = (duration) => Number(duration.amount) * duration.unit;

function formOf(queue, zone) {
  const s = queue?.settings ?? {};
  const hours = s.hours;
  return {
    name: queue?.name ?? "",
    sla: asDuration(s.sla_seconds ?? 60),
    slaByChannel: Object.fromEntries(Object.entries(s.sla_by_channel ?? {}).map(([channel, seconds]) => [channel, asDuration(seconds)])),
    priority: String(s.default_priority ?? 0),
    required: s.required_skills ?? {},
    hoursOn: hours != null,
    ...hoursForm(hours, zone),
    overflowOn: s.overflow_queue_id != null,
    overflowAfter: asDuration(s.overflow_after_seconds ?? 300),
    overflowQueue: s.overflow_queue_id ?? "",
    relaxOn: s.relaxed_skills != null,
    relaxAfter: asDuration(s.relax_skills_after_seconds ?? 120),
    relaxed: s.relaxed_skills ?? {},
    maxWaitOn: s.max_wait_seconds != null,
    maxWait: asDuration(s.max_wait_seconds ?? 600),
  };
}

function settingsOf(form) {
  return {
    sla_seconds: inSeconds(form.sla),
    sla_by_channel: Object.fromEntries(Object.entries(form.slaByChannel).map(([channel, duration]) => [channel, inSeconds(duration)])),
    default_priority: Number(form.priority),
    required_skills: form.required,
    hours: form.hoursOn ? hoursOf(form) : null,
    overflow_after_seconds: form.overflowOn ? inSeconds(form.overflowAfter) : null,
    overflow_queue_id: form.overflowOn ? form.overflowQueue : null,
    relax_skills_after_seconds: form.relaxOn ? inSeconds(form.relaxAfter) : null,
    relaxed_skills: form.relaxOn ? form.relaxed : null,
    max_wait_seconds: form.maxWaitOn ? inSeconds(form.maxWait) : null,
  };
}

/** A wait of 1 s to 7 days: an amount and its unit. */
function Duration({ label, value, onChange }) {
  const t = useT();
  const id = useId();
  return (
    <div class="queue-duration">
      <label for={id}>{label}</label>
      <span>
        <input
          id={id}
          type="number"
          min={1}
          max={Math.floor(LONGEST / value.unit)}
          step={1}
          required
          value={value.amount}
          onInput={(e) => onChange({ ...value, amount: e.currentTarget.value })}
        />
        <select aria-label={t("admin.queues.unitOf", { what: label })} value={value.unit} onChange={(e) => onChange({ ...value, unit: Number(e.currentTarget.value) })}>
          {[...UNITS].reverse().map((unit) => (
            <option key={unit} value={unit}>
              {t(`admin.queues.unit.${unit}`)}
            </option>
          ))}
        </select>
      </span>
    </div>
  );
}

/**
 * @param {{queue: object|null, queues: object[], skills: string[], zone: string,
 *   onSave: (body: object) => Promise<string>, onCancel: () => void}} props
 *   queue: the queue to change, null for a new one; onSave resolves to the API's complaint, "" when saved.
 */
export function QueueForm({ queue, queues, skills, zone, onSave, onCancel }) {
  const t = useT();
  const others = queues.filter((q) => q.id !== queue?.id);
  const [form, setForm] = useState(() => {
    const initial = formOf(queue, zone);
    // An overflow queue deleted since: pick another (the API would refuse the old one).
    return others.some((q) => q.id === initial.overflowQueue) ? initial : { ...initial, overflowQueue: "" };
  });
  const [problem, setProblem] = useState("");
  const [busy, setBusy] = useState(false);
  const nameInput = useRef(null);
  useEffect(() => {
    if (queue) nameInput.current?.focus();
  }, []);
  const put = (name, value) => setForm((f) => ({ ...f, [name]: value }));
  const titleId = `queue-form-${queue?.id ?? "new"}`;

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    const complaint = await onSave({ name: form.name.trim(), settings: settingsOf(form) });
    setBusy(false);
    setProblem(complaint);
  }

  return (
    <form class="queue-form" aria-labelledby={titleId} onSubmit={submit}>
      <h4 id={titleId}>{queue ? t("admin.queues.change", { name: queue.name }) : t("admin.queues.new")}</h4>
      <div class="reports-form">
        <label>
          {t("admin.name")}
          <input ref={nameInput} value={form.name} onInput={(e) => put("name", e.currentTarget.value)} required minLength={1} maxLength={100} />
        </label>
        <Duration label={t("admin.queues.sla")} value={form.sla} onChange={(v) => put("sla", v)} />
        <label>
          {t("admin.queues.priority")}
          <input type="number" min={0} max={9} step={1} required value={form.priority} onInput={(e) => put("priority", e.currentTarget.value)} />
        </label>
      </div>
      <p class="reports-note">{t("admin.queues.slaHint")}</p>
      <fieldset>
        <legend>{t("admin.queues.slaByChannel")}</legend>
        {CHANNELS.map((channel) => {
          const name = t(`channel.${channel}`);
          const own = form.slaByChannel[channel];
          const setOwn = (value) => {
            const { [channel]: _, ...others } = form.slaByChannel;
            put("slaByChannel", value ? { ...others, [channel]: value } : others);
          };
          return (
            <div class="queue-rule" key={channel}>
              <label class="queue-check">
                <input type="checkbox" checked={!!own} onChange={(e) => setOwn(e.currentTarget.checked ? asDuration(channel === "email" || channel === "fax" ? 4 * 3600 : 60) : null)} />
                {t("admin.queues.ownTarget", { channel: name })}
              </label>
              {own && <Duration label={t("admin.queues.targetOf", { channel: name })} value={own} onChange={setOwn} />}
            </div>
          );
        })}
      </fieldset>

      <SkillLevels
        legend={t("admin.queues.required")}
        hint={t("admin.queues.requiredHint")}
        defined={skills}
        value={form.required}
        onChange={(v) => put("required", v)}
        levelLabel="admin.queues.minLevelOf"
        defaultLevel={1}
      />

      <fieldset>
        <legend>{t("admin.queues.hours")}</legend>
        <label class="queue-check">
          <input type="checkbox" checked={form.hoursOn} onChange={(e) => put("hoursOn", e.currentTarget.checked)} />
          {t("admin.queues.hoursOn")}
        </label>
        <p class="reports-note">{t(form.hoursOn ? "admin.queues.hoursHint" : "admin.queues.alwaysOpenHint")}</p>
        {form.hoursOn && <Hours form={form} put={put} />}
      </fieldset>

      <fieldset>
        <legend>{t("admin.queues.waiting")}</legend>
        <div class="queue-rule">
          <label class="queue-check">
            <input type="checkbox" checked={form.overflowOn} disabled={!others.length && !form.overflowOn}
              onChange={(e) => put("overflowOn", e.currentTarget.checked)} />
            {t("admin.queues.overflowOn")}
            {!others.length && <em> {t("admin.queues.noOtherQueue")}</em>}
          </label>
          {form.overflowOn && (
            <div class="reports-form">
              <Duration label={t("admin.queues.overflowAfter")} value={form.overflowAfter} onChange={(v) => put("overflowAfter", v)} />
              <label>
                {t("admin.queues.overflowTo")}
                <select value={form.overflowQueue} onChange={(e) => put("overflowQueue", e.currentTarget.value)} required>
                  <option value="">{t("admin.queues.choose")}</option>
                  {others.map((q) => (
                    <option key={q.id} value={q.id}>
                      {q.name}
                    </option>
                  ))}
                </select>
              </label>
            </div>
          )}
        </div>
        <div class="queue-rule">
          <label class="queue-check">
            <input type="checkbox" checked={form.relaxOn} onChange={(e) => put("relaxOn", e.currentTarget.checked)} />
            {t("admin.queues.relaxOn")}
          </label>
          {form.relaxOn && (
            <>
              <div class="reports-form">
                <Duration label={t("admin.queues.relaxAfter")} value={form.relaxAfter} onChange={(v) => put("relaxAfter", v)} />
              </div>
              <SkillLevels
                legend={t("admin.queues.relaxed")}
                hint={t("admin.queues.relaxedHint")}
                defined={skills}
                value={form.relaxed}
                onChange={(v) => put("relaxed", v)}
                levelLabel="admin.queues.relaxedLevelOf"
                defaultLevel={1}
              />
            </>
          )}
        </div>
        <div class="queue-rule">
          <label class="queue-check">
            <input type="checkbox" checked={form.maxWaitOn} onChange={(e) => put("maxWaitOn", e.currentTarget.checked)} />
            {t("admin.queues.maxWaitOn")}
          </label>
          {form.maxWaitOn && (
            <div class="reports-form">
              <Duration label={t("admin.queues.maxWait")} value={form.maxWait} onChange={(v) => put("maxWait", v)} />
            </div>
          )}
          <p class="reports-note">{t("admin.queues.maxWaitHint")}</p>
        </div>
      </fieldset>

      <div class="queue-form-actions">
        <button type="submit" class="button button-primary" disabled={busy}>
          {queue ? t("admin.queues.save") : t("admin.queues.create")}
        </button>
        {queue && (
          <button type="button" class="button" onClick={onCancel}>
            {t("admin.queues.cancel")}
          </button>
        )}
      </div>
      {problem && (
        <p class="reports-problem" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
