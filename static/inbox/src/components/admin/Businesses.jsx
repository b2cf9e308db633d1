// The center's businesses (operator only): open one (its widget key comes with it), suspend or
// reactivate it. A suspended business's staff are signed out of it and its widget stops.
import { useState } from "preact/hooks";
import { api } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";

export function Businesses({ tenants, run, reload, onPick }) {
  const t = useT();
  const [form, setForm] = useState({ name: "", slug: "", timezone: "UTC", origins: "" });
  const set = (name) => (e) => setForm((f) => ({ ...f, [name]: e.currentTarget.value }));
  async function create(event) {
    event.preventDefault();
    const body = { name: form.name.trim(), slug: form.slug.trim(), timezone: form.timezone.trim() || "UTC",
      allowed_origins: form.origins.split(/[\s,]+/).filter(Boolean) };
    const done = await run(() => api.createTenant(body), reload);
    if (done) setForm({ name: "", slug: "", timezone: "UTC", origins: "" });
  }
  const setStatus = (tenant, status) => run(() => api.updateTenant(tenant.id, { status }), reload);
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
                  {tenant.status === "active" ? (
                    <ConfirmButton
                      label={t("admin.suspend", { name: tenant.name })}
                      confirmLabel={t("admin.confirmSuspend", { name: tenant.name })}
                      onConfirm={() => setStatus(tenant, "suspended")}
                    />
                  ) : (
                    <button type="button" class="button button-small" onClick={() => setStatus(tenant, "active")}>
                      {t("admin.reactivate", { name: tenant.name })}
                    </button>
                  )}
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
