// A part (parts.js), loaded when the visitor presses "Call us": a click-to-dial call over WebRTC.
// The microphone, then one RTCPeerConnection with the gateway's ICE servers (call_config), whose
// complete offer (the gateway's media does not trickle ICE) goes with call_start; the answer's audio
// (hold audio while the call waits, then the agent) plays in an <audio> element in the shadow root.
// The call waits in the same queue as chats: task.position says where, task.accepted who answered;
// call.held/call.resumed/call.ended and a closed conversation come from the gateway, a media
// connection lost for a few seconds ends the call here. Leaving the page hangs up (best effort).
// While it waits, the visitor may leave a call-back request instead (call_callback): on ok the gateway
// ends the call (not abandoned) and the screen keeps the confirmation, not "Call ended".
import { useEffect, useRef, useState } from "preact/hooks";
import css from "./call.css";

export { css };

const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));

export const strings = {
  en: {
    callTitle: "Call",
    calling: "Calling…",
    waitingCall: (position, wait) =>
      !position
        ? "Waiting for an agent…"
        : `Waiting for an agent — you are number ${position}` + (wait ? ` (about ${minutes(wait)} min)` : ""),
    talking: (name) => (name ? `Talking with ${name}` : "Talking with an agent"),
    onHold: "You are on hold. Please stay on the line.",
    callEnded: "Call ended",
    callLost: "The connection was lost.",
    duration: "Call duration",
    mute: "Mute",
    unmute: "Unmute",
    muted: "Your microphone is muted.",
    hangUp: "Hang up",
    callAgain: "Call again",
    backToChat: "Back to chat",
    noWebrtc: "This browser can't make calls from this page. Please try another browser, or chat with us instead.",
    micDenied: "The call needs your microphone, and access to it was refused. Allow the microphone for this site and try again.",
    micMissing: "No microphone was found. Connect one and try again.",
    micFailed: "Your microphone couldn't be started. It may be in use by another application.",
    callFailed: "The call couldn't be connected. Please try again.",
    callErrors: {
      call_in_progress: "You are on a call with us already.",
      channel_disabled: "Calls aren't available right now.",
      rate_limited: "Too many calls in a short time; please wait a moment and try again.",
      offline: "Can't reach the help desk right now.",
      timeout: "The help desk didn't answer in time. Please try again.",
    },
    callMeBack: "Call me back instead",
    callbackTitle: "Request a call back",
    callbackIntro: "Leave your number and an agent will call you. Until you send this, you keep your place in line.",
    callbackNumber: "Phone number",
    callbackNumberHint: "With the country code if you are abroad, such as +44 20 7946 0000.",
    callbackWhen: "When should we call?",
    callbackAsap: "As soon as possible",
    callbackLater: "At a time I choose",
    callbackDate: "Day",
    callbackFrom: "From",
    callbackTo: "To",
    callbackTopic: "What is it about?",
    sendCallback: "Call me back",
    sendingCallback: "Sending…",
    callbackSent: (number, when) =>
      `We'll call you back at ${number}` + (when ? `, ${when.day}, between ${when.from} and ${when.to}.` : " as soon as we can."),
    callbackErrors: {
      invalid_number: "That phone number doesn't look right.",
      invalid: "The request couldn't be accepted. Please check what you typed and try again.",
      not_found: "This call has ended, so a call back can't be requested from it.",
      not_waiting: "An agent has just answered your call.",
      rate_limited: "Too many requests in a short time; please wait a moment and try again.",
      offline: "Can't reach the help desk right now.",
      timeout: "The help desk didn't answer in time. Please try again.",
      windowOrder: "The end of the time must be after its start.",
      windowPast: "That time has passed. Please choose a later one.",
    },
  },
  "zh-CN": {
    callTitle: "通话",
    calling: "正在呼叫…",
    waitingCall: (position, wait) =>
      !position ? "正在等待客服接听…" : `正在等待客服接听——您排在第 ${position} 位` + (wait ? `（约 ${minutes(wait)} 分钟）` : ""),
    talking: (name) => (name ? `正在与 ${name} 通话` : "正在与客服通话"),
    onHold: "通话已保持，请不要挂断。",
    callEnded: "通话已结束",
    callLost: "连接已中断。",
    duration: "通话时长",
    mute: "静音",
    unmute: "取消静音",
    muted: "您的麦克风已静音。",
    hangUp: "挂断",
    callAgain: "重新呼叫",
    backToChat: "返回对话",
    noWebrtc: "此浏览器无法在本页面拨打电话。请换用其他浏览器，或改为在线对话。",
    micDenied: "通话需要使用麦克风，但访问被拒绝。请允许本网站使用麦克风后重试。",
    micMissing: "未找到麦克风。请连接麦克风后重试。",
    micFailed: "无法启动麦克风，它可能正被其他应用程序使用。",
    callFailed: "无法接通电话，请重试。",
    callErrors: {
      call_in_progress: "您已经在与我们通话。",
      channel_disabled: "目前无法拨打电话。",
      rate_limited: "呼叫过于频繁，请稍候再试。",
      offline: "暂时无法连接客服中心。",
      timeout: "客服中心未及时响应，请重试。",
    },
    callMeBack: "改为请求回电",
    callbackTitle: "请求回电",
    callbackIntro: "留下您的电话号码，客服会给您回电。在提交之前，您仍保留排队位置。",
    callbackNumber: "电话号码",
    callbackNumberHint: "如在国外，请加国家代码，例如 +86 10 1234 5678。",
    callbackWhen: "希望何时回电？",
    callbackAsap: "尽快",
    callbackLater: "指定时间",
    callbackDate: "日期",
    callbackFrom: "开始时间",
    callbackTo: "结束时间",
    callbackTopic: "咨询内容",
    sendCallback: "请给我回电",
    sendingCallback: "正在提交…",
    callbackSent: (number, when) =>
      `我们将致电 ${number} 给您回电` + (when ? `，时间为 ${when.day} ${when.from}–${when.to}。` : "，请保持电话畅通。"),
    callbackErrors: {
      invalid_number: "电话号码似乎不正确。",
      invalid: "无法受理该请求，请检查填写的内容后重试。",
      not_found: "本次通话已结束，无法再请求回电。",
      not_waiting: "客服刚刚接听了您的电话。",
      rate_limited: "请求过于频繁，请稍候再试。",
      offline: "暂时无法连接客服中心。",
      timeout: "客服中心未及时响应，请重试。",
      windowOrder: "结束时间必须晚于开始时间。",
      windowPast: "该时间已过，请选择较晚的时间。",
    },
  },
};

const GATHER_MS = 3000; // the offer goes with the candidates gathered by then
const CONNECT_MS = 10000; // for the socket, when the panel has only just opened it
const LOST_MS = 4000; // media down this long (disconnected/failed) ends the call
const PUSHES = ["task.position", "task.accepted", "conversation.updated", "call.held", "call.resumed", "call.ended"];

// connection.on can't be undone: one listener per event and connection, fanning out to the calls.
const hubs = new WeakMap();
function listen(connection, fn) {
  let hub = hubs.get(connection);
  if (!hub) {
    hub = new Set();
    hubs.set(connection, hub);
    PUSHES.forEach((event) => connection.on(event, (d) => hub.forEach((f) => f(event, d || {}))));
  }
  hub.add(fn);
  return () => hub.delete(fn);
}

/** Resolves true once the visitor's socket is connected, false if it can't be within CONNECT_MS. */
function connected(connection) {
  connection.open();
  return new Promise((resolve) => {
    if (connection.connected) return resolve(true);
    let stop = null;
    const timer = setTimeout(() => done(false), CONNECT_MS);
    function done(ok) {
      clearTimeout(timer);
      if (stop) stop();
      resolve(ok);
    }
    stop = connection.store.subscribe((s) => {
      if (s.status === "connected") done(true);
      else if (s.status === "error" && !s.retrying) done(false);
    });
  });
}

/** The gateway's STUN/TURN servers; none from a gateway that doesn't say (unknown_event). */
async function iceServers(connection) {
  const ack = await connection.call("call_config", {});
  return ack && ack.ok && Array.isArray(ack.ice_servers) ? ack.ice_servers.filter((s) => s && s.urls) : [];
}

/** Resolves when ICE gathering is complete, or after GATHER_MS with what there is. */
function gathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const timer = setTimeout(finish, GATHER_MS);
    function check() {
      if (pc.iceGatheringState === "complete") finish();
    }
    function finish() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

function micError(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "micDenied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "micMissing";
  return "micFailed";
}

const canCall = () =>
  typeof RTCPeerConnection === "function" && !!navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function";

/**
 * Places one call. show(patch) updates what the view draws: {phase: "calling" | "waiting" | "talking"
 * | "ended" | "calledBack" | "error", position, agentName, since, held, lost, error: {key} | {text},
 * callback: {number, when} (what the visitor asked for, as the confirmation shows it)}.
 */
function placeCall({ connection, audio, show }) {
  let pc = null;
  let stream = null;
  let callId = null;
  let conversationId = null;
  let phase = "calling";
  let done = false;
  let lostTimer = null;
  let asking = false; // a call back is being requested: the end of the call it brings is no news
  let endedMeanwhile = null; // how the call ended while asking, if the request then failed
  const early = []; // pushes that came before call_start's answer named our conversation
  const unlisten = listen(connection, onPush);
  const onPageHide = () => hangup();
  addEventListener("pagehide", onPageHide);

  function set(patch) {
    if (patch.phase) phase = patch.phase;
    show(patch);
  }

  function onPush(event, d) {
    if (done) return;
    if (!conversationId) return early.length < 20 && early.push([event, d]);
    if (d.conversation_id !== conversationId || (d.call_id && d.call_id !== callId)) return;
    // Still "calling" while the answer is applied: a place in line told meanwhile is kept for "waiting".
    if (event === "task.position" && (phase === "waiting" || phase === "calling")) set({ position: d });
    else if (event === "task.accepted") set({ phase: "talking", agentName: d.agent_name || "", since: Date.now(), position: null });
    else if (event === "call.held" || event === "call.resumed") set({ held: event === "call.held" });
    else if (event === "call.ended" || (event === "conversation.updated" && d.status === "closed")) {
      if (asking) endedMeanwhile = { phase: "ended" };
      else finish({ phase: "ended" });
    }
  }

  async function start() {
    if (!canCall()) return fail({ key: "noWebrtc" });
    const online = connected(connection); // meanwhile the visitor answers the microphone prompt
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      return fail({ key: micError(err) });
    }
    if (done) return teardown();
    if (!(await online)) return fail({ key: "callErrors", code: "offline" });
    const servers = await iceServers(connection);
    if (done) return teardown();
    pc = new RTCPeerConnection({ iceServers: servers });
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    pc.addEventListener("track", (e) => {
      audio.srcObject = (e.streams && e.streams[0]) || new MediaStream([e.track]);
      const playing = audio.play();
      if (playing) playing.catch(() => {}); // autoplay: the visitor's click allows it
    });
    pc.addEventListener("connectionstatechange", watch);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (done) return teardown();
    const ack = await connection.call("call_start", { sdp: pc.localDescription.sdp });
    if (done) {
      if (ack.ok) connection.call("call_hangup", { call_id: ack.call_id }); // hung up meanwhile
      return;
    }
    if (!ack.ok) {
      // Refusals the visitor can understand get our words (in their language), others the gateway's.
      const known = ack.code in strings.en.callErrors;
      return fail(known || !ack.message ? { key: "callErrors", code: ack.code } : { text: ack.message });
    }
    callId = ack.call_id;
    conversationId = ack.conversation_id;
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    if (done) return;
    set({ phase: "waiting" });
    early.splice(0).forEach(([event, d]) => onPush(event, d));
  }

  /** The media connection: down for more than a moment (or closed) ends the call. */
  function watch() {
    const state = pc.connectionState;
    if (state === "connected") {
      clearTimeout(lostTimer);
      lostTimer = null;
    } else if (state === "closed") hangup({ lost: true });
    else if ((state === "failed" || state === "disconnected") && !lostTimer) lostTimer = setTimeout(() => hangup({ lost: true }), LOST_MS);
  }

  function teardown() {
    done = true;
    clearTimeout(lostTimer);
    unlisten();
    removeEventListener("pagehide", onPageHide);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    if (pc) {
      pc.removeEventListener("connectionstatechange", watch);
      pc.close();
    }
    audio.srcObject = null;
  }

  /** The call is over on the gateway's side already (or never began there). */
  function finish(patch) {
    if (done) return;
    teardown();
    set(patch);
  }

  function fail(error) {
    if (callId) connection.call("call_hangup", { call_id: callId });
    finish({ phase: "error", error });
  }

  /** The visitor hangs up (or leaves the page, or the media is gone). */
  function hangup({ lost = false } = {}) {
    if (done) return;
    if (asking && lost) {
      endedMeanwhile = { phase: "ended", lost }; // the gateway may be ending the call for the call back
      return;
    }
    if (callId) connection.call("call_hangup", { call_id: callId });
    finish({ phase: "ended", lost });
  }

  start().catch((err) => {
    if (done) return;
    console.error("[wecc] call:", err);
    fail({ key: "callFailed" });
  });

  return {
    hangup: () => hangup(),
    /** Mutes here at once (the track sends silence) and tells the gateway. */
    mute(muted) {
      if (stream) stream.getAudioTracks().forEach((track) => (track.enabled = !muted));
      if (callId && !done) connection.call("call_mute", { call_id: callId, muted });
    },
    /**
     * Asks the gateway to call the visitor back instead (while the call waits): on ok the gateway ends
     * the call, and here the microphone and the connection stop; resolves with the gateway's answer.
     */
    async callback(request, shown) {
      if (done || !callId) return { ok: false, code: "not_found" };
      asking = true;
      const ack = await connection.call("call_callback", { call_id: callId, ...request });
      asking = false;
      if (ack.ok) finish({ phase: "calledBack", callback: shown, position: null });
      else if (endedMeanwhile) endedMeanwhile.lost ? hangup({ lost: true }) : finish(endedMeanwhile);
      return ack;
    },
  };
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

function stateText(t, c) {
  if (c.phase === "calledBack") return t.callbackSent(c.callback.number, c.callback.when);
  if (c.phase === "waiting") return t.waitingCall(c.position && c.position.position, c.position && c.position.estimated_wait_seconds);
  if (c.phase === "talking") return c.held ? t.onHold : t.talking(c.agentName);
  if (c.phase === "ended") return c.lost ? `${t.callEnded}. ${t.callLost}` : t.callEnded;
  if (c.phase === "error") return "";
  return t.calling;
}

const pad = (n) => String(n).padStart(2, "0");

// How far ahead a call back can be asked for (the gateway allows 14 days from now).
const CALLBACK_DAYS = 13;

/** A day where the visitor is, `ahead` days from today, as a date input's value. */
function day(ahead = 0) {
  const d = new Date();
  d.setDate(d.getDate() + ahead);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A date input's and a time input's values: an ISO 8601 date-time with the visitor's UTC offset on that day. */
function isoLocal(date, time) {
  const hhmm = time.slice(0, 5);
  const offset = -new Date(`${date}T${hhmm}`).getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${date}T${hhmm}:00${offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The chosen window in the visitor's language: {day, from, to}. */
function shownWindow(lang, date, from, to) {
  const start = new Date(`${date}T${from.slice(0, 5)}`);
  const end = new Date(`${date}T${to.slice(0, 5)}`);
  const time = { hour: "numeric", minute: "2-digit" };
  try {
    return {
      day: start.toLocaleDateString(lang, { weekday: "long", month: "long", day: "numeric" }),
      from: start.toLocaleTimeString(lang, time),
      to: end.toLocaleTimeString(lang, time),
    };
  } catch {
    return { day: date, from, to };
  }
}

/** Ours, and in English the gateway's reason too (its messages are English). */
function numberError(ours, lang, why) {
  if (!why || !/^en\b/.test(lang || "en")) return ours;
  const sentence = why.charAt(0).toUpperCase() + why.slice(1);
  return `${ours} ${sentence}${/[.!?]$/.test(sentence) ? "" : "."}`;
}

const EMPTY_REQUEST = { number: "", when: "asap", date: "", from: "", to: "", topic: "" };

/**
 * "Call me back instead": the visitor's number, a preferred time (as soon as possible, or a window on
 * one day) and what it is about. The call keeps waiting (hold audio and all) until send's answer is ok;
 * then the view shows the confirmation instead. draft keeps what was typed across "Back".
 */
function CallbackForm({ t, lang, draft, send, onBack }) {
  const [v, setV] = useState(draft.current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null); // {field: "number" | "to" | null, text}
  const formRef = useRef(null);
  const alive = useRef(true);
  useEffect(() => () => (alive.current = false), []);

  // After an error, focus goes where it is: the field it is about, else back to the submit button.
  useEffect(() => {
    const form = formRef.current;
    if (!error || !form) return;
    const target = form.querySelector(error.field ? `[name="${error.field}"]` : "[type=submit]");
    if (target) target.focus();
  }, [error]);

  const change = (name) => (e) => {
    const next = { ...v, [name]: e.currentTarget.value };
    draft.current = next;
    setV(next);
    if (error && error.field === name) setError(null);
  };

  async function submit(e) {
    e.preventDefault();
    if (busy) return;
    const errors = t.callbackErrors;
    const number = v.number.trim();
    const request = { number };
    let when = null;
    if (v.when === "later") {
      if (v.to.slice(0, 5) <= v.from.slice(0, 5)) return setError({ field: "to", text: errors.windowOrder });
      if (new Date(`${v.date}T${v.to.slice(0, 5)}`) <= new Date()) return setError({ field: "to", text: errors.windowPast });
      request.window_from = isoLocal(v.date, v.from);
      request.window_to = isoLocal(v.date, v.to);
      when = shownWindow(lang, v.date, v.from, v.to);
    }
    const topic = v.topic.trim();
    if (topic) request.topic = topic;
    setBusy(true);
    setError(null);
    const ack = await send(request, { number, when });
    if (ack.ok || !alive.current) return; // the view shows the confirmation instead
    setBusy(false);
    if (ack.code === "invalid_number") setError({ field: "number", text: numberError(errors.invalid_number, lang, ack.message) });
    else setError({ field: null, text: errors[ack.code] || ack.message || t.callFailed });
  }

  const invalid = (field) => (error && error.field === field ? "true" : undefined);
  const describedBy = (field, ...ids) => [...ids, invalid(field) && `wecc-callback-${field}-error`].filter(Boolean).join(" ") || undefined;
  const fieldError = (field) =>
    invalid(field) && (
      <p class="error" id={`wecc-callback-${field}-error`}>
        {error.text}
      </p>
    );

  return (
    <form class="callback" ref={formRef} onSubmit={submit} aria-labelledby="wecc-callback-title">
      <h3 class="callback-title" id="wecc-callback-title">
        {t.callbackTitle}
      </h3>
      <p class="callback-intro">{t.callbackIntro}</p>
      {error && !error.field && (
        <p class="error" role="alert">
          {error.text}
        </p>
      )}
      <fieldset class="callback-fields" disabled={busy}>
        <div class="field">
          <label for="wecc-callback-number">{t.callbackNumber}</label>
          <input
            id="wecc-callback-number"
            name="number"
            type="tel"
            autocomplete="tel"
            required
            maxLength={40}
            value={v.number}
            onInput={change("number")}
            aria-invalid={invalid("number")}
            aria-describedby={describedBy("number", "wecc-callback-number-hint")}
            data-autofocus
          />
          <p class="callback-hint" id="wecc-callback-number-hint">
            {t.callbackNumberHint}
          </p>
          {fieldError("number")}
        </div>
        <fieldset class="callback-when">
          <legend>{t.callbackWhen}</legend>
          <label class="callback-choice">
            <input type="radio" name="when" value="asap" checked={v.when === "asap"} onChange={change("when")} />
            {t.callbackAsap}
          </label>
          <label class="callback-choice">
            <input type="radio" name="when" value="later" checked={v.when === "later"} onChange={change("when")} />
            {t.callbackLater}
          </label>
          {v.when === "later" && (
            <div class="callback-window">
              <div class="field">
                <label for="wecc-callback-date">{t.callbackDate}</label>
                <input id="wecc-callback-date" name="date" type="date" required min={day()} max={day(CALLBACK_DAYS)} value={v.date} onInput={change("date")} />
              </div>
              <div class="field">
                <label for="wecc-callback-from">{t.callbackFrom}</label>
                <input id="wecc-callback-from" name="from" type="time" required value={v.from} onInput={change("from")} />
              </div>
              <div class="field">
                <label for="wecc-callback-to">{t.callbackTo}</label>
                <input
                  id="wecc-callback-to"
                  name="to"
                  type="time"
                  required
                  value={v.to}
                  onInput={change("to")}
                  aria-invalid={invalid("to")}
                  aria-describedby={describedBy("to")}
                />
              </div>
              {fieldError("to")}
            </div>
          )}
        </fieldset>
        <div class="field">
          <label for="wecc-callback-topic">
            {t.callbackTopic}
            <span class="opt"> {t.optional}</span>
          </label>
          <input id="wecc-callback-topic" name="topic" type="text" maxLength={500} value={v.topic} onInput={change("topic")} />
        </div>
      </fieldset>
      <div class="call-actions">
        <button type="button" class="btn" onClick={onBack} disabled={busy}>
          {t.back}
        </button>
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? t.sendingCallback : t.sendCallback}
        </button>
      </div>
    </form>
  );
}

export function View({ t, lang, connection, onDone }) {
  const [c, setC] = useState({ phase: "calling" });
  const [attempt, setAttempt] = useState(0);
  const [muted, setMuted] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [asking, setAsking] = useState(false); // the call-back form is open
  const [backFromForm, setBackFromForm] = useState(false);
  const audioRef = useRef(null);
  const callRef = useRef(null);
  const rootRef = useRef(null);
  const draft = useRef(EMPTY_REQUEST);
  const live = c.phase === "calling" || c.phase === "waiting" || c.phase === "talking";
  const form = asking && c.phase === "waiting"; // an agent who answers meanwhile takes the call
  const screen = form ? "form" : c.phase === "calledBack" ? "calledBack" : live ? "live" : "over";

  useEffect(() => {
    setC({ phase: "calling" });
    setMuted(false);
    setAsking(false);
    setBackFromForm(false);
    let alive = true;
    const call = placeCall({ connection, audio: audioRef.current, show: (patch) => alive && setC((old) => ({ ...old, ...patch })) });
    callRef.current = call;
    return () => {
      call.hangup(); // the view goes (the visitor left it): so does the call
      alive = false;
    };
  }, [attempt]);

  // The talk timer: one tick a second while talking.
  useEffect(() => {
    if (c.phase !== "talking") return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [c.phase]);

  // Focus follows the call: Hang up while it goes on (or "Call me back instead" after its form), the
  // form's first field, the call back's confirmation, then what comes next.
  useEffect(() => {
    const target = rootRef.current && rootRef.current.querySelector("[data-autofocus]");
    if (target) target.focus();
  }, [screen]);

  function toggleMute() {
    callRef.current.mute(!muted);
    setMuted(!muted);
  }

  function openForm() {
    setBackFromForm(false);
    setAsking(true);
  }

  function closeForm() {
    setBackFromForm(true);
    setAsking(false);
  }

  const error = c.error && (c.error.text || (c.error.key === "callErrors" ? t.callErrors[c.error.code] || t.callFailed : t[c.error.key]));
  const confirmed = c.phase === "calledBack";
  return (
    <section class="call" ref={rootRef} aria-label={t.callTitle}>
      <audio ref={audioRef} autoplay />
      <p
        class={`call-state${c.phase === "ended" ? " call-over" : ""}${confirmed ? " call-confirmed" : ""}`}
        role="status"
        aria-live="polite"
        tabIndex={confirmed ? -1 : undefined}
        data-autofocus={confirmed ? "" : undefined}
      >
        {stateText(t, c)}
        {live && muted && <span class="call-muted">{t.muted}</span>}
      </p>
      {c.phase === "talking" && c.since && (
        <p class="call-timer" role="timer" aria-label={t.duration}>
          {clock(now - c.since)}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {form ? (
        <CallbackForm t={t} lang={lang} draft={draft} send={(request, shown) => callRef.current.callback(request, shown)} onBack={closeForm} />
      ) : confirmed ? (
        <div class="call-actions">
          <button type="button" class="btn primary" onClick={onDone}>
            {t.backToChat}
          </button>
        </div>
      ) : live ? (
        <div class="call-actions">
          <button type="button" class="btn" onClick={toggleMute} disabled={c.phase === "calling"}>
            {muted ? t.unmute : t.mute}
          </button>
          <button type="button" class="btn hangup" onClick={() => callRef.current.hangup()} data-autofocus={backFromForm ? undefined : ""}>
            {t.hangUp}
          </button>
          {c.phase === "waiting" && (
            <button type="button" class="btn call-back-instead" onClick={openForm} data-autofocus={backFromForm ? "" : undefined}>
              {t.callMeBack}
            </button>
          )}
        </div>
      ) : (
        <div class="call-actions">
          {!(c.error && c.error.key === "noWebrtc") && (
            <button type="button" class="btn" onClick={() => setAttempt(attempt + 1)}>
              {t.callAgain}
            </button>
          )}
          <button type="button" class="btn primary" onClick={onDone} data-autofocus>
            {t.backToChat}
          </button>
        </div>
      )}
    </section>
  );
}
