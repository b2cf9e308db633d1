// The widget's shell: a launcher button and a panel (a non-modal dialog) that hosts one view at a time.
// Chat, callback, voice and co-browsing add views; the shell only decides which one is showing.
import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "./icons.jsx";
import { ViewHost } from "./views/registry.jsx";

export function Widget({ t, lang, connection }) {
  const [open, setOpen] = useState(false);
  const [everOpened, setEverOpened] = useState(false);
  const [conn, setConn] = useState(connection.state);
  const launcherRef = useRef(null);
  const closeRef = useRef(null);

  useEffect(() => connection.subscribe(setConn), [connection]);

  useEffect(() => {
    if (open) closeRef.current && closeRef.current.focus();
  }, [open]);

  function show() {
    setOpen(true);
    setEverOpened(true);
    connection.open();
  }

  function hide() {
    setOpen(false);
    launcherRef.current && launcherRef.current.focus();
  }

  function onKeyDown(e) {
    if (e.key === "Escape" && open) {
      e.stopPropagation();
      hide();
    }
  }

  // Which view the panel shows. Only the connection status exists in this build.
  const view = "status";

  return (
    <div class="root" lang={lang} onKeyDown={onKeyDown}>
      {everOpened && (
        // Stays mounted once opened, so closing never loses what a view holds (e.g. a typed message).
        <div class="panel" id="wecc-panel" role="dialog" aria-modal="false" aria-labelledby="wecc-title" hidden={!open}>
          <header class="panel-head">
            <div>
              <h2 id="wecc-title">{t.title}</h2>
              <p>{t.subtitle}</p>
            </div>
            <button type="button" class="icon-btn" ref={closeRef} onClick={hide} aria-label={t.close}>
              <Icon name="close" size={20} />
            </button>
          </header>
          <div class="panel-body">
            <ViewHost name={view} t={t} connection={conn} onRetry={() => connection.retry()} />
          </div>
          <footer class="panel-foot">{t.poweredBy}</footer>
        </div>
      )}
      <button
        type="button"
        class={`launcher${open ? " is-open" : ""}`}
        ref={launcherRef}
        onClick={open ? hide : show}
        aria-label={open ? t.close : t.open}
        aria-expanded={open ? "true" : "false"}
        aria-controls="wecc-panel"
      >
        <Icon name={open ? "close" : "chat"} size={26} />
      </button>
    </div>
  );
}
