// A colleague consulting this agent about their call (a warm transfer): the card that rings for it
// (Join / Decline), then the bar while on it ("Consulting with NAME — the caller is on hold", Mute,
// Leave). Handed over, it becomes the agent's own call and the call bar takes over (calls.js).
import { formatDuration, useCallContext } from "../calls.js";
import { callErrorText, useElapsed } from "../channels/voice.jsx";
import { useT } from "../i18n.js";
import { Icon } from "./Icon.jsx";

/** The consultation ringing: who asks, Join (the microphone) or Decline. `onCall`: busy on a call of one's own. */
export function ConsultCard({ onCall = false }) {
  const t = useT();
  const { consultation: w, joinConsult, declineConsult } = useCallContext();
  if (!w || (w.phase !== "ringing" && w.phase !== "microphone" && w.phase !== "connecting")) return null;
  const name = w.fromName || t("call.consult.colleague");
  const joining = w.phase !== "ringing";
  const error = callErrorText(w.error, t);
  return (
    <section class="offer offer-call offer-consult" aria-labelledby={`consult-${w.callId}`} data-call-id={w.callId} data-channel="voice">
      <div class="offer-top">
        <span class="conv-channel channel-voice" aria-hidden="true">
          <Icon name="phone" size={18} />
        </span>
        <div class="offer-head">
          <h3 id={`consult-${w.callId}`} class="offer-title">
            {t("call.consult.incoming")}
          </h3>
          <p class="offer-name consult-text">{t("call.consult.asks", { name })}</p>
        </div>
      </div>
      {w.contactName && <p class="offer-preview">{t("call.consult.about", { name: w.contactName })}</p>}
      {onCall && <p class="offer-note">{t("call.offerBusy")}</p>}
      {error && (
        <p class="call-error" role="alert">
          <Icon name="warning" size={16} /> <span>{error}</span>
        </p>
      )}
      <div class="offer-actions">
        <button type="button" class="button consult-decline" disabled={Boolean(w.busy) || joining} onClick={declineConsult}>
          {t("call.decline")}
        </button>
        <button type="button" class="button button-accept consult-join" disabled={Boolean(w.busy) || joining || onCall} onClick={joinConsult}>
          <Icon name="phone" size={16} /> {joining ? t("call.consult.joining") : t("call.consult.join")}
        </button>
      </div>
    </section>
  );
}

function consultState(w, t, name) {
  switch (w.phase) {
    case "failed":
      return t("call.consult.failed");
    case "ended":
      if (w.reason === "cancelled") return t("call.consult.wentBack", { name });
      if (w.reason === "callEnded") return t("call.consult.callEnded");
      if (w.reason === "left") return t("call.consult.left");
      return t("call.consult.ended");
    default:
      return t("call.consult.with", { name });
  }
}

/** The consultation joined (or just over): with whom, Mute, Leave. */
export function ConsultBar() {
  const t = useT();
  const { consultation: w, declineConsult, toggleConsultMute } = useCallContext();
  const on = w?.phase === "on";
  const elapsed = useElapsed(w?.startedAt ?? null, on);
  if (!w || (w.phase !== "on" && w.phase !== "ended" && w.phase !== "failed")) return null;
  const name = w.fromName || t("call.consult.colleague");
  const error = callErrorText(w.error, t);
  return (
    <section
      class={`call-bar consult-bar consult-${w.phase}${w.muted ? " call-muted" : ""}`}
      aria-label={t("call.consult.bar", { name })}
      data-call-id={w.callId}
      data-phase={w.phase}
    >
      <div class="call-who">
        <span class="call-icon" aria-hidden="true">
          <Icon name={on ? "phone" : "hangup"} size={18} />
        </span>
        <div class="call-who-text">
          <span class="call-name">{w.contactName || t("list.unknownContact")}</span>
          <span class="call-state" role="status">
            {consultState(w, t, name)}
          </span>
        </div>
        {on && (
          <span class="call-timer" role="timer" aria-label={t("call.timer", { duration: formatDuration(elapsed) })}>
            {formatDuration(elapsed)}
          </span>
        )}
      </div>
      {error && (
        <p class="call-error" role="alert">
          <Icon name="warning" size={16} /> <span>{error}</span>
        </p>
      )}
      <div class="call-controls">
        {on && (
          <>
            <button type="button" class="button call-mute" aria-pressed={Boolean(w.muted)} onClick={toggleConsultMute}>
              <Icon name={w.muted ? "micOff" : "mic"} size={16} /> {w.muted ? t("call.unmute") : t("call.mute")}
            </button>
            <button type="button" class="button button-danger consult-leave" disabled={Boolean(w.busy)} onClick={declineConsult}>
              <Icon name="hangup" size={16} /> {w.busy ? t("call.consult.leaving") : t("call.consult.leave")}
            </button>
          </>
        )}
        {!on && (
          <button type="button" class="button button-quiet icon-button" onClick={declineConsult} title={t("call.dismiss")} aria-label={t("call.dismiss")}>
            <Icon name="close" size={16} />
          </button>
        )}
      </div>
    </section>
  );
}
