// Default renderers: a conversation as a thread of text messages with a reply/note composer.
// Web chat uses them as they are; other channels use them until they register their own.
import { useLayoutEffect, useRef } from "preact/hooks";
import { useT } from "../i18n.js";
import { fullTime, shortTime } from "../util.js";
import { Icon } from "../components/Icon.jsx";

/** Who wrote a message, as the agent should read it. */
function authorLabel(message, { user, contactName, t }) {
  if (message.author_type === "contact") return contactName;
  if (message.author_type === "agent") return message.author_id && message.author_id === user.id ? t("msg.you") : t("msg.agent");
  return t("msg.system");
}

export function ChatMessageItem({ message, user, contactName, onResend }) {
  const t = useT();
  const time = <time dateTime={message.created_at} title={fullTime(message.created_at, t.lang)}>{shortTime(message.created_at, t.lang)}</time>;

  if (message.kind === "system" || message.author_type === "system") {
    return (
      <li class="msg msg-system">
        <span class="msg-body">{message.body_text}</span> {time}
      </li>
    );
  }

  const mine = message.author_type === "agent";
  const classes = ["msg", mine ? "msg-out" : "msg-in"];
  if (message.kind === "note") classes.push("msg-note");
  if (message._pending) classes.push("msg-pending");
  if (message._failed) classes.push("msg-failed");

  return (
    <li class={classes.join(" ")}>
      <div class="msg-meta">
        {message.kind === "note" && (
          <span class="msg-tag">
            <Icon name="note" size={14} /> {t("msg.note")}
          </span>
        )}
        <span class="msg-author">{authorLabel(message, { user, contactName, t })}</span>
        {time}
      </div>
      {/* body_text is untrusted text: rendered as a text node, never as HTML. */}
      <div class="msg-body">{message.body_text}</div>
      {message._pending && <div class="msg-state">{t("msg.sending")}</div>}
      {message._failed && (
        <div class="msg-state" role="alert">
          {t("msg.failed", { message: message._error })}{" "}
          <button type="button" class="link-button" onClick={() => onResend(message.client_id)}>
            {t("msg.resend")}
          </button>
        </div>
      )}
    </li>
  );
}

/** The scrolling thread: sticks to the bottom as messages arrive, keeps its place when older ones load. */
export function MessageList({ conversation, thread, user, contactName, MessageItem, onLoadEarlier, onResend }) {
  const t = useT();
  const ref = useRef(null);
  const last = useRef({ conversationId: null, count: 0, height: 0, firstId: null, atBottom: true });

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const prev = last.current;
    const items = thread.items;
    const firstId = items[0]?.id ?? null;
    if (prev.conversationId !== conversation.id) {
      el.scrollTop = el.scrollHeight;
    } else if (items.length > prev.count && prev.firstId !== null && firstId !== prev.firstId) {
      // Older messages were put on top: keep the same message in view.
      el.scrollTop += el.scrollHeight - prev.height;
    } else if (items.length !== prev.count && (prev.atBottom || items[items.length - 1]?._pending)) {
      el.scrollTop = el.scrollHeight;
    }
    last.current = { conversationId: conversation.id, count: items.length, height: el.scrollHeight, firstId, atBottom: isAtBottom(el) };
  });

  function isAtBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }

  function onScroll() {
    last.current.atBottom = isAtBottom(ref.current);
  }

  return (
    <div class="thread" ref={ref} onScroll={onScroll}>
      {thread.nextCursor && (
        <div class="thread-more">
          <button type="button" class="button button-quiet" onClick={onLoadEarlier} disabled={thread.loadingEarlier}>
            {thread.loadingEarlier ? t("app.loading") : t("conv.loadEarlier")}
          </button>
        </div>
      )}
      {thread.loading && <p class="thread-state">{t("conv.loading")}</p>}
      {thread.error && (
        <p class="thread-state error" role="alert">
          {t("conv.error", { message: thread.error })}
        </p>
      )}
      {!thread.loading && !thread.error && thread.items.length === 0 && <p class="thread-state">{t("conv.noMessages")}</p>}
      <ol class="msgs" role="log" aria-live="polite" aria-label={t("conv.messages")}>
        {thread.items.map((m) => (
          <MessageItem key={m.id} message={m} conversation={conversation} user={user} contactName={contactName} onResend={onResend} />
        ))}
      </ol>
    </div>
  );
}

export function ChatComposer({ conversationId, draft, onDraftChange, onSend }) {
  const t = useT();
  const { text = "", kind = "message" } = draft ?? {};
  const inputId = `composer-${conversationId}`;

  function submit(e) {
    e?.preventDefault();
    const body = text.trim();
    if (!body) return;
    onSend({ body_text: body, kind });
    onDraftChange({ text: "", kind });
  }

  function onKeyDown(e) {
    // Enter sends; Shift+Enter is a new line; never while an input method (e.g. pinyin) is composing.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) submit(e);
  }

  return (
    <form class={`composer ${kind === "note" ? "composer-note" : ""}`} onSubmit={submit}>
      <div class="composer-modes" role="group" aria-label={t("composer.mode")}>
        <button type="button" class="chip" aria-pressed={kind === "message"} onClick={() => onDraftChange({ text, kind: "message" })}>
          {t("composer.reply")}
        </button>
        <button type="button" class="chip" aria-pressed={kind === "note"} onClick={() => onDraftChange({ text, kind: "note" })}>
          <Icon name="note" size={14} /> {t("composer.note")}
        </button>
      </div>
      <label class="visually-hidden" for={inputId}>
        {kind === "note" ? t("msg.note") : t("composer.label")}
      </label>
      <div class="composer-row">
        <textarea
          id={inputId}
          rows={3}
          value={text}
          placeholder={kind === "note" ? t("composer.placeholderNote") : t("composer.placeholderReply")}
          onInput={(e) => onDraftChange({ text: e.currentTarget.value, kind })}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="button button-primary" disabled={!text.trim()}>
          <Icon name="send" size={16} /> {kind === "note" ? t("composer.addNote") : t("composer.send")}
        </button>
      </div>
    </form>
  );
}

/** The body of a conversation: the thread, then the composer. A channel with live media puts its controls here. */
export function ChatConversationView(props) {
  const { channel, conversation, draft, onDraftChange, onSend } = props;
  return (
    <>
      <MessageList {...props} MessageItem={channel.MessageItem} />
      <channel.Composer conversationId={conversation.id} draft={draft} onDraftChange={onDraftChange} onSend={onSend} />
    </>
  );
}
