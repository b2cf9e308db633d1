// A part (parts.js), loaded when the visitor presses "Call us": a click-to-dial call over WebRTC.
// The microphone, then one RTCPeerConnection with the gateway's ICE servers (call_config), whose
// complete offer (the gateway's media does not trickle ICE) goes with call_start; the answer's audio
// (hold audio while the call waits, then the agent) plays in an <audio> element in the shadow root.
// The call waits in the same queue as chats: task.position says where, task.accepted who answered;
// call.held/call.resumed/call.ended and a closed conversation come from the gateway, a media
// connection lost for a few seconds ends the call here. Leaving the page hangs up (best effort).
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
 * | "ended" | "error", position, agentName, since, held, lost, error: {key} | {text}}.
 */
function placeCall({ connection, audio, show }) {
  let pc = null;
  let stream = null;
  let callId = null;
  let conversationId = null;
  let phase = "calling";
  let done = false;
  let lostTimer = null;
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
    else if (event === "call.ended" || (event === "conversation.updated" && d.status === "closed")) finish({ phase: "ended" });
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
  };
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

function stateText(t, c) {
  if (c.phase === "waiting") return t.waitingCall(c.position && c.position.position, c.position && c.position.estimated_wait_seconds);
  if (c.phase === "talking") return c.held ? t.onHold : t.talking(c.agentName);
  if (c.phase === "ended") return c.lost ? `${t.callEnded}. ${t.callLost}` : t.callEnded;
  if (c.phase === "error") return "";
  return t.calling;
}

export function View({ t, connection, onDone }) {
  const [c, setC] = useState({ phase: "calling" });
  const [attempt, setAttempt] = useState(0);
  const [muted, setMuted] = useState(false);
  const [now, setNow] = useState(Date.now());
  const audioRef = useRef(null);
  const callRef = useRef(null);
  const rootRef = useRef(null);
  const live = c.phase === "calling" || c.phase === "waiting" || c.phase === "talking";

  useEffect(() => {
    setC({ phase: "calling" });
    setMuted(false);
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

  // Focus follows the call: Hang up while it goes on, then what comes next.
  useEffect(() => {
    const target = rootRef.current && rootRef.current.querySelector("[data-autofocus]");
    if (target) target.focus();
  }, [live]);

  function toggleMute() {
    callRef.current.mute(!muted);
    setMuted(!muted);
  }

  const error = c.error && (c.error.text || (c.error.key === "callErrors" ? t.callErrors[c.error.code] || t.callFailed : t[c.error.key]));
  return (
    <section class="call" ref={rootRef} aria-label={t.callTitle}>
      <audio ref={audioRef} autoplay />
      <p class={`call-state${c.phase === "ended" ? " call-over" : ""}`} role="status" aria-live="polite">
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
      {live ? (
        <div class="call-actions">
          <button type="button" class="btn" onClick={toggleMute} disabled={c.phase === "calling"}>
            {muted ? t.unmute : t.mute}
          </button>
          <button type="button" class="btn hangup" onClick={() => callRef.current.hangup()} data-autofocus>
            {t.hangUp}
          </button>
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
