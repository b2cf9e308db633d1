// A supervisor on someone else's live call: listening in (the supervisor hears both sides, nobody
// hears them, the agent is not told), whispering (the agent hears the supervisor, the customer does
// not) or barging in (everyone hears everyone), over a WebRTC leg of their own (call_monitor on the
// /agent socket, channels/voice). One monitored call at a time, never while on a call of one's own.
//
// The leg always carries the microphone when there is one, muted (track.enabled = false) while
// listening: switching mode is then only call_monitor_mode and the track switched on or off. Without
// a microphone the supervisor can still listen (a receive-only leg), not speak.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { askIceServers, closeAudioLeg, microphoneProblem, openAudioLeg, openMicrophone } from "./calls.js";

export const MODES = ["listen", "whisper", "barge"];
export const SUPERVISION_EVENTS = ["supervision.started", "supervision.mode_changed", "supervision.ended"];
// Answers of the gateway the supervisor gets told in their language; any other says its own message.
export const MONITOR_ERROR_CODES = new Set(["not_found", "already_monitoring", "bad_offer", "offline", "timeout", "unknown_event"]);
const ENDED_SHOWN_MS = 8000; // how long the bar says the call ended (or was left) before it goes

/**
 * The supervisor's monitored call: {callId, conversationId, tenantId, contactName, mode, phase (microphone |
 * connecting | on | failed | ended), canSpeak, busy, error, reason}. `onCall`: the user is on a call
 * of their own (answering one, or talking): joining is refused.
 */
export function useSupervision({ realtime, supervisorEvents, userId, onCall }) {
  const [watch, setWatch] = useState(null);
  const ref = useRef(watch);
  ref.current = watch;
  const media = useRef({ pc: null, stream: null, audio: null });
  const [gone, setGone] = useState(() => new Set()); // calls the gateway says are over (a refused join)

  const patch = useCallback((callId, changes) => {
    setWatch((w) => {
      if (!w || w.callId !== callId) return w;
      const next = { ...w, ...(typeof changes === "function" ? changes(w) : changes) };
      ref.current = next;
      return next;
    });
  }, []);

  const release = useCallback(() => {
    closeAudioLeg(media.current);
    media.current = { pc: null, stream: null, audio: null };
  }, []);
  useEffect(() => release, [release]);

  /** Off the call for this browser; the bar says why (`reason`: left | callEnded | removed) a while. */
  const finish = useCallback(
    (callId, reason) => {
      const w = ref.current;
      if (!w || w.callId !== callId || w.phase === "ended") return;
      release();
      patch(callId, { phase: "ended", reason, busy: null, error: null });
      setTimeout(() => {
        setWatch((now) => (now && now.callId === callId && now.phase === "ended" ? null : now));
      }, ENDED_SHOWN_MS);
    },
    [release, patch],
  );

  const speak = useCallback((on) => {
    media.current.stream?.getAudioTracks().forEach((track) => {
      track.enabled = on;
    });
  }, []);

  /** Joins the call of a conversation ({callId, conversationId, tenantId, contactName}) in `mode`. */
  const join = useCallback(
    async ({ callId, conversationId, tenantId, contactName = "" }, mode) => {
      if (!callId || !MODES.includes(mode) || onCall) return;
      const before = ref.current;
      if (before && before.phase !== "ended" && before.phase !== "failed") return;
      release();
      const w = { callId, conversationId, tenantId, contactName, mode, phase: "microphone", canSpeak: false, busy: null, error: null, reason: null };
      ref.current = w;
      setWatch(w);
      let stream = null;
      let micError = null;
      try {
        stream = await openMicrophone();
      } catch (err) {
        micError = { key: microphoneProblem(err) };
      }
      if (ref.current?.callId !== callId || ref.current.phase !== "microphone") {
        stream?.getTracks().forEach((track) => track.stop());
        return;
      }
      if (!stream && mode !== "listen") {
        patch(callId, { phase: "failed", error: micError });
        return;
      }
      stream?.getAudioTracks().forEach((track) => {
        track.enabled = mode !== "listen";
      });
      media.current.stream = stream;
      patch(callId, { phase: "connecting", canSpeak: Boolean(stream), error: micError ? { ...micError, listenOnly: true } : null });
      let ack;
      try {
        const iceServers = await askIceServers(realtime);
        ack = await openAudioLeg({
          iceServers,
          stream,
          audioClass: "supervise-remote-audio",
          dataset: { callId },
          onOpened: ({ pc, audio }) => {
            media.current.pc = pc;
            media.current.audio = audio;
          },
          isCurrent: (pc) => media.current.pc === pc,
          onState: (state) => {
            if (state === "failed") patch(callId, { error: { key: "supervise.error.connectionLost" } });
            else if (state === "connected") patch(callId, (now) => (now.error?.key === "supervise.error.connectionLost" ? { error: null } : {}));
          },
          send: async (sdp) => {
            const leg = media.current.pc;
            const answer = await realtime.emit("call_monitor", { call_id: callId, sdp, mode });
            // Left while the gateway was joining: off the call there too.
            if (answer?.ok && media.current.pc !== leg) realtime.emit("call_monitor_leave", { call_id: callId });
            return answer;
          },
        });
      } catch (err) {
        ack = { ok: false, code: "webrtc", message: String(err?.message || err) };
      }
      if (ack?.code === "cancelled" || ref.current?.callId !== callId) return;
      if (!ack?.ok) {
        release();
        if (ack?.code === "not_found") setGone((s) => new Set(s).add(callId));
        patch(callId, { phase: "failed", error: { code: ack?.code || "error", message: ack?.message || "" } });
        return;
      }
      patch(callId, (now) => ({ phase: "on", conversationId: ack.conversation_id || now.conversationId }));
    },
    [realtime, onCall, release, patch],
  );

  /** Listen, whisper or barge in on the call already joined. */
  const setMode = useCallback(
    async (mode) => {
      const w = ref.current;
      if (!w || w.phase !== "on" || w.busy || w.mode === mode || !MODES.includes(mode)) return;
      if (mode !== "listen" && !w.canSpeak) return;
      if (mode === "listen") speak(false); // not heard a moment longer than asked
      patch(w.callId, { busy: mode, error: null });
      const ack = await realtime.emit("call_monitor_mode", { call_id: w.callId, mode });
      if (ref.current?.callId !== w.callId || ref.current.phase !== "on") return;
      if (ack?.ok) {
        speak(mode !== "listen");
        patch(w.callId, { mode, busy: null });
      } else {
        speak(w.mode !== "listen");
        patch(w.callId, { busy: null, error: { code: ack?.code || "error", message: ack?.message || "" } });
        if (ack?.code === "not_found") finish(w.callId, "callEnded");
      }
    },
    [realtime, speak, patch, finish],
  );

  /** Off the call: the gateway is told, the leg closed (closing it alone would do as well). */
  const leave = useCallback(async () => {
    const w = ref.current;
    if (!w) return;
    if (w.phase === "ended" || w.phase === "failed") {
      release();
      ref.current = null;
      setWatch(null);
      return;
    }
    speak(false);
    patch(w.callId, { busy: "leave", error: null });
    // Refused or unanswered (offline…): the leg is closed all the same, which the gateway takes as leaving.
    if (w.phase === "on") await realtime.emit("call_monitor_leave", { call_id: w.callId });
    if (ref.current?.callId !== w.callId) return;
    finish(w.callId, "left");
  }, [realtime, speak, patch, release, finish]);

  // The call ended (told to the conversation's room on /agent, to the tenant's on /supervisor), or
  // the gateway took this supervisor off it (their leg failed…).
  useEffect(() => {
    const onEnded = (data) => {
      if (!data?.call_id) return;
      setGone((s) => (s.has(data.call_id) ? s : new Set(s).add(data.call_id)));
      if (ref.current?.callId === data.call_id) finish(data.call_id, "callEnded");
    };
    const onSupervision = (type) => (data) => {
      const w = ref.current;
      if (!w || data?.call_id !== w.callId || data.supervisor_id !== userId || w.phase !== "on" || w.busy) return;
      if (type === "supervision.ended") finish(w.callId, "removed");
    };
    const offs = [realtime.on("call.ended", onEnded)];
    if (supervisorEvents) {
      offs.push(supervisorEvents.on("call.ended", onEnded));
      for (const type of SUPERVISION_EVENTS) offs.push(supervisorEvents.on(type, onSupervision(type)));
    }
    return () => offs.forEach((off) => off());
  }, [realtime, supervisorEvents, userId, finish]);

  // The user's own call comes first: answering one takes them off the call they monitor.
  useEffect(() => {
    if (onCall && ref.current && ref.current.phase !== "ended" && ref.current.phase !== "failed") leave();
  }, [onCall]);

  const active = Boolean(watch && watch.phase !== "ended" && watch.phase !== "failed");
  return useMemo(
    () => ({ watch, active, gone, onCall, join, setMode, leave }),
    [watch, active, gone, onCall, join, setMode, leave],
  );
}

/** What went wrong joining or supervising a call, as the supervisor should read it. */
export function superviseErrorText(error, t) {
  if (!error) return "";
  if (error.listenOnly) return `${t(error.key)} ${t("supervise.listenOnly")}`;
  if (error.key) return t(error.key);
  if (error.code === "offline" || error.code === "timeout") return t(`call.error.${error.code}`);
  if (MONITOR_ERROR_CODES.has(error.code)) return t(`supervise.error.${error.code}`);
  return error.message || t("task.failed", { code: error.code || "error" });
}

/** The shell's supervision (useSupervision's answer) for the views that show it. */
export const SupervisionContext = createContext({ watch: null, active: false, gone: new Set(), onCall: false });

export function useSupervisionContext() {
  return useContext(SupervisionContext);
}
