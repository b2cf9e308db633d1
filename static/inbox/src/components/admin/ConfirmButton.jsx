// A destructive action (delete, revoke, take back) asks once more, in place, before it runs; the
// second button takes the focus, so a keyboard user confirms with Enter or steps back with Tab.
import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "../../i18n.js";
import "./ConfirmButton.css";

export function ConfirmButton({ label, confirmLabel, onConfirm }) {
  const t = useT();
  const [asking, setAsking] = useState(false);
  const confirm = useRef(null);
  useEffect(() => {
    if (asking) confirm.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="button button-small" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="admin-confirm">
      <button ref={confirm} type="button" class="button button-small button-danger" onClick={() => Promise.resolve(onConfirm()).finally(() => setAsking(false))}>
        {confirmLabel}
      </button>
      <button type="button" class="button button-small" onClick={() => setAsking(false)}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}
