// The email channel in the inbox: each mail as a card (sender, recipients, date, badges, warnings),
// its HTML in a sandboxed frame or its plain text, quoted history folded, attachments and the
// original .eml; bounces as red notices; the agent's replies as outgoing mails with how their
// sending went; and a letter-style composer that can quote the customer's last mail.
//
// Everything in a mail is untrusted. Text is rendered as text nodes (and checked links). HTML,
// sanitised by the gateway already, is shown only inside an <iframe sandbox> that may run no script
// and, by its Content-Security-Policy, load images only from the gateway unless the agent asks.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { useT } from "../i18n.js";
import { useTenantData } from "../tenantData.js";
import { fullTime } from "../util.js";
import { Icon } from "../components/Icon.jsx";
import { Attachments, ChatComposer, ChatMessageItem, LinkedText, MessageList, RetryDelivery, SendFailed, messageAttachments } from "./chat.jsx";
import { frameDocument, prepareHtml, quoteText, splitText, subjectKey } from "./emailBody.js";

const MAX_FRAME_HEIGHT = 30000; // px: a mail taller than this scrolls inside its frame
const FRAME_SANDBOX = "allow-same-origin allow-popups allow-popups-to-escape-sandbox"; // never allow-scripts

/** What the cards of one email conversation share: the customer's address, agents' names. */
const EmailContext = createContext({ customer: "", agentName: () => "" });

function emailMeta(message) {
  const email = message?.meta?.email;
  return email && typeof email === "object" ? email : null;
}

function list(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string" && v) : [];
}

/** The address replies go to: the gateway says (conversation.attributes.email); for older
 *  conversations, who wrote the first mail. */
function customerAddress(conversation, items) {
  const known = conversation?.attributes?.email?.customer_address;
  if (typeof known === "string" && known) return known;
  for (const m of items) {
    const email = m.author_type === "contact" ? emailMeta(m) : null;
    if (email?.from) return email.from;
  }
  return "";
}

/** The customer's latest mail worth quoting (not an out-of-office or a newsletter). */
function lastCustomerMail(items) {
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const m = items[i];
    const email = emailMeta(m);
    if (m.author_type === "contact" && m.kind === "message" && !email?.auto_reply && !email?.bulk) return m;
  }
  return null;
}

function senderLabel(email, fallback) {
  if (email?.from_name && email?.from) return `${email.from_name} <${email.from}>`;
  return email?.from || email?.from_name || fallback;
}

/** The mail's HTML in a frame sized to its content (measured from here: same origin, no script inside). */
function MailFrame({ id, srcdoc, title }) {
  const ref = useRef(null);
  const [height, setHeight] = useState(80);

  const measure = useCallback(() => {
    const doc = ref.current?.contentDocument;
    if (!doc?.body) return;
    const root = doc.documentElement;
    const scrollbar = root.scrollWidth > root.clientWidth ? 18 : 0;
    const h = Math.ceil(doc.body.getBoundingClientRect().height) + scrollbar;
    setHeight(Math.min(Math.max(h, 24), MAX_FRAME_HEIGHT));
  }, []);

  function onLoad() {
    measure();
    // Late images (the agent allowed remote ones) change the height too.
    ref.current?.contentDocument?.addEventListener("load", measure, true);
  }

  // A wider or narrower pane reflows the mail.
  useEffect(() => {
    const frame = ref.current;
    if (!frame || typeof ResizeObserver === "undefined") return undefined;
    let width = frame.clientWidth;
    const observer = new ResizeObserver(() => {
      if (frame.clientWidth !== width) {
        width = frame.clientWidth;
        measure();
      }
    });
    observer.observe(frame);
    return () => observer.disconnect();
  }, [measure]);

  return (
    <iframe
      id={id}
      ref={ref}
      class="mail-frame"
      sandbox={FRAME_SANDBOX}
      referrerpolicy="no-referrer"
      srcdoc={srcdoc}
      title={title}
      style={{ height: `${height}px` }}
      onLoad={onLoad}
    />
  );
}

function QuoteToggle({ open, onToggle, controls }) {
  const t = useT();
  return (
    <button type="button" class="mail-quote-toggle" aria-expanded={open} aria-controls={controls} onClick={onToggle}>
      {open ? t("email.hideQuoted") : t("email.showQuoted")}
    </button>
  );
}

function mailHtml(message) {
  return typeof message.body_html === "string" && message.body_html.trim() ? message.body_html : null;
}

/** A received mail's body: HTML (sandboxed) or, when it has none or the agent asks, plain text. */
function MailBody({ message, senderName, plain, onTogglePlain }) {
  const t = useT();
  const email = emailMeta(message) ?? {};
  const html = mailHtml(message);
  const [showQuote, setShowQuote] = useState(false);
  const [allowRemote, setAllowRemote] = useState(false);
  const showingHtml = Boolean(html) && !plain;
  const prepared = useMemo(() => (html ? prepareHtml(html, { allowRemote }) : null), [html, allowRemote]);
  const srcdoc = useMemo(
    () => (prepared ? frameDocument(prepared.body, { allowRemote, showQuote, lang: t.lang }) : ""),
    [prepared, allowRemote, showQuote, t.lang],
  );
  const text = useMemo(() => splitText(message.body_text, email.quote_at), [message.body_text, email.quote_at]);
  const hasQuote = showingHtml ? prepared.hasQuote : Boolean(text.quoted);
  const bodyId = `mail-body-${message.id}`;

  return (
    <div class="mail-content">
      {html && (
        <div class="mail-tools">
          {showingHtml && prepared.remote > 0 && !allowRemote && (
            <>
              <span class="mail-remote-note">
                <Icon name="eye" size={14} /> {t("email.remoteBlocked", { count: prepared.remote })}
              </span>
              <button type="button" class="button button-small" onClick={() => setAllowRemote(true)}>
                {t("email.showRemote")}
              </button>
            </>
          )}
          <button type="button" class="button button-small mail-plain-toggle" aria-pressed={plain} onClick={onTogglePlain}>
            {t("email.plainText")}
          </button>
        </div>
      )}
      {showingHtml ? (
        <MailFrame id={bodyId} srcdoc={srcdoc} title={t("email.frameTitle", { name: senderName })} />
      ) : (
        <div id={bodyId} class="mail-text">
          {text.main || message.body_text ? <LinkedText text={text.main} /> : <span class="mail-empty">{t("email.noBody")}</span>}
          {showQuote && text.quoted && (
            <div class="mail-quoted">
              <LinkedText text={text.quoted} />
            </div>
          )}
        </div>
      )}
      {hasQuote && <QuoteToggle open={showQuote} onToggle={() => setShowQuote((s) => !s)} controls={bodyId} />}
    </div>
  );
}

function Problems({ problems }) {
  const t = useT();
  if (!problems.length) return null;
  return (
    <div class="mail-problems">
      <p class="mail-problems-title">
        <Icon name="warning" size={16} /> {t("email.problems")}
      </p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>{p}</li>
        ))}
      </ul>
    </div>
  );
}

function OriginalLink({ message }) {
  const t = useT();
  return (
    <a class="mail-original" href={`/api/v1/messages/${encodeURIComponent(message.id)}/original`} download rel="noopener">
      <Icon name="download" size={14} /> {t("email.original")}
    </a>
  );
}

function MailDate({ value, received }) {
  const t = useT();
  const shown = value || received;
  if (!shown) return null;
  const title = received && value && received !== value ? t("email.receivedAt", { time: fullTime(received, t.lang) }) : undefined;
  return (
    <time class="mail-date" dateTime={shown} title={title}>
      {fullTime(shown, t.lang)}
    </time>
  );
}

/** A mail the customer (or someone on the thread) sent. */
function IncomingMail({ message, conversation, contactName }) {
  const t = useT();
  const email = emailMeta(message) ?? {};
  const [plain, setPlain] = useState(false);
  const showsHtml = Boolean(mailHtml(message)) && !plain;
  const name = email.from_name || email.from || contactName;
  const to = list(email.to);
  const cc = list(email.cc);
  const problems = list(email.problems);
  const subjectDiffers = email.subject && subjectKey(email.subject) !== subjectKey(conversation.subject);
  const files = messageAttachments(message).filter((a) => !(a.inline && showsHtml));
  const classes = ["mail", "mail-in"];
  if (email.auto_reply || email.bulk) classes.push("mail-noise");
  return (
    <li class={classes.join(" ")} data-kind={message.kind} data-message-id={message.id}>
      <article aria-label={t("email.cardLabel", { name })}>
        <header class="mail-head">
          <div class="mail-head-line">
            <span class="mail-sender" title={senderLabel(email, contactName)}>
              <span class="mail-name">{name}</span>
              {email.from && email.from_name && <span class="mail-address">&lt;{email.from}&gt;</span>}
            </span>
            <MailDate value={email.date} received={message.created_at} />
          </div>
          {(to.length > 0 || cc.length > 0) && (
            <div class="mail-recipients">
              {to.length > 0 && (
                <span>
                  <span class="mail-label">{t("email.to")}</span> {to.join(", ")}
                </span>
              )}
              {cc.length > 0 && (
                <span>
                  <span class="mail-label">{t("email.cc")}</span> {cc.join(", ")}
                </span>
              )}
            </div>
          )}
          {subjectDiffers && (
            <div class="mail-subject">
              <span class="mail-label">{t("email.subject")}</span> {email.subject}
            </div>
          )}
          {(email.auto_reply || email.bulk) && (
            <div class="mail-badges">
              {email.auto_reply && <span class="badge badge-auto">{t("email.autoReply")}</span>}
              {email.bulk && <span class="badge badge-bulk">{t("email.bulk")}</span>}
            </div>
          )}
        </header>
        <Problems problems={problems} />
        <MailBody message={message} senderName={name} plain={plain} onTogglePlain={() => setPlain((p) => !p)} />
        {files.length > 0 && (
          <div class="mail-atts" aria-label={t("email.attachments")}>
            <Attachments message={message} files={files} />
          </div>
        )}
        <footer class="mail-foot">
          <OriginalLink message={message} />
        </footer>
      </article>
    </li>
  );
}

/** How an agent's reply fared on its way out; `words` picks the channel's wording ("email", "fax"). */
export function DeliveryState({ delivery, message, words = "email" }) {
  const t = useT();
  if (!delivery?.status) return null;
  const { status, error } = delivery;
  if (status === "failed") {
    return (
      <p class={`mail-delivery mail-delivery-failed ${words}-delivery-failed`}>
        {t(`${words}.delivery.failed`, { error: error || t(`${words}.delivery.unknown`) })} {message && <RetryDelivery message={message} />}
      </p>
    );
  }
  if (status === "retrying") return <p class="mail-delivery mail-delivery-retrying">{t(`${words}.delivery.retrying`, { error: error || "" })}</p>;
  if (status === "sent") return <p class="mail-delivery mail-delivery-sent">✓ {t(`${words}.delivery.sent`)}</p>;
  return <p class="mail-delivery">{t(`${words}.delivery.${status}`, null, status)}</p>;
}

/** The agent's reply (or an internal note) in an email conversation. */
function OutgoingMail({ message, user, onResend, onDiscard }) {
  const t = useT();
  const { customer, agentName } = useContext(EmailContext);
  const note = message.kind === "note";
  const email = emailMeta(message);
  const author = (message.author_id && agentName(message.author_id)) || t("msg.agent");
  const to = list(email?.to).join(", ") || customer;
  const classes = ["mail", note ? "mail-note" : "mail-out"];
  if (message._pending) classes.push("mail-pending");
  if (message._failed || message.meta?.delivery?.status === "failed") classes.push("mail-failed");
  return (
    <li class={classes.join(" ")} data-kind={message.kind} data-message-id={message.id}>
      <article aria-label={note ? t("msg.note") : t("email.replyLabel", { name: author })}>
        <header class="mail-head">
          <div class="mail-head-line">
            <span class="mail-sender">
              {note && (
                <span class="msg-tag">
                  <Icon name="note" size={14} /> {t("msg.note")}
                </span>
              )}
              <span class="mail-name">{message.author_id === user.id ? `${author} (${t("msg.you")})` : author}</span>
              {!note && to && <span class="mail-address">{t("email.toCustomer", { address: to })}</span>}
            </span>
            <MailDate value={message.created_at} />
          </div>
        </header>
        <div class="mail-text">
          <LinkedText text={message.body_text || ""} />
        </div>
        <Attachments message={message} />
        {message._pending && <p class="mail-delivery">{t("msg.sending")}</p>}
        {!note && <DeliveryState delivery={message.meta?.delivery} message={message} />}
        {message._failed && (
          <p class="mail-delivery mail-delivery-failed" role="alert">
            <SendFailed message={message} onResend={onResend} onDiscard={onDiscard} />
          </p>
        )}
      </article>
    </li>
  );
}

/** A bounce (a mail server's report that a mail could not be delivered), as a red notice. */
function BounceNotice({ message }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const bounce = emailMeta(message)?.bounce ?? {};
  const recipients = Array.isArray(bounce.recipients) ? bounce.recipients.filter((r) => r && typeof r === "object") : [];
  const lines = recipients.map((r) => {
    const reason = r.diagnostic || r.status || r.action || "";
    const key = r.action === "delayed" ? "email.bounce.delayed" : r.action === "failed" || !r.action ? "email.bounce.failed" : "email.bounce.other";
    return t(key, { address: r.address || t("email.bounce.someone"), diagnostic: reason, action: r.action || "" });
  });
  if (lines.length === 0) lines.push(String(message.body_text || "").split("\n")[0] || t("email.bounce.title"));
  const id = `bounce-${message.id}`;
  return (
    <li class="mail mail-bounce" data-kind={message.kind} data-message-id={message.id}>
      <article aria-label={t("email.bounce.title")}>
        <header class="mail-head mail-bounce-head">
          <span class="mail-name">
            <Icon name="warning" size={16} /> {t("email.bounce.title")}
          </span>
          <MailDate value={message.created_at} />
        </header>
        <ul class="mail-bounce-lines">
          {lines.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
        <div class="mail-foot">
          <button type="button" class="mail-quote-toggle" aria-expanded={open} aria-controls={id} onClick={() => setOpen((o) => !o)}>
            {open ? t("email.bounce.hide") : t("email.bounce.show")}
          </button>
          <OriginalLink message={message} />
        </div>
        {open && (
          <div id={id} class="mail-text mail-bounce-report">
            <LinkedText text={message.body_text || ""} />
          </div>
        )}
      </article>
    </li>
  );
}

export function EmailMessageItem(props) {
  const { message } = props;
  if (message.kind === "system" || message.author_type === "system") {
    return emailMeta(message)?.bounce ? <BounceNotice message={message} /> : <ChatMessageItem {...props} />;
  }
  // A customer's message that did not come in as a mail (entered through the API) reads as plain text.
  if (message.author_type === "contact") return emailMeta(message) ? <IncomingMail {...props} /> : <ChatMessageItem {...props} />;
  return <OutgoingMail {...props} />;
}

/** The letter-style composer: the customer's address, an option to quote their last mail, Ctrl/⌘+Enter sends. */
export function EmailComposer(props) {
  const { thread, contactName } = props;
  const t = useT();
  const { customer } = useContext(EmailContext);
  const last = useMemo(() => lastCustomerMail(thread?.items ?? []), [thread?.items]);

  function quoteOf(message) {
    const email = emailMeta(message) ?? {};
    const intro = t("email.quoteIntro", {
      date: fullTime(email.date || message.created_at, t.lang),
      name: senderLabel(email, contactName),
    });
    return quoteText(splitText(message.body_text, email.quote_at).main, intro);
  }

  const renderExtra = ({ text, kind, draft, setTextAndCaret }) => {
    if (kind === "note") return null;
    const quote = typeof draft.quote === "string" ? draft.quote : "";
    const quoted = Boolean(quote) && text.includes(quote);
    const toggleQuote = (on) => {
      if (on && last) {
        const next = quoteOf(last);
        const mine = text.replace(/\s+$/, "");
        setTextAndCaret(`${mine}\n\n${next}`, mine.length, { quote: next });
      } else {
        const mine = (quote ? text.replace(quote, "") : text).replace(/\s+$/, "");
        setTextAndCaret(mine, mine.length, { quote: null });
      }
    };
    return (
      <div class="composer-mail-head">
        <span class="composer-to">
          <span class="mail-label">{t("email.to")}</span> {customer || contactName}
        </span>
        {last && (
          <label class="composer-quote">
            <input type="checkbox" checked={quoted} onChange={(e) => toggleQuote(e.currentTarget.checked)} />
            {t("email.composer.quote")}
          </label>
        )}
      </div>
    );
  };

  return (
    <ChatComposer
      {...props}
      multiline
      rows={5}
      className="composer-email"
      placeholders={{ reply: "email.composer.placeholder", replyCanned: "email.composer.placeholderCanned" }}
      renderExtra={renderExtra}
    />
  );
}

/** "In reply to another customer's conversation": a mail that answered a thread its sender was not part of. */
function RepliedToNotice({ conversationId, onOpen }) {
  const t = useT();
  const [other, setOther] = useState({ id: null, conversation: null, checked: false });
  useEffect(() => {
    if (!conversationId) return undefined;
    const ctrl = new AbortController();
    setOther({ id: conversationId, conversation: null, checked: false });
    api.getConversation(conversationId, ctrl.signal).then(
      (c) => setOther({ id: conversationId, conversation: c, checked: true }),
      (err) => err?.name !== "AbortError" && setOther({ id: conversationId, conversation: null, checked: true }),
    );
    return () => ctrl.abort();
  }, [conversationId]);
  if (!conversationId) return null;
  const visible = other.id === conversationId && other.conversation;
  return (
    <p class="conv-notice mail-replied-to">
      <Icon name="email" size={16} /> {t("email.repliedTo")}{" "}
      {visible ? (
        <button type="button" class="link-button" onClick={() => onOpen?.(conversationId, other.conversation)}>
          {t("email.openRepliedTo", { subject: other.conversation.subject || t("list.noSubject") })}
        </button>
      ) : (
        other.checked && <span class="mail-muted">{t("email.repliedToHidden")}</span>
      )}
    </p>
  );
}

/** An email conversation's body: the mails, then the composer. */
export function EmailConversationView(props) {
  const { channel, conversation, thread, user, draft, onDraftChange, onSend, onTyping, closed, contactName, onOpenConversation } = props;
  const customer = useMemo(() => customerAddress(conversation, thread.items), [conversation, thread.items]);
  const colleagues = thread.items.some((m) => m.author_type === "agent" && m.author_id && m.author_id !== user.id);
  const targets = useTenantData("transfer", colleagues ? conversation.tenant_id : null);
  const context = useMemo(() => {
    const names = new Map((targets.data?.agents ?? []).map((a) => [a.id, a.name]));
    return {
      customer,
      agentName: (id) => (id === user.id ? user.name || user.email : names.get(id) || ""),
    };
  }, [customer, targets.data, user.id, user.name, user.email]);
  const repliedTo = conversation.attributes?.replied_to_conversation_id;
  return (
    <EmailContext.Provider value={context}>
      {typeof repliedTo === "string" && repliedTo && <RepliedToNotice conversationId={repliedTo} onOpen={onOpenConversation} />}
      <MessageList {...props} MessageItem={channel.MessageItem} />
      <channel.Composer
        conversation={conversation}
        conversationId={conversation.id}
        thread={thread}
        contactName={contactName}
        draft={draft}
        onDraftChange={onDraftChange}
        onSend={onSend}
        onTyping={onTyping}
        closed={closed}
      />
    </EmailContext.Provider>
  );
}
