// A business's profile: its name and time zone (its reports' days), its business hours (those of
// every queue with none of its own) and its branding (the colour that marks its work in the inbox
// of agents who serve several businesses, and its logo).
import { useEffect, useState } from "preact/hooks";
import { namingFields, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { Hours, hoursForm, hoursOf } from "./BusinessHours.jsx";
import "./BusinessProfile.css";

const tenantPath = (id) => `/tenants/${encodeURIComponent(id)}`;

function formOf(tenant) {
  return {
    name: tenant.name,
    zone: tenant.timezone,
    hoursOn: tenant.business_hours != null,
    ...hoursForm(tenant.business_hours, tenant.timezone),
    color: tenant.branding.color,
    logo: tenant.branding.logo_url,
  };
}

export function BusinessProfile({ tenant, run, reload }) {
  const t = useT();
  const [form, setForm] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    run(() => request("GET", tenantPath(tenant.id)), (got) => setForm(formOf(got)));
  }, [tenant.id]);
  if (!form) return null;
  const put = (name, value) => {
    setSaved(false);
    setForm((f) => ({ ...f, [name]: value }));
  };
  const label = (field) => t(`admin.business.field.${field.split(".")[0]}`, null, field);
  async function save(event) {
    event.preventDefault();
    const body = {
      name: form.name.trim(),
      timezone: form.zone.trim(),
      business_hours: form.hoursOn ? hoursOf({ ...form, timezone: form.zone }) : null,
      branding: { color: form.color, logo_url: form.logo.trim() },
    };
    setSaved(await run(namingFields(() => request("PATCH", tenantPath(tenant.id), { body }), label), async (got) => {
      setForm(formOf(got));
      await reload(); // the page's business picker and headings say its new name
    }));
  }
  return (
    <section class="admin-section" aria-labelledby="admin-business">
      <h3 id="admin-business">{t("admin.business.title", { name: tenant.name || form.name })}</h3>
      <form class="business-form" onSubmit={save} aria-label={t("admin.business.title", { name: tenant.name || form.name })}>
        <div class="reports-form">
          <label>
            {t("admin.name")}
            <input value={form.name} onInput={(e) => put("name", e.currentTarget.value)} required maxLength={200} />
          </label>
          <label>
            {t("admin.timezone")}
            <input value={form.zone} onInput={(e) => put("zone", e.currentTarget.value)} list="queue-zones" required placeholder="Europe/Berlin" />
          </label>
        </div>
        <p class="reports-note">{t("admin.business.zoneHint")}</p>
        <fieldset>
          <legend>{t("admin.business.hours")}</legend>
          <label class="queue-check">
            <input type="checkbox" checked={form.hoursOn} onChange={(e) => put("hoursOn", e.currentTarget.checked)} />
            {t("admin.business.hoursOn")}
          </label>
          <p class="reports-note">{t(form.hoursOn ? "admin.business.hoursHint" : "admin.business.alwaysOpen")}</p>
          {form.hoursOn && <Hours form={form} put={put} withZone={false} />}
        </fieldset>
        <fieldset>
          <legend>{t("admin.business.branding")}</legend>
          <div class="reports-form">
            <label class="queue-check">
              <input type="checkbox" checked={!!form.color} onChange={(e) => put("color", e.currentTarget.checked ? "#1f6feb" : "")} />
              {t("admin.business.colorOn")}
            </label>
            {form.color && (
              <label>
                {t("admin.business.color")}
                <input type="color" value={form.color} onInput={(e) => put("color", e.currentTarget.value)} />
              </label>
            )}
            <label class="business-logo">
              {t("admin.business.logo")}
              <input type="url" value={form.logo} onInput={(e) => put("logo", e.currentTarget.value)} pattern="https://\S+" maxLength={500} placeholder="https://…/logo.png" />
            </label>
            {form.logo.startsWith("https://") && <img class="business-logo-preview" src={form.logo} alt={t("admin.business.logoAlt")} />}
          </div>
          <p class="reports-note">{t("admin.business.brandingHint")}</p>
        </fieldset>
        <div>
          <button type="submit" class="button button-primary">
            {t("admin.business.save")}
          </button>
          {saved && (
            <span role="status" class="reports-note">
              {" "}
              {t("admin.business.saved")}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}
