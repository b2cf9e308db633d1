import { useEffect, useState } from "preact/hooks";
import { api, seatsCsvUrl } from "../../api.js";
import { useT } from "../../i18n.js";

/** What each business used of the center's seats, for billing: per business and agent. */
export function SeatUsage({ run }) {
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
