// The conversation: a status line (queue position, who is answering, offline notice), the messages
// (an aria-live log), the agent's typing, then the composer, or the end of the chat with its rating.
import { useLayoutEffect, useRef } from "preact/hooks";
import { Message } from "./message.jsx";
import { Composer } from "./composer.jsx";
import { Ended } from "./rating.jsx";

function statusLine(t, s) {
  if (s.status === "closed") return "";
  const answered = s.messages.some((m) => m.author_type === "agent");
  if (s.offline && !answered) return t.offlineSent;
  if (s.agentName) return t.chattingWith(s.agentName);
  if (s.position && s.position.position) return t.position(s.position.position, s.position.estimated_wait_seconds);
  return answered ? "" : t.waiting;
}

export function ChatView(props) {
  const { t, lang, s, session } = props;
  const listRef = useRef(null);
  const atBottom = useRef(true);
  const last = s.messages[s.messages.length - 1];

  // Follow new lines, unless the visitor scrolled up to read (their own lines always scroll).
  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && (atBottom.current || (last && last.author_type === "contact"))) list.scrollTop = list.scrollHeight;
  }, [s.messages.length, last && last.id, s.agentTyping]);

  function onScroll(e) {
    const list = e.currentTarget;
    atBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  const line = statusLine(t, s);
  return (
    <div class="chat">
      <p class={line ? "chat-status" : "chat-status empty"} role="status">
        {line}
      </p>
      <ol class="msgs" ref={listRef} onScroll={onScroll} role="log" aria-label={t.conversation} aria-relevant="additions" aria-busy={s.syncing ? "true" : "false"}>
        {s.messages.map((m) => (
          <Message key={m.id || m.client_id} m={m} t={t} lang={lang} receipts={s.receipts} onResend={session.resend} />
        ))}
      </ol>
      <p class="typing" role="status">
        {s.agentTyping ? t.typing(s.agentName) : ""}
      </p>
      {s.status === "closed" ? <Ended {...props} /> : <Composer {...props} />}
    </div>
  );
}
