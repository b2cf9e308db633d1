// The widget as a business's admin sees it while editing its settings in the inbox, before saving.
// The gateway's preview page (/widget/preview: a sandboxed frame with no network but the gateway's
// scripts) loads widget.js with data-preview, which loads this part instead of the visitor's widget.
// The real shell draws the settings the inbox posts, over stand-ins for the connection, the chat and
// co-browsing that never connect: nothing is sent, no conversation is created. The inbox posts
//   {type: "wecc:preview", settings, view: "closed" | "prechat" | "offline", invite: "" | "text", note}
// (note: what a submitted form is told) and is told {type: "wecc:preview-ready"} once this listens.
import { createPanel } from "../panel.js";
import { withDefaults } from "../settings.js";
import { createStore } from "../store.js";

const AVAILABLE = { open: true, agents_available: true };
const NOBODY = { open: false, agents_available: false };

/** `members`, and for anything else a method that does nothing but answer `reply()`. */
function standIn(members, reply) {
  return new Proxy(members, { get: (o, name) => (name in o ? o[name] : () => Promise.resolve(reply())) });
}

export function startPreview(config, createHost) {
  let note = "";
  const reply = () => ({ ok: false, message: note });
  const connection = standIn({ store: createStore({ status: "idle", error: null, retrying: false }), connected: false }, reply);
  const session = standIn(
    {
      store: createStore({ conversationId: null, status: "open", messages: [], receipts: {}, availability: AVAILABLE, unread: 0 }),
      draftKey: "wecc.preview.draft",
    },
    reply,
  );
  const cobrowse = standIn({ store: createStore({ enabled: true }) }, reply);
  const panel = createPanel({ widgetKey: config.widgetKey, connection, session, emit() {} });
  let draw = null;
  let view = null;

  window.addEventListener("message", (e) => {
    const m = e.data;
    // Only the gateway's own page that framed this one drives it.
    if (e.source !== window.parent || e.origin !== config.origin || !m || m.type !== "wecc:preview") return;
    const settings = withDefaults(m.settings);
    note = String(m.note || "");
    cobrowse.store.set({ enabled: settings.cobrowse.enabled !== false });
    session.store.set({ availability: m.view === "offline" ? NOBODY : AVAILABLE });
    panel.store.set({ invite: m.invite ? { message: String(m.invite) } : null });
    // Opened or closed as the admin picks what to see (not on every keystroke, and without taking
    // the focus from the form they type in); the launcher inside opens and closes it too.
    if (m.view !== view) panel.store.set({ open: m.view !== "closed", focus: false });
    view = m.view;
    draw = draw || createHost(config, { connection, session, panel, cobrowse });
    draw(settings);
  });
  window.parent.postMessage({ type: "wecc:preview-ready" }, config.origin);
}
