// One line of the conversation: who said it (for screen readers), its text and attachments, its
// time, and for the visitor's own lines whether it was sent, delivered and read, or not sent (with
// retry and remove; a file also says why, and that it is kept only while the page is open).
import { LINK_REL, Text, safeUrl } from "../text.jsx";
import { receiptOf } from "../chat/messages.js";

function kb(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil((bytes || 0) / 1024)} KB`;
}

// Refusals of the file itself: sending it again can't help.
const FINAL = ["file_too_large", "file_type_refused"];

function Attachment({ a }) {
  const url = safeUrl(a.url);
  const image = /^image\//.test(a.content_type || "");
  if (!url) return <span class="att-file">{a.filename}</span>; // uploading, no preview
  return (
    <a class={image ? "att-img" : "att-file"} href={url} target="_blank" rel={LINK_REL}>
      {image ? <img src={url} alt={a.filename || ""} /> : `${a.filename} (${kb(a.size)})`}
    </a>
  );
}

export function Message({ m, t, lang, receipts, onResend, onDiscard }) {
  if (m.author_type === "system") {
    return (
      <li class="msg system">
        <Text value={m.body_text} />
      </li>
    );
  }
  const own = m.author_type === "contact";
  const receipt = own && receiptOf(m, receipts);
  const time = m.created_at && new Date(m.created_at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  const failed = receipt === "failed";
  const again = failed && !(m.upload && FINAL.includes(m.failed));
  return (
    <li class={`msg ${own ? "own" : "them"}`}>
      <div class="bubble">
        <span class="sr">{own ? t.you : t.agent}: </span>
        {m.body_text && <Text value={m.body_text} />}
        {(m.attachments || []).map((a, i) => (
          <Attachment key={a.id || i} a={a} />
        ))}
      </div>
      <span class="meta">
        {time}
        {receipt && (time ? " · " : "") + t.receipts[receipt]}
        {again && (
          <button type="button" class="link" onClick={() => onResend(m.client_id)}>
            {t.resend}
          </button>
        )}
        {failed && (
          <button type="button" class="link" onClick={() => onDiscard(m.client_id)}>
            {t.remove}
          </button>
        )}
      </span>
      {failed && m.upload && (
        <p class="meta error" role="alert">
          {t.uploadErrors[m.failed] || m.reason || t.uploadErrors.failed}
          {again && ` ${t.fileKept}`}
        </p>
      )}
    </li>
  );
}
