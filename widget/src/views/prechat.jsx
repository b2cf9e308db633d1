// Before a live chat: the visitor's name, e-mail and the tenant's own fields (a department picker...),
// and the first message. Submitting starts the chat; the shell then shows the chat view.
import { useState } from "preact/hooks";
import { Contact, Field, formValues } from "./field.jsx";

export function PrechatView({ t, settings, session, s, greeting }) {
  const form = settings.prechat;
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const v = formValues(e.currentTarget);
    const fields = {};
    form.fields.forEach((f) => v[`f:${f.name}`] && (fields[f.name] = v[`f:${f.name}`]));
    setBusy(true);
    setError(null);
    const ack = await session.start({ name: v.name || "", email: v.email || "", fields }, v.text);
    setBusy(false);
    if (!ack.ok) setError(ack.message || t.notSent);
  }

  return (
    <form class="view form" onSubmit={submit}>
      {greeting && <p class="greeting">{greeting}</p>}
      <p class="intro">{t.prechatIntro}</p>
      <Contact t={t} form={form} />
      {form.fields.map((f) => (
        <Field key={f.name} t={t} label={f.label || f.name} name={`f:${f.name}`} type={f.type} required={!!f.required} options={f.options || []} />
      ))}
      <Field t={t} label={t.message} name="text" type="textarea" required />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn primary" disabled={busy || s.starting}>
        {busy || s.starting ? t.starting : t.startChat}
      </button>
    </form>
  );
}
