// Putting the widget on the business's site: the one tag to paste (with the business's widget key),
// the sites (origins) the widget may run on, which the gateway enforces when a visitor connects,
// and the secret the site signs its signed-in users' ids with (WECC.setUser), shown once when made.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { request } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";

const MAX_ORIGINS = 50; // as PATCH /tenants/{id} allows

export function WidgetSite({ tenant, run }) {
  const t = useT();
  const [info, setInfo] = useState(null); // the tenant: widget_key, allowed_origins
  const [origin, setOrigin] = useState("");
  const [copied, setCopied] = useState(false);
  const [secret, setSecret] = useState(null); // the new secret, shown once when made
  const snippetRef = useRef(null);
  const path = `/tenants/${encodeURIComponent(tenant.id)}`;

  const load = useCallback(() => run(() => request("GET", path), setInfo), [path]);
  useEffect(() => {
    load();
  }, [load]);

  const setOrigins = (allowed_origins, after) => run(() => request("PATCH", path, { body: { allowed_origins } }), (got) => {
    setInfo(got);
    after?.();
  });

  function add(event) {
    event.preventDefault();
    const value = origin.trim();
    setOrigins([...info.allowed_origins.filter((o) => o !== value), value], () => setOrigin(""));
  }

  function remove(gone) {
    return setOrigins(info.allowed_origins.filter((o) => o !== gone));
  }

  async function copy() {
    snippetRef.current.select();
    try {
      await navigator.clipboard.writeText(snippetRef.current.value);
      setCopied(true);
    } catch {
      setCopied(false); // the text stays selected, for Ctrl+C
    }
  }

  function newSecret() {
    return run(() => request("POST", `${path}/widget-secret`), (got) => setSecret(got.widget_secret));
  }

  if (!info) return null;
  const snippet = `<script src="${location.origin}/widget.js" data-tenant="${info.widget_key}" async></script>`;
  return (
    <div class="widget-site">
      <section aria-labelledby="admin-widget-snippet">
        <h4 id="admin-widget-snippet">{t("admin.widget.snippet")}</h4>
        <label class="widget-site-snippet">
          {t("admin.widget.snippetHint")}
          <textarea ref={snippetRef} readOnly rows={2} value={snippet} onFocus={(e) => e.currentTarget.select()} />
        </label>
        <button type="button" class="button button-small" onClick={copy}>
          {t("admin.widget.copy")}
        </button>
        <span role="status" class="widget-setup-state">
          {copied ? t("admin.widget.copied") : ""}
        </span>
      </section>

      <section aria-labelledby="admin-widget-origins">
        <h4 id="admin-widget-origins">{t("admin.widget.origins")}</h4>
        <p class="muted">{t("admin.widget.originsHint")}</p>
        {info.allowed_origins.length === 0 ? (
          <p class="reports-problem">{t("admin.widget.noOrigins")}</p>
        ) : (
          <div class="reports-table-wrap">
            <table class="reports-table admin-table">
              <thead>
                <tr>
                  <th scope="col">{t("admin.widget.origin")}</th>
                  <th scope="col">{t("admin.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {info.allowed_origins.map((o) => (
                  <tr key={o}>
                    <th scope="row">{o}</th>
                    <td>
                      <ConfirmButton
                        label={t("admin.widget.removeOrigin", { origin: o })}
                        confirmLabel={t("admin.widget.confirmRemoveOrigin", { origin: o })}
                        onConfirm={() => remove(o)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <form class="reports-form" onSubmit={add} aria-label={t("admin.widget.addOrigin")}>
          <label>
            {t("admin.widget.newOrigin")}
            <input type="url" value={origin} onInput={(e) => setOrigin(e.currentTarget.value)} required placeholder="https://shop.example" />
          </label>
          <button type="submit" class="button button-primary" disabled={info.allowed_origins.length >= MAX_ORIGINS}>
            {t("admin.widget.addOrigin")}
          </button>
        </form>
      </section>

      <section aria-labelledby="admin-widget-secret">
        <h4 id="admin-widget-secret">{t("admin.widget.secret")}</h4>
        <p class="muted">{t("admin.widget.secretHint")}</p>
        {secret && (
          <label class="widget-site-snippet">
            {t("admin.widget.secretShown")}
            <input readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
          </label>
        )}
        <ConfirmButton label={t("admin.widget.newSecret")} confirmLabel={t("admin.widget.newSecretConfirm")} onConfirm={newSecret} />
      </section>
    </div>
  );
}
