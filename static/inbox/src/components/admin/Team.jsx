// A business's team: add agents (one agent may serve several businesses: the same e-mail), set
// their roles, the skills (with levels) routing matches against queues, and how much work they take
// at once per channel; remove them.
import { useCallback, useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import { queuesApi } from "./Queues.jsx";
import { SkillLevels, skillList } from "./SkillLevels.jsx";

const ROLES = ["agent", "supervisor", "tenant_admin"];
// The channels routing counts work on, and what an agent takes at once when nobody said (gateway/tenancy.py).
const CAPACITY = { voice: 1, chat: 3, email: 5, fax: 5, callback: 1 };
const CHANNELS = Object.keys(CAPACITY);
const capacityOf = (member, channel) => member.capacity?.[channel] ?? CAPACITY[channel];

export function Team({ tenant, run }) {
  const t = useT();
  const [members, setMembers] = useState(null);
  const [skills, setSkills] = useState([]);
  const [editing, setEditing] = useState(null); // user_id whose skills and capacity are open
  const [form, setForm] = useState({ email: "", name: "", password: "", role: "agent" });
  const load = useCallback(async () => {
    await run(
      () => Promise.all([api.members(tenant.id), queuesApi.skills(tenant.id)]),
      ([got, defined]) => {
        setMembers(got.items ?? got);
        setSkills(defined.items.map((s) => s.name));
      },
    );
  }, [tenant.id]);
  useEffect(() => {
    load();
  }, [load]);
  const set = (name) => (e) => setForm((f) => ({ ...f, [name]: e.currentTarget.value }));
  async function add(event) {
    event.preventDefault();
    const body = { email: form.email.trim(), name: form.name.trim(), role: form.role, ...(form.password && { password: form.password }) };
    if (await run(() => api.addMember(tenant.id, body), load)) setForm({ email: "", name: "", password: "", role: "agent" });
  }
  return (
    <section class="admin-section" aria-labelledby="admin-team">
      <h3 id="admin-team">{t("admin.team", { name: tenant.name })}</h3>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.name")}</th>
              <th scope="col">{t("admin.email")}</th>
              <th scope="col">{t("admin.role")}</th>
              <th scope="col">{t("admin.team.skills")}</th>
              <th scope="col">{t("admin.team.capacity")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {(members ?? []).map((member) => [
              <tr key={member.user_id}>
                <th scope="row">{member.name || member.email}</th>
                <td>{member.email}</td>
                <td>
                  <select
                    aria-label={t("admin.roleOf", { name: member.name || member.email })}
                    value={member.role}
                    onChange={(e) => run(() => api.updateMember(tenant.id, member.user_id, { role: e.currentTarget.value }), load)}
                  >
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {t(`admin.role.${role}`)}
                      </option>
                    ))}
                  </select>
                </td>
                <td class="queue-wrap">{skillList(member.skills)}</td>
                <td class="queue-wrap">{CHANNELS.map((ch) => `${t(`channel.${ch}`)} ${capacityOf(member, ch)}`).join(" · ")}</td>
                <td>
                  <button
                    type="button"
                    class="button button-small"
                    aria-expanded={editing === member.user_id}
                    onClick={() => setEditing(editing === member.user_id ? null : member.user_id)}
                  >
                    {t("admin.team.edit", { name: member.name || member.email })}
                  </button>{" "}
                  <ConfirmButton
                    label={t("admin.remove", { name: member.name || member.email })}
                    confirmLabel={t("admin.confirmRemove", { name: member.name || member.email, business: tenant.name })}
                    onConfirm={() => run(() => api.removeMember(tenant.id, member.user_id), load)}
                  />
                </td>
              </tr>,
              editing === member.user_id && (
                <tr key={`${member.user_id}-edit`} class="team-editor">
                  <td colSpan={6}>
                    <SkillsAndCapacity
                      member={member}
                      skills={skills}
                      onSave={(changes) =>
                        run(() => api.updateMember(tenant.id, member.user_id, changes), async () => {
                          setEditing(null);
                          await load();
                        })
                      }
                      onCancel={() => setEditing(null)}
                    />
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      </div>
      <form class="reports-form" onSubmit={add} aria-label={t("admin.addMember")}>
        <label>
          {t("admin.email")}
          <input type="email" value={form.email} onInput={set("email")} required />
        </label>
        <label>
          {t("admin.name")}
          <input value={form.name} onInput={set("name")} maxLength={200} />
        </label>
        <label>
          {t("admin.password")}
          <input type="password" value={form.password} onInput={set("password")} autocomplete="new-password" placeholder={t("admin.passwordHint")} />
        </label>
        <label>
          {t("admin.role")}
          <select value={form.role} onChange={set("role")}>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {t(`admin.role.${role}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button button-primary">
          {t("admin.add")}
        </button>
      </form>
    </section>
  );
}

/** One member's skills with levels and capacity per channel (0-100; 0 = none of that work). */
function SkillsAndCapacity({ member, skills, onSave, onCancel }) {
  const t = useT();
  const name = member.name || member.email;
  const [own, setOwn] = useState(member.skills);
  const [capacity, setCapacity] = useState(() => Object.fromEntries(CHANNELS.map((ch) => [ch, String(capacityOf(member, ch))])));
  function save(event) {
    event.preventDefault();
    const numbers = Object.fromEntries(CHANNELS.map((ch) => [ch, Number(capacity[ch])]));
    onSave({ skills: own, capacity: { ...member.capacity, ...numbers } });
  }
  return (
    <form onSubmit={save} aria-label={t("admin.team.edit", { name })}>
      <SkillLevels
        legend={t("admin.team.skillsOf", { name })}
        hint={t("admin.team.skillsHint")}
        defined={skills}
        value={own}
        onChange={setOwn}
        levelLabel="admin.team.levelOf"
        defaultLevel={5}
      />
      <fieldset class="team-capacity">
        <legend>{t("admin.team.capacityOf", { name })}</legend>
        {CHANNELS.map((ch) => (
          <label key={ch}>
            {t(`channel.${ch}`)}
            <input
              type="number"
              min={0}
              max={100}
              step={1}
              required
              value={capacity[ch]}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setCapacity((c) => ({ ...c, [ch]: value }));
              }}
            />
          </label>
        ))}
        <p class="reports-note">{t("admin.team.capacityHint")}</p>
      </fieldset>
      <div class="team-editor-actions">
        <button type="submit" class="button button-primary">
          {t("admin.team.save")}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          {t("admin.team.cancel")}
        </button>
      </div>
    </form>
  );
}
