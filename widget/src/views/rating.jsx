// When the conversation is closed: say so, ask for a 1-5 rating with an optional comment (CSAT,
// if the tenant wants it), and offer a new chat.
import { useState } from "preact/hooks";
import { Icon } from "../icons.jsx";

const SCORES = [1, 2, 3, 4, 5];

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
      <button type="button" class="btn" onClick={session.newChat} data-autofocus={ask ? undefined : ""}>
        {t.newChat}
      </button>
    </div>
  );
}
