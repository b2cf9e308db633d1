// The center's links to the outside, for its operator: the SIP trunks as the gateway checks them
// (registered, answering OPTIONS, or not checkable) and every business's mailboxes. Read again
// every 30 s while open: the checks themselves run each minute on the gateway.
import { useEffect, useState } from "preact/hooks";
import { request } from "../../api.js";
import { useT } from "../../i18n.js";
import "./ChannelHealth.css";

const REFRESH_MS = 30_000;
const TONE = { ok: "ok", connected: "ok", failing: "bad", error: "bad" };

export function ChannelHealth({ run }) {
  const t = useT();
  const [health, setHealth] = useState(null);
  useEffect(() => {
    const load = () => run(() => request("GET", "/channels/health"), setHealth);
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  if (!health) return null;
  const when = (iso) => (iso ? new Date(iso).toLocaleString(t.lang) : t("admin.health.never"));
  const state = (value) => <span class={`admin-health admin-health-${TONE[value] ?? "none"}`}>{t(`admin.health.state.${value}`, null, value)}</span>;
  return (
    <>
      <section class="admin-section" aria-labelledby="admin-health-trunks">
        <h3 id="admin-health-trunks">{t("admin.health.trunks")}</h3>
        <div class="reports-table-wrap">
          <table class="reports-table admin-table">
            <thead>
              <tr>
                <th scope="col">{t("admin.health.trunk")}</th>
                <th scope="col">{t("admin.status")}</th>
                <th scope="col">{t("admin.health.detail")}</th>
                <th scope="col">{t("admin.health.checked")}</th>
              </tr>
            </thead>
            <tbody>
              {health.links.map((link) => (
                <tr key={`${link.channel} ${link.name}`}>
                  <th scope="row">{link.name}</th>
                  <td>{state(link.state)}</td>
                  <td>{link.detail}</td>
                  <td>{when(link.checked_at)}</td>
                </tr>
              ))}
              {health.links.length === 0 && (
                <tr>
                  <td colSpan={4}>{t(health.channels.includes("voice") ? "admin.health.noReport" : "admin.health.noVoice")}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section class="admin-section" aria-labelledby="admin-health-mailboxes">
        <h3 id="admin-health-mailboxes">{t("admin.health.mailboxes")}</h3>
        <div class="reports-table-wrap">
          <table class="reports-table admin-table">
            <thead>
              <tr>
                <th scope="col">{t("reports.tenant")}</th>
                <th scope="col">{t("admin.health.mailbox")}</th>
                <th scope="col">{t("admin.status")}</th>
                <th scope="col">{t("admin.health.detail")}</th>
                <th scope="col">{t("admin.health.lastRead")}</th>
              </tr>
            </thead>
            <tbody>
              {health.mailboxes.map((m) => (
                <tr key={m.mailbox_id}>
                  <th scope="row">{m.tenant}</th>
                  <td>
                    {m.name} &lt;{m.address}&gt;
                  </td>
                  <td>{m.enabled ? state(m.state) : t("admin.health.disabled")}</td>
                  <td>{[m.last_error, m.warning].filter(Boolean).join(" · ")}</td>
                  <td>{when(m.last_synced_at)}</td>
                </tr>
              ))}
              {health.mailboxes.length === 0 && (
                <tr>
                  <td colSpan={5}>{t("admin.health.noMailboxes")}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
