// Administration in the inbox. The center's operator runs the businesses it serves and bills their
// seats; a business's own admin (and the operator, for any business) sets up that business: its
// team, queues, replies, widget, mailboxes and integrations. One section shows at a time. Everything
// goes through the same REST API and its checks as any other client.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "../../api.js";
import { useT } from "../../i18n.js";
import { Businesses } from "./Businesses.jsx";
import { BusinessProfile } from "./BusinessProfile.jsx";
import { ChannelHealth } from "./ChannelHealth.jsx";
import { Integrations } from "./Integrations.jsx";
import { Mail } from "./Mail.jsx";
import { Phone } from "./Phone.jsx";
import { Queues } from "./Queues.jsx";
import { Replies } from "./Replies.jsx";
import { SeatUsage } from "./SeatUsage.jsx";
import { Team } from "./Team.jsx";
import { WidgetSetup } from "./WidgetSetup.jsx";

// `center`: the operator's own sections, across businesses; the rest are one business's.
const SECTIONS = [
  { name: "businesses", center: true, Section: Businesses },
  { name: "health", center: true, Section: ChannelHealth },
  { name: "seats", center: true, Section: SeatUsage },
  { name: "team", Section: Team },
  { name: "business", Section: BusinessProfile },
  { name: "queues", Section: Queues },
  { name: "replies", Section: Replies },
  { name: "widget", Section: WidgetSetup },
  { name: "mail", Section: Mail },
  { name: "phone", Section: Phone },
  { name: "integrations", Section: Integrations },
];

export function AdminPage({ user, memberships, onClose }) {
  const t = useT();
  const administered = memberships.filter((m) => m.role === "tenant_admin").map((m) => ({ id: m.tenant_id, name: m.tenant_name }));
  const [tenants, setTenants] = useState(user.is_operator ? [] : administered.map((x) => ({ ...x, status: "active" })));
  const [tenantId, setTenantId] = useState(administered[0]?.id ?? "");
  const sections = SECTIONS.filter((s) => user.is_operator || !s.center);
  const [sectionName, setSectionName] = useState(sections[0].name);
  const [problem, setProblem] = useState("");
  const alert = useRef(null);
  useEffect(() => {
    alert.current?.scrollIntoView({ block: "nearest" }); // a long section's error would be out of sight at the top
  }, [problem]);

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

  /** Runs an API call; its error shows at the top of the page. Resolves to whether it worked. */
  const run = useCallback(
    async (action, after) => {
      setProblem("");
      try {
        const result = await action();
        await after?.(result);
        return true;
      } catch (err) {
        setProblem(describeError(err, t));
        return false;
      }
    },
    [t],
  );

  const section = sections.find((s) => s.name === sectionName) ?? sections[0];
  const tenant = tenants.find((x) => x.id === tenantId) ?? { id: tenantId, name: "" };
  const { Section } = section;
  function pickBusiness(id) {
    setTenantId(id);
    if (section.center) setSectionName("team");
  }
  return (
    <main class="reports admin" aria-labelledby="admin-title">
      <div class="reports-head">
        <h2 id="admin-title">{t("admin.title")}</h2>
        <button type="button" class="button button-small" onClick={onClose}>
          {t("reports.back")}
        </button>
      </div>
      <div class="reports-tabs admin-nav">
        <nav class="segmented" aria-label={t("admin.sections")}>
          {sections.map(({ name }) => (
            <button
              key={name}
              type="button"
              class={`segment${name === section.name ? " on" : ""}`}
              aria-current={name === section.name ? "page" : undefined}
              onClick={() => setSectionName(name)}
            >
              {t(`admin.section.${name}`)}
            </button>
          ))}
        </nav>
        {!section.center && tenants.length > 1 && (
          <label>
            {t("reports.tenant")}
            <select value={tenantId} onChange={(e) => pickBusiness(e.currentTarget.value)}>
              {tenants.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {problem && (
        <p class="reports-problem" role="alert" ref={alert}>
          {problem}
        </p>
      )}
      {section.center ? (
        <Section tenants={tenants} run={run} reload={loadTenants} onPick={pickBusiness} />
      ) : (
        tenantId && <Section key={tenantId} tenant={tenant} run={run} operator={user.is_operator} reload={loadTenants} />
      )}
    </main>
  );
}
