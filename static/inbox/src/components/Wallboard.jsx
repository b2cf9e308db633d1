// The live wallboard of one business (GET /tenants/{id}/wallboard): per queue what waits and for
// how long, with today's figures, and every agent's presence and the work they hold. Fetched again
// whenever the supervisor's socket hears that something moved (task.*, presence): event-driven,
// no polling. Only the waits count up here, second by second, between two events. The supervisor
// steers from here too: an agent's status, and each piece of work moved elsewhere or closed.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "../api.js";
import { useT } from "../i18n.js";
import { formatFigure } from "./Reports.jsx";
import { PRESENCE_VALUES } from "./TopBar.jsx";

const MOVES = ["task.queued", "task.offered", "task.accepted", "task.rejected", "task.offer_timed_out", "task.requeued", "task.wrapup",
  "task.done", "task.cancelled", "task.abandoned", "task.timed_out", "agent.presence_changed"];
const SETTLE_MS = 150; // events come in bursts (an offer, then its accept): one fetch for each burst...
const MAX_WAIT_MS = 500; // ...but under steady traffic, still at least this often (with the fetch, within a second: bench/wallboard.py)

function clock(ms) {
  const whole = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

export function Wallboard({ tenantId, supervisorEvents, onWatch }) {
  const t = useT();
  const [board, setBoard] = useState(null);
  const [fetchedAt, setFetchedAt] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [problem, setProblem] = useState("");
  const pending = useRef(null);
  const [closing, setClosing] = useState(null); // the task whose Close was pressed once: pressed again, it goes
  const [targets, setTargets] = useState({}); // task -> where the supervisor chose to move it ("queue:id" | "agent:id")

  /** A supervisor's move; the board follows through the events it causes. */
  async function act(run) {
    setClosing(null);
    setProblem("");
    try {
      await run();
    } catch (err) {
      setProblem(describeError(err, t));
    }
  }

  const asked = useRef(0); // a slow answer never overwrites a newer one
  const load = useCallback(async () => {
    const mine = (asked.current += 1);
    try {
      const got = await api.wallboard(tenantId);
      if (mine !== asked.current) return;
      setBoard(got);
      setFetchedAt(Date.now());
      setProblem("");
    } catch (err) {
      if (mine === asked.current) setProblem(describeError(err, t));
    }
  }, [tenantId, t]);

  useEffect(() => {
    load();
    if (!supervisorEvents) return undefined;
    let first = 0; // when the burst being waited out began
    const soon = () => {
      const now = Date.now();
      if (!pending.current) first = now;
      clearTimeout(pending.current);
      pending.current = setTimeout(() => {
        pending.current = null;
        load();
      }, now - first >= MAX_WAIT_MS ? 0 : SETTLE_MS);
    };
    const offs = MOVES.map((type) => supervisorEvents.on(type, soon));
    return () => {
      offs.forEach((off) => off());
      clearTimeout(pending.current);
      pending.current = null;
    };
  }, [load, supervisorEvents]);

  // The waits go on between events: shown counting, from the last fetch.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  if (problem && !board)
    return (
      <p class="reports-problem" role="alert">
        {problem}
      </p>
    );
  if (!board) return <p class="reports-zone">{t("wallboard.loading")}</p>;
  const since = Math.max(0, now - fetchedAt);
  return (
    <div class="wallboard">
      {problem && (
        <p class="reports-problem" role="alert">
          {problem}
        </p>
      )}
      <div class="wallboard-tiles" aria-label={t("wallboard.today")}>
        {["offered", "handled", "abandoned", "service_level", "asa_seconds"].map((name) => (
          <div class="wallboard-tile" key={name}>
            <span class="wallboard-tile-name">{t(`reports.figure.${name}`)}</span>
            <span class="wallboard-tile-value">{formatFigure(name, board.today[name])}</span>
          </div>
        ))}
      </div>
      <table class="reports-table wallboard-queues">
        <caption>{t("wallboard.queues")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.by.queue")}</th>
            <th scope="col">{t("wallboard.waiting")}</th>
            <th scope="col">{t("wallboard.longest")}</th>
            <th scope="col">{t("reports.figure.offered")}</th>
            <th scope="col">{t("reports.figure.handled")}</th>
            <th scope="col">{t("reports.figure.abandoned")}</th>
            <th scope="col">{t("reports.figure.service_level")}</th>
          </tr>
        </thead>
        <tbody>
          {board.queues.map((queue) => (
            <tr key={queue.id} class={queue.waiting ? "is-waiting" : ""}>
              <th scope="row">{queue.name}</th>
              <td>{queue.waiting}</td>
              <td>{queue.waiting ? clock(queue.longest_wait_ms + since) : "–"}</td>
              <td>{queue.today.offered}</td>
              <td>{queue.today.handled}</td>
              <td>{queue.today.abandoned}</td>
              <td>{formatFigure("service_level", queue.today.service_level)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table class="reports-table wallboard-agents">
        <caption>{t("wallboard.agents")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.by.agent")}</th>
            <th scope="col">{t("wallboard.presence")}</th>
            <th scope="col">{t("wallboard.doing")}</th>
          </tr>
        </thead>
        <tbody>
          {board.agents.map((agent) => (
            <tr key={agent.id}>
              <th scope="row">{agent.name}</th>
              <td>
                <span class={`presence-dot presence-${agent.presence}`} aria-hidden="true" />{" "}
                {agent.presence === "wrapup" ? (
                  t("presence.wrapup")
                ) : (
                  <select
                    class="wallboard-presence"
                    aria-label={t("wallboard.setPresence", { name: agent.name })}
                    value={agent.presence}
                    onChange={(e) => act(() => api.setAgentPresence(tenantId, agent.id, e.currentTarget.value))}
                  >
                    {PRESENCE_VALUES.map((value) => (
                      // A supervisor takes agents out of routing; putting them in is theirs to do.
                      <option key={value} value={value} disabled={value === "available" && agent.presence !== "available"}>
                        {t(`presence.${value}`)}
                      </option>
                    ))}
                  </select>
                )}
              </td>
              <td class="wallboard-work">
                {agent.work.length === 0
                  ? "–"
                  : agent.work.map((work) => (
                      <div class="wallboard-task" key={work.task_id}>
                        <span>
                          {t("wallboard.work", { channel: t(`channel.${work.channel}`), contact: work.contact || t("wallboard.someone"), state: t(`wallboard.state.${work.state}`) })}
                        </span>
                        <button type="button" class="button button-small" onClick={() => onWatch(work.conversation_id)}>
                          {t("wallboard.watch", { contact: work.contact || t("wallboard.someone") })}
                        </button>
                        <select
                          aria-label={t("wallboard.move", { contact: work.contact || t("wallboard.someone") })}
                          value={targets[work.task_id] ?? ""}
                          onChange={(e) => setTargets((now) => ({ ...now, [work.task_id]: e.currentTarget.value }))}
                        >
                          <option value="">{t("wallboard.moveTo")}</option>
                          {board.queues.map((queue) => (
                            <option key={queue.id} value={`queue:${queue.id}`}>
                              {queue.name}
                            </option>
                          ))}
                          {board.agents
                            .filter((other) => other.id !== agent.id)
                            .map((other) => (
                              <option key={other.id} value={`agent:${other.id}`}>
                                {other.name}
                              </option>
                            ))}
                        </select>
                        <button
                          type="button"
                          class="button button-small"
                          disabled={!targets[work.task_id]}
                          onClick={() => {
                            const [kind, id] = targets[work.task_id].split(":");
                            act(() => api.reassignTask(work.task_id, kind === "queue" ? { queue_id: id } : { agent_id: id }));
                          }}
                        >
                          {t("wallboard.moveIt")}
                        </button>
                        <button
                          type="button"
                          class={`button button-small${closing === work.task_id ? " button-danger" : ""}`}
                          onClick={() => (closing === work.task_id ? act(() => api.closeTask(work.task_id)) : setClosing(work.task_id))}
                        >
                          {closing === work.task_id ? t("wallboard.closeSure") : t("wallboard.close")}
                        </button>
                      </div>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
