// window.WECC, the host page's handle on the widget:
//   WECC.open(), WECC.close(), WECC.toggle()
//   WECC.setUser({id, hash})    the site's signed-in user; hash = hex HMAC-SHA256 of id with the widget
//                               secret, computed on the site's server (never in the page). null: signed out.
//   WECC.setAttributes({plan: "pro"})   up to 20 short strings the agents see with the chat
//   WECC.on(event, fn), WECC.off(event, fn)   events: ready, open, close, message, chat_started, chat_ended
// Calls made before widget.js has loaded wait in a queue the page sets up itself:
//   <script>
//     window.WECC_Q = window.WECC_Q || [];
//     WECC_Q.push(["setUser", {id: "42", hash: "…"}], ["on", "message", function (e) { console.log(e.message); }]);
//   </script>
// Once loaded, the widget runs that queue, and later WECC_Q.push([...]) calls run at once.

export function createEvents() {
  const listeners = {};
  return {
    on(name, fn) {
      if (typeof fn === "function") (listeners[name] = listeners[name] || []).push(fn);
    },
    off(name, fn) {
      listeners[name] = (listeners[name] || []).filter((f) => f !== fn);
    },
    emit(name, detail) {
      (listeners[name] || []).slice().forEach((fn) => {
        try {
          fn(detail);
        } catch (e) {
          console.error("[wecc] a WECC.on handler failed", e); // the page's bug must not break the widget
        }
      });
    },
  };
}

export function installApi(methods, events) {
  const api = { ...methods, on: events.on, off: events.off };
  const run = (call) => {
    if (!Array.isArray(call) || typeof api[call[0]] !== "function") return console.warn("[wecc] unknown WECC call", call);
    api[call[0]](...call.slice(1));
  };
  const queued = window.WECC_Q;
  window.WECC = api;
  window.WECC_Q = { push: (...calls) => calls.forEach(run) };
  if (Array.isArray(queued)) queued.forEach(run);
}
