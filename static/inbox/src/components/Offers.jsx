import { useEffect, useState } from "preact/hooks";
import { useT } from "../i18n.js";
import { channelLabel, getChannel } from "../channels/index.js";
import { Icon } from "./Icon.jsx";
import { ConsultCard } from "./Consult.jsx";

function OfferCard({ offer, onAccept, onReject, onCall }) {
  const t = useT();
  const channel = getChannel(offer.channel);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const total = Math.max(1000, offer.deadline - offer.receivedAt);
  const leftMs = Math.max(0, offer.deadline - now);
  const seconds = Math.ceil(leftMs / 1000);
  const conversation = offer.conversation;
  const prechat = conversation?.attributes?.prechat;
  // Untrusted names and texts: rendered as text nodes below.
  const name = conversation?.contact?.name || (typeof prechat?.name === "string" && prechat.name) || t("list.unknownContact");
  const label = channelLabel(channel, t);
  const headingId = `offer-${offer.task_id}`;
  // A call rings as one: answered with the microphone, and not while the agent is on another call.
  const call = Boolean(channel.call);
  const blocked = call && onCall;
  // A callback to be dialled (the customer's number and topic, as they gave them).
  const callback = channel.id === "callback" && typeof conversation?.attributes?.callback?.number === "string" ? conversation.attributes.callback : null;
  return (
    <section
      class={`offer${call ? " offer-call" : ""}${seconds <= 5 ? " offer-urgent" : ""}`}
      aria-labelledby={headingId}
      data-task-id={offer.task_id}
      data-channel={channel.id}
    >
      <div class="offer-top">
        <span class={`conv-channel channel-${channel.id}`} aria-hidden="true">
          <Icon name={channel.icon} size={18} />
        </span>
        <div class="offer-head">
          <h3 id={headingId} class="offer-title">
            {callback ? t("callback.title") : call ? t("call.incoming", { channel: label }) : t("offer.title", { channel: label })}
          </h3>
          <p class="offer-name" title={name}>
            {name}
          </p>
        </div>
        <span class="offer-countdown" role="timer" aria-label={t("offer.expiresIn", { seconds })}>
          {t("offer.seconds", { seconds })}
        </span>
      </div>
      {callback ? (
        <p class="offer-preview">
          {t("callback.offer", { number: callback.number })}
          {callback.topic ? ` — ${callback.topic}` : ""}
          <br />
          {t("callback.answerHint")}
        </p>
      ) : (
        (offer.preview || conversation?.subject) && <p class="offer-preview">{offer.preview || conversation.subject}</p>
      )}
      {blocked && <p class="offer-note">{t("call.offerBusy")}</p>}
      <div class="offer-bar" aria-hidden="true">
        <span style={{ width: `${(leftMs / total) * 100}%` }} />
      </div>
      <div class="offer-actions">
        <button type="button" class="button" disabled={offer.busy} onClick={() => onReject(offer)}>
          {call ? t("call.decline") : t("offer.reject")}
        </button>
        {call ? (
          <button type="button" class="button button-accept offer-answer" disabled={offer.busy || blocked} onClick={() => onAccept(offer)}>
            <Icon name="phone" size={16} /> {offer.busy ? t("call.answering") : callback ? t("callback.answer") : t("call.answer")}
          </button>
        ) : (
          <button type="button" class="button button-accept" disabled={offer.busy} onClick={() => onAccept(offer)}>
            <Icon name="done" size={16} /> {offer.busy ? t("offer.accepting") : t("offer.accept")}
          </button>
        )}
      </div>
    </section>
  );
}

/** Offers ringing for this agent, newest last, each with its countdown and accept/reject. */
export function Offers({ offers, muted, onToggleMute, onAccept, onReject, onCall = false, consultRinging = false }) {
  const t = useT();
  if (offers.length === 0 && !consultRinging) return null;
  return (
    <aside class="offers" aria-label={t("offer.region")}>
      <div class="offers-head">
        <span class="offers-count" aria-live="assertive">
          {t("offer.count", { count: offers.length + (consultRinging ? 1 : 0) })}
        </span>
        <button type="button" class="button button-quiet offers-mute" aria-pressed={muted} onClick={onToggleMute}>
          <Icon name={muted ? "bellOff" : "bell"} size={16} /> {muted ? t("sound.unmute") : t("sound.mute")}
        </button>
      </div>
      {consultRinging && <ConsultCard onCall={onCall} />}
      {offers.map((offer) => (
        <OfferCard key={offer.task_id} offer={offer} onAccept={onAccept} onReject={onReject} onCall={onCall} />
      ))}
    </aside>
  );
}
