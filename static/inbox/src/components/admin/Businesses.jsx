// The center's businesses (operator only): open one (its widget key comes with it, and its widget
// secret is shown once), rent it seats, suspend or reactivate it. A suspended business's staff are
// signed out of it and its widget stops. Its hours and branding are in its Business section.
import { useState } from "preact/hooks";
import { api } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import "./Businesses.css";

export function Businesses({ tenants, run, reload, onPick }) {
  const t = useT();
  const blank = { name: "", slug: "", timezone: "UTC", origins: "", seats: "10", color: "#1f6feb" };
  const [form, setForm] = useState(blank);
  const [secret, setSecret] = useState(null); // {name, widget_secret} of the business just opened: shown once
  const set = (name) => (e) => setForm((f) => ({ ...f, [name]: e.currentTarget.value }));
  async function create(event) {
    event.preventDefault();
    const body = { name: form.name.trim(), slug: form.slug.trim(), timezone: form.timezone.trim() || "UTC",
      allowed_origins: form.origins.split(/[\s,]+/).filter(Boolean), seat_limit: Number(form.seats), branding: { color: form.color } };
    const done = await run(() => api.createTenant(body), async (made) => {
      setSecret({ name: made.name, widget_secret: made.widget_secret });
      await reload();
    });
    if (done) setForm(blank);
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
              <th scope="col">{t("admin.seatLimit")}</th>
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
                <td>
                  <input
                    type="number"
                    min={0}
                    max={100000}
                    class="admin-seats"
                    aria-label={t("admin.seatLimitOf", { name: tenant.name })}
                    defaultValue={tenant.seat_limit}
                    key={tenant.seat_limit}
                    onChange={async (e) => {
                      const field = e.currentTarget;
                      // Refused (fewer than the seats in use): the field shows what still holds.
                      if (!(await run(() => api.updateTenant(tenant.id, { seat_limit: Number(field.value) }), reload))) field.value = tenant.seat_limit;
                    }}
                  />
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
      {secret && (
        <div class="admin-secret" role="status">
          <p>{t("admin.secretOnce", { name: secret.name })}</p>
          <code>{secret.widget_secret}</code>{" "}
          <button type="button" class="button button-small" onClick={() => setSecret(null)}>
            {t("admin.secretStored")}
          </button>
        </div>
      )}
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
        <label>
          {t("admin.seatLimit")}
          <input type="number" min={0} max={100000} value={form.seats} onInput={set("seats")} required />
        </label>
        <label>
          {t("admin.brandColor")}
          <input type="color" value={form.color} onInput={set("color")} />
        </label>
        <button type="submit" class="button button-primary">
          {t("admin.create")}
        </button>
      </form>
    </section>
  );
}
