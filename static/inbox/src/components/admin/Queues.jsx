// A business's routing setup: the skills it routes by (agents get theirs in Team) and its queues,
// each with its service level target, priority, required skills, business hours and what happens
// to work that waits long. A queue with work still in it cannot be deleted: the API says so.
import { useCallback, useEffect, useState } from "preact/hooks";
import { describeError, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { DAYS } from "./BusinessHours.jsx";
import { ConfirmButton } from "./ConfirmButton.jsx";
import { asDuration, QueueForm } from "./QueueForm.jsx";
import { skillList } from "./SkillLevels.jsx";
import "./Queues.css";

const enc = encodeURIComponent;
const base = (tenantId) => `/tenants/${enc(tenantId)}`;

export const queuesApi = {
  tenant: (tenantId) => request("GET", base(tenantId)),
  members: (tenantId) => request("GET", `${base(tenantId)}/members`),
  skills: (tenantId) => request("GET", `${base(tenantId)}/skills`),
  addSkill: (tenantId, body) => request("POST", `${base(tenantId)}/skills`, { body }),
  deleteSkill: (tenantId, skillId) => request("DELETE", `${base(tenantId)}/skills/${enc(skillId)}`),
  queues: (tenantId) => request("GET", `${base(tenantId)}/queues`),
  createQueue: (tenantId, body) => request("POST", `${base(tenantId)}/queues`, { body }),
  updateQueue: (tenantId, queueId, body) => request("PATCH", `${base(tenantId)}/queues/${enc(queueId)}`, { body }),
  deleteQueue: (tenantId, queueId) => request("DELETE", `${base(tenantId)}/queues/${enc(queueId)}`),
};

export function Queues({ tenant, run }) {
  const t = useT();
  const [skills, setSkills] = useState(null);
  const [queues, setQueues] = useState(null);
  const [members, setMembers] = useState([]);
  const [zone, setZone] = useState(tenant.timezone || null); // where new business hours start
  const [editing, setEditing] = useState(null); // the queue being changed; none: the form makes a new one
  const [made, setMade] = useState(0); // a new, empty form after each queue made
  const load = useCallback(
    () =>
      run(
        () => Promise.all([queuesApi.skills(tenant.id), queuesApi.queues(tenant.id), queuesApi.members(tenant.id)]),
        ([s, q, m]) => {
          setSkills(s.items);
          setQueues(q.items);
          setMembers(m.items);
        },
      ),
    [tenant.id],
  );
  useEffect(() => {
    load();
    queuesApi.tenant(tenant.id).then(
      (got) => setZone(got?.timezone || "UTC"),
      () => setZone("UTC"),
    );
  }, [load]);

  async function saveQueue(body) {
    const save = editing ? () => queuesApi.updateQueue(tenant.id, editing.id, body) : () => queuesApi.createQueue(tenant.id, body);
    try {
      await save();
    } catch (err) {
      return describeError(err, t);
    }
    setEditing(null);
    setMade((n) => n + 1);
    await load();
    return "";
  }

  function deleteQueue(queue) {
    return run(
      () => queuesApi.deleteQueue(tenant.id, queue.id),
      () => {
        if (editing?.id === queue.id) setEditing(null);
        return load();
      },
    );
  }

  const names = (skills ?? []).map((s) => s.name);
  return (
    <>
      <Skills tenant={tenant} run={run} skills={skills} queues={queues ?? []} members={members} reload={load} />
      <section class="admin-section" aria-labelledby="admin-queues">
        <h3 id="admin-queues">{t("admin.queues.title", { name: tenant.name })}</h3>
        <div class="reports-table-wrap">
          <table class="reports-table admin-table queue-table">
            <thead>
              <tr>
                <th scope="col">{t("admin.name")}</th>
                <th scope="col">{t("admin.queues.slaShort")}</th>
                <th scope="col">{t("admin.queues.priorityShort")}</th>
                <th scope="col">{t("admin.queues.required")}</th>
                <th scope="col">{t("admin.queues.hours")}</th>
                <th scope="col">{t("admin.queues.waiting")}</th>
                <th scope="col">{t("admin.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {(queues ?? []).map((queue) => (
                <tr key={queue.id} class={editing?.id === queue.id ? "is-editing" : ""}>
                  <th scope="row">{queue.name}</th>
                  <td>{duration(t, queue.settings.sla_seconds)}</td>
                  <td>{queue.settings.default_priority}</td>
                  <td>{skillList(queue.settings.required_skills, true)}</td>
                  <td>{hoursSummary(t, queue.settings.hours)}</td>
                  <td>
                    <WaitRules settings={queue.settings} queues={queues} />
                  </td>
                  <td class="queue-actions">
                    <button type="button" class="button button-small" onClick={() => setEditing(queue)}>
                      {t("admin.queues.edit", { name: queue.name })}
                    </button>{" "}
                    <ConfirmButton
                      label={t("admin.queues.delete", { name: queue.name })}
                      confirmLabel={t("admin.queues.really", { name: queue.name })}
                      onConfirm={() => deleteQueue(queue)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {queues?.length === 0 && <p class="reports-note">{t("admin.queues.none")}</p>}
        </div>
        {skills && queues && zone && (
          <QueueForm
            key={editing ? editing.id : `new-${made}`}
            queue={editing}
            queues={queues}
            skills={names}
            zone={zone}
            onSave={saveQueue}
            onCancel={() => setEditing(null)}
          />
        )}
      </section>
    </>
  );
}

/** The skills the business routes by, who uses each, and a form to define one. */
function Skills({ tenant, run, skills, queues, members, reload }) {
  const t = useT();
  const [form, setForm] = useState({ name: "", description: "" });
  const set = (name) => (e) => setForm((f) => ({ ...f, [name]: e.currentTarget.value }));
  async function add(event) {
    event.preventDefault();
    const body = { name: form.name.trim(), description: form.description.trim() };
    if (await run(() => queuesApi.addSkill(tenant.id, body), reload)) setForm({ name: "", description: "" });
  }
  function usedBy(name) {
    const inQueues = queues.filter((q) => name in q.settings.required_skills || name in (q.settings.relaxed_skills ?? {})).map((q) => q.name);
    const people = members.filter((m) => name in m.skills).map((m) => m.name || m.email);
    const parts = [];
    if (inQueues.length) parts.push(t("admin.skills.inQueues", { names: inQueues.join(", ") }));
    if (people.length) parts.push(t("admin.skills.inTeam", { names: people.join(", ") }));
    return parts.length ? parts.join("; ") : t("admin.skills.unused");
  }
  return (
    <section class="admin-section" aria-labelledby="admin-skills">
      <h3 id="admin-skills">{t("admin.skills.title", { name: tenant.name })}</h3>
      <p class="reports-note">{t("admin.skills.hint")}</p>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.skills.name")}</th>
              <th scope="col">{t("admin.skills.description")}</th>
              <th scope="col">{t("admin.skills.usedBy")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {(skills ?? []).map((skill) => (
              <tr key={skill.id}>
                <th scope="row">{skill.name}</th>
                <td class="queue-wrap">{skill.description}</td>
                <td class="queue-wrap">{usedBy(skill.name)}</td>
                <td>
                  <ConfirmButton
                    label={t("admin.queues.delete", { name: skill.name })}
                    confirmLabel={t("admin.queues.really", { name: skill.name })}
                    onConfirm={() => run(() => queuesApi.deleteSkill(tenant.id, skill.id), reload)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {skills?.length === 0 && <p class="reports-note">{t("admin.skills.noSkills")}</p>}
      </div>
      <form class="reports-form" onSubmit={add} aria-label={t("admin.skills.new")}>
        <label>
          {t("admin.skills.name")}
          <input
            value={form.name}
            onInput={set("name")}
            required
            maxLength={64}
            pattern="[a-z0-9][a-z0-9_.\-]{0,63}"
            title={t("admin.skills.nameHint")}
          />
        </label>
        <label>
          {t("admin.skills.description")}
          <input value={form.description} onInput={set("description")} maxLength={500} />
        </label>
        <button type="submit" class="button button-primary">
          {t("admin.skills.add")}
        </button>
      </form>
      <p class="reports-note">{t("admin.skills.nameHint")}</p>
    </section>
  );
}

/** 90 → "90 s", 120 → "2 min". */
function duration(t, seconds) {
  const { amount, unit } = asDuration(seconds);
  return t(`admin.queues.short.${unit}`, { n: amount });
}

/** "Mon–Fri 09:00–17:00; Sat 10:00–14:00 (Europe/Berlin); 2 closed dates", days alike grouped. */
function hoursSummary(t, hours) {
  if (!hours || (!Object.keys(hours.weekly).length && !hours.closed_dates.length)) return t("admin.queues.alwaysOpen");
  const text = (day) => (hours.weekly[day] ?? []).map(([open, close]) => `${open}–${close}`).join(", ");
  const groups = [];
  for (const day of DAYS) {
    const last = groups[groups.length - 1];
    if (last && text(day) === text(last.to) && DAYS.indexOf(last.to) === DAYS.indexOf(day) - 1) last.to = day;
    else groups.push({ from: day, to: day });
  }
  const open = groups
    .filter((g) => text(g.from))
    .map((g) => `${t(`admin.dayShort.${g.from}`)}${g.to !== g.from ? "–" + t(`admin.dayShort.${g.to}`) : ""} ${text(g.from)}`);
  const parts = [open.length ? `${open.join("; ")} (${hours.timezone})` : t("admin.queues.everyDay", { zone: hours.timezone })];
  if (hours.closed_dates.length) parts.push(t("admin.queues.closedCount", { count: hours.closed_dates.length }));
  return parts.join("; ");
}

function WaitRules({ settings, queues }) {
  const t = useT();
  const rules = [];
  if (settings.overflow_queue_id) {
    const to = queues.find((q) => q.id === settings.overflow_queue_id)?.name ?? t("admin.queues.goneQueue");
    rules.push(t("admin.queues.overflowSummary", { after: duration(t, settings.overflow_after_seconds), queue: to }));
  }
  if (settings.relaxed_skills) {
    const skills = Object.keys(settings.relaxed_skills).length ? skillList(settings.relaxed_skills, true) : t("admin.queues.anyone");
    rules.push(t("admin.queues.relaxSummary", { after: duration(t, settings.relax_skills_after_seconds), skills }));
  }
  if (settings.max_wait_seconds) rules.push(t("admin.queues.maxWaitSummary", { after: duration(t, settings.max_wait_seconds) }));
  if (!rules.length) return "—";
  return (
    <ul class="queue-rules">
      {rules.map((rule) => (
        <li key={rule}>{rule}</li>
      ))}
    </ul>
  );
}
