// Default renderers: a conversation as a thread of text messages with a reply/note composer.
// Web chat uses them as they are; other channels use them until they register their own.
//
// Everything a customer (or anyone) wrote is untrusted: it is rendered as text nodes and <a>
// elements built from checked http(s) URLs — never through innerHTML.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, attachmentUrl, describeError } from "../api.js";
import { receiptStatus } from "../activity.js";
import { useT } from "../i18n.js";
import { useTenantData } from "../tenantData.js";
import { formatBytes, fullTime, linkify, safeUrl, shortTime } from "../util.js";
import { Icon } from "../components/Icon.jsx";

const TYPING_REFRESH_MS = 3000; // "still typing" is re-sent this often while keys are pressed
const TYPING_IDLE_MS = 4000; // and "stopped" this long after the last one
const PREVIEWABLE = /^image\/(png|jpeg|gif|webp|bmp|avif)$/i;
/** Files one message can carry: the gateway's limit (MAX_FILES_PER_UPLOAD). */
export const MAX_FILES_PER_MESSAGE = 10;

/** A picked file is the same as one already attached when its name, size and date match. */
function sameFile(a, b) {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

/** Who wrote a message, as the agent should read it. */
function authorLabel(message, { user, contactName, t }) {
  if (message.author_type === "contact") return contactName;
  if (message.author_type === "agent") return message.author_id && message.author_id === user.id ? t("msg.you") : t("msg.agent");
  return t("msg.system");
}

/** Text with its http(s) links clickable; the rest stays text. */
export function LinkedText({ text }) {
  return (
    <>
      {linkify(text).map((part, i) =>
        typeof part === "string" ? (
          part
        ) : (
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow ugc">
            {part.text}
          </a>
        ),
      )}
    </>
  );
}

/** The attachments a message carries: from the agent API (meta.attachments) or the visitor form (attachments). */
export function messageAttachments(message) {
  if (message._localAttachments) return message._localAttachments;
  const list = Array.isArray(message.attachments) ? message.attachments : Array.isArray(message.meta?.attachments) ? message.meta.attachments : [];
  return list.filter((a) => a && typeof a === "object");
}

function attachmentHref(att) {
  if (att.id) return attachmentUrl(att.id);
  return safeUrl(att.url);
}

function ImagePreview({ att, href, onClose }) {
  const t = useT();
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
  }, []);
  return (
    <dialog ref={ref} class="lightbox" onClose={onClose} onClick={(e) => e.target === ref.current && ref.current.close()} aria-label={att.filename}>
      <img src={href} alt={att.filename || t("att.image")} />
      <div class="lightbox-bar">
        <span class="lightbox-name">{att.filename}</span>
        <a class="button" href={href} download={att.filename || true} rel="noopener">
          <Icon name="download" size={16} /> {t("att.download")}
        </a>
        <button type="button" class="button" onClick={() => ref.current?.close()}>
          {t("dialog.close")}
        </button>
      </div>
    </dialog>
  );
}

/** A message's files (or `files`, when the channel chose which of them to list), images with a preview. */
export function Attachments({ message, files = null }) {
  const t = useT();
  const [preview, setPreview] = useState(null);
  const list = files ?? messageAttachments(message);
  if (list.length === 0) return null;
  return (
    <ul class="atts">
      {list.map((att, i) => {
        const href = attachmentHref(att);
        const name = String(att.filename || t("att.file"));
        const size = formatBytes(att.size, t.lang);
        if (href && PREVIEWABLE.test(att.content_type || "")) {
          return (
            <li key={att.id ?? i} class="att att-image">
              <button type="button" class="att-thumb" onClick={() => setPreview({ att, href })} aria-label={t("att.preview", { name })}>
                <img src={href} alt={name} loading="lazy" />
              </button>
              <a class="att-caption" href={href} download={name} rel="noopener">
                {name} {size && <span class="att-size">({size})</span>}
              </a>
            </li>
          );
        }
        return (
          <li key={att.id ?? i} class="att att-file">
            <Icon name="file" size={18} />
            {href ? (
              <a href={href} download={name} rel="noopener">
                {name}
              </a>
            ) : (
              <span>{name}</span>
            )}
            {size && <span class="att-size">{size}</span>}
          </li>
        );
      })}
      {preview && <ImagePreview att={preview.att} href={preview.href} onClose={() => setPreview(null)} />}
    </ul>
  );
}

function Ticks({ status }) {
  const t = useT();
  const label = t(`receipt.${status}`);
  return (
    <span class={`ticks ticks-${status}`} title={label} data-receipt={status}>
      <span aria-hidden="true">{status === "sent" ? "✓" : "✓✓"}</span>
      <span class="visually-hidden">{label}</span>
    </span>
  );
}

export function ChatMessageItem({ message, user, contactName, onResend, onDiscard, receipts }) {
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
  const showTicks = mine && message.kind !== "note" && !message._pending && !message._failed && !String(message.id).startsWith("local:");
  const author = authorLabel(message, { user, contactName, t });

  return (
    <li class={classes.join(" ")} data-kind={message.kind}>
      <div class="msg-meta">
        {message.kind === "note" && (
          <span class="msg-tag">
            <Icon name="note" size={14} /> {t("msg.note")}
          </span>
        )}
        <span class="msg-author" title={author}>
          {author}
        </span>
        {time}
        {showTicks && <Ticks status={receiptStatus(receipts, message.id)} />}
      </div>
      {/* body_text is untrusted text: rendered as text nodes (and checked links), never as HTML. */}
      {message.body_text && (
        <div class="msg-body">
          <LinkedText text={message.body_text} />
        </div>
      )}
      <Attachments message={message} />
      {message._pending && <div class="msg-state">{t("msg.sending")}</div>}
      {message.meta?.delivery?.status === "failed" && (
        <div class="msg-state msg-undelivered" role="alert">
          {t("delivery.failed", { error: message.meta.delivery.error || "" })} <RetryDelivery message={message} />
        </div>
      )}
      {message._failed && (
        <div class="msg-state" role="alert">
          <SendFailed message={message} onResend={onResend} onDiscard={onDiscard} />
        </div>
      )}
    </li>
  );
}

/** The scrolling thread: sticks to the bottom as messages arrive, keeps its place when older ones load. */
export function MessageList({ conversation, thread, user, contactName, MessageItem, onLoadEarlier, onResend, onDiscard, activity }) {
  const t = useT();
  const ref = useRef(null);
  const last = useRef({ conversationId: null, count: 0, height: 0, firstId: null, atBottom: true });
  const typing = Boolean(activity?.contactTyping);

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
    } else if ((items.length !== prev.count || typing) && (prev.atBottom || items[items.length - 1]?._pending)) {
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
          <MessageItem
            key={m.id}
            message={m}
            conversation={conversation}
            user={user}
            contactName={contactName}
            onResend={onResend}
            onDiscard={onDiscard}
            receipts={activity?.receipts}
          />
        ))}
      </ol>
      <div class="typing-line" aria-live="polite">
        {typing && (
          <span class="typing">
            <span class="typing-dots" aria-hidden="true">
              <span />
              <span />
              <span />
            </span>
            {t("typing.contact", { name: contactName })}
          </span>
        )}
      </div>
    </div>
  );
}

/** The "/shortcut" being typed just before the caret: {start, query} or null. */
export function slashToken(text, caret) {
  const before = text.slice(0, caret);
  const match = /(?:^|\s)\/([^\s/]{0,40})$/.exec(before);
  if (!match) return null;
  return { start: caret - match[1].length - 1, query: match[1] };
}

export function matchCanned(items, query) {
  const q = query.toLowerCase();
  const scored = [];
  for (const item of items) {
    const shortcut = String(item.shortcut ?? "").toLowerCase();
    const title = String(item.title ?? "").toLowerCase();
    let score = -1;
    if (!q) score = 1;
    else if (shortcut === q) score = 4;
    else if (shortcut.startsWith(q)) score = 3;
    else if (title.includes(q)) score = 2;
    else if (shortcut.includes(q)) score = 1;
    if (score >= 0) scored.push([score, item]);
  }
  return scored.sort((a, b) => b[0] - a[0] || String(a[1].shortcut).localeCompare(String(b[1].shortcut))).map(([, item]) => item).slice(0, 8);
}

/** Sends typing on/off for a reply being written (never for a note: the customer would see it). */
function useTypingSignal(conversationId, onTyping) {
  const state = useRef({ on: false, lastSent: 0, idle: null });
  const stop = () => {
    const s = state.current;
    clearTimeout(s.idle);
    s.idle = null;
    if (s.on) {
      s.on = false;
      onTyping?.(false);
    }
  };
  const keystroke = () => {
    if (!onTyping) return;
    const s = state.current;
    const now = Date.now();
    if (!s.on || now - s.lastSent > TYPING_REFRESH_MS) {
      s.on = true;
      s.lastSent = now;
      onTyping(true);
    }
    clearTimeout(s.idle);
    s.idle = setTimeout(stop, TYPING_IDLE_MS);
  };
  // Switching conversation or leaving: say it stopped.
  useEffect(() => stop, [conversationId]);
  return { keystroke, stop };
}

const NO_CANNED = [];

/**
 * The reply/note composer. Other text channels reuse it with options: `multiline` (Enter is a new
 * line and Ctrl/⌘+Enter sends, for letters rather than chat lines), `rows`, `placeholders`
 * ({reply, replyCanned} i18n keys), `className`, and `renderExtra({text, kind, draft, change, setTextAndCaret})`
 * for controls of their own above the text, and `accept` (the file picker's hint of which files to offer).
 * Extra keys a channel keeps in the draft survive edits.
 */
export function ChatComposer({ conversation, draft, onDraftChange, onSend, onTyping, closed, multiline = false, rows = 3, placeholders = null, className = "", renderExtra = null, accept = undefined }) {
  const t = useT();
  const conversationId = conversation.id;
  const { text = "", kind: draftKind = "message", files = [] } = draft ?? {};
  const kind = closed ? "note" : draftKind;
  const inputId = `composer-${conversationId}`;
  const listId = `canned-${conversationId}`;
  const textRef = useRef(null);
  const fileRef = useRef(null);
  const canned = useTenantData("canned", conversation.tenant_id);
  const cannedItems = canned.data?.items ?? NO_CANNED; // none could be loaded: "/" stays plain text
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissedAt, setDismissedAt] = useState(null);
  const typing = useTypingSignal(conversationId, kind === "message" ? onTyping : null);

  const typed = slashToken(text, caret);
  const token = cannedItems.length ? typed : null;
  // The picker is about to open: an admin may have changed the replies since they were fetched.
  const typedStart = typed?.start ?? null;
  const revalidateCanned = canned.revalidate;
  useEffect(() => {
    if (typedStart !== null) revalidateCanned();
  }, [typedStart, revalidateCanned]);
  const matches = useMemo(() => (token ? matchCanned(cannedItems, token.query) : []), [token?.query, token?.start, cannedItems]);
  const pickerOpen = Boolean(token) && matches.length > 0 && dismissedAt !== token.start;
  const activeIndex = Math.min(active, Math.max(0, matches.length - 1));

  function change(next) {
    onDraftChange({ ...draft, text, kind, files, ...next });
  }

  // Where the caret goes once an inserted text (a canned reply, a quote) is in the textarea: set
  // as that render is committed, in the same task, before the next key is handled. (Set a frame
  // later, a fast typist's next keys on a busy machine came first and were split around it:
  // " /bye" after a reply became "reply./bye ", an Enter after Ctrl+End landed mid-text.)
  const pendingCaret = useRef(null);
  useLayoutEffect(() => {
    const pending = pendingCaret.current;
    const el = textRef.current;
    if (!pending || !el || el.value !== pending.value) return;
    pendingCaret.current = null;
    el.focus();
    el.setSelectionRange(pending.position, pending.position);
  });

  function setTextAndCaret(value, position, extra = null) {
    change({ ...extra, text: value });
    setCaret(position);
    pendingCaret.current = { value, position };
  }

  function pick(item) {
    if (!token) return;
    const body = String(item.body ?? "");
    const value = text.slice(0, token.start) + body + text.slice(caret);
    setTextAndCaret(value, token.start + body.length);
    setActive(0);
  }

  function submit(e) {
    e?.preventDefault();
    const body = text.trim();
    if (!body && files.length === 0) return;
    typing.stop();
    onSend({ body_text: body, kind, files });
    onDraftChange({ text: "", kind, files: [] });
    setCaret(0);
    setDismissedAt(null);
  }

  function onInput(e) {
    pendingCaret.current = null; // typed since: the caret is where the typing put it
    const el = e.currentTarget;
    let value = el.value;
    let position = el.selectionStart ?? value.length;
    // "/shortcut" followed by a space expands when the shortcut is exactly one canned reply's.
    if (cannedItems.length && value[position - 1] === " ") {
      const tok = slashToken(value, position - 1);
      const exact = tok && cannedItems.find((c) => String(c.shortcut).toLowerCase() === tok.query.toLowerCase() && tok.query);
      if (exact) {
        const body = String(exact.body ?? "");
        value = value.slice(0, tok.start) + body + value.slice(position - 1);
        position = tok.start + body.length;
        setTextAndCaret(value, position);
        if (kind === "message") typing.keystroke();
        return;
      }
    }
    change({ text: value });
    setCaret(position);
    setActive(0);
    if (dismissedAt !== null && !slashToken(value, position)) setDismissedAt(null);
    if (kind === "message" && value) typing.keystroke();
    if (!value) typing.stop();
  }

  function onKeyDown(e) {
    if (pickerOpen) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive((activeIndex + step + matches.length) % matches.length);
        return;
      }
      if ((e.key === "Enter" && !e.shiftKey && !e.isComposing) || e.key === "Tab") {
        e.preventDefault();
        pick(matches[activeIndex]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setDismissedAt(token.start);
        return;
      }
    }
    if (multiline) {
      // A letter: Enter is a new line; Ctrl/⌘+Enter sends.
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) submit(e);
      return;
    }
    // Enter sends; Shift+Enter is a new line; never while an input method (e.g. pinyin) is composing.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) submit(e);
  }

  /** Adds picked (dropped, pasted) files to those already attached, up to what one message can carry. */
  function addFiles(picked) {
    const fresh = [...(picked ?? [])].filter((f, i, all) => !files.some((had) => sameFile(had, f)) && all.findIndex((g) => sameFile(g, f)) === i);
    if (fresh.length === 0) return;
    const room = MAX_FILES_PER_MESSAGE - files.length;
    change({ files: [...files, ...fresh.slice(0, Math.max(0, room))], tooManyFiles: fresh.length > room });
  }

  function removeFile(index) {
    change({ files: files.filter((_, i) => i !== index), tooManyFiles: false });
  }

  function openCanned() {
    const el = textRef.current;
    const position = el ? el.selectionStart ?? text.length : text.length;
    const needsSpace = position > 0 && !/\s/.test(text[position - 1]);
    const insert = `${needsSpace ? " " : ""}/`;
    setDismissedAt(null);
    setTextAndCaret(text.slice(0, position) + insert + text.slice(position), position + insert.length);
  }

  return (
    <form
      class={`composer ${kind === "note" ? "composer-note" : ""} ${className}`}
      onSubmit={submit}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        if (e.dataTransfer?.files?.length) {
          e.preventDefault();
          addFiles(e.dataTransfer.files);
        }
      }}
    >
      <div class="composer-modes" role="group" aria-label={t("composer.mode")}>
        <button type="button" class="chip" aria-pressed={kind === "message"} disabled={closed} onClick={() => change({ kind: "message" })}>
          {t("composer.reply")}
        </button>
        <button
          type="button"
          class="chip"
          aria-pressed={kind === "note"}
          onClick={() => {
            typing.stop();
            change({ kind: "note" });
          }}
        >
          <Icon name="note" size={14} /> {t("composer.note")}
        </button>
        {closed && <span class="composer-hint">{t("composer.closedHint")}</span>}
        {kind === "note" && !closed && <span class="composer-hint">{t("composer.noteHint")}</span>}
      </div>
      {renderExtra?.({ text, kind, draft: draft ?? {}, change, setTextAndCaret })}
      <label class="visually-hidden" for={inputId}>
        {kind === "note" ? t("msg.note") : t("composer.label")}
      </label>
      {files.length > 0 && (
        <ul class="composer-files" aria-label={t("composer.files", { count: files.length })}>
          {files.map((file, i) => (
            <li key={`${file.name}:${file.size}:${file.lastModified}`} class="composer-file">
              <Icon name="attach" size={16} />
              <span class="composer-file-name" title={file.name}>
                {file.name}
              </span>
              <span class="att-size">{formatBytes(file.size, t.lang)}</span>
              <button type="button" class="icon-button-small" onClick={() => removeFile(i)} aria-label={t("composer.removeFile", { name: file.name })}>
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {draft?.tooManyFiles && (
        <p class="composer-files-limit" role="alert">
          {t("composer.tooManyFiles", { count: MAX_FILES_PER_MESSAGE })}
        </p>
      )}
      <div class="composer-row">
        <div class="composer-input">
          {pickerOpen && (
            <ul class="canned-list" id={listId} role="listbox" aria-label={t("canned.title")}>
              {matches.map((item, i) => (
                <li
                  key={item.id ?? item.shortcut}
                  id={`${listId}-${i}`}
                  role="option"
                  aria-selected={i === activeIndex}
                  class={i === activeIndex ? "active" : ""}
                  onMouseDown={(e) => {
                    e.preventDefault(); // keep the focus in the textarea
                    pick(item);
                  }}
                  onMouseEnter={() => setActive(i)}
                >
                  <span class="canned-shortcut">/{item.shortcut}</span>
                  <span class="canned-title">{item.title}</span>
                  <span class="canned-body">{item.body}</span>
                </li>
              ))}
            </ul>
          )}
          <textarea
            id={inputId}
            ref={textRef}
            rows={rows}
            value={text}
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={pickerOpen}
            aria-controls={pickerOpen ? listId : undefined}
            aria-activedescendant={pickerOpen ? `${listId}-${activeIndex}` : undefined}
            placeholder={
              kind === "note"
                ? t("composer.placeholderNote")
                : cannedItems.length
                  ? t(placeholders?.replyCanned ?? "composer.placeholderReplyCanned")
                  : t(placeholders?.reply ?? "composer.placeholderReply")
            }
            onInput={onInput}
            onKeyDown={onKeyDown}
            onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
            onKeyUp={(e) => {
              if (e.key.startsWith("Arrow") && !pickerOpen) setCaret(e.currentTarget.selectionStart ?? 0);
            }}
            onBlur={() => typing.stop()}
            onPaste={(e) => {
              const pasted = e.clipboardData?.files;
              if (pasted && pasted.length && !e.clipboardData.getData("text")) {
                e.preventDefault();
                addFiles(pasted);
              }
            }}
          />
        </div>
        <div class="composer-actions">
          <input
            ref={fileRef}
            type="file"
            multiple
            accept={accept}
            class="visually-hidden"
            tabIndex={-1}
            aria-hidden="true"
            onChange={(e) => {
              addFiles(e.currentTarget.files);
              e.currentTarget.value = "";
            }}
          />
          <button type="button" class="button button-quiet icon-button" onClick={() => fileRef.current?.click()} title={t(files.length ? "composer.attachMore" : "composer.attach")} aria-label={t(files.length ? "composer.attachMore" : "composer.attach")}>
            <Icon name="attach" size={18} />
          </button>
          {cannedItems.length > 0 && (
            <button type="button" class="button button-quiet icon-button" onClick={openCanned} title={t("canned.open")} aria-label={t("canned.open")}>
              <Icon name="canned" size={18} />
            </button>
          )}
          <button type="submit" class="button button-primary" disabled={!text.trim() && files.length === 0}>
            <Icon name="send" size={16} /> {kind === "note" ? t("composer.addNote") : t("composer.send")}
          </button>
        </div>
      </div>
    </form>
  );
}

/** The body of a conversation: the thread, then the composer. A channel with live media puts its controls here. */
export function ChatConversationView(props) {
  const { channel, conversation, draft, onDraftChange, onSend, onTyping, closed } = props;
  return (
    <>
      <MessageList {...props} MessageItem={channel.MessageItem} />
      <channel.Composer conversation={conversation} conversationId={conversation.id} draft={draft} onDraftChange={onDraftChange} onSend={onSend} onTyping={onTyping} closed={closed} />
    </>
  );
}

/** "Try again" for an agent's reply that could not be delivered (after fixing what was wrong). */
export function RetryDelivery({ message }) {
  const t = useT();
  const [state, setState] = useState({ busy: false, error: "" });
  const retry = async () => {
    setState({ busy: true, error: "" });
    try {
      await api.retryDelivery(message.conversation_id, message.id);
      setState({ busy: false, error: "" });
    } catch (err) {
      setState({ busy: false, error: describeError(err, t) });
    }
  };
  return (
    <span class="retry-delivery">
      <button type="button" class="link-button" onClick={retry} disabled={state.busy}>{t("delivery.retry")}</button>
      {state.error && <span class="retry-delivery-error"> {state.error}</span>}
    </span>
  );
}

/** A message the inbox could not hand to the gateway: why, and resend or discard it. */
export function SendFailed({ message, onResend, onDiscard }) {
  const t = useT();
  return (
    <>
      {t("msg.failed", { message: message._error })}{" "}
      <button type="button" class="link-button" onClick={() => onResend(message.client_id)}>
        {t("msg.resend")}
      </button>
      {onDiscard && (
        <>
          {" · "}
          <button type="button" class="link-button" onClick={() => onDiscard(message.client_id)}>
            {t("msg.discard")}
          </button>
        </>
      )}
    </>
  );
}
