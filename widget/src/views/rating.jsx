// When the conversation is closed: say so, ask for a 1-5 rating with an optional comment (CSAT,
// if the tenant wants it), offer the transcript by e-mail (if the tenant and the center send it),
// and offer a new chat.
import { useState } from "preact/hooks";
import { Icon } from "../icons.jsx";
import { Field } from "./field.jsx";

const SCORES = [1, 2, 3, 4, 5];
// Transcript refusals the visitor can do nothing about (the others say what to fix, or to retry).
const GONE = ["transcript_disabled", "mail_disabled", "not_found"];

export function Ended({ t, s, session, settings }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const ask = settings.features.csat && s.csat && !s.rated;

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    const ack = await session.rate(score, comment.trim());
    setBusy(false);
    setError(ack.ok ? null : ack.message || t.notSent);
  }

  return (
    <div class="ended">
      <p class="ended-title">{t.ended}</p>
      {ask && (
        <form class="rating" onSubmit={submit}>
          <fieldset>
            <legend>{t.rateTitle}</legend>
            <div class="stars">
              {SCORES.map((n) => (
                <label key={n} class={n <= score ? "star on" : "star"}>
                  <input class="sr" type="radio" name="wecc-score" value={n} checked={score === n} onChange={() => setScore(n)} data-autofocus={n === 1 ? "" : undefined} />
                  <Icon name="star" size={28} />
                  <span class="sr">{t.stars(n)}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <label class="field">
            <span>
              {t.comment}
              <span class="opt"> {t.optional}</span>
            </span>
            <textarea rows="2" maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
          </label>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="btn primary" disabled={!score || busy}>
            {t.sendRating}
          </button>
        </form>
      )}
      {s.rated && (
        <p class="thanks" role="status">
          {t.thanks}
        </p>
      )}
      {settings.features.transcript && <Transcript t={t} s={s} session={session} />}
      <button type="button" class="btn" onClick={session.newChat} data-autofocus={ask ? undefined : ""}>
        {t.newChat}
      </button>
    </div>
  );
}

/** "E-mail me the transcript": to the pre-chat address unless the visitor types another. */
function Transcript({ t, s, session }) {
  const [email, setEmail] = useState(s.email);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null); // {sent: address} | {error: text}

  async function submit(e) {
    e.preventDefault();
    const to = email.trim();
    setBusy(true);
    const ack = await session.transcript(to);
    setBusy(false);
    const errors = t.transcriptErrors;
    const error = errors[ack.code] || (GONE.includes(ack.code) ? errors.unavailable : ack.message || t.notSent);
    setResult(ack.ok ? { sent: to } : { error });
  }

  return (
    <form class="rating" onSubmit={submit}>
      <Field t={t} label={t.transcript} name="transcript" type="email" required autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      {result && (
        <p class={result.sent ? "thanks" : "error"} role={result.sent ? "status" : "alert"}>
          {result.sent ? t.transcriptSent(result.sent) : result.error}
        </p>
      )}
      <button type="submit" class="btn" disabled={busy}>
        {t.sendTranscript}
      </button>
    </form>
  );
}
