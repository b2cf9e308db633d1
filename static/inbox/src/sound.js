// The ring of an incoming offer (a telephone's for a call), synthesised with WebAudio (no audio file to ship or load), and the
// agent's mute switch, remembered in this browser.

const MUTE_KEY = "wecc.inbox.muted";
const RING_EVERY_MS = 3000;

let context = null;

function audioContext() {
  if (context) return context;
  const Ctor = window.AudioContext || window.webkitAudioContext;
  if (!Ctor) return null;
  try {
    context = new Ctor();
  } catch {
    context = null;
  }
  return context;
}

/**
 * Browsers only let a page make sound after the person interacted with it: create/resume the
 * context on the first clicks and key presses so that a later offer can ring.
 */
export function unlockAudioOnGesture() {
  const unlock = () => {
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  };
  window.addEventListener("pointerdown", unlock, { capture: true });
  window.addEventListener("keydown", unlock, { capture: true });
  return () => {
    window.removeEventListener("pointerdown", unlock, { capture: true });
    window.removeEventListener("keydown", unlock, { capture: true });
  };
}

/** One ring: two short soft chimes (880 Hz then 660 Hz) with a gentle envelope. */
export function playRing() {
  const ctx = audioContext();
  if (!ctx) return false;
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const start = ctx.currentTime + 0.02;
  [
    [880, 0],
    [660, 0.22],
  ].forEach(([freq, offset]) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t0 = start + offset;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.22);
  });
  return true;
}

/**
 * One ring of an incoming call, like a telephone's: two bursts of the 440 + 480 Hz ring tone,
 * trembling a little (a bell's warble), 0.4 s each with a short gap.
 */
export function playCallRing() {
  const ctx = audioContext();
  if (!ctx) return false;
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const start = ctx.currentTime + 0.02;
  for (const offset of [0, 0.6]) {
    const gain = ctx.createGain();
    const t0 = start + offset;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.12, t0 + 0.03);
    gain.gain.setValueAtTime(0.12, t0 + 0.37);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.4);
    gain.connect(ctx.destination);
    for (const freq of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.type = "sine";
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(t0);
      osc.stop(t0 + 0.42);
    }
  }
  return true;
}

/** Rings now and every few seconds until stop() is called; kind "call" rings like a telephone. */
export function startRinging(kind = "offer") {
  const ring = kind === "call" ? playCallRing : playRing;
  ring();
  const timer = setInterval(ring, RING_EVERY_MS);
  return () => clearInterval(timer);
}

export function loadMuted() {
  try {
    return localStorage.getItem(MUTE_KEY) === "1";
  } catch {
    return false;
  }
}

export function saveMuted(muted) {
  try {
    localStorage.setItem(MUTE_KEY, muted ? "1" : "0");
  } catch {
    // not fatal: the choice lasts for this page only
  }
}
