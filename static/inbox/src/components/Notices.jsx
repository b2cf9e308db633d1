import { useT } from "../i18n.js";

/** Transient messages (a failed status change, a lost session…), announced politely to screen readers. */
export function Notices({ notices, onDismiss }) {
  const t = useT();
  return (
    <div class="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} class={`notice notice-${n.tone ?? "info"}`}>
          <span>{n.text(t)}</span>
          <button type="button" class="notice-close" onClick={() => onDismiss(n.id)} aria-label={t("notice.dismiss")}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
