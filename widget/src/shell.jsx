// The widget's shell: the launcher (with an unread count), the invitation bubble, and the panel (a
// non-modal dialog) that hosts one view at a time. The shell only decides which view is showing;
// chat, callbacks, voice and co-browsing bring their own views (views/registry.jsx). "Call us" (in
// the header when the tenant offers calls) puts the call, an on-demand part (parts/call.jsx), in
// the view's place until the visitor leaves it.
import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "./icons.jsx";
import { Part } from "./part.jsx";
import { useStore } from "./store.js";
import { ViewHost } from "./views/registry.jsx";

/** Which view the panel shows for the chat's state. */
function pickView(s, settings) {
  const a = s.availability;
  if (s.conversationId || (a && !a.error && !settings.prechat.enabled && a.open && a.agents_available)) return "chat";
  if (!a || a.error) return "status";
  return a.open && a.agents_available ? "prechat" : "offline";
}

export function Widget({ t, lang, settings, connection, session, panel, cobrowse }) {
  const ui = useStore(panel.store);
  const cb = useStore(cobrowse.store);
  const conn = useStore(connection.store);
  const s = useStore(session.store);
  const launcherRef = useRef(null);
  const closeRef = useRef(null);
  const bodyRef = useRef(null);
  const focusInside = useRef(false);
  const [calling, setCalling] = useState(false);
  const everOpened = useRef(false);
  everOpened.current = everOpened.current || ui.open;
  const view = pickView(s, settings);
  const ended = s.status === "closed";

  // Into the panel when the visitor opened it, and again when the view under their focus changes
  // (a submitted form gives way to the chat), so keyboard and screen-reader users never lose their place.
  useEffect(() => {
    if (!ui.open || !(ui.focus || focusInside.current)) return;
    const body = bodyRef.current;
    const target = body && (body.querySelector("[data-autofocus]") || body.querySelector("select, textarea, input:not([type=file])"));
    (target || closeRef.current).focus();
    if (ui.focus) panel.store.set({ focus: false });
  }, [ui.open, ui.focus, view, ended]);

  function hide() {
    panel.close();
    launcherRef.current.focus();
  }

  function onKeyDown(e) {
    if (e.key === "Escape" && ui.open) {
      e.stopPropagation();
      hide();
    }
  }

  const unread = !ui.open && s.unread;
  return (
    <div class={`root${settings.position === "left" ? " left" : ""}`} lang={lang} onKeyDown={onKeyDown}>
      {everOpened.current && (
        // Stays mounted once opened, so closing never loses what a view holds (e.g. a half-filled form).
        <div
          class="panel"
          id="wecc-panel"
          role="dialog"
          aria-modal="false"
          aria-labelledby="wecc-title"
          hidden={!ui.open}
          onFocusCapture={() => (focusInside.current = true)}
          onBlurCapture={(e) => (focusInside.current = !!(e.relatedTarget && e.currentTarget.contains(e.relatedTarget)))}
        >
          <header class="panel-head">
            {/^https:\/\//.test(settings.logo_url) && <img class="panel-logo" src={settings.logo_url} alt="" />}
            <div class="panel-titles">
              <h2 id="wecc-title">{settings.title || t.title}</h2>
              <p>{settings.subtitle || t.subtitle}</p>
            </div>
            {settings.features.calls && !calling && (
              <button type="button" class="icon-btn call-btn" onClick={() => setCalling(true)}>
                <Icon name="phone" size={18} />
                {t.callUs}
              </button>
            )}
            <button type="button" class="icon-btn" ref={closeRef} onClick={hide} aria-label={t.close}>
              <Icon name="close" size={20} />
            </button>
          </header>
          {s.conversationId && conn.retrying && (
            <p class="banner" role="status">
              {t.reconnecting}
            </p>
          )}
          <div class="panel-body" ref={bodyRef}>
            {calling ? (
              <Part name="call" t={t} lang={lang} connection={connection} onDone={() => setCalling(false)} />
            ) : (
            <ViewHost
              name={view}
              t={t}
              lang={lang}
              settings={settings}
              session={session}
              s={s}
              conn={conn}
              greeting={ui.greeting}
              open={ui.open}
              onRetry={() => (conn.status === "error" ? connection.retry() : session.newChat())}
            />
            )}
          </div>
          <footer class="panel-foot">
            {cb.enabled && !cb.active && !cb.code && (
              <button type="button" class="link share-btn" onClick={cobrowse.offerCode}>
                {t.cobrowseShare}
              </button>
            )}
            <span>{t.poweredBy}</span>
          </footer>
        </div>
      )}
      <CobrowseBoxes t={t} cb={cb} cobrowse={cobrowse} />
      {ui.invite && !ui.open && (
        <div class="invite">
          <button type="button" class="invite-text" onClick={panel.acceptInvite}>
            {ui.invite.message}
          </button>
          <button type="button" class="invite-close" onClick={panel.dismissInvite} aria-label={t.dismiss}>
            <Icon name="close" size={14} />
          </button>
        </div>
      )}
      <button
        type="button"
        class={`launcher${ui.open ? " is-open" : ""}`}
        ref={launcherRef}
        onClick={ui.open ? hide : panel.open}
        onPointerEnter={connection.preload}
        onFocus={connection.preload}
        aria-label={ui.open ? t.close : unread ? `${t.open} (${t.unread(unread)})` : t.open}
        aria-expanded={ui.open ? "true" : "false"}
        aria-controls="wecc-panel"
      >
        <Icon name={ui.open ? "close" : "chat"} size={26} />
        {unread > 0 && (
          <span class="badge" aria-hidden="true">
            {unread}
          </span>
        )}
      </button>
    </div>
  );
}

/**
 * Co-browsing asks first, whatever the panel shows: who asks, and what they will see or do. While
 * the page is shared a banner says so, with the visitor's way out (and back from control) at hand.
 */
function CobrowseBoxes({ t, cb, cobrowse }) {
  const failed = cb.error && <p class="error">{t.partFailed}</p>;
  if (cb.request)
    return (
      <Ask id="wecc-cb" title={t.cobrowseAsk(cb.request.agentName)} text={t.cobrowseWhat} failed={failed}
        no={[t.cobrowseDecline, cobrowse.decline]} yes={[t.cobrowseAllow, cobrowse.allow]} />
    );
  if (cb.active && cb.control === "asked")
    return (
      <Ask id="wecc-cbc" title={t.cobrowseControlAsk(cb.active.agentName)} text={t.cobrowseControlWhat}
        no={[t.cobrowseDecline, () => cobrowse.grant(false)]} yes={[t.cobrowseAllow, () => cobrowse.grant(true)]} />
    );
  if (cb.offering)
    return (
      <Ask id="wecc-cbo" title={t.cobrowseShareTitle} text={t.cobrowseShareWhat} failed={failed}
        no={[t.cancel, cobrowse.cancelOffer]} yes={[t.cobrowseGetCode, cobrowse.getCode]} />
    );
  if (cb.code)
    return (
      <div class="cobrowse cobrowse-code" role="status">
        <p class="cobrowse-title">{t.cobrowseCodeTitle}</p>
        <p class="code" aria-label={cb.code.code.split("").join(" ")}>
          {cb.code.code.slice(0, 3)} {cb.code.code.slice(3)}
        </p>
        <p>{t.cobrowseCodeHow}</p>
        <div class="cobrowse-actions">
          <button type="button" class="btn" onClick={cobrowse.stop}>
            {t.cancel}
          </button>
        </div>
      </div>
    );
  if (!cb.active) return null;
  const controlled = cb.control === "granted";
  return (
    <div class={`cobrowse cobrowse-on${controlled ? " controlled" : ""}`} role="status">
      <span>{controlled ? t.cobrowseControlled(cb.active.agentName) : t.cobrowseOn(cb.active.agentName)}</span>
      {controlled && (
        <button type="button" class="btn" onClick={() => cobrowse.grant(false)}>
          {t.cobrowseTakeBack}
        </button>
      )}
      <button type="button" class="btn" onClick={cobrowse.stop}>
        {t.cobrowseStop}
      </button>
    </div>
  );
}

function Ask({ id, title, text, failed, no, yes }) {
  return (
    <div class="cobrowse cobrowse-ask" role="alertdialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`}>
      <p id={`${id}-title`} class="cobrowse-title">
        {title}
      </p>
      <p id={`${id}-text`}>{text}</p>
      {failed}
      <div class="cobrowse-actions">
        <button type="button" class="btn" onClick={no[1]}>
          {no[0]}
        </button>
        <button type="button" class="btn primary" onClick={yes[1]} data-autofocus>
          {yes[0]}
        </button>
      </div>
    </div>
  );
}
