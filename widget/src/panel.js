// The panel's state: open or closed (kept per tab in sessionStorage, so it stays open as the visitor
// moves through the site), whether to move focus into it, and the invitation bubble next to the launcher.
import { createStore } from "./store.js";
import { load, save } from "./storage.js";

export function createPanel({ widgetKey, connection, session, emit }) {
  const key = `wecc.open.${widgetKey}`;
  // focus: opened by the visitor (not restored on a new page), so focus goes into the panel.
  const store = createStore({ open: false, focus: false, invite: null, greeting: null });

  function open({ restore = false } = {}) {
    if (store.get().open) return;
    store.set({ open: true, focus: !restore, invite: null });
    save("sessionStorage", key, true);
    connection.open();
    session.setPanelOpen(true);
    emit("open");
  }

  function close() {
    if (!store.get().open) return;
    store.set({ open: false });
    save("sessionStorage", key, null);
    session.setPanelOpen(false);
    emit("close");
  }

  return {
    store,
    open: () => open(),
    close,
    toggle: () => (store.get().open ? close() : open()),
    restore: () => load("sessionStorage", key, false) && open({ restore: true }),
    invite(rule) {
      const s = store.get();
      if (s.open || s.invite || session.store.get().conversationId) return false;
      store.set({ invite: rule });
      return true;
    },
    acceptInvite() {
      const rule = store.get().invite;
      store.set({ greeting: rule && rule.message });
      open();
    },
    dismissInvite: () => store.set({ invite: null }),
    /** The visitor moved to a page the invitation was not for. */
    withdrawInvite: (rule) => store.get().invite === rule && store.set({ invite: null }),
  };
}
