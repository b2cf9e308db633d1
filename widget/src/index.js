// Entry of the visitor widget (static/dist/widget.js, served by the gateway at /widget.js).
// Embedded by one tag on a business's site:
//   <script src="https://GATEWAY/widget.js" data-tenant="WIDGET_KEY" async></script>
// It draws itself inside a Shadow DOM, so the page's CSS can't reach in and ours can't leak out.
import { h, render } from "preact";
import css from "./styles.css";
import { findScriptTag, readConfig } from "./config.js";
import { brandColor, fetchSettings, textOn } from "./settings.js";
import { visitorId } from "./visitor-id.js";
import { pickLanguage, strings } from "./i18n.js";
import { createCobrowse } from "./cobrowse.js";
import { adoptStyles } from "./shadow-styles.js";
import { createConnection } from "./connection.js";
import { createSession } from "./chat/session.js";
import { createPanel } from "./panel.js";
import { createEvents, installApi } from "./api.js";
import { startInvitations } from "./proactive.js";
import { configureParts, loadPart, stylePartsWith } from "./parts.js";
import { registerView } from "./views/registry.jsx";
import { StatusView } from "./views/status.jsx";
import { PrechatView } from "./views/prechat.jsx";
import { OfflineView } from "./views/offline.jsx";
import { ChatView } from "./views/chat.jsx";
import { Widget } from "./shell.jsx";

registerView("status", StatusView);
registerView("prechat", PrechatView);
registerView("offline", OfflineView);
registerView("chat", ChatView);

// The host element's own box: !important so page rules can't move or hide it. Set through the CSSOM
// (not a style attribute) so a page's Content-Security-Policy without 'unsafe-inline' still allows it.
const HOST_STYLE = {
  all: "initial",
  position: "fixed",
  right: "0",
  bottom: "0",
  width: "0",
  height: "0",
  "z-index": "2147483000",
  display: "block",
};


/** The widget's element on the page (its styles in its shadow root); answers draw(settings), which (re)draws it. */
function createHost(config, parts) {
  const host = document.createElement("wecc-widget");
  for (const [property, value] of Object.entries(HOST_STYLE)) host.style.setProperty(property, value, "important");
  const root = host.attachShadow({ mode: "open" });
  adoptStyles(root, css);
  stylePartsWith((partCss) => adoptStyles(root, partCss));
  const container = document.createElement("div");
  root.appendChild(container);
  document.body.appendChild(host);
  return (settings) => {
    // The brand colour reaches the shadow root's CSS as custom properties (inherited through the host).
    const color = brandColor(settings.color);
    const colors = { "--wecc-color": color, "--wecc-on-color": color && textOn(color) };
    for (const [property, value] of Object.entries(colors)) {
      if (value) host.style.setProperty(property, value, "important");
      else host.style.removeProperty(property);
    }
    const lang = pickLanguage(settings.locale !== "auto" && settings.locale, config.lang);
    render(h(Widget, { t: strings(lang), lang, settings, ...parts }), container);
  };
}

/** Draws the widget once the tenant's settings are in (or known to be unavailable). */
async function mount(config, parts) {
  if (typeof Element.prototype.attachShadow !== "function") {
    console.warn("[wecc] this browser has no Shadow DOM; the help widget is not shown");
    return;
  }
  const settings = await fetchSettings(config.origin, config.widgetKey);
  parts.cobrowse.configure(settings.cobrowse, settings.loaded);
  createHost(config, parts)(settings);
  parts.panel.restore();
  startInvitations(settings.proactive, config.widgetKey, parts.panel.invite, parts.panel.withdrawInvite);
  parts.events.emit("ready");
}

function whenBody(fn) {
  if (document.body) fn();
  else document.addEventListener("DOMContentLoaded", fn, { once: true });
}

function start() {
  // document.currentScript is only set while this file first runs: read the tag now.
  const config = readConfig(findScriptTag());
  if (!config) {
    console.error('[wecc] widget.js needs its tag to carry data-tenant="YOUR_WIDGET_KEY"');
    return;
  }
  if (window.__wecc_widget_loaded) return; // the tag was included twice
  window.__wecc_widget_loaded = true;
  configureParts(config);
  if (config.preview) {
    // An admin's preview of unsaved settings (the gateway's /widget/preview page): parts/preview.js
    // draws the shell over stand-ins that never connect, instead of the visitor's widget.
    whenBody(() => loadPart("preview").then((m) => m.startPreview(config, createHost)));
    return;
  }
  // The API is there at once (and runs the page's queued calls) though the panel draws a little later.
  const events = createEvents();
  const connection = createConnection({ origin: config.origin, widgetKey: config.widgetKey, visitorId: visitorId(config.widgetKey) });
  const session = createSession({ connection, widgetKey: config.widgetKey, origin: config.origin, emit: events.emit });
  const panel = createPanel({ widgetKey: config.widgetKey, connection, session, emit: events.emit });
  const cobrowse = createCobrowse(connection, config.widgetKey);
  installApi(
    { open: panel.open, close: panel.close, toggle: panel.toggle, setUser: connection.setUser, setAttributes: session.setAttributes, shareScreen: cobrowse.offerCode },
    events,
  );
  // A chat going on (or a line waiting to be sent): connect now, so replies arrive before the panel opens.
  if (session.active) connection.open();
  const parts = { events, connection, session, panel, cobrowse };
  whenBody(() => mount(config, parts));
}

start();
