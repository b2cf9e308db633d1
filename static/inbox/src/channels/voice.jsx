// The voice channel in the inbox: a web call's conversation as the call's timeline (started,
// answered by whom, held and resumed, recording paused, ended — how long and why) above its thread,
// where the call's recording arrives as a message with a player and a download. The call itself
// (answering, the call bar's controls) lives in calls.js and components/CallBar.jsx.
//
// What the gateway recorded is untrusted text here like everywhere: rendered as text nodes only.
import { useEffect, useState } from "preact/hooks";
import { attachmentUrl } from "../api.js";
import { CALL_ERROR_CODES, callIdOf, formatDuration, useCallContext } from "../calls.js";
import { MODES, useSupervisionContext } from "../supervise.js";
import { useT } from "../i18n.js";
import { useTenantData } from "../tenantData.js";
import { formatBytes, fullTime, shortTime } from "../util.js";
import { Icon } from "../components/Icon.jsx";
import { ChatMessageItem, MessageList } from "./chat.jsx";

// How the gateway words why a call ended (channels/voice) → the inbox's words for it.
const REASONS = {
  agent: "agent",
  "the agent hung up": "agent",
  "the customer hung up": "customer",
  remote: "remote",
  ended: "ended",
  "the gateway stopped": "gateway",
  "the call's media failed": "media",
  "the customer's connection failed": "customerLost",
  "the customer's connection closed": "customerLost",
  "the agent's connection failed": "agentLost",
  "the agent's connection closed": "agentLost",
};

/** Why a call ended, in the agent's language (the gateway's own words when the inbox has none). */
export function reasonText(reason, t) {
  if (typeof reason !== "string" || !reason) return "";
  const key = REASONS[reason];
  return key ? t(`call.reason.${key}`) : reason;
}

/** A call control's or the gateway's error, as the agent should read it. */
export function callErrorText(error, t) {
  if (!error) return "";
  if (error.key) return t(error.key);
  if (CALL_ERROR_CODES.has(error.code)) return t(`call.error.${error.code}`);
  return error.message || t("task.failed", { code: error.code || "error" });
}

/** The audio files a message carries (a call's recording: audio/ogg). */
function audioFiles(message) {
  const list = Array.isArray(message?.meta?.attachments) ? message.meta.attachments : Array.isArray(message?.attachments) ? message.attachments : [];
  return list.filter((a) => a && a.id && /^audio\//i.test(String(a.content_type || "")));
}

/** A recording the gateway kept: {seconds} from meta.call.recording_seconds, and its audio files. */
export function recordingOf(message) {
  const call = message?.meta?.call;
  if (!call || typeof call !== "object") return null;
  const files = audioFiles(message);
  if (!files.length) return null;
  const seconds = Number(call.recording_seconds);
  return { callId: typeof call.id === "string" ? call.id : null, seconds: Number.isFinite(seconds) ? seconds : null, files };
}

/** A call's recording: a player and a download link for each of its files. */
function Recording({ message, recording }) {
  const t = useT();
  const duration = recording.seconds != null ? formatDuration(Math.round(recording.seconds)) : "";
  return (
    <li class="call-recording" data-message-id={message.id}>
      <div class="call-recording-head">
        <Icon name="record" size={16} />
        <span class="call-recording-title">{duration ? t("call.recording.titleDuration", { duration }) : t("call.recording.title")}</span>
        {message.created_at && (
          <time dateTime={message.created_at} title={fullTime(message.created_at, t.lang)}>
            {shortTime(message.created_at, t.lang)}
          </time>
        )}
      </div>
      {recording.files.map((file) => {
        const href = attachmentUrl(file.id);
        const name = String(file.filename || "call.ogg");
        const size = formatBytes(file.size, t.lang);
        return (
          <div key={file.id} class="call-recording-file">
            <audio class="call-recording-player" controls preload="metadata" src={href} aria-label={t("call.recording.player", { name })}>
              <a href={href} download={name}>
                {name}
              </a>
            </audio>
            <a class="button button-small call-recording-download" href={href} download={name} rel="noopener">
              <Icon name="download" size={14} /> {t("call.recording.download")}
              {size && <span class="att-size"> ({size})</span>}
            </a>
          </div>
        );
      })}
    </li>
  );
}

export function VoiceMessageItem(props) {
  const recording = recordingOf(props.message);
  if (recording) return <Recording message={props.message} recording={recording} />;
  return <ChatMessageItem {...props} />;
}

/** Seconds since `since` (ms), ticking every second while `on`. */
export function useElapsed(since, on = true) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on || !since) return undefined;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [since, on]);
  return since ? Math.max(0, Math.floor((now - since) / 1000)) : 0;
}

/** One line of the timeline, in words. */
function entryText(entry, t, { user, agentName }) {
  const data = entry.data ?? {};
  switch (entry.type) {
    case "call.started":
      return t("call.event.started");
    case "call.answered": {
      const mine = data.agent_id && data.agent_id === user.id;
      const name = (mine ? user.name || user.email : "") || data.agent_name || agentName(data.agent_id) || t("msg.agent");
      return mine ? t("call.event.answeredByYou", { name }) : t("call.event.answeredBy", { name });
    }
    case "call.held":
      return t("call.event.held");
    case "call.resumed":
      return t("call.event.resumed");
    case "call.recording_paused":
      return t("call.event.recordingPaused");
    case "call.recording_resumed":
      return t("call.event.recordingResumed");
    case "call.ended": {
      const talk = Number(data.talk_seconds);
      const total = Number(data.seconds);
      const reason = reasonText(data.reason, t);
      const parts = [];
      if (Number.isFinite(talk) && talk > 0) parts.push(t("call.event.talked", { duration: formatDuration(talk) }));
      else if (data.talk_seconds != null) parts.push(t("call.event.notAnswered"));
      if (Number.isFinite(total) && total > 0) parts.push(t("call.event.total", { duration: formatDuration(total) }));
      if (reason) parts.push(reason);
      return parts.length ? `${t("call.event.ended")} — ${parts.join(" · ")}` : t("call.event.ended");
    }
    case "call.transferred": {
      const to = data.to_agent_id ? (data.to_agent_id === user.id ? user.name || user.email : agentName(data.to_agent_id)) || t("msg.agent") : "";
      if (data.warm && to) return t("call.event.handedOver", { name: to });
      return to ? t("call.event.transferredTo", { name: to }) : t("call.event.transferred");
    }
    case "call.consult_started":
      return t("call.event.consultStarted", { name: colleague(data.agent_id) });
    case "call.consult_answered":
      return t("call.event.consultAnswered", { name: colleague(data.agent_id) });
    case "call.consult_ended":
      return t("call.event.consultEnded", { name: colleague(data.agent_id) });
    default:
      return entry.type;
  }

  function colleague(id) {
    return (id && id === user.id ? user.name || user.email : agentName(id)) || t("call.consult.colleague");
  }
}

const EVENT_ICONS = {
  "call.started": "voice",
  "call.answered": "phone",
  "call.held": "pause",
  "call.resumed": "play",
  "call.recording_paused": "record",
  "call.recording_resumed": "record",
  "call.ended": "hangup",
  "call.transferred": "transfer",
  "call.consult_started": "phone",
  "call.consult_answered": "phone",
  "call.consult_ended": "phone",
};

/**
 * The call's timeline: what the gateway pushed about it and what this inbox did on it (kept for
 * the tab's session), the call's start taken from the conversation when nothing else tells it.
 */
export function CallTimeline({ conversation, user }) {
  const t = useT();
  const { call, timelines, loadHistory } = useCallContext();
  const callId = callIdOf(conversation);
  useEffect(() => {
    loadHistory?.(conversation);
  }, [conversation.id, loadHistory]);
  const entries = (timelines?.[conversation.id] ?? []).filter((e) => !callId || !e.call_id || e.call_id === callId);
  if (!entries.some((e) => e.type === "call.started") && conversation.created_at) {
    entries.unshift({ type: "call.started", at: Date.parse(conversation.created_at), data: {}, server: false });
  }
  const someoneElse = entries.some(
    (e) => (e.type === "call.answered" && e.data?.agent_id && e.data.agent_id !== user.id) || e.type === "call.transferred" || e.type.startsWith("call.consult"),
  );
  const targets = useTenantData("transfer", someoneElse ? conversation.tenant_id : null);
  const names = new Map((targets.data?.agents ?? []).map((a) => [a.id, a.name]));
  const live = call && call.conversationId === conversation.id && call.phase !== "ended" ? call : null;
  const elapsed = useElapsed(live?.answeredAt ?? null, Boolean(live?.answeredAt));
  const ended = entries.some((e) => e.type === "call.ended");
  return (
    <section class="call-summary" aria-labelledby={`call-summary-${conversation.id}`} data-call-id={callId ?? ""}>
      <h3 id={`call-summary-${conversation.id}`} class="call-summary-title">
        <Icon name="phone" size={16} /> {t("call.timeline")}
        {live && (
          <span class={`call-live-tag${live.held ? " held" : ""}`}>
            {live.held ? t("call.state.held") : live.answeredAt ? t("call.state.liveFor", { duration: formatDuration(elapsed) }) : t("call.state.connecting")}
          </span>
        )}
        {!live && !ended && conversation.status !== "closed" && !entries.some((e) => e.type === "call.answered") && (
          <span class="call-live-tag waiting">{t("call.state.waiting")}</span>
        )}
      </h3>
      <ol class="call-timeline">
        {entries.map((entry, i) => (
          <li key={`${entry.type}-${entry.at}-${i}`} class={`call-event call-event-${entry.type.slice(5)}`} data-event={entry.type}>
            <span class="call-event-icon" aria-hidden="true">
              <Icon name={EVENT_ICONS[entry.type] ?? "voice"} size={14} />
            </span>
            <span class="call-event-text">{entryText(entry, t, { user, agentName: (id) => names.get(id) || "" })}</span>
            {Number.isFinite(entry.at) && (
              <time dateTime={new Date(entry.at).toISOString()} title={fullTime(new Date(entry.at).toISOString(), t.lang)}>
                {shortTime(new Date(entry.at).toISOString(), t.lang)}
              </time>
            )}
          </li>
        ))}
      </ol>
      <SuperviseControls conversation={conversation} user={user} callId={callId} entries={entries} />
    </section>
  );
}

/**
 * For a supervisor viewing someone else's live call (waiting or answered): Listen, Whisper, Barge.
 * Once on it, the supervise bar at the top says how, switches and leaves (components/SuperviseBar.jsx).
 * `entries`: the call's timeline; live: what it and the conversation say of the call.
 */
function SuperviseControls({ conversation, user, callId, entries }) {
  const t = useT();
  const supervision = useSupervisionContext();
  const { call, loadHistory } = useCallContext();
  const allowed = Boolean(supervision.join && supervision.maySupervise?.(conversation.tenant_id));
  // The recorded events say whether the call ended before the inbox was opened: wait for them.
  const [known, setKnown] = useState(false);
  useEffect(() => {
    if (!allowed) return undefined;
    let current = true;
    setKnown(false);
    Promise.resolve(loadHistory?.(conversation)).finally(() => current && setKnown(true));
    return () => {
      current = false;
    };
  }, [conversation.id, allowed, loadHistory]);
  if (!allowed || !callId || !known) return null;
  const ended = conversation.status === "closed" || supervision.gone?.has(callId) || entries.some((e) => e.type === "call.ended");
  const mine = call?.callId === callId || entries.some((e) => e.type === "call.answered" && e.data?.agent_id === user.id);
  if (ended || mine) return null;
  const watch = supervision.watch;
  if (watch?.callId === callId && supervision.active) {
    return (
      <p class="supervise-here" role="status">
        <Icon name="eye" size={14} /> {t("supervise.here")}
      </p>
    );
  }
  const blocked = supervision.onCall ? "supervise.busyOnCall" : supervision.active ? "supervise.busyOther" : null;
  const prechatName = typeof conversation.attributes?.prechat?.name === "string" ? conversation.attributes.prechat.name : "";
  const target = { callId, conversationId: conversation.id, tenantId: conversation.tenant_id, contactName: conversation.contact?.name || prechatName };
  return (
    <div class="supervise-controls" role="group" aria-label={t("supervise.title")}>
      <span class="supervise-title">{t("supervise.title")}</span>
      {MODES.map((mode) => (
        <button
          key={mode}
          type="button"
          class={`button button-small supervise-join supervise-${mode}`}
          disabled={Boolean(blocked)}
          title={t(`supervise.${mode}Hint`)}
          onClick={() => supervision.join(target, mode)}
        >
          <Icon name={mode === "listen" ? "eye" : mode === "whisper" ? "mic" : "phone"} size={14} /> {t(`supervise.${mode}`)}
        </button>
      ))}
      {blocked && <span class="supervise-blocked">{t(blocked)}</span>}
    </div>
  );
}

const CALLBACK_STATES = new Set(["waiting", "dialling", "connected", "done", "failed", "expired"]);

/** A callback the customer asked for (attributes.callback): the number, when, why, and how it went. */
function CallbackSummary({ conversation }) {
  const t = useT();
  const cb = conversation.attributes?.callback;
  if (!cb || typeof cb !== "object" || typeof cb.number !== "string") return null;
  const state = CALLBACK_STATES.has(cb.state) ? cb.state : "waiting";
  return (
    <section class={`callback-summary callback-${state}`} aria-label={t("callback.summary")}>
      <p class="callback-head">
        <Icon name="callback" size={14} /> <strong>{t("callback.summary")}</strong> · <span class="callback-state">{t(`callback.state.${state}`)}</span>
        {" · "}
        <span class="callback-attempts">{t("callback.attempts", { attempts: Number(cb.attempts) || 0, max: Number(cb.max_attempts) || 0 })}</span>
      </p>
      <p class="callback-detail">
        {t("callback.to", { number: cb.number })}
        {(cb.window_from || cb.window_to) && (
          <>
            {" · "}
            {t("callback.window", { from: cb.window_from ? fullTime(cb.window_from, t.lang) : "…", to: cb.window_to ? fullTime(cb.window_to, t.lang) : "…" })}
          </>
        )}
        {typeof cb.topic === "string" && cb.topic && <> · “{cb.topic}”</>}
      </p>
    </section>
  );
}

/** A voice conversation: a callback's summary and the call's timeline, then the thread (the recording, notes, lines typed). */
export function VoiceConversationView(props) {
  const { channel, conversation, user, draft, onDraftChange, onSend, onTyping, closed } = props;
  return (
    <>
      <CallbackSummary conversation={conversation} />
      <CallTimeline conversation={conversation} user={user} />
      <MessageList {...props} MessageItem={channel.MessageItem} />
      <channel.Composer conversation={conversation} conversationId={conversation.id} draft={draft} onDraftChange={onDraftChange} onSend={onSend} onTyping={onTyping} closed={closed} />
    </>
  );
}
