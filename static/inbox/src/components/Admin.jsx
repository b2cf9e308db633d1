// Administration in the inbox. The center's operator runs the businesses it serves: opens one (its
// widget key comes with it), suspends or reactivates it (a suspended business's staff are signed
// out of it and its widget stops), and staffs it. A business's own admin staffs their business:
// adds agents (one agent may serve several businesses: the same e-mail), sets their roles, removes
// them. Everything here goes through the same REST API and its checks as any other client.
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, describeError, seatsCsvUrl } from "../api.js";
import { useT } from "../i18n.js";

const ROLES = ["agent", "supervisor", "tenant_admin"];

export function AdminPage({ user, memberships, onClose }) {
  const t = useT();
  const administered = memberships.filter((m) => m.role === "tenant_admin").map((m) => ({ id: m.tenant_id, name: m.tenant_name }));
  const [tenants, setTenants] = useState(user.is_operator ? [] : administered.map((x) => ({ ...x, status: "active" })));
  const [tenantId, setTenantId] = useState(administered[0]?.id ?? "");
  const [problem, setProblem] = useState("");

  const loadTenants = useCallback(async () => {
    if (!user.is_operator) return;
    try {
      const got = await api.tenants();
      setTenants(got.items ?? got);
      setTenantId((now) => now || (got.items ?? got)[0]?.id || "");
    } catch (err) {
      setProblem(describeError(err, t));
    }
  }, [user.is_operator, t]);
  useEffect(() => {
    loadTenants();
  }, [loadTenants]);

  async function run(action, after) {
    setProblem("");
    try {
      const result = await action();
      await after?.(result);
      return true;
    } catch (err) {
      setProblem(describeError(err, t));
      return false;
    }
  }

  return (
    <main class="reports admin" aria-labelledby="admin-title">
      <div class="reports-head">
        <h2 id="admin-title">{t("admin.title")}</h2>
        <button type="button" class="button button-small" onClick={onClose}>
          {t("reports.back")}
        </button>
      </div>
      {problem && (
        <p class="reports-problem" role="alert">
          {problem}
        </p>
      )}
      {user.is_operator && <Businesses tenants={tenants} run={run} reload={loadTenants} onPick={setTenantId} />}
      {user.is_operator && <SeatUsage run={run} />}
      {tenantId && (
        <Team
          key={tenantId}
          tenant={tenants.find((x) => x.id === tenantId) ?? { id: tenantId, name: "" }}
          tenants={tenants}
          onPick={setTenantId}
          run={run}
        />
      )}
    </main>
  );
}

function Businesses({ tenants, run, reload, onPick }) {
  const t = useT();
  const [form, setForm] = useState({ name: "", slug: "", timezone: "UTC", origins: "" });
  const set = (name) => (e) => setForm((f) => ({ ...f, [name]: e.currentTarget.value }));
  async function create(event) {
    event.preventDefault();
    const body = { name: form.name.trim(), slug: form.slug.trim(), timezone: form.timezone.trim() || "UTC",
      allowed_origins: form.origins.split(/[\s,]+/).filter(Boolean) };
    const done = await run(() => api.createTenant(body), async (created) => {
      await reload();
      onPick(created.id);
    });
    if (done) setForm({ name: "", slug: "", timezone: "UTC", origins: "" });
  }
  return (
    <section class="admin-section" aria-labelledby="admin-businesses">
      <h3 id="admin-businesses">{t("admin.businesses")}</h3>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.name")}</th>
              <th scope="col">{t("admin.slug")}</th>
              <th scope="col">{t("admin.timezone")}</th>
              <th scope="col">{t("admin.widgetKey")}</th>
              <th scope="col">{t("admin.status")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((tenant) => (
              <tr key={tenant.id} class={tenant.status === "suspended" ? "is-suspended" : ""}>
                <th scope="row">
                  <button type="button" class="link-button" onClick={() => onPick(tenant.id)}>
                    {tenant.name}
                  </button>
                </th>
                <td>{tenant.slug}</td>
                <td>{tenant.timezone}</td>
                <td>
                  <code>{tenant.widget_key}</code>
                </td>
                <td>{t(`admin.status.${tenant.status}`)}</td>
                <td>
                  <button
                    type="button"
                    class="button button-small"
                    onClick={() => run(() => api.updateTenant(tenant.id, { status: tenant.status === "active" ? "suspended" : "active" }), reload)}
                  >
                    {t(tenant.status === "active" ? "admin.suspend" : "admin.reactivate", { name: tenant.name })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="reports-form" onSubmit={create} aria-label={t("admin.newBusiness")}>
        <label>
          {t("admin.name")}
          <input value={form.name} onInput={set("name")} required maxLength={200} />
        </label>
        <label>
          {t("admin.slug")}
          <input value={form.slug} onInput={set("slug")} required pattern="[a-z0-9][a-z0-9-]{1,62}" />
        </label>
        <label>
          {t("admin.timezone")}
          <input value={form.timezone} onInput={set("timezone")} placeholder="Europe/Berlin" />
        </label>
        <label>
          {t("admin.origins")}
          <input value={form.origins} onInput={set("origins")} placeholder="https://shop.example" />
        </label>
        <button type="submit" class="button button-primary">
          {t("admin.create")}
        </button>
      </form>
    </section>
  );
}

function Team({ tenant, tenants, onPick, run }) {
  const t = useT();
  const [members, setMembers] = useState(null);
  const [form, setForm] = useState({ email: "", name: "", password: "", role: "agent" });
  const load = useCallback(async () => {
    await run(() => api.members(tenant.id), (got) => setMembers(got.items ?? got));
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
      <div class="reports-tabs">
        <h3 id="admin-team">{t("admin.team", { name: tenant.name })}</h3>
        {tenants.length > 1 && (
          <label>
            {t("reports.tenant")}
            <select value={tenant.id} onChange={(e) => onPick(e.currentTarget.value)}>
              {tenants.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div class="reports-table-wrap">
        <table class="reports-table admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.name")}</th>
              <th scope="col">{t("admin.email")}</th>
              <th scope="col">{t("admin.role")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {(members ?? []).map((member) => (
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
                <td>
                  <button type="button" class="button button-small" onClick={() => run(() => api.removeMember(tenant.id, member.user_id), load)}>
                    {t("admin.remove", { name: member.name || member.email })}
                  </button>
                </td>
              </tr>
            ))}
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

/** What each business used of the center's seats, for billing: per business and agent. */
function SeatUsage({ run }) {
  const t = useT();
  const [range, setRange] = useState({ from: "", to: "" });
  const [report, setReport] = useState(null);
  const asked = Object.fromEntries(Object.entries(range).filter(([, value]) => value));
  async function show(event) {
    event?.preventDefault();
    await run(() => api.seats(asked), (got) => {
      setReport(got);
      setRange({ from: got.start, to: got.end });
    });
  }
  useEffect(() => {
    show();
  }, []);
  const set = (name) => (e) => setRange((r) => ({ ...r, [name]: e.currentTarget.value }));
  const hours = (seconds) => `${Math.floor(seconds / 3600)}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}`;
  return (
    <section class="admin-section" aria-labelledby="admin-seats">
      <h3 id="admin-seats">{t("admin.seats")}</h3>
      <form class="reports-form" onSubmit={show}>
        <label>
          {t("reports.from")}
          <input type="date" value={range.from} onInput={set("from")} />
        </label>
        <label>
          {t("reports.to")}
          <input type="date" value={range.to} onInput={set("to")} />
        </label>
        <button type="submit" class="button button-primary">
          {t("reports.show")}
        </button>
        <a class="button" href={seatsCsvUrl(asked)} download>
          {t("reports.csv")}
        </a>
      </form>
      {report && (
        <div class="reports-table-wrap">
          <table class="reports-table">
            <thead>
              <tr>
                <th scope="col">{t("reports.tenant")}</th>
                <th scope="col">{t("reports.by.agent")}</th>
                <th scope="col">{t("admin.loggedIn")} (h:mm)</th>
                <th scope="col">{t("admin.working")} (h:mm)</th>
                <th scope="col">{t("reports.figure.handled")}</th>
              </tr>
            </thead>
            <tbody>
              {report.rows.map((row) => (
                <tr key={`${row.tenant_id} ${row.agent_id}`}>
                  <th scope="row">{row.tenant}</th>
                  <td>{row.agent}</td>
                  <td>{hours(row.logged_in_seconds)}</td>
                  <td>{hours(row.work_seconds)}</td>
                  <td>{row.handled}</td>
                </tr>
              ))}
              {report.rows.length === 0 && (
                <tr>
                  <td colSpan={5}>{t("admin.noSeats")}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
