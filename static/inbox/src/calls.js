// The agent's live call: answering a call routed to them (accept_task, the microphone, a WebRTC leg
// to the gateway's media layer, call_answer), its controls (mute, hold, recording, hang up), and the
// timeline of each call conversation (started, answered, held, ended…) as this inbox saw it or as the
// gateway told it (call.* events). One call at a time: an agent's voice capacity is one.
//
// The gateway's WebRTC side (aiortc) does not take trickled ICE candidates: the agent's offer is sent
// once its candidates are gathered (or after ICE_WAIT_MS, with what was found by then).
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "./api.js";

export const ICE_WAIT_MS = 3000;
const TIMELINE_KEY = "wecc.inbox.callTimeline";
const TIMELINE_MAX = 40; // entries kept per conversation
const TIMELINES_KEPT = 100; // conversations whose timeline the tab keeps
const SAME_EVENT_MS = 15000; // a gateway event this close to one noted here is the same event
const HEARD_TWICE_MS = 3000; // the same gateway event pushed live and read from the record
const ONCE_PER_CALL = new Set(["call.started", "call.answered", "call.ended"]);
const HISTORY_PAGE = 200; // recorded events of each call.* type looked through for a conversation's
export const CALL_EVENTS = [
  "call.started",
  "call.answered",
  "call.held",
  "call.resumed",
  "call.recording_paused",
  "call.recording_resumed",
  "call.ended",
  "call.transferred",
  "call.consult_started",
  "call.consult_answered",
  "call.consult_ended",
];
// Consultations (a warm transfer) this inbox follows live, on the conversation's room.
const CONSULT_EVENTS = ["call.consult_answered", "call.consult_ended", "call.transferred"];
const CONSULT_ENDED_SHOWN_MS = 8000; // how long the colleague's consult bar says why it ended
// Answers of the gateway the agent gets told in their language; any other says its own message.
export const CALL_ERROR_CODES = new Set(["not_found", "not_accepted", "already_answered", "bad_offer", "not_recording", "offline", "timeout"]);
// Controls during which the call's task may leave this agent without the call being over for them.
const HANDING_ON = new Set(["hangup", "transfer", "complete"]);

/** A call's state on the bar as it starts: `fields` say which call it is and where it stands. */
function newCall(fields) {
  return { consult: null, info: null, muted: false, held: false, recording: "on", answeredAt: null, endedAt: null, busy: null, error: null, ...fields };
}

/** The id of the call a voice conversation carries (attributes.call.id), or null. */
export function callIdOf(conversation) {
  const id = conversation?.attributes?.call?.id;
  return typeof id === "string" && id ? id : null;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(totalSeconds) {
  const n = Math.max(0, Math.floor(Number(totalSeconds) || 0));
  const h = Math.floor(n / 3600);
  const m = Math.floor((n % 3600) / 60);
  const s = String(n % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Resolves once the connection gathered its ICE candidates, or after `ms` (what was found is sent). */
export function iceGathered(pc, ms = ICE_WAIT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** The STUN/TURN servers the gateway gives browsers (call_config), or null when it did not answer. */
export async function askIceServers(realtime) {
  const ack = realtime.supports("call_config") ? await realtime.emit("call_config", {}) : { ok: false };
  if (!ack?.ok) return null;
  return Array.isArray(ack.ice_servers) ? ack.ice_servers.filter((s) => s && (s.urls || s.url)) : [];
}

/**
 * Opens one WebRTC audio leg to the gateway's media layer and hands it its complete offer (no
 * trickled candidates). `stream`: the microphone, or null to receive only. The remote audio plays
 * in a hidden <audio> (class `audioClass`, `dataset` on it). `onOpened({pc, audio})` is told of the
 * leg at once (to keep it, and release it whatever happens); `isCurrent(pc)` says whether the leg
 * is still wanted after each wait; `onState(connectionState)` follows the connection;
 * `send(sdp)` asks the gateway and resolves with its ack, whose `sdp` is the answer.
 * Resolves with that ack, or {ok:false, code:"cancelled"} when the leg was dropped meanwhile.
 */
export async function openAudioLeg({ iceServers, stream, audioClass, dataset = {}, onOpened, isCurrent, onState, send }) {
  const pc = new RTCPeerConnection({ iceServers: iceServers ?? [] });
  if (stream) stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
  else pc.addTransceiver("audio", { direction: "recvonly" });
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.className = audioClass;
  Object.assign(audio.dataset, dataset);
  document.body.appendChild(audio);
  onOpened({ pc, audio });
  pc.ontrack = (e) => {
    audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    audio.play?.().catch(() => {});
  };
  pc.onconnectionstatechange = () => {
    if (isCurrent(pc)) onState?.(pc.connectionState);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  if (!isCurrent(pc)) return { ok: false, code: "cancelled" };
  const ack = await send(pc.localDescription.sdp);
  if (!ack?.ok) return ack ?? { ok: false, code: "error" };
  if (!isCurrent(pc)) return { ok: false, code: "cancelled" };
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  return ack;
}

/** Closes what openAudioLeg opened: the microphone's tracks, the connection, the remote audio. */
export function closeAudioLeg({ pc, stream, audio }) {
  stream?.getTracks().forEach((track) => track.stop());
  if (pc) {
    pc.onconnectionstatechange = null;
    pc.ontrack = null;
    try {
      pc.close();
    } catch {
      // already closed
    }
  }
  if (audio) {
    audio.srcObject = null;
    audio.remove();
  }
}

/** The microphone, with the browser's voice processing; rejects as getUserMedia does. */
export async function openMicrophone() {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error("no getUserMedia"), { name: "NotSupportedError" });
  return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false });
}

/** Whether the signed-in user may supervise (listen in on) the tenant's calls: its supervisors and admins, and operators. */
export function maySupervise(user, memberships, tenantId) {
  if (user?.is_operator) return true;
  const role = (memberships ?? []).find((m) => m.tenant_id === tenantId)?.role;
  return role === "supervisor" || role === "tenant_admin";
}

/** What went wrong with the microphone, as an i18n key. */
export function microphoneProblem(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "call.error.micBlocked";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "call.error.micMissing";
  if (name === "NotReadableError" || name === "TrackStartError") return "call.error.micBusy";
  if (!navigator.mediaDevices?.getUserMedia) return "call.error.micUnsupported";
  return "call.error.micFailed";
}

// ---- the timeline of each call conversation ----

function loadTimelines() {
  try {
    const raw = JSON.parse(sessionStorage.getItem(TIMELINE_KEY) || "{}");
    return raw && typeof raw === "object" ? raw : {};
  } catch {
    return {};
  }
}

function saveTimelines(timelines) {
  try {
    sessionStorage.setItem(TIMELINE_KEY, JSON.stringify(timelines));
  } catch {
    // storage blocked or full: the timeline lasts for this page
  }
}

/**
 * Adds an event to a conversation's timeline: {type, at (ms), call_id, data, server}. The same event
 * heard twice (noted here when the gateway acknowledged it, then pushed by the gateway) is kept once,
 * with the gateway's data; a call ends once.
 */
export function addTimelineEntry(list, entry) {
  const items = Array.isArray(list) ? list : [];
  const once = ONCE_PER_CALL.has(entry.type);
  const same = items.findIndex((e) => {
    if (e.type !== entry.type || (e.call_id && entry.call_id && e.call_id !== entry.call_id)) return false;
    if (e.server && entry.server) return Math.abs(e.at - entry.at) < HEARD_TWICE_MS || (once && e.call_id && e.call_id === entry.call_id);
    if (!e.server && !entry.server) return false; // two things the agent did
    return once || Math.abs(e.at - entry.at) < SAME_EVENT_MS;
  });
  if (same >= 0) {
    const before = items[same];
    if (before.server && !entry.server) return items; // the gateway's account stands
    const merged = entry.server
      ? { ...before, ...entry, data: { ...before.data, ...entry.data }, at: before.server ? before.at : entry.at }
      : { ...before, data: { ...entry.data, ...before.data } };
    return items.map((e, i) => (i === same ? merged : e));
  }
  return [...items, entry].sort((a, b) => a.at - b.at).slice(-TIMELINE_MAX);
}

/** The timelines of the TIMELINES_KEPT conversations with the latest events (the tab's storage is small). */
function newestTimelines(all) {
  const ids = Object.keys(all);
  if (ids.length <= TIMELINES_KEPT) return all;
  const last = (id) => all[id]?.[all[id].length - 1]?.at ?? 0;
  const kept = ids.sort((a, b) => last(b) - last(a)).slice(0, TIMELINES_KEPT);
  return Object.fromEntries(kept.map((id) => [id, all[id]]));
}

// ---- the call ----

export const IDLE = null;

/**
 * The agent's current call and the call timelines. `held`: the tasks the agent holds, by
 * conversation (tasks.js) — the call ends for the inbox when its task goes on to wrap-up or away
 * (the customer hung up, the connection failed) even if the gateway's call.ended never reaches it.
 * `memberships` (the session's) say in which tenants the agent may read recorded events, to tell
 * the timeline of a call this tab did not see.
 */
export function useCall({ realtime, held, user, memberships = [], onEnded, onHandedOn, onTakenOver, lookupTask }) {
  const [call, setCall] = useState(IDLE);
  const [timelines, setTimelines] = useState(loadTimelines);
  const callRef = useRef(call);
  callRef.current = call;
  const media = useRef({ pc: null, stream: null, audio: null, iceServers: null });
  const endedRef = useRef(onEnded);
  endedRef.current = onEnded;
  const handedOnRef = useRef(onHandedOn);
  handedOnRef.current = onHandedOn;
  const takenOverRef = useRef(onTakenOver);
  takenOverRef.current = onTakenOver;
  const lookupRef = useRef(lookupTask);
  lookupRef.current = lookupTask;

  useEffect(() => saveTimelines(timelines), [timelines]);

  const note = useCallback((conversationId, type, data = {}, { server = false, at = Date.now() } = {}) => {
    if (!conversationId) return;
    const entry = { type, at, call_id: data.call_id ?? null, data, server };
    setTimelines((all) => {
      const next = addTimelineEntry(all[conversationId], entry);
      return next === all[conversationId] ? all : newestTimelines({ ...all, [conversationId]: next });
    });
  }, []);

  const patch = useCallback((changes) => {
    setCall((c) => (c ? { ...c, ...(typeof changes === "function" ? changes(c) : changes) } : c));
  }, []);

  /** Hangs up this browser's side: microphone off, connection closed, the remote audio stopped. */
  const release = useCallback(() => {
    const m = media.current;
    closeAudioLeg(m);
    m.stream = null;
    m.pc = null;
    m.audio = null;
  }, []);

  useEffect(() => release, [release]);

  /** The call is over for this inbox (`reason`: an i18n key's last part, or the gateway's words). */
  const finish = useCallback(
    (reason, { talkSeconds = null, seconds = null, server = false } = {}) => {
      const c = callRef.current;
      if (!c || c.phase === "ended") return;
      release();
      const now = Date.now();
      const talk = talkSeconds ?? (c.answeredAt ? Math.round((now - c.answeredAt) / 1000) : 0);
      if (!server) note(c.conversationId, "call.ended", { call_id: c.callId, reason, talk_seconds: talk, ...(seconds != null ? { seconds } : {}) });
      // Hung up here (the gateway's call.ended can arrive before the hang-up's answer).
      const byAgent = reason === "agent" || c.busy === "hangup";
      const ended = { ...c, phase: "ended", endedAt: now, talkSeconds: talk, reason, byAgent, busy: null };
      callRef.current = ended;
      setCall(ended);
      endedRef.current?.(ended);
    },
    [release, note],
  );

  /**
   * Fills a call conversation's timeline from the tenant's recorded events (a call from before a
   * reload, or another agent's), for those allowed to read them: supervisors and admins. Agents see
   * what this tab saw and what the gateway pushed live. loadHistory(conversation) resolves true once
   * the recorded events are in the timeline (false: not allowed, or the gateway did not answer).
   */
  const readHistory = useCallback(
    async (id, tenantId) => {
      const pages = await Promise.all(
        CALL_EVENTS.map((type) => api.tenantEvents(tenantId, { type, limit: HISTORY_PAGE }).catch(() => null)),
      );
      for (const page of pages) {
        for (const event of page?.items ?? []) {
          if (event?.conversation_id !== id || !CALL_EVENTS.includes(event.type)) continue;
          const at = Date.parse(event.created_at);
          note(id, event.type, event.data && typeof event.data === "object" ? event.data : {}, { server: true, at: Number.isFinite(at) ? at : Date.now() });
        }
      }
      return pages.every(Boolean);
    },
    [note],
  );
  const askedHistory = useRef(new Map()); // conversation id → the promise of its history
  const pickedUp = useRef(new Set()); // calls placed from here whose customer answered before call_dial's ack
  const loadHistory = useCallback(
    (conversation) => {
      const id = conversation?.id;
      const tenantId = conversation?.tenant_id;
      if (!id || !tenantId) return Promise.resolve(false);
      if (askedHistory.current.has(id)) return askedHistory.current.get(id);
      if (!maySupervise(user, memberships, tenantId)) return Promise.resolve(false);
      const loaded = readHistory(id, tenantId);
      askedHistory.current.set(id, loaded);
      return loaded;
    },
    [memberships, user, readHistory],
  );

  const iceServers = useCallback(async () => {
    if (media.current.iceServers) return media.current.iceServers;
    const servers = await askIceServers(realtime);
    if (servers) media.current.iceServers = servers;
    return servers ?? [];
  }, [realtime]);

  /**
   * Opens this browser's leg and hands its offer to the gateway. `stream`: the microphone, or null
   * to listen only (used to end a call the agent could not speak on).
   */
  const connect = useCallback(
    async (c, stream) =>
      openAudioLeg({
        iceServers: await iceServers(),
        stream,
        audioClass: "call-remote-audio",
        dataset: { callId: c.callId },
        onOpened: ({ pc, audio }) => {
          media.current.pc = pc;
          media.current.audio = audio;
        },
        isCurrent: (pc) => media.current.pc === pc,
        onState: (state) => {
          if (state === "failed") patch({ error: { key: "call.error.connectionLost" } });
          else if (state === "connected") patch((now) => (now.error?.key === "call.error.connectionLost" ? { error: null } : {}));
        },
        // A call the agent places (click-to-call) is asked for with the offer; any other is answered.
        send: (sdp) =>
          c.placing
            ? realtime.emit("call_dial", { tenant_id: c.tenantId, contact_id: c.placing.contactId, number: c.placing.number, sdp })
            : realtime.emit("call_answer", { call_id: c.callId, sdp }),
      }),
    [realtime, iceServers, patch],
  );

  const failWith = useCallback(
    (ack) => {
      release();
      patch({ phase: "failed", busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
    },
    [release, patch],
  );

  /** Microphone, then the leg, then the gateway's answer: the call is on. */
  const dial = useCallback(
    async (c) => {
      patch({ phase: "microphone", error: null });
      let stream;
      try {
        stream = await openMicrophone();
      } catch (err) {
        if (callRef.current?.callId === c.callId) patch({ phase: "noMicrophone", error: { key: microphoneProblem(err) } });
        return;
      }
      if (callRef.current?.callId !== c.callId || callRef.current.phase === "ended") {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      media.current.stream = stream;
      patch({ phase: "connecting" });
      let ack;
      try {
        ack = await connect(c, stream);
      } catch (err) {
        ack = { ok: false, code: "webrtc", message: String(err?.message || err) };
      }
      if (ack?.code === "cancelled") return;
      if (!ack?.ok) {
        failWith(ack);
        return;
      }
      const answeredAt = Date.now();
      // A call placed from here learns its ids from the answer.
      const conversationId = ack.conversation_id || c.conversationId;
      const callId = ack.call_id || c.callId;
      if (!c.placing) note(conversationId, "call.answered", { call_id: callId, agent_id: user.id, agent_name: user.name || user.email || "" }, { at: answeredAt });
      patch({ phase: "talking", answeredAt, recording: ack.recording === false ? "off" : "on", conversationId, callId,
        connected: !(c.placing || c.dialsOut) || pickedUp.current.has(callId) });
    },
    [patch, connect, failWith, note, user.id, user.name, user.email],
  );

  /**
   * Answers a call the agent accepted the task of. `conversation` (as fetched) names the call and
   * the customer. Resolves when the call is on, or the attempt failed (shown on the call bar).
   */
  const answer = useCallback(
    async ({ taskId, conversationId, conversation, contactName }) => {
      if (callRef.current && callRef.current.phase !== "ended" && callRef.current.phase !== "failed") return;
      let known = conversation;
      if (!callIdOf(known)) known = await api.getConversation(conversationId).catch(() => null);
      const callId = callIdOf(known);
      // A callback: answering it dials the customer, who is heard once they pick up.
      const callback = known?.attributes?.callback;
      const c = newCall({
        callId,
        conversationId,
        taskId,
        tenantId: known?.tenant_id ?? null,
        contactName: contactName || "",
        phase: callId ? "microphone" : "failed",
        error: callId ? null : { key: "call.error.noCall" },
        dialsOut: callback && ["waiting", "dialling"].includes(callback.state) ? { number: String(callback.number ?? "") } : null,
      });
      release();
      callRef.current = c;
      setCall(c);
      if (callId) await dial(c);
    },
    [dial, release],
  );

  /**
   * Calls one of a contact's numbers (click-to-call): the gateway dials it through its trunk once
   * this browser's leg is up; the customer is heard when they pick up. The call bar shows it as
   * any call, its conversation (new, the agent's) named by the gateway's answer.
   */
  const place = useCallback(
    async ({ tenantId, contactId, number, contactName }) => {
      if (callRef.current && callRef.current.phase !== "ended" && callRef.current.phase !== "failed") return;
      const c = newCall({ callId: null, conversationId: null, taskId: null, tenantId, contactName: contactName || number, placing: { contactId, number }, phase: "microphone" });
      release();
      callRef.current = c;
      setCall(c);
      await dial(c);
    },
    [dial, release],
  );

  /** After a refused microphone (the agent allowed it now) or a failed answer: try again. */
  const retry = useCallback(() => {
    const c = callRef.current;
    if (c && (c.phase === "noMicrophone" || c.phase === "failed") && c.callId) {
      release();
      dial(c);
    }
  }, [dial, release]);

  /** Runs one control (hold, mute…) unless another is under way; a refusal is shown on the bar. */
  const control = useCallback(
    async (name, event, payload, onOk) => {
      const c = callRef.current;
      if (!c || c.phase !== "talking" || c.busy) return { ok: false, code: "busy" };
      patch({ busy: name, error: null, info: null });
      const ack = await realtime.emit(event, { call_id: c.callId, ...payload });
      if (callRef.current?.callId !== c.callId) return ack;
      if (ack?.ok) {
        patch({ busy: null, ...onOk(c) });
      } else {
        patch({ busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
        if (ack?.code === "not_found" && callRef.current.phase === "talking") finish("ended");
      }
      return ack;
    },
    [realtime, patch, finish],
  );

  const toggleMute = useCallback(() => {
    const on = !callRef.current?.muted;
    return control("mute", "call_mute", { muted: on }, () => {
      media.current.stream?.getAudioTracks().forEach((track) => {
        track.enabled = !on;
      });
      return { muted: on };
    });
  }, [control]);

  const toggleHold = useCallback(() => {
    const on = !callRef.current?.held;
    return control("hold", "call_hold", { on }, (c) => {
      note(c.conversationId, on ? "call.held" : "call.resumed", { call_id: c.callId });
      return { held: on };
    });
  }, [control, note]);

  const toggleRecording = useCallback(async () => {
    const c = callRef.current;
    if (!c || c.recording === "off") return { ok: false, code: "not_recording" };
    const paused = c.recording !== "paused";
    const ack = await control("recording", "call_recording", { paused }, (now) => {
      note(now.conversationId, paused ? "call.recording_paused" : "call.recording_resumed", { call_id: now.callId });
      return { recording: paused ? "paused" : "on" };
    });
    if (ack?.code === "not_recording") patch({ recording: "off", error: { key: "call.error.notRecorded" } });
    return ack;
  }, [control, note, patch]);

  const hangup = useCallback(async () => {
    const c = callRef.current;
    if (!c || c.phase === "ended" || c.busy === "hangup") return;
    patch({ busy: "hangup", error: null });
    let ack;
    if (c.phase === "talking") {
      ack = await realtime.emit("call_hangup", { call_id: c.callId });
    } else if (c.callId && (c.phase === "noMicrophone" || c.phase === "failed" || c.phase === "microphone" || c.phase === "connecting")) {
      // Never answered from here: the gateway only lets the agent on the call hang it up, so take
      // it listening only, then hang up.
      release();
      try {
        const answered = await connect(c, null);
        ack = answered?.ok || answered?.code === "already_answered" ? await realtime.emit("call_hangup", { call_id: c.callId }) : answered;
      } catch (err) {
        ack = { ok: false, code: "webrtc", message: String(err?.message || err) };
      }
    }
    if (callRef.current?.callId !== c.callId) return;
    if (!ack || ack.ok || ack.code === "not_found") {
      finish("agent");
    } else {
      patch({ busy: null, error: { code: ack.code || "error", message: ack.message || "" } });
    }
  }, [realtime, patch, release, connect, finish]);

  /** Off the call for good without ending it: the work went on to someone else (no wrap-up here). */
  const handOff = useCallback(
    (c, target) => {
      release();
      callRef.current = null;
      setCall(null);
      handedOnRef.current?.({ conversationId: c.conversationId, taskId: c.taskId, ...target });
    },
    [release],
  );

  /** Blind transfer: target {queue_id} or {agent_id}; the caller hears hold audio until the next agent answers. */
  const transfer = useCallback(
    async (target, noteText = "") => {
      const c = callRef.current;
      if (!c || c.phase !== "talking" || c.consult) return { ok: false, code: "busy" };
      patch({ busy: "transfer", error: null, info: null });
      const payload = { call_id: c.callId, ...target };
      if (noteText) payload.note = noteText;
      const ack = await realtime.emit("call_transfer", payload);
      if (callRef.current?.callId !== c.callId) return ack;
      if (ack?.ok) handOff(c, target);
      else patch({ busy: null });
      return ack;
    },
    [realtime, patch, handOff],
  );

  /** Warm transfer, first step: the caller goes on hold and the colleague ({id, name}) is asked to join. */
  const consult = useCallback(
    async (colleague) => {
      const c = callRef.current;
      if (!c || c.phase !== "talking" || c.consult || c.busy) return { ok: false, code: "busy" };
      patch({ busy: "consult", error: null, info: null });
      const ack = await realtime.emit("call_consult", { call_id: c.callId, agent_id: colleague.id });
      if (callRef.current?.callId !== c.callId) return ack;
      if (ack?.ok) patch({ busy: null, held: true, consult: { agentId: colleague.id, name: colleague.name || "", phase: "ringing" } });
      else patch({ busy: null });
      return ack;
    },
    [realtime, patch],
  );

  /** The colleague takes the caller over: this agent leaves the call, no wrap-up (the work went on). */
  const completeConsult = useCallback(async () => {
    const c = callRef.current;
    if (!c?.consult || c.consult.phase !== "talking" || c.busy) return;
    patch({ busy: "complete", error: null, info: null });
    const ack = await realtime.emit("call_consult_complete", { call_id: c.callId });
    if (callRef.current?.callId !== c.callId) return;
    if (ack?.ok) handOff(c, { agent_id: c.consult.agentId, warm: true });
    else patch({ busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
  }, [realtime, patch, handOff]);

  /** Back to the caller (still on hold: Resume takes them off it); the colleague leaves. */
  const cancelConsult = useCallback(async () => {
    const c = callRef.current;
    if (!c?.consult || c.busy) return;
    patch({ busy: "cancel", error: null, info: null });
    const ack = await realtime.emit("call_consult_cancel", { call_id: c.callId });
    if (callRef.current?.callId !== c.callId) return;
    if (ack?.ok || ack?.code === "not_found") patch({ busy: null, consult: null, held: true });
    else patch({ busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
  }, [realtime, patch]);

  // ---- a colleague consulting this agent about their call ----
  // {callId, conversationId, fromAgentId, fromName, phase: ringing | microphone | connecting | on |
  //  ended | failed, muted, busy, error, reason, startedAt}
  const [consultation, setConsultation] = useState(null);
  const consultRef = useRef(consultation);
  consultRef.current = consultation;
  const consultMedia = useRef({ pc: null, stream: null, audio: null });

  const patchConsult = useCallback((callId, changes) => {
    setConsultation((w) => {
      if (!w || w.callId !== callId) return w;
      const next = { ...w, ...(typeof changes === "function" ? changes(w) : changes) };
      consultRef.current = next;
      return next;
    });
  }, []);

  const releaseConsult = useCallback(() => {
    closeAudioLeg(consultMedia.current);
    consultMedia.current = { pc: null, stream: null, audio: null };
  }, []);
  useEffect(() => releaseConsult, [releaseConsult]);

  /** The consultation is over for this agent (`reason`: cancelled | declined | left | ended | callEnded). */
  const endConsult = useCallback(
    (callId, reason) => {
      const w = consultRef.current;
      if (!w || w.callId !== callId || w.phase === "ended") return;
      releaseConsult();
      if (w.phase === "ringing" && reason === "declined") {
        consultRef.current = null;
        setConsultation(null);
        return;
      }
      patchConsult(callId, { phase: "ended", reason, busy: null });
      setTimeout(() => {
        setConsultation((now) => (now && now.callId === callId && now.phase === "ended" ? null : now));
      }, CONSULT_ENDED_SHOWN_MS);
    },
    [releaseConsult, patchConsult],
  );

  /** Joins the colleague's consultation: the microphone, then a leg of its own on the call. */
  const joinConsult = useCallback(async () => {
    const w = consultRef.current;
    if (!w || w.phase !== "ringing" || w.busy) return;
    const live = callRef.current;
    if (live && live.phase !== "ended" && live.phase !== "failed") return;
    const { callId } = w;
    releaseConsult();
    patchConsult(callId, { phase: "microphone", error: null });
    let stream;
    try {
      stream = await openMicrophone();
    } catch (err) {
      patchConsult(callId, { phase: "ringing", error: { key: microphoneProblem(err) } });
      return;
    }
    if (consultRef.current?.callId !== callId || consultRef.current.phase !== "microphone") {
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    consultMedia.current.stream = stream;
    patchConsult(callId, { phase: "connecting" });
    let ack;
    try {
      ack = await openAudioLeg({
        iceServers: await iceServers(),
        stream,
        audioClass: "call-remote-audio consult-remote-audio",
        dataset: { callId },
        onOpened: ({ pc, audio }) => {
          consultMedia.current.pc = pc;
          consultMedia.current.audio = audio;
        },
        isCurrent: (pc) => consultMedia.current.pc === pc || media.current.pc === pc,
        onState: (state) => {
          if (state === "failed") {
            if (consultRef.current?.callId === callId) patchConsult(callId, { error: { key: "call.error.connectionLost" } });
            else patch({ error: { key: "call.error.connectionLost" } });
          }
        },
        send: async (sdp) => {
          const leg = consultMedia.current.pc;
          const answer = await realtime.emit("call_consult_answer", { call_id: callId, sdp });
          if (answer?.ok && consultMedia.current.pc !== leg) realtime.emit("call_consult_decline", { call_id: callId });
          return answer;
        },
      });
    } catch (err) {
      ack = { ok: false, code: "webrtc", message: String(err?.message || err) };
    }
    if (ack?.code === "cancelled" || consultRef.current?.callId !== callId) return;
    if (!ack?.ok) {
      releaseConsult();
      patchConsult(callId, { phase: "failed", error: { code: ack?.code || "error", message: ack?.message || "" } });
      return;
    }
    patchConsult(callId, (now) => ({ phase: "on", startedAt: Date.now(), conversationId: ack.conversation_id || now.conversationId }));
  }, [realtime, iceServers, releaseConsult, patchConsult, patch]);

  /** Declines the consultation (ringing), or leaves it (joined); a failed one's bar is put away. */
  const declineConsult = useCallback(async () => {
    const w = consultRef.current;
    if (!w || w.busy) return;
    if (w.phase === "ended" || w.phase === "failed") {
      releaseConsult();
      consultRef.current = null;
      setConsultation(null);
      return;
    }
    patchConsult(w.callId, { busy: "decline", error: null });
    const ack = await realtime.emit("call_consult_decline", { call_id: w.callId });
    if (consultRef.current?.callId !== w.callId) return;
    if (ack?.ok || ack?.code === "not_found") endConsult(w.callId, w.phase === "ringing" ? "declined" : "left");
    else patchConsult(w.callId, { busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
  }, [realtime, patchConsult, releaseConsult, endConsult]);

  const toggleConsultMute = useCallback(() => {
    const w = consultRef.current;
    if (!w || w.phase !== "on") return;
    const on = !w.muted;
    consultMedia.current.stream?.getAudioTracks().forEach((track) => {
      track.enabled = !on;
    });
    patchConsult(w.callId, { muted: on });
  }, [patchConsult]);

  /** Handed over: the consultation becomes this agent's call (its leg, the normal call bar). */
  const takeOver = useCallback(
    (taskId) => {
      const w = consultRef.current;
      if (!w || w.phase !== "on") return;
      const m = consultMedia.current;
      release();
      media.current.pc = m.pc;
      media.current.stream = m.stream;
      media.current.audio = m.audio;
      consultMedia.current = { pc: null, stream: null, audio: null };
      consultRef.current = null;
      setConsultation(null);
      const answeredAt = Date.now();
      const c = {
        callId: w.callId,
        conversationId: w.conversationId,
        taskId: taskId ?? null,
        tenantId: w.tenantId ?? null,
        contactName: w.contactName || "",
        phase: "talking",
        muted: Boolean(w.muted),
        held: false,
        recording: "on",
        answeredAt,
        endedAt: null,
        busy: null,
        error: null,
        consult: null,
        info: null,
        takenOverFrom: w.fromName || "",
      };
      callRef.current = c;
      setCall(c);
      note(w.conversationId, "call.answered", { call_id: w.callId, agent_id: user.id, agent_name: user.name || user.email || "" }, { at: answeredAt });
      takenOverRef.current?.(c);
      api.getConversation(w.conversationId).then(
        (conversation) =>
          patch((now) =>
            now.callId === w.callId
              ? { tenantId: conversation?.tenant_id ?? now.tenantId, contactName: now.contactName || conversation?.contact?.name || conversation?.attributes?.prechat?.name || "" }
              : {},
          ),
        () => {},
      );
    },
    [release, note, patch, user.id, user.name, user.email],
  );

  // The first agent handed the caller over: the task is accepted for this agent (task.accepted).
  const consultHeld = consultation ? held[consultation.conversationId]?.state ?? null : null;
  useEffect(() => {
    if (consultation?.phase === "on" && consultHeld === "assigned") takeOver(held[consultation.conversationId]?.task_id);
  }, [consultHeld, consultation?.phase]);

  // The gateway's word on consultations: offered to this agent; answered, ended, handed over.
  useEffect(() => {
    const offs = [
      realtime.on("call.consult_offered", (data) => {
        if (!data?.call_id || (data.agent_id && data.agent_id !== user.id)) return;
        const w = consultRef.current;
        if (w && w.phase !== "ended" && w.phase !== "failed" && w.callId !== data.call_id) return; // one at a time
        releaseConsult();
        const next = {
          callId: data.call_id,
          conversationId: data.conversation_id,
          fromAgentId: data.from_agent_id ?? null,
          fromName: typeof data.from_agent_name === "string" ? data.from_agent_name : "",
          phase: "ringing",
          muted: false,
          busy: null,
          error: null,
          reason: null,
          receivedAt: Date.now(),
        };
        consultRef.current = next;
        setConsultation(next);
        if (data.conversation_id) {
          api.getConversation(data.conversation_id).then(
            (conversation) =>
              patchConsult(data.call_id, {
                tenantId: conversation?.tenant_id ?? null,
                contactName: conversation?.contact?.name || (typeof conversation?.attributes?.prechat?.name === "string" ? conversation.attributes.prechat.name : ""),
              }),
            () => {},
          );
        }
      }),
      ...CONSULT_EVENTS.map((type) =>
        realtime.on(type, (data) => {
          if (!data?.call_id) return;
          // This agent's call, consulting a colleague.
          const c = callRef.current;
          if (c && c.callId === data.call_id && c.consult) {
            if (type === "call.consult_answered" && data.agent_id === c.consult.agentId) {
              patch({ consult: { ...c.consult, phase: "talking" } });
            } else if (type === "call.consult_ended" && data.agent_id === c.consult.agentId && !HANDING_ON.has(c.busy) && c.busy !== "cancel") {
              const key = data.outcome === "declined" ? "call.consult.declined" : data.outcome === "cancelled" ? null : "call.consult.lost";
              patch({ consult: null, held: true, info: key ? { key, name: c.consult.name } : null });
            }
          }
          // A consultation this agent is on.
          const w = consultRef.current;
          if (w && w.callId === data.call_id && w.phase !== "ended") {
            if (type === "call.consult_ended" && data.agent_id === user.id && w.busy !== "decline") {
              endConsult(w.callId, data.outcome === "cancelled" ? "cancelled" : data.outcome === "declined" ? "left" : "ended");
            } else if (type === "call.transferred" && data.to_agent_id === user.id && data.warm) {
              lookupRef.current?.(w.conversationId); // the task accepted for this agent: task.accepted, or asked
            }
          }
        }),
      ),
      realtime.on("call.ended", (data) => {
        const w = consultRef.current;
        if (w && data?.call_id === w.callId) endConsult(w.callId, "callEnded");
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [realtime, user.id, patch, patchConsult, releaseConsult, endConsult]);

  /** Puts the ended (or failed) call's bar away. */
  const dismiss = useCallback(() => {
    const c = callRef.current;
    if (c && (c.phase === "ended" || c.phase === "failed")) {
      release();
      callRef.current = null;
      setCall(null);
    }
  }, [release]);

  // The gateway's account of calls (when it pushes call.* events to the agent's rooms).
  useEffect(() => {
    const offs = [...CALL_EVENTS, "callback.attempted"].map((type) =>
      realtime.on(type, (data) => {
        if (!data?.conversation_id) return;
        if (CALL_EVENTS.includes(type)) note(data.conversation_id, type, data, { server: true });
        const c = callRef.current;
        if (type === "callback.attempted" && c?.dialsOut && data.conversation_id === c.conversationId && data.result === "answered") {
          patch({ connected: true }); // the customer called back picked up
        }
        if (type === "call.answered" && c?.placing) {
          // They picked up (possibly before this inbox heard back from call_dial).
          if (data.call_id === c.callId) patch({ connected: true });
          else if (!c.callId) pickedUp.current.add(data.call_id);
        }
        if (type === "call.ended" && c && data.call_id === c.callId) {
          finish(typeof data.reason === "string" ? data.reason : "ended", { talkSeconds: data.talk_seconds ?? null, seconds: data.seconds ?? null, server: true });
        }
      }),
    );
    return () => offs.forEach((off) => off());
  }, [realtime, note, finish, patch]);

  // A call the agent picked up on their own desk phone: the bar's controls work on it (no audio in this tab).
  useEffect(
    () =>
      realtime.on("call.desk_phone_answered", (data) => {
        const c = callRef.current;
        if (!data?.call_id || data.agent_id !== user.id || (c && c.phase !== "ended" && c.phase !== "failed")) return;
        const d = newCall({
          callId: data.call_id, conversationId: data.conversation_id, taskId: null, tenantId: null, contactName: "", device: "phone", phase: "talking", answeredAt: Date.now(),
        });
        release();
        callRef.current = d;
        setCall(d);
        api.getConversation(data.conversation_id).then(
          (conversation) => patch((now) => (now.callId === d.callId ? {
            tenantId: conversation?.tenant_id ?? null,
            contactName: conversation?.contact?.name || conversation?.subject || "",
          } : {})),
          () => {},
        );
      }),
    [realtime, user.id, patch, release],
  );

  // The call's task went on to wrap-up or away without this inbox hanging up: the call is over.
  const heldState = call ? held[call.conversationId]?.state ?? null : null;
  useEffect(() => {
    if (!call || call.phase === "ended" || HANDING_ON.has(call.busy)) return;
    if (call.placing) {
      // A call placed from here has its task from the gateway's answer on: only its move to wrap-up says it is over.
      if (heldState === "wrapup") finish("remote");
      return;
    }
    if (heldState !== "assigned" && heldState !== "offered") finish(call.answeredAt ? "remote" : "ended");
  }, [heldState, call?.phase, call?.busy]);

  // Leaving the page mid-call: hang up rather than leave the customer talking to nobody.
  useEffect(() => {
    if (!call || call.phase !== "talking") return undefined;
    const warn = (e) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [call?.phase]);

  return useMemo(
    () => ({
      call, timelines, answer, place, retry, toggleMute, toggleHold, toggleRecording, hangup, dismiss, note, loadHistory,
      transfer, consult, completeConsult, cancelConsult,
      consultation, joinConsult, declineConsult, toggleConsultMute,
    }),
    [
      call, timelines, answer, place, retry, toggleMute, toggleHold, toggleRecording, hangup, dismiss, note, loadHistory,
      transfer, consult, completeConsult, cancelConsult,
      consultation, joinConsult, declineConsult, toggleConsultMute,
    ],
  );
}

/** The shell's call (useCall's answer) for the views that show it. */
export const CallContext = createContext({ call: null, timelines: {} });

export function useCallContext() {
  return useContext(CallContext);
}
