// Nobody can chat now (closed hours, or no agent available): the visitor leaves a message, which the
// gateway stores and queues as work; the chat view then tells them so and shows any reply.
import { useState } from "preact/hooks";
import { Contact, Field, formValues } from "./field.jsx";

export function OfflineView({ t, settings, session, s }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const v = formValues(e.currentTarget);
    setBusy(true);
    setError(null);
    const ack = await session.leave({ name: v.name || "", email: v.email || "" }, v.text);
    setBusy(false);
    if (!ack.ok) setError(ack.message || t.notSent);
  }

  return (
    <form class="view form" onSubmit={submit}>
      <p class="intro">{t.offlineIntro}</p>
      <Contact t={t} form={settings.prechat} />
      <Field t={t} label={t.message} name="text" type="textarea" required />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn primary" disabled={busy || s.starting}>
        {busy || s.starting ? t.starting : t.leaveMessage}
      </button>
    </form>
  );
}
