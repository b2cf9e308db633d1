// Business hours (gateway/routing/hours.py): a time zone, open windows per weekday and closed
// dates. Edited in a queue's form and in a business's profile (the hours of its queues with none).
import { useState } from "preact/hooks";
import { useT } from "../../i18n.js";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
// A time input cannot say "24:00": a close time of 00:00 is midnight, the end of the day.
const closeFromApi = (close) => (close === "24:00" ? "00:00" : close);
const closeToApi = (close) => (close === "00:00" ? "24:00" : close);

/** The API's hours (or none) as the editor's {timezone, weekly, closed}. */
export function hoursForm(hours, zone) {
  return {
    timezone: hours?.timezone ?? zone,
    weekly: Object.fromEntries(DAYS.map((day) => [day, (hours?.weekly?.[day] ?? []).map(([open, close]) => ({ open, close: closeFromApi(close) }))])),
    closed: hours?.closed_dates ?? [],
  };
}

/** The editor's {timezone, weekly, closed} as the API's hours. */
export function hoursOf(form) {
  const weekly = DAYS.filter((day) => form.weekly[day].length).map((day) => [day, form.weekly[day].map((w) => [w.open, closeToApi(w.close)])]);
  return { timezone: form.timezone.trim(), weekly: Object.fromEntries(weekly), closed_dates: [...form.closed].sort() };
}

/**
 * Opening hours per weekday (several windows a day for a lunch break) and closed dates.
 * `form` holds timezone, weekly and closed; `put(name, value)` changes one of them. Without
 * `withZone`, the time zone is the caller's to ask (a business's hours are in its own time zone).
 */
export function Hours({ form, put, withZone = true }) {
  const t = useT();
  const [date, setDate] = useState("");
  const setDay = (day, windows) => put("weekly", { ...form.weekly, [day]: windows });
  const setWindow = (day, i, key, value) => setDay(day, form.weekly[day].map((w, j) => (j === i ? { ...w, [key]: value } : w)));
  const nextWindow = (windows) => (windows.length ? { open: windows[windows.length - 1].close, close: "00:00" } : { open: "09:00", close: "17:00" });
  function copyMonday() {
    const monday = form.weekly.mon;
    put("weekly", { ...form.weekly, ...Object.fromEntries(["tue", "wed", "thu", "fri"].map((day) => [day, monday.map((w) => ({ ...w }))])) });
  }
  function addDate() {
    if (date && !form.closed.includes(date)) put("closed", [...form.closed, date].sort());
    setDate("");
  }
  return (
    <>
      {withZone && (
        <label class="queue-zone">
          {t("admin.queues.timezone")}
          <input value={form.timezone} onInput={(e) => put("timezone", e.currentTarget.value)} list="queue-zones" required placeholder="Europe/Berlin" />
        </label>
      )}
      <datalist id="queue-zones">
        {ZONES.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <table class="reports-table admin-table queue-week">
        <thead>
          <tr>
            <th scope="col">{t("admin.queues.day")}</th>
            <th scope="col">{t("admin.queues.open")}</th>
            <th scope="col">{t("admin.queues.windows")}</th>
          </tr>
        </thead>
        <tbody>
          {DAYS.map((day) => {
            const dayName = t(`admin.day.${day}`);
            const windows = form.weekly[day];
            return (
              <tr key={day}>
                <th scope="row">{dayName}</th>
                <td>
                  <input
                    type="checkbox"
                    aria-label={t("admin.queues.openOn", { day: dayName })}
                    checked={windows.length > 0}
                    onChange={(e) => setDay(day, e.currentTarget.checked ? [nextWindow([])] : [])}
                  />
                </td>
                <td class="queue-windows">
                  {windows.map((w, i) => {
                    const nth = i ? ` (${i + 1})` : "";
                    return (
                      <span key={i} class="queue-window">
                        <input type="time" required aria-label={t("admin.queues.opens", { day: dayName }) + nth} value={w.open}
                          onInput={(e) => setWindow(day, i, "open", e.currentTarget.value)} />
                        –
                        <input type="time" required aria-label={t("admin.queues.closes", { day: dayName }) + nth} value={w.close}
                          onInput={(e) => setWindow(day, i, "close", e.currentTarget.value)} />
                        <button type="button" class="button button-small" onClick={() => setDay(day, windows.filter((_, j) => j !== i))}>
                          {t("admin.queues.removeWindow", { day: dayName, from: w.open, to: w.close })}
                        </button>
                      </span>
                    );
                  })}
                  {windows.length > 0 && (
                    <button type="button" class="link-button" onClick={() => setDay(day, [...windows, nextWindow(windows)])}>
                      {t("admin.queues.addWindow", { day: dayName })}
                    </button>
                  )}
                  {day === "mon" && windows.length > 0 && (
                    <button type="button" class="link-button" onClick={copyMonday}>
                      {t("admin.queues.copyMonday")}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div class="queue-closed">
        <span>{t("admin.queues.closedDates")}</span>
        <ul>
          {form.closed.map((day) => (
            <li key={day}>
              {day}{" "}
              <button type="button" class="button button-small" onClick={() => put("closed", form.closed.filter((d) => d !== day))}>
                {t("admin.queues.removeDate", { date: day })}
              </button>
            </li>
          ))}
        </ul>
        <label>
          {t("admin.queues.closedDate")}
          <input type="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
        </label>
        <button type="button" class="button button-small" onClick={addDate} disabled={!date || form.closed.length >= 366}>
          {t("admin.queues.addDate")}
        </button>
      </div>
    </>
  );
}
