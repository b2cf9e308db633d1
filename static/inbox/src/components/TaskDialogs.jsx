// Dialogs for the agent's own work on a conversation: transfer it (to a queue or a colleague, with
// a note for them) and close it (with a wrap-up code when the tenant uses them).
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { useT } from "../i18n.js";
import { useTenantData } from "../tenantData.js";
import { Icon } from "./Icon.jsx";

function useModal() {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal?.();
  }, []);
  return ref;
}

// Answers the agent can act on, in their language; otherwise the gateway's own message.
const KNOWN_CODES = new Set(["wrapup_code_required", "unknown_wrapup_code", "not_yours", "not_found", "offline", "timeout"]);

function ackMessage(ack, t) {
  if (!ack) return t("task.failed", { code: "error" });
  if (KNOWN_CODES.has(ack.code)) return t(`task.error.${ack.code}`);
  return ack.message || t("task.failed", { code: ack.code || "error" });
}

/**
 * Where to hand work on to: a queue or a colleague, with a note for them. The same picker serves a
 * call: `tenantId` (else the conversation's); `agentsOnly` (consulting a colleague) without a note;
 * `title`, `submitLabel`, `sendingLabel` say what it is for. onTransfer(target, note, agent) → ack.
 */
export function TransferDialog({ conversation, tenantId, user, onCancel, onTransfer, agentsOnly = false, withNote = !agentsOnly, title, submitLabel, sendingLabel, id = "transfer" }) {
  const t = useT();
  const ref = useModal();
  const targets = useTenantData("transfer", tenantId ?? conversation?.tenant_id ?? null, { maxAge: 0 }); // colleagues' presence as it is now
  const data = targets.data;
  const queues = agentsOnly ? [] : data?.queues ?? [];
  const agents = (data?.agents ?? []).filter((a) => a.id !== user.id);
  const [type, setType] = useState(agentsOnly ? "agent" : "queue");
  const [target, setTarget] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const effectiveType = type === "agent" && agents.length === 0 ? "queue" : type;
  const options = effectiveType === "agent" ? agents : queues;
  const chosen = options.some((o) => o.id === target) ? target : "";

  async function submit(e) {
    e.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setError(null);
    const agent = effectiveType === "agent" ? agents.find((a) => a.id === chosen) : null;
    const ack = await onTransfer(effectiveType === "agent" ? { agent_id: chosen } : { queue_id: chosen }, withNote ? note.trim() : "", agent);
    if (ack?.ok) return;
    setBusy(false);
    setError(ackMessage(ack, t));
  }

  return (
    <dialog ref={ref} class={`dialog dialog-${id}`} onClose={onCancel} aria-labelledby={`${id}-title`}>
      <form method="dialog" onSubmit={submit}>
        <h2 id={`${id}-title`}>{title ?? t("transfer.title")}</h2>
        {targets.loading && <p class="dialog-text">{t("app.loading")}</p>}
        {targets.error && (
          <p class="form-error" role="alert">
            {t("transfer.loadFailed", { error: describeError(targets.error, t) })}
          </p>
        )}
        {!targets.loading && !targets.error && queues.length === 0 && agents.length === 0 && (
          <p class="dialog-text" role="status">
            {agentsOnly ? t("call.consult.none") : t("transfer.none")}
          </p>
        )}
        {(queues.length > 0 || agents.length > 0) && (
          <>
            {agents.length > 0 && !agentsOnly && (
              <div class="segmented" role="radiogroup" aria-label={t("transfer.to")}>
                {[
                  ["queue", t("transfer.queue")],
                  ["agent", t("transfer.agent")],
                ].map(([value, label]) => (
                  <label key={value} class={`segment${effectiveType === value ? " on" : ""}`}>
                    <input type="radio" name="transfer-type" value={value} checked={effectiveType === value} onChange={() => setType(value)} />
                    {label}
                  </label>
                ))}
              </div>
            )}
            <div class="field">
              <label for={`${id}-target`}>{effectiveType === "agent" ? t("transfer.agent") : t("transfer.queue")}</label>
              <select id={`${id}-target`} value={chosen} onChange={(e) => setTarget(e.currentTarget.value)} required>
                <option value="">{t("transfer.choose")}</option>
                {options.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name || o.id}
                    {effectiveType === "agent" && o.presence ? ` — ${t(`presence.${o.presence}`, null, o.presence)}` : ""}
                  </option>
                ))}
              </select>
            </div>
            {withNote && (
              <div class="field">
                <label for={`${id}-note`}>{t("transfer.note")}</label>
                <textarea id={`${id}-note`} rows={3} maxLength={5000} value={note} placeholder={t("transfer.notePlaceholder")} onInput={(e) => setNote(e.currentTarget.value)} />
              </div>
            )}
          </>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="button" onClick={() => ref.current?.close()} disabled={busy}>
            {t("dialog.cancel")}
          </button>
          <button type="submit" class="button button-primary" disabled={busy || !chosen}>
            <Icon name="transfer" size={16} /> {busy ? sendingLabel ?? t("transfer.sending") : submitLabel ?? t("transfer.submit")}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * onConfirm({wrapup_code?, note?}) → ack-like {ok, code?, message?}. The code and the note sum up the
 * agent's task on the conversation, so they are asked for only when there is one.
 */
export function CloseDialog({ conversation, hasTask, onCancel, onConfirm }) {
  const t = useT();
  const ref = useModal();
  const codes = useTenantData("wrapup", hasTask ? conversation.tenant_id : null);
  const items = codes.data?.items ?? [];
  const required = hasTask && Boolean(codes.data?.required) && items.length > 0;
  const [code, setCode] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    if (required && !code) return;
    setBusy(true);
    setError(null);
    const extra = {};
    if (hasTask && code) extra.wrapup_code = code;
    if (hasTask && note.trim()) extra.note = note.trim();
    const ack = await onConfirm(extra);
    if (ack?.ok) return;
    setBusy(false);
    setError(ackMessage(ack, t));
  }

  return (
    <dialog ref={ref} class="dialog" onClose={onCancel} aria-labelledby="close-title">
      <form method="dialog" onSubmit={submit}>
        <h2 id="close-title">{t("close.title")}</h2>
        <p class="dialog-text">{hasTask ? t("close.explainTask") : t("close.explain")}</p>
        {codes.loading && <p class="dialog-text">{t("app.loading")}</p>}
        {codes.error && (
          <p class="form-error" role="alert">
            {t("close.codesFailed", { error: describeError(codes.error, t) })}
          </p>
        )}
        {items.length > 0 && hasTask && (
          <div class="field">
            <label for="wrapup-code">
              {t("close.code")}
              {required ? "" : ` ${t("close.optional")}`}
            </label>
            <select id="wrapup-code" value={code} onChange={(e) => setCode(e.currentTarget.value)} required={required}>
              <option value="">{t("close.chooseCode")}</option>
              {items.map((c) => (
                <option key={c.code} value={c.code}>
                  {c.label || c.code}
                </option>
              ))}
            </select>
          </div>
        )}
        {hasTask && (
          <div class="field">
            <label for="wrapup-note">{t("close.note")}</label>
            <textarea id="wrapup-note" rows={3} maxLength={2000} value={note} placeholder={t("close.notePlaceholder")} onInput={(e) => setNote(e.currentTarget.value)} />
          </div>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="button" onClick={() => ref.current?.close()} disabled={busy}>
            {t("dialog.cancel")}
          </button>
          <button type="submit" class="button button-primary" disabled={busy || (required && !code)}>
            <Icon name="done" size={16} /> {busy ? t("close.closing") : t("close.submit")}
          </button>
        </div>
      </form>
    </dialog>
  );
}
