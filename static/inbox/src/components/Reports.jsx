// Reports for supervisors and tenant admins: the traffic report (gateway/reports/traffic.py, where
// each figure is defined) over a range of days in the tenant's time zone, cut into intervals and
// grouped by queue, channel, agent or the whole tenant. A chart (uPlot) of one figure over the
// intervals, a line per group; a table of the range's totals; the same as CSV for a spreadsheet.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, describeError, trafficReportCsvUrl } from "../api.js";
import { useT } from "../i18n.js";
import { Wallboard } from "./Wallboard.jsx";

const GROUPS = ["queue", "channel", "agent", "tenant"];
const INTERVALS = ["15", "30", "60", "none"];
const CHARTED = { queue: ["offered", "handled", "abandoned", "service_level", "asa_seconds", "aht_seconds"],
  agent: ["offers", "handled", "missed", "asa_seconds", "aht_seconds"] };
const COLORS = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#4b5563"];
const SECONDS = new Set(["asa_seconds", "aht_seconds", "first_response_seconds"]);
const SHARES = new Set(["service_level", "csat_satisfied"]);

export function formatFigure(name, value) {
  if (value == null) return "–";
  if (SHARES.has(name)) return `${(value * 100).toFixed(1)}%`;
  if (SECONDS.has(name)) {
    const whole = Math.round(value);
    return whole >= 60 ? `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}` : `${whole}s`;
  }
  return String(value);
}

export function ReportsPage({ user, memberships, supervisorEvents, onClose, onWatch }) {
  const t = useT();
  const supervised = memberships.filter((m) => m.role === "supervisor" || m.role === "tenant_admin");
  // The center's operator reads every business's reports, and watches one wallboard at a time.
  const [everyBusiness, setEveryBusiness] = useState([]);
  useEffect(() => {
    if (!user.is_operator) return;
    api.tenants().then(
      (got) => setEveryBusiness(got.items.filter((x) => x.status === "active").map((x) => ({ tenant_id: x.id, tenant_name: x.name }))),
      (err) => setProblem(describeError(err, t)),
    );
  }, [user.is_operator]);
  const tenants = user.is_operator ? everyBusiness : supervised;
  const [chosenId, setChosenId] = useState("");
  const tenantId = chosenId || tenants[0]?.tenant_id || "";
  useEffect(() => {
    if (user.is_operator && tenantId) supervisorEvents?.watch(tenantId);
  }, [user.is_operator, tenantId, supervisorEvents]);
  const [tab, setTab] = useState("live");
  // No dates at first: the gateway takes today in the tenant's time zone, and says which day it was.
  const [query, setQuery] = useState({ from: "", to: "", interval: "60", by: "queue" });
  const asked = Object.fromEntries(Object.entries(query).filter(([, value]) => value));
  const [report, setReport] = useState(null);
  const [figure, setFigure] = useState("offered");
  const [problem, setProblem] = useState("");
  const [loading, setLoading] = useState(false);

  const latest = useRef(0); // the answer to the latest question only (a slow one never overwrites it)
  async function load(event) {
    event?.preventDefault();
    if (!tenantId) return;
    const mine = (latest.current += 1);
    setLoading(true);
    setProblem("");
    try {
      const got = await api.trafficReport(tenantId, asked);
      if (mine !== latest.current) return;
      setReport(got);
      setQuery((q) => ({ ...q, from: got.start, to: got.end }));
      if (!got.figures.includes(figure)) setFigure(got.figures[0]);
    } catch (err) {
      setProblem(describeError(err, t));
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    load();
  }, [tenantId]);

  const set = (name) => (e) => setQuery((q) => ({ ...q, [name]: e.currentTarget.value }));
  const charted = report ? (CHARTED[report.by] ?? CHARTED.queue).filter((f) => report.figures.includes(f)) : [];
  return (
    <main class="reports" aria-labelledby="reports-title">
      <div class="reports-head">
        <h2 id="reports-title">{t("reports.title")}</h2>
        <button type="button" class="button button-small" onClick={onClose}>
          {t("reports.back")}
        </button>
      </div>
      <div class="reports-tabs">
        <div class="segmented" role="group" aria-label={t("reports.title")}>
          {["live", "traffic"].map((name) => (
            <button key={name} type="button" class={`segment${tab === name ? " on" : ""}`} aria-pressed={tab === name} onClick={() => setTab(name)}>
              {t(`reports.tab.${name}`)}
            </button>
          ))}
        </div>
        {tenants.length > 1 && (
          <label>
            {t("reports.tenant")}
            <select value={tenantId} onChange={(e) => setChosenId(e.currentTarget.value)}>
              {tenants.map((m) => (
                <option key={m.tenant_id} value={m.tenant_id}>
                  {m.tenant_name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {tab === "live" && tenantId && <Wallboard key={tenantId} tenantId={tenantId} supervisorEvents={supervisorEvents} onWatch={onWatch} />}
      {tab === "traffic" && (
      <>
      <form class="reports-form" onSubmit={load}>
        <label>
          {t("reports.from")}
          <input type="date" value={query.from} onInput={set("from")} />
        </label>
        <label>
          {t("reports.to")}
          <input type="date" value={query.to} onInput={set("to")} />
        </label>
        <label>
          {t("reports.interval")}
          <select value={query.interval} onChange={set("interval")}>
            {INTERVALS.map((value) => (
              <option key={value} value={value}>
                {t(`reports.interval.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("reports.by")}
          <select value={query.by} onChange={set("by")}>
            {GROUPS.map((value) => (
              <option key={value} value={value}>
                {t(`reports.by.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button button-primary" disabled={loading}>
          {t("reports.show")}
        </button>
        {tenantId && (
          <a class="button" href={trafficReportCsvUrl(tenantId, asked)} download>
            {t("reports.csv")}
          </a>
        )}
      </form>
      {problem && (
        <p class="reports-problem" role="alert">
          {problem}
        </p>
      )}
      {report && (
        <>
          <p class="reports-zone">{t("reports.zone", { zone: report.timezone })}</p>
          {report.interval !== "none" && charted.length > 0 && (
            <section class="reports-chart" aria-label={t("reports.chart")}>
              <label>
                {t("reports.figure")}
                <select value={figure} onChange={(e) => setFigure(e.currentTarget.value)}>
                  {charted.map((name) => (
                    <option key={name} value={name}>
                      {t(`reports.figure.${name}`)}
                    </option>
                  ))}
                </select>
              </label>
              <Chart report={report} figure={charted.includes(figure) ? figure : charted[0]} />
            </section>
          )}
          <div class="reports-table-wrap">
          <table class="reports-table">
            <thead>
              <tr>
                <th scope="col">{t(`reports.by.${report.by}`)}</th>
                {report.figures.map((name) => (
                  <th scope="col" key={name}>
                    {t(`reports.figure.${name}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.totals.map((row) => (
                <tr key={row.key}>
                  <th scope="row">{row.label}</th>
                  {report.figures.map((name) => (
                    <td key={name}>{formatFigure(name, row[name])}</td>
                  ))}
                </tr>
              ))}
              {report.totals.length === 0 && (
                <tr>
                  <td colSpan={report.figures.length + 1}>{t("reports.empty")}</td>
                </tr>
              )}
            </tbody>
          </table>
          </div>
          <p class="reports-note">{t("reports.definitions")}</p>
        </>
      )}
      </>
      )}
    </main>
  );
}

/** One figure over the intervals, a line per group, times on the tenant's clock. */
function Chart({ report, figure }) {
  const box = useRef(null);
  useEffect(() => {
    const groups = [...new Map(report.rows.map((row) => [row.key, row.label])).entries()];
    const starts = [...new Set(report.rows.map((row) => row.start))];
    const at = new Map(report.rows.map((row) => [`${row.start} ${row.key}`, row[figure]]));
    const data = [starts.map((start) => Date.parse(start) / 1000), ...groups.map(([key]) => starts.map((start) => at.get(`${start} ${key}`) ?? null))];
    const chart = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth),
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), report.timezone),
        series: [{}, ...groups.map(([, label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }))],
        axes: [{}, { values: (_, ticks) => ticks.map((v) => formatFigure(figure, v)) }],
        scales: { x: { time: true } },
      },
      data,
      box.current,
    );
    const fit = () => chart.setSize({ width: Math.max(320, box.current.clientWidth), height: 260 });
    window.addEventListener("resize", fit);
    return () => {
      window.removeEventListener("resize", fit);
      chart.destroy();
    };
  }, [report, figure]);
  return <div class="reports-canvas" ref={box} />;
}
