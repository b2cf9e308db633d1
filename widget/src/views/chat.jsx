// The conversation: a status line (queue position, who is answering, offline notice), the messages
// (an aria-live log, with "Earlier messages" at its top when there are more), the agent's typing,
// then the composer, or the end of the chat with its rating.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { Message } from "./message.jsx";
import { Composer } from "./composer.jsx";
import { Part } from "../part.jsx";

function statusLine(t, s) {
  if (s.status === "closed") return "";
  const answered = s.messages.some((m) => m.author_type === "agent");
  if (s.offline && !answered) return t.offlineSent;
  if (s.agentName) return t.chattingWith(s.agentName);
  if (s.position && s.position.position) return t.position(s.position.position, s.position.estimated_wait_seconds);
  return answered ? "" : t.waiting;
}

export function ChatView(props) {
  const { t, lang, s, session, open } = props;
  const listRef = useRef(null);
  const atBottom = useRef(true);
  const anchor = useRef(null); // distance from the bottom to keep while earlier messages come in
  const [earlierFailed, setEarlierFailed] = useState(false);
  const last = s.messages[s.messages.length - 1];

  // Follow new lines, unless the visitor scrolled up to read (their own lines always scroll); while
  // earlier ones come in above, keep what the visitor reads where it is.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list) return;
    if (anchor.current != null) {
      list.scrollTop = list.scrollHeight - anchor.current;
      if (!s.loadingEarlier) anchor.current = null;
    } else if (atBottom.current || (last && last.author_type === "contact")) list.scrollTop = list.scrollHeight;
  }, [s.messages.length, last && last.id, s.agentTyping, s.loadingEarlier, open]);

  async function loadEarlier() {
    const list = listRef.current;
    if (s.loadingEarlier || !s.earlier) return;
    anchor.current = list.scrollHeight - list.scrollTop;
    setEarlierFailed(false);
    const ack = await session.loadEarlier();
    setEarlierFailed(!ack.ok);
  }

  function onScroll(e) {
    const list = e.currentTarget;
    atBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    if (list.scrollTop === 0 && s.earlier && !earlierFailed) loadEarlier();
  }

  const line = statusLine(t, s);
  const endable = s.status !== "closed" && !!s.conversationId;
  return (
    <div class="chat">
      <div class={line || endable ? "chat-status" : "chat-status empty"}>
        <p role="status">{line}</p>
        {endable && (
          <button type="button" class="link end-chat" onClick={session.endChat}>
            {t.endChat}
          </button>
        )}
      </div>
      <ol class="msgs" ref={listRef} onScroll={onScroll} role="log" aria-label={t.conversation} aria-relevant="additions" aria-busy={s.syncing ? "true" : "false"}>
        {s.earlier && (
          <li class="earlier">
            <button type="button" class="btn" onClick={loadEarlier} disabled={s.loadingEarlier}>
              {s.loadingEarlier ? t.loading : t.earlier}
            </button>
            {earlierFailed && (
              <span class="error" role="alert">
                {t.notSent}
              </span>
            )}
          </li>
        )}
        {s.messages.map((m) => (
          <Message key={m.id || m.client_id} m={m} t={t} lang={lang} receipts={s.receipts} onResend={session.resend} onDiscard={session.discard} />
        ))}
      </ol>
      <p class="typing" role="status">
        {s.agentTyping ? t.typing(s.agentName) : ""}
      </p>
      {s.status === "closed" ? <Ended {...props} /> : <Composer {...props} />}
    </div>
  );
}

/** The end of the chat; the rating and transcript forms are an on-demand part (parts/rating.jsx). */
function Ended(props) {
  const { t, s, session, settings } = props;
  return (
    <div class="ended">
      <p class="ended-title">{t.ended}</p>
      {((settings.features.csat && s.csat) || settings.features.transcript) && <Part name="rating" {...props} />}
      <button type="button" class="btn" onClick={session.newChat} data-autofocus>
        {t.newChat}
      </button>
    </div>
  );
}
