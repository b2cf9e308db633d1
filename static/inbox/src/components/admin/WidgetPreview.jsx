// The real widget, drawn from the settings being edited before they are saved: the gateway's
// /widget/preview page in a sandboxed frame (an opaque origin that can send nothing anywhere), told
// the settings by postMessage (widget/src/parts/preview.js). The admin picks what it shows; the
// launcher inside opens and closes the panel as on a site.
import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "../../i18n.js";

/** What the visitor's widget is told: never a queue id (GET /widget/config leaves them out too). */
function publicPart(settings) {
  const fields = settings.prechat.fields.map((f) => ({ ...f, options: f.options.map(({ queue_id, ...option }) => option) }));
  return { ...settings, prechat: { ...settings.prechat, fields } };
}

export function WidgetPreview({ settings }) {
  const t = useT();
  const frame = useRef(null);
  const [ready, setReady] = useState(false);
  const [shown, setShown] = useState("prechat"); // "closed", "prechat", "offline" or "invite:RULE_ID"
  const invitation = settings.proactive.find((rule) => `invite:${rule.id}` === shown);
  const view = shown.startsWith("invite:") ? "closed" : shown;

  useEffect(() => {
    function onMessage(e) {
      if (frame.current && e.source === frame.current.contentWindow && e.data?.type === "wecc:preview-ready") setReady(true);
    }
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, []);

  useEffect(() => {
    if (!ready) return;
    const message = { type: "wecc:preview", settings: publicPart(settings), view, invite: invitation?.message ?? "", note: t("admin.widget.previewNote") };
    // The frame's origin is opaque ("null"), so no narrower target can be named; it gets nothing secret.
    frame.current.contentWindow.postMessage(message, "*");
  }, [ready, settings, view, invitation?.message, t]);

  return (
    <section class="widget-preview" aria-labelledby="admin-widget-preview">
      <h4 id="admin-widget-preview">{t("admin.widget.preview")}</h4>
      <p class="muted">{t("admin.widget.previewHint")}</p>
      <div class="widget-preview-show">
        <label for="widget-preview-show">{t("admin.widget.previewShow")}</label>
        <select id="widget-preview-show" value={invitation || !shown.startsWith("invite:") ? shown : "closed"} onChange={(e) => setShown(e.currentTarget.value)}>
          <option value="closed">{t("admin.widget.show.closed")}</option>
          <option value="prechat">{t("admin.widget.show.prechat")}</option>
          <option value="offline">{t("admin.widget.show.offline")}</option>
          {settings.proactive
            .filter((rule) => rule.message)
            .map((rule) => (
              <option key={rule.id} value={`invite:${rule.id}`}>
                {t("admin.widget.show.invite", { message: rule.message })}
              </option>
            ))}
        </select>
      </div>
      <iframe ref={frame} class="widget-preview-frame" src="/widget/preview" sandbox="allow-scripts allow-forms" title={t("admin.widget.previewFrame")} />
    </section>
  );
}
