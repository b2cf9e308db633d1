// A part (parts.js), loaded when a chat has ended: a 1-5 rating with an optional comment (CSAT, if
// the tenant wants it) and the transcript by e-mail (if the tenant and the center send it). The
// base widget draws "This chat has ended" and "Start a new chat" around it.
import { useState } from "preact/hooks";
import { Icon } from "../icons.jsx";
import { Field } from "../views/field.jsx";
import css from "./rating.css";

export { css };

export const strings = {
  en: {
    rateTitle: "How did we do?",
    stars: (n) => `${n} of 5`,
    comment: "Comment",
    sendRating: "Send rating",
    thanks: "Thank you for your feedback!",
    transcript: "E-mail me the transcript",
    sendTranscript: "Send transcript",
    transcriptSent: (to) => `Transcript sent to ${to}.`,
    transcriptErrors: {
      invalid: "That e-mail address doesn't look right.",
      rate_limited: "Too many transcripts for this chat; please try again later.",
      unavailable: "Transcripts can't be sent from here right now.",
    },
  },
  "zh-CN": {
    rateTitle: "您对本次服务满意吗？",
    stars: (n) => `${n} 星（满分 5 星）`,
    comment: "评价内容",
    sendRating: "提交评价",
    thanks: "感谢您的反馈！",
    transcript: "通过电子邮件发送聊天记录",
    sendTranscript: "发送聊天记录",
    transcriptSent: (to) => `聊天记录已发送至 ${to}。`,
    transcriptErrors: {
      invalid: "电子邮箱地址似乎不正确。",
      rate_limited: "本次对话的聊天记录发送次数过多，请稍后再试。",
      unavailable: "目前无法从此处发送聊天记录。",
    },
  },
};

const SCORES = [1, 2, 3, 4, 5];
// Transcript refusals the visitor can do nothing about (the others say what to fix, or to retry).
const GONE = ["transcript_disabled", "mail_disabled", "not_found"];

export function View({ t, s, session, settings }) {
  return [
    settings.features.csat && s.csat && !s.rated && <Rating t={t} session={session} />,
    s.rated && (
      <p class="thanks" role="status">
        {t.thanks}
      </p>
    ),
    settings.features.transcript && <Transcript t={t} s={s} session={session} />,
  ];
}

function Rating({ t, session }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    const ack = await session.rate(score, comment.trim());
    setBusy(false);
    setError(ack.ok ? null : ack.message || t.notSent);
  }

  return (
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
