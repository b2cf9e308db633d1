// The call a supervisor monitors, at the top of the inbox wherever they are in it: how they are on
// it (listening unheard, whispering to the agent, on the call with everyone), the switches between
// those, and Leave. Joining is done from the call's conversation (channels/voice.jsx).
import { useT } from "../i18n.js";
import { useCallContext } from "../calls.js";
import { MODES, superviseErrorText, useSupervisionContext } from "../supervise.js";
import { useTenantData } from "../tenantData.js";
import { Icon } from "./Icon.jsx";

const MODE_ICONS = { listen: "eye", whisper: "mic", barge: "phone" };

/** Who answered the monitored call, by name when the inbox knows it. */
function useAgentName(watch) {
  const { timelines } = useCallContext();
  const answered = (timelines?.[watch?.conversationId] ?? []).filter((e) => e.type === "call.answered" && (!e.call_id || e.call_id === watch.callId)).pop();
  const agentId = answered?.data?.agent_id ?? null;
  const targets = useTenantData("transfer", agentId && !answered?.data?.agent_name ? watch?.tenantId ?? null : null);
  if (!agentId) return "";
  return answered.data.agent_name || (targets.data?.agents ?? []).find((a) => a.id === agentId)?.name || "";
}

function stateText(watch, t, agentName) {
  switch (watch.phase) {
    case "microphone":
      return t("supervise.state.microphone");
    case "connecting":
      return t("supervise.state.connecting");
    case "failed":
      return t("supervise.state.failed");
    case "ended":
      return t(`supervise.state.${watch.reason || "left"}`);
    default:
      return t(`supervise.state.${watch.mode}`, { agent: agentName || t("supervise.theAgent") });
  }
}

/** onOpen(conversationId): show the monitored call's conversation. */
export function SuperviseBar({ onOpen }) {
  const t = useT();
  const { watch, setMode, leave } = useSupervisionContext();
  const agentName = useAgentName(watch);
  if (!watch) return null;
  const name = watch.contactName || t("list.unknownContact");
  const on = watch.phase === "on";
  const over = watch.phase === "ended" || watch.phase === "failed";
  const error = superviseErrorText(watch.error, t);
  return (
    <section
      class={`call-bar supervise-bar supervise-${watch.phase} supervise-mode-${watch.mode}`}
      aria-label={t("supervise.bar", { name })}
      data-call-id={watch.callId}
      data-phase={watch.phase}
      data-mode={watch.mode}
    >
      <div class="call-who">
        <span class="call-icon supervise-icon" aria-hidden="true">
          <Icon name={over ? "hangup" : MODE_ICONS[watch.mode]} size={18} />
        </span>
        <div class="call-who-text">
          <button type="button" class="link-button call-name" onClick={() => onOpen(watch.conversationId)} title={t("supervise.open")}>
            {t("supervise.bar", { name })}
          </button>
          <span class="call-state supervise-state" role="status">
            {stateText(watch, t, agentName)}
          </span>
        </div>
      </div>
      {error && (
        <p class={`call-error${watch.error?.listenOnly ? " supervise-note" : ""}`} role={watch.error?.listenOnly ? "status" : "alert"}>
          <Icon name="warning" size={16} /> <span>{error}</span>
        </p>
      )}
      <div class="call-controls">
        {on && (
          <div class="supervise-modes" role="group" aria-label={t("supervise.modes")}>
            {MODES.map((mode) => (
              <button
                key={mode}
                type="button"
                class={`button supervise-mode supervise-${mode}`}
                aria-pressed={watch.mode === mode}
                disabled={Boolean(watch.busy) || (mode !== "listen" && !watch.canSpeak)}
                title={t(`supervise.${mode}Hint`)}
                onClick={() => setMode(mode)}
              >
                <Icon name={MODE_ICONS[mode]} size={16} /> {t(`supervise.${mode}`)}
              </button>
            ))}
          </div>
        )}
        {!over && (
          <button type="button" class="button button-danger supervise-leave" disabled={watch.busy === "leave"} onClick={leave}>
            <Icon name="hangup" size={16} /> {watch.busy === "leave" ? t("supervise.leaving") : t("supervise.leave")}
          </button>
        )}
        {over && (
          <button type="button" class="button button-quiet icon-button" onClick={leave} title={t("supervise.dismiss")} aria-label={t("supervise.dismiss")}>
            <Icon name="close" size={16} />
          </button>
        )}
      </div>
    </section>
  );
}
