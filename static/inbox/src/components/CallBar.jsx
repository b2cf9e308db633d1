// The bar of the agent's current call, under the top bar wherever they are in the inbox: who is on
// the line, for how long, whether it is recorded, and the controls (mute, hold, pause the recording,
// hang up); then, once the call is over, the way on to wrap-up.
//
// Handing the call on: Transfer (blind, to a queue or a colleague, with a note) and Consult (warm: the
// caller on hold, a colleague joins; then Hand over, or Back to caller).
import { useState } from "preact/hooks";
import { formatDuration, useCallContext } from "../calls.js";
import { callErrorText, useElapsed } from "../channels/voice.jsx";
import { useT } from "../i18n.js";
import { Icon } from "./Icon.jsx";
import { TransferDialog } from "./TaskDialogs.jsx";

function stateText(call, t, elapsed) {
  switch (call.phase) {
    case "microphone":
      return t("call.state.microphone");
    case "connecting":
      return t("call.state.connecting");
    case "noMicrophone":
      return t("call.state.noMicrophone");
    case "failed":
      return t("call.state.failed");
    case "ended":
      return t("call.state.ended", { duration: formatDuration(call.talkSeconds ?? 0) });
    default:
      if (call.consult) {
        const name = call.consult.name || t("call.consult.colleague");
        return call.consult.phase === "talking" ? t("call.consult.talking", { name }) : t("call.consult.calling", { name });
      }
      if ((call.placing || call.dialsOut) && !call.connected) return t("call.state.ringingOut", { number: (call.placing || call.dialsOut).number });
      if (call.held) return t("call.state.held");
      return call.device === "phone" ? t("call.state.onDeskPhone") : t("call.state.talking");
  }
}

/** onOpen(conversationId): show the call's conversation; onWrapUp(conversationId): its wrap-up. */
export function CallBar({ onOpen, onWrapUp, user }) {
  const t = useT();
  const { call, retry, toggleMute, toggleHold, toggleRecording, hangup, dismiss, transfer, consult, completeConsult, cancelConsult } = useCallContext();
  const talking = call?.phase === "talking";
  const elapsed = useElapsed(call?.answeredAt ?? null, talking);
  const [dialog, setDialog] = useState(null); // "transfer" | "consult"
  if (!call) return null;
  const consulting = call.consult;
  const name = call.contactName || t("list.unknownContact");
  const over = call.phase === "ended";
  const busy = Boolean(call.busy);
  const error = callErrorText(call.error, t);
  const info = call.info?.key ? t(call.info.key, { name: call.info.name || t("call.consult.colleague") }) : "";
  return (
    <section
      class={`call-bar call-${call.phase}${call.held ? " call-held" : ""}${call.muted ? " call-muted" : ""}${consulting ? " call-consulting" : ""}`}
      aria-label={t("call.bar", { name })}
      data-call-id={call.callId ?? ""}
      data-phase={call.phase}
      data-consult={consulting ? consulting.phase : ""}
    >
      <div class="call-who">
        <span class="call-icon" aria-hidden="true">
          <Icon name={over ? "hangup" : "phone"} size={18} />
        </span>
        <div class="call-who-text">
          <button type="button" class="link-button call-name" onClick={() => onOpen(call.conversationId)} title={t("call.open")}>
            {name}
          </button>
          <span class="call-state" role="status">
            {stateText(call, t, elapsed)}
          </span>
        </div>
        {talking && (
          <span class="call-timer" role="timer" aria-label={t("call.timer", { duration: formatDuration(elapsed) })}>
            {formatDuration(elapsed)}
          </span>
        )}
        {talking && call.recording !== "off" && (
          <span class={`call-rec${call.recording === "paused" ? " paused" : ""}`} data-recording={call.recording}>
            <span class="call-rec-dot" aria-hidden="true" />
            {call.recording === "paused" ? t("call.rec.paused") : t("call.rec.on")}
          </span>
        )}
        {talking && call.recording === "off" && <span class="call-rec off">{t("call.rec.off")}</span>}
        {talking && consulting && (
          <span class="call-consult-tag">{t("call.consult.callerHeld", { name: consulting.name || t("call.consult.colleague") })}</span>
        )}
      </div>
      {error && (
        <p class="call-error" role="alert">
          <Icon name="warning" size={16} /> <span>{error}</span>
        </p>
      )}
      {info && !error && (
        <p class="call-info" role="status">
          <span>{info}</span>
        </p>
      )}
      <div class="call-controls">
        {talking && (
          <>
            <button type="button" class="button call-mute" aria-pressed={call.muted} disabled={busy} onClick={toggleMute}>
              <Icon name={call.muted ? "micOff" : "mic"} size={16} /> {call.muted ? t("call.unmute") : t("call.mute")}
            </button>
            {!consulting && (
              <button type="button" class="button call-hold" aria-pressed={call.held} disabled={busy} onClick={toggleHold}>
                <Icon name={call.held ? "play" : "pause"} size={16} /> {call.held ? t("call.resume") : t("call.hold")}
              </button>
            )}
            {call.recording !== "off" && !consulting && (
              <button type="button" class="button call-record" aria-pressed={call.recording === "paused"} disabled={busy} onClick={toggleRecording}>
                <Icon name="record" size={16} /> {call.recording === "paused" ? t("call.recordResume") : t("call.recordPause")}
              </button>
            )}
            {!consulting && (
              <>
                <button type="button" class="button call-transfer" disabled={busy} onClick={() => setDialog("transfer")}>
                  <Icon name="transfer" size={16} /> {t("call.transfer")}
                </button>
                <button type="button" class="button call-consult" disabled={busy} onClick={() => setDialog("consult")}>
                  <Icon name="phone" size={16} /> {call.busy === "consult" ? t("call.consult.asking") : t("call.consult")}
                </button>
              </>
            )}
            {consulting && (
              <>
                <button
                  type="button"
                  class="button button-primary call-handover"
                  disabled={busy || consulting.phase !== "talking"}
                  onClick={completeConsult}
                  title={t("call.consult.handOverHint", { name: consulting.name || t("call.consult.colleague") })}
                >
                  <Icon name="transfer" size={16} /> {call.busy === "complete" ? t("call.consult.handingOver") : t("call.consult.handOver")}
                </button>
                <button type="button" class="button call-back" disabled={busy} onClick={cancelConsult}>
                  <Icon name="phone" size={16} /> {t("call.consult.back")}
                </button>
              </>
            )}
          </>
        )}
        {(call.phase === "noMicrophone" || (call.phase === "failed" && call.callId)) && (
          <button type="button" class="button" disabled={busy} onClick={retry}>
            {t("call.retry")}
          </button>
        )}
        {!over && (call.callId || call.phase !== "failed") && (
          <button type="button" class="button button-danger call-hangup" disabled={call.busy === "hangup"} onClick={hangup}>
            <Icon name="hangup" size={16} /> {call.busy === "hangup" ? t("call.hangingUp") : t("call.hangup")}
          </button>
        )}
        {over && (
          <button type="button" class="button button-primary call-wrapup" onClick={() => onWrapUp(call.conversationId)}>
            <Icon name="done" size={16} /> {t("call.wrapUp")}
          </button>
        )}
        {(over || (call.phase === "failed" && !call.callId)) && (
          <button type="button" class="button button-quiet icon-button" onClick={dismiss} title={t("call.dismiss")} aria-label={t("call.dismiss")}>
            <Icon name="close" size={16} />
          </button>
        )}
      </div>
      {dialog === "transfer" && talking && (
        <TransferDialog
          id="call-transfer"
          tenantId={call.tenantId}
          user={user}
          title={t("call.transfer.title")}
          onCancel={() => setDialog(null)}
          onTransfer={async (target, note) => {
            const ack = await transfer(target, note);
            if (ack?.ok) setDialog(null);
            return ack;
          }}
        />
      )}
      {dialog === "consult" && talking && (
        <TransferDialog
          id="call-consult"
          tenantId={call.tenantId}
          user={user}
          agentsOnly
          title={t("call.consult.title")}
          submitLabel={t("call.consult")}
          sendingLabel={t("call.consult.asking")}
          onCancel={() => setDialog(null)}
          onTransfer={async (target, _note, agent) => {
            const ack = await consult({ id: target.agent_id, name: agent?.name || "" });
            if (ack?.ok) setDialog(null);
            return ack;
          }}
        />
      )}
    </section>
  );
}
