// The agent's own SIP phone for a remote seat: its credentials (the password is shown once, when
// issued), whether it is registered with the gateway, and removing it. A registered phone rings
// with the calls offered to the agent; picking up takes the call.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "../api.js";
import { useT } from "../i18n.js";

export function DeskPhoneDialog({ onClose }) {
  const t = useT();
  const ref = useRef(null);
  const [phone, setPhone] = useState(undefined); // undefined: loading; null: none set up
  const [issued, setIssued] = useState(null); // the credentials just issued, password included
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal?.();
    const controller = new AbortController();
    api
      .sipPhone(controller.signal)
      .then(setPhone)
      .catch((err) => {
        if (err?.name === "AbortError") return;
        if (err?.status === 404) setPhone(null);
        else setError(describeError(err, t));
      });
    return () => controller.abort();
  }, [t]);

  async function act(step) {
    setBusy(true);
    setError(null);
    try {
      await step();
    } catch (err) {
      setError(describeError(err, t));
    } finally {
      setBusy(false);
    }
  }

  const issue = () =>
    act(async () => {
      const made = await api.issueSipPhone();
      setIssued(made);
      setPhone(made);
    });
  const remove = () =>
    act(async () => {
      await api.removeSipPhone();
      setIssued(null);
      setPhone(null);
    });

  const shown = issued ?? phone;
  return (
    <dialog ref={ref} class="dialog dialog-deskphone" onClose={onClose} aria-labelledby="deskphone-title">
      <h2 id="deskphone-title">{t("deskphone.title")}</h2>
      <p class="dialog-text">{t("deskphone.explain")}</p>
      {phone === undefined && !error && <p class="dialog-text">{t("app.loading")}</p>}
      {shown && (
        <dl class="deskphone-details">
          <dt>{t("deskphone.registrar")}</dt>
          <dd class="deskphone-registrar">{shown.registrar ?? t("deskphone.noSip")}</dd>
          <dt>{t("deskphone.username")}</dt>
          <dd class="deskphone-username">{shown.username}</dd>
          {issued && (
            <>
              <dt>{t("deskphone.password")}</dt>
              <dd class="deskphone-password">
                <code>{issued.password}</code>
                <span class="deskphone-once">{t("deskphone.passwordOnce")}</span>
              </dd>
            </>
          )}
          <dt>{t("deskphone.realm")}</dt>
          <dd>{shown.realm}</dd>
          <dt>{t("deskphone.status")}</dt>
          <dd class="deskphone-status" role="status">
            {shown.registered ? t("deskphone.registered", { agent: shown.user_agent || "" }) : t("deskphone.notRegistered")}
          </dd>
        </dl>
      )}
      {phone === null && <p class="dialog-text">{t("deskphone.none")}</p>}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        {shown && (
          <button type="button" class="button" disabled={busy} onClick={remove}>
            {t("deskphone.remove")}
          </button>
        )}
        {phone !== undefined && (
          <button type="button" class="button" disabled={busy} onClick={issue}>
            {shown ? t("deskphone.reissue") : t("deskphone.issue")}
          </button>
        )}
        <button type="button" class="button button-primary" onClick={() => ref.current?.close()}>
          {t("deskphone.close")}
        </button>
      </div>
    </dialog>
  );
}
