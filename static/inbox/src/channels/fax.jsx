// The fax channel in the inbox: a received fax as a card — who sent it (the number, readably, the
// sending machine's station id, the caller's name), its pages, resolution and when it arrived,
// warnings about what could not be shown — with a page viewer (one page at a time, page by page
// with buttons, thumbnails or the arrow keys; zoom to fit the width, in and out, or 100%; rotate a
// page or the whole fax, as faxes arrive upside down) and the original documents to download. The
// agent's replies are faxed back by the gateway: the composer says to which number, or why a reply
// can't be faxed, and the replies show as outgoing cards with how their sending went.
//
// Everything in a fax is untrusted: the facts are rendered as text nodes, the pages as <img> of the
// gateway's own PNGs (attachment downloads, same origin).
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { attachmentUrl } from "../api.js";
import { useT } from "../i18n.js";
import { useTenantData } from "../tenantData.js";
import { formatBytes, fullTime } from "../util.js";
import { Icon } from "../components/Icon.jsx";
import { Attachments, ChatComposer, ChatMessageItem, LinkedText, MessageList, SendFailed } from "./chat.jsx";
import { DeliveryState } from "./email.jsx";

// A page of a fine-resolution A4 fax with square pixels (1728 dots a line): the size a page is
// assumed to have until its image (or another page's) has loaded, so the viewer does not jump.
const ASSUMED_PAGE = { w: 1728, h: 2444 };
const ZOOM_STEP = 1.25;
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 4;
const THUMBS_MIN_WIDTH = 360; // px of viewer: narrower, the thumbnails strip is left out
// What the gateway can fax after the agent's text: PDFs, PostScript, TIFF and other images.
const FAXABLE_TYPES = /^(application\/(pdf|x-pdf|postscript)|image\/(png|jpeg|gif|bmp|tiff|webp))$/i;
const FAXABLE_NAMES = /\.(pdf|ps|tiff?|png|jpe?g|gif|bmp|webp)$/i;
const FAXABLE_ACCEPT = "application/pdf,.pdf,image/*,.tif,.tiff,application/postscript,.ps";

// Calling codes of two digits (ITU-T E.164); 1 and 7 are one digit, all others three.
const TWO_DIGIT_CODES = new Set(
  "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split(" "),
);

/**
 * A fax number as people read it: as the fax service wrote it when that is the same number in
 * international form ("+49 30 1234567"), else the E.164 number with its country code set apart and
 * the rest in groups ("+49 30 123 4567", "+1 415-555-1234"); without a valid number, what was written.
 */
export function formatFaxNumber(number, raw = "") {
  const written = typeof raw === "string" ? raw.trim().replace(/\s+/g, " ") : "";
  if (typeof number !== "string" || !/^\+\d{4,15}$/.test(number)) return written;
  const digits = number.slice(1);
  const writtenDigits = written.replace(/\D/g, "");
  if (/^\+\s?\d/.test(written) && writtenDigits === digits && /[\s\-().\/]/.test(written)) return written;
  if (/^00\s?\d/.test(written) && writtenDigits === `00${digits}` && /[\s\-().\/]/.test(written.slice(2).trim())) {
    return `+${written.slice(2).trim()}`;
  }
  if (digits.length === 11 && digits[0] === "1") return `+1 ${digits.slice(1, 4)}-${digits.slice(4, 7)}-${digits.slice(7)}`;
  const cc = digits[0] === "1" || digits[0] === "7" ? 1 : TWO_DIGIT_CODES.has(digits.slice(0, 2)) ? 2 : 3;
  let rest = digits.slice(cc);
  const groups = [];
  if (rest.length > 4) {
    groups.unshift(rest.slice(-4));
    rest = rest.slice(0, -4);
  }
  while (rest.length > 3) {
    groups.unshift(rest.slice(-3));
    rest = rest.slice(0, -3);
  }
  if (rest) groups.unshift(rest);
  return `+${digits.slice(0, cc)} ${groups.join(" ")}`;
}

function objectOr(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? value : null;
}

function faxMeta(message) {
  return objectOr(message?.meta?.fax);
}

function text(value) {
  return typeof value === "string" ? value.trim() : "";
}

function ids(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string" && v) : [];
}

function strings(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string" && v) : [];
}

function pagesText(t, count) {
  return t(count === 1 ? "fax.pages.one" : "fax.pages.other", { count });
}

/** Where a reply by fax goes: {number} shown to the agent, or why it can't be faxed (problem). */
export function faxDestination(conversation) {
  const fax = objectOr(conversation?.attributes?.fax) ?? {};
  const number = text(fax.number);
  // The gateway formats it (phonenumbers); guessed here only for faxes stored before it did.
  const shown = text(fax.number_display) || formatFaxNumber(number, text(fax.raw_number));
  if (!number) return { number: shown, problem: "noNumber" };
  if (!text(fax.reply_address)) return { number: shown, problem: "noReplyAddress" };
  return { number: shown, problem: null };
}

export function isFaxable(file) {
  return Boolean(file) && (FAXABLE_TYPES.test(file.type || "") || FAXABLE_NAMES.test(file.name || ""));
}

/** What the cards of one fax conversation share: where replies go, agents' names. */
const FaxContext = createContext({ destination: { number: "", problem: "noNumber" }, agentName: () => "" });

/** Small stroke icons of the page viewer, drawn like components/Icon.jsx (decorative). */
const GLYPHS = {
  prev: "M15 18l-6-6 6-6",
  next: "M9 6l6 6-6 6",
  zoomIn: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z M21 21l-5-5 M8 11h6 M11 8v6",
  zoomOut: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z M21 21l-5-5 M8 11h6",
  fit: "M3 12h18 M7 8l-4 4 4 4 M17 8l4 4-4 4",
  rotate: "M20 12a8 8 0 1 1-2.34-5.66 M20 4v4h-4",
  rotateAll: "M20 12a8 8 0 1 1-2.34-5.66 M20 4v4h-4 M9 9h6v6H9z",
};

function Glyph({ name, size = 16 }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8"
      stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      <path d={GLYPHS[name]} />
    </svg>
  );
}

/** The content width of an element, kept up to date as it resizes. */
function useContentWidth(ref) {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const read = () => {
      const style = getComputedStyle(el);
      setWidth(Math.max(0, el.clientWidth - parseFloat(style.paddingLeft || "0") - parseFloat(style.paddingRight || "0")));
    };
    read();
    if (typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(read);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

function without(map, key) {
  if (!(key in map)) return map;
  const rest = { ...map };
  delete rest[key];
  return rest;
}

function clampZoom(value) {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, value));
}

/**
 * The fax's pages, one at a time. `pages`: [{id, url}] in order. Zoom is "fit" (the page's width,
 * as turned, fills the viewer) or a scale of the image's own pixels (1: 100%). Each page keeps its
 * own rotation (0, 90, 180 or 270 degrees clockwise).
 */
function PageViewer({ pages, messageId }) {
  const t = useT();
  const count = pages.length;
  const [index, setIndex] = useState(0);
  const [zoom, setZoom] = useState("fit");
  const [rotations, setRotations] = useState(() => pages.map(() => 0));
  const [sizes, setSizes] = useState({}); // page index → {w, h}: the image's own pixels, once known
  const [failed, setFailed] = useState({}); // page index → true: its image did not load
  const [attempts, setAttempts] = useState({}); // page index → reload count (a new URL to retry)
  const viewportRef = useRef(null);
  const thumbsRef = useRef(null);
  const moved = useRef(false);
  const width = useContentWidth(viewportRef);
  const hintId = `fax-hint-${messageId}`;
  const counterId = `fax-counter-${messageId}`;

  const known = sizes[index] ?? Object.values(sizes)[0] ?? ASSUMED_PAGE;
  const rotation = ((rotations[index] ?? 0) % 360 + 360) % 360;
  const sideways = rotation % 180 !== 0;
  const turnedWidth = sideways ? known.h : known.w;
  const fitScale = width > 0 ? width / turnedWidth : 0.4;
  const scale = zoom === "fit" ? fitScale : zoom;
  const imageWidth = Math.max(1, Math.round(known.w * scale));
  const imageHeight = Math.max(1, Math.round(known.h * scale));
  const boxWidth = sideways ? imageHeight : imageWidth;
  const boxHeight = sideways ? imageWidth : imageHeight;
  const percent = Math.round(scale * 100);
  const page = pages[index];
  const src = (i) => (attempts[i] ? `${pages[i].url}?retry=${attempts[i]}` : pages[i].url);

  const go = useCallback(
    (next) => {
      const target = Math.min(count - 1, Math.max(0, next));
      if (target === index) return;
      moved.current = true;
      setIndex(target);
      const viewport = viewportRef.current;
      if (viewport) {
        viewport.scrollTop = 0;
        viewport.scrollLeft = 0;
      }
    },
    [count, index],
  );

  const zoomBy = (factor) => setZoom(clampZoom(scale * factor));
  const rotatePage = () => setRotations((all) => all.map((r, i) => (i === index ? (r + 90) % 360 : r)));
  const rotateAll = () => setRotations((all) => all.map((r) => (r + 90) % 360));

  // The thumbnail of the page shown stays in sight (only after the agent moved: never on opening).
  useEffect(() => {
    if (!moved.current) return;
    thumbsRef.current?.querySelector("[aria-current='page']")?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  }, [index]);

  // The next page is fetched while this one is read, so turning the page shows it at once.
  const loaded = Boolean(sizes[index]);
  useEffect(() => {
    if (!loaded || index + 1 >= count || sizes[index + 1]) return undefined;
    const next = index + 1;
    const image = new Image();
    image.onload = () => setSizes((s) => (s[next] ? s : { ...s, [next]: { w: image.naturalWidth, h: image.naturalHeight } }));
    image.src = src(next);
    return () => {
      image.onload = null;
    };
  }, [loaded, index, count]);

  function onLoad(e) {
    const img = e.currentTarget;
    const at = index;
    if (!img.naturalWidth) return;
    setSizes((s) => (s[at]?.w === img.naturalWidth && s[at]?.h === img.naturalHeight ? s : { ...s, [at]: { w: img.naturalWidth, h: img.naturalHeight } }));
    setFailed((f) => without(f, at));
  }

  function retry() {
    const at = index;
    setAttempts((a) => ({ ...a, [at]: (a[at] ?? 0) + 1 }));
    setFailed((f) => without(f, at));
  }

  function onKeyDown(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const key = e.key;
    if (key === "ArrowRight") go(index + 1);
    else if (key === "ArrowLeft") go(index - 1);
    else if (key === "+" || key === "=") zoomBy(ZOOM_STEP);
    else if (key === "-" || key === "_") zoomBy(1 / ZOOM_STEP);
    else if (key === "r" || key === "R") rotatePage();
    else return;
    e.preventDefault();
  }

  const pageLabel = t("fax.pageOf", { n: index + 1, count });
  const showThumbs = count > 1 && width >= THUMBS_MIN_WIDTH;

  return (
    <div class="fax-viewer" onKeyDown={onKeyDown}>
      <div class="fax-toolbar" role="toolbar" aria-label={t("fax.tools")} aria-controls={`fax-viewport-${messageId}`}>
        <div class="fax-tool-group">
          <button type="button" class="button button-small fax-tool" onClick={() => go(index - 1)} disabled={index === 0}
            aria-label={t("fax.prevPage")} title={t("fax.prevPage")}>
            <Glyph name="prev" />
          </button>
          <span id={counterId} class="fax-counter" aria-live="polite">
            {pageLabel}
          </span>
          <button type="button" class="button button-small fax-tool" onClick={() => go(index + 1)} disabled={index >= count - 1}
            aria-label={t("fax.nextPage")} title={t("fax.nextPage")}>
            <Glyph name="next" />
          </button>
        </div>
        <div class="fax-tool-group">
          <button type="button" class="button button-small fax-tool" onClick={() => zoomBy(1 / ZOOM_STEP)} disabled={scale <= MIN_ZOOM + 1e-6}
            aria-label={t("fax.zoomOut")} title={t("fax.zoomOut")}>
            <Glyph name="zoomOut" />
          </button>
          <span class="fax-zoom" role="status">
            <span class="visually-hidden">{t("fax.zoomLabel")} </span>
            {percent}%
          </span>
          <button type="button" class="button button-small fax-tool" onClick={() => zoomBy(ZOOM_STEP)} disabled={scale >= MAX_ZOOM - 1e-6}
            aria-label={t("fax.zoomIn")} title={t("fax.zoomIn")}>
            <Glyph name="zoomIn" />
          </button>
          <button type="button" class="button button-small" aria-pressed={zoom === "fit"} onClick={() => setZoom("fit")}
            aria-label={t("fax.fitWidth")} title={t("fax.fitWidth")}>
            <Glyph name="fit" /> <span class="fax-tool-label">{t("fax.fitWidth")}</span>
          </button>
          <button type="button" class="button button-small" aria-pressed={zoom === 1} onClick={() => setZoom(1)}
            aria-label={t("fax.actualSize")} title={t("fax.actualSize")}>
            100%
          </button>
        </div>
        <div class="fax-tool-group">
          <button type="button" class="button button-small" onClick={rotatePage}
            aria-label={t("fax.rotatePage")} title={t("fax.rotatePageHint")}>
            <Glyph name="rotate" /> <span class="fax-tool-label">{t("fax.rotatePage")}</span>
          </button>
          {count > 1 && (
            <button type="button" class="button button-small" onClick={rotateAll}
            aria-label={t("fax.rotateAll")} title={t("fax.rotateAllHint")}>
              <Glyph name="rotateAll" /> <span class="fax-tool-label">{t("fax.rotateAll")}</span>
            </button>
          )}
        </div>
      </div>
      <p id={hintId} class="visually-hidden">
        {t("fax.viewerHint")}
      </p>
      {showThumbs && (
        <ol class="fax-thumbs" ref={thumbsRef} aria-label={t("fax.thumbnails")}>
          {pages.map((p, i) => (
            <li key={p.id}>
              <button type="button" class="fax-thumb" aria-current={i === index ? "page" : undefined} aria-label={t("fax.goToPage", { n: i + 1 })}
                onClick={() => go(i)}>
                <img src={src(i)} alt="" loading="lazy" decoding="async" style={{ transform: `rotate(${rotations[i] ?? 0}deg)` }} />
                <span class="fax-thumb-number" aria-hidden="true">
                  {i + 1}
                </span>
              </button>
            </li>
          ))}
        </ol>
      )}
      <div
        id={`fax-viewport-${messageId}`}
        ref={viewportRef}
        class="fax-viewport"
        tabIndex={0}
        role="region"
        aria-label={t("fax.viewer")}
        aria-describedby={`${counterId} ${hintId}`}
      >
        <div class="fax-canvas" style={{ width: `${boxWidth}px`, height: `${boxHeight}px` }}>
          {failed[index] ? (
            <div class="fax-page-error" role="alert">
              <p>{t("fax.pageError", { n: index + 1 })}</p>
              <button type="button" class="button button-small" onClick={retry}>
                {t("fax.retry")}
              </button>
            </div>
          ) : (
            <img
              key={`${page.id}:${attempts[index] ?? 0}`}
              class="fax-page"
              src={src(index)}
              alt={pageLabel}
              loading="lazy"
              decoding="async"
              draggable={false}
              data-page={index + 1}
              data-rotation={rotation}
              style={{
                width: `${imageWidth}px`,
                height: `${imageHeight}px`,
                left: `${(boxWidth - imageWidth) / 2}px`,
                top: `${(boxHeight - imageHeight) / 2}px`,
                transform: `rotate(${rotation}deg)`,
              }}
              onLoad={onLoad}
              onError={() => setFailed((f) => ({ ...f, [index]: true }))}
            />
          )}
        </div>
      </div>
    </div>
  );
}

function kindOf(att) {
  const type = String(att.content_type || "").toLowerCase();
  if (type.includes("tif")) return "TIFF";
  if (type.includes("pdf")) return "PDF";
  if (type.includes("postscript")) return "PostScript";
  const ext = /\.([a-z0-9]{1,5})$/i.exec(String(att.filename || ""));
  return ext ? ext[1].toUpperCase() : "";
}

/** The fax's own files (TIFF, PDF, PostScript) as they came, and the service's mail. */
function Originals({ message, documents }) {
  const t = useT();
  return (
    <footer class="mail-foot fax-foot">
      {documents.length > 0 && (
        <ul class="fax-originals" aria-label={t("fax.originals")}>
          {documents.map((doc) => {
            const name = String(doc.filename || t("att.file"));
            const details = [kindOf(doc), formatBytes(doc.size, t.lang)].filter(Boolean).join(", ");
            return (
              <li key={doc.id}>
                <a class="mail-original" href={attachmentUrl(doc.id)} download={name} rel="noopener">
                  <Icon name="download" size={14} /> {t("fax.downloadOriginal", { name })}
                </a>
                {details && <span class="att-size"> ({details})</span>}
              </li>
            );
          })}
        </ul>
      )}
      <a class="mail-original fax-mail-original" href={`/api/v1/messages/${encodeURIComponent(message.id)}/original`} download rel="noopener">
        <Icon name="email" size={14} /> {t("fax.mailOriginal")}
      </a>
    </footer>
  );
}

function Problems({ problems }) {
  const t = useT();
  if (!problems.length) return null;
  return (
    <div class="mail-problems fax-problems" role="note">
      <p class="mail-problems-title">
        <Icon name="warning" size={16} /> {t("fax.problems")}
      </p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>{p}</li>
        ))}
      </ul>
    </div>
  );
}

/** The service's "received" stamp: a date it wrote in a form the browser reads, else as written. */
function receivedText(value, lang) {
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value.replace(" ", "T")))) {
    return fullTime(value.replace(" ", "T"), lang);
  }
  return value;
}

function Fact({ label, children, name, hiddenLabel = false }) {
  return (
    <div class="fax-fact" data-fact={name}>
      <dt class={hiddenLabel ? "visually-hidden" : undefined}>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A fax the customer sent: its facts, warnings, pages and originals. */
function IncomingFax({ message, conversation }) {
  const t = useT();
  const fax = faxMeta(message) ?? {};
  const about = { ...(objectOr(conversation?.attributes?.fax) ?? {}), ...fax };
  const number = text(about.number_display) || formatFaxNumber(text(about.number), text(about.raw_number));
  const csid = text(about.csid);
  const caller = text(about.caller_name);
  const quality = text(about.quality).toLowerCase();
  const received = text(about.received_at);
  const files = Array.isArray(message.meta?.attachments) ? message.meta.attachments.filter((a) => objectOr(a) && a.id) : [];
  const byId = new Map(files.map((a) => [a.id, a]));
  const pageIds = ids(fax.page_images).filter((id) => byId.has(id) || !files.length);
  const pages = pageIds.map((id) => ({ id, url: attachmentUrl(id) }));
  const documentIds = ids(fax.documents);
  const documents = documentIds.length
    ? documentIds.map((id) => byId.get(id) ?? { id, filename: "", content_type: "" })
    : files.filter((a) => !pageIds.includes(a.id));
  const pageCount = Number.isInteger(about.pages) && about.pages > 0 ? about.pages : pages.length;
  const problems = strings(message.meta?.email?.problems);
  const title = number ? t("fax.fromNumber", { number }) : t("fax.fromUnknown");
  return (
    <li class="mail mail-in fax fax-in" data-kind={message.kind} data-message-id={message.id}>
      <article aria-label={title}>
        <header class="mail-head fax-head">
          <div class="mail-head-line">
            <span class="mail-sender">
              <Icon name="fax" size={16} />
              <span class="mail-name fax-from">{title}</span>
            </span>
            {message.created_at && (
              <time class="mail-date" dateTime={message.created_at}>
                {fullTime(message.created_at, t.lang)}
              </time>
            )}
          </div>
          <dl class="fax-facts">
            {csid && (
              <Fact name="csid" label={t("fax.station")}>
                {csid}
              </Fact>
            )}
            {caller && (
              <Fact name="caller" label={t("fax.caller")}>
                {caller}
              </Fact>
            )}
            {pageCount > 0 && (
              <Fact name="pages" label={t("fax.pagesLabel")} hiddenLabel>
                {pagesText(t, pageCount)}
              </Fact>
            )}
            {(quality === "fine" || quality === "normal") && (
              <Fact name="quality" label={t("fax.quality")}>
                {t(`fax.quality.${quality}`)}
              </Fact>
            )}
            {received && (
              <Fact name="received" label={t("fax.received")}>
                {receivedText(received, t.lang)}
              </Fact>
            )}
          </dl>
        </header>
        <Problems problems={problems} />
        {pages.length > 0 ? <PageViewer pages={pages} messageId={message.id} /> : <p class="fax-no-pages">{t("fax.noPages")}</p>}
        <Originals message={message} documents={documents} />
      </article>
    </li>
  );
}

/** The agent's reply by fax (or an internal note). */
function OutgoingFax({ message, user, onResend, onDiscard }) {
  const t = useT();
  const { destination, agentName } = useContext(FaxContext);
  const note = message.kind === "note";
  const sent = faxMeta(message);
  const author = (message.author_id && agentName(message.author_id)) || t("msg.agent");
  const to = formatFaxNumber(text(sent?.to), "") || destination.number;
  const classes = ["mail", "fax", note ? "mail-note" : "mail-out fax-out"];
  if (message._pending) classes.push("mail-pending");
  if (message._failed || message.meta?.delivery?.status === "failed") classes.push("mail-failed");
  return (
    <li class={classes.join(" ")} data-kind={message.kind} data-message-id={message.id}>
      <article aria-label={note ? t("msg.note") : t("fax.replyLabel", { name: author })}>
        <header class="mail-head">
          <div class="mail-head-line">
            <span class="mail-sender">
              {note ? (
                <span class="msg-tag">
                  <Icon name="note" size={14} /> {t("msg.note")}
                </span>
              ) : (
                <Icon name="fax" size={16} />
              )}
              <span class="mail-name">{message.author_id === user.id ? `${author} (${t("msg.you")})` : author}</span>
              {!note && to && <span class="mail-address">{t("fax.toNumber", { number: to })}</span>}
              {!note && Number.isInteger(sent?.pages) && sent.pages > 0 && <span class="mail-address">· {pagesText(t, sent.pages)}</span>}
            </span>
            {message.created_at && (
              <time class="mail-date" dateTime={message.created_at}>
                {fullTime(message.created_at, t.lang)}
              </time>
            )}
          </div>
        </header>
        {message.body_text && (
          <div class="mail-text">
            <LinkedText text={message.body_text} />
          </div>
        )}
        <Attachments message={message} />
        {message._pending && <p class="mail-delivery">{t("msg.sending")}</p>}
        {!note && <DeliveryState delivery={message.meta?.delivery} message={message} words="fax" />}
        {message._failed && (
          <p class="mail-delivery mail-delivery-failed" role="alert">
            <SendFailed message={message} onResend={onResend} onDiscard={onDiscard} />
          </p>
        )}
      </article>
    </li>
  );
}

export function FaxMessageItem(props) {
  const { message } = props;
  if (message.kind === "system" || message.author_type === "system") return <ChatMessageItem {...props} />;
  // A customer's message that did not come in as a fax (entered through the API) reads as plain text.
  if (message.author_type === "contact") return faxMeta(message) ? <IncomingFax {...props} /> : <ChatMessageItem {...props} />;
  return <OutgoingFax {...props} />;
}

/** The reply composer: says where the fax goes (or why it can't go), takes PDFs and images to fax after the text. */
export function FaxComposer(props) {
  const { draft, onDraftChange, closed } = props;
  const t = useT();
  const { destination } = useContext(FaxContext);
  const kind = closed ? "note" : draft?.kind ?? "message";

  // Files just added that a fax can't carry are left out, and named.
  const changeDraft = (next) => {
    const nextKind = closed ? "note" : next.kind ?? "message";
    const had = draft?.files ?? [];
    const files = next.files ?? [];
    if (files.length === had.length && files.every((f, i) => f === had[i])) {
      onDraftChange(next);
      return;
    }
    const refused = nextKind === "message" ? files.filter((f) => !had.includes(f) && !isFaxable(f)) : [];
    onDraftChange({
      ...next,
      files: files.filter((f) => !refused.includes(f)),
      rejectedFile: refused.length ? refused.map((f) => f.name).join(", ") : null,
    });
  };

  const renderExtra = ({ kind: mode, draft: current }) => {
    if (mode === "note") return null;
    const unfaxable = (current.files ?? []).filter((f) => !isFaxable(f));
    return (
      <div class="composer-fax-head">
        {destination.problem ? (
          <p class="composer-fax-warning" role="note">
            <Icon name="warning" size={16} />{" "}
            <span>
              {t(destination.problem === "noNumber" ? "fax.composer.noNumber" : "fax.composer.noReplyAddress")} {t("fax.composer.noteInstead")}
            </span>
          </p>
        ) : (
          <p class="composer-fax-to">
            <Icon name="fax" size={16} /> <span>{t("fax.composer.willFax", { number: destination.number })}</span>
            <span class="composer-fax-hint">{t("fax.composer.attachHint")}</span>
          </p>
        )}
        {current.rejectedFile && (
          <p class="composer-fax-warning" role="alert">
            <Icon name="warning" size={16} /> <span>{t("fax.composer.notFaxable", { name: current.rejectedFile })}</span>
          </p>
        )}
        {unfaxable.length > 0 && (
          <p class="composer-fax-warning" role="alert">
            <Icon name="warning" size={16} /> <span>{t("fax.composer.notFaxable", { name: unfaxable.map((f) => f.name).join(", ") })}</span>
          </p>
        )}
      </div>
    );
  };

  return (
    <ChatComposer
      {...props}
      onDraftChange={changeDraft}
      multiline
      rows={5}
      className="composer-email composer-fax"
      accept={kind === "message" ? FAXABLE_ACCEPT : undefined}
      placeholders={{ reply: "fax.composer.placeholder", replyCanned: "fax.composer.placeholderCanned" }}
      renderExtra={renderExtra}
    />
  );
}

/** A fax conversation's body: the fax and the replies, then the composer. */
export function FaxConversationView(props) {
  const { channel, conversation, thread, user, draft, onDraftChange, onSend, onTyping, closed, contactName } = props;
  const colleagues = thread.items.some((m) => m.author_type === "agent" && m.author_id && m.author_id !== user.id);
  const targets = useTenantData("transfer", colleagues ? conversation.tenant_id : null);
  const destination = useMemo(() => faxDestination(conversation), [conversation]);
  const context = useMemo(() => {
    const names = new Map((targets.data?.agents ?? []).map((a) => [a.id, a.name]));
    return { destination, agentName: (id) => (id === user.id ? user.name || user.email : names.get(id) || "") };
  }, [destination, targets.data, user.id, user.name, user.email]);

  // Opening a fax nobody answered yet shows it from its top (its facts and first page), not its end.
  const placed = useRef(null);
  const last = thread.items[thread.items.length - 1];
  useLayoutEffect(() => {
    if (!last || placed.current === conversation.id) return;
    placed.current = conversation.id;
    if (last.author_type !== "contact" || !faxMeta(last)) return;
    const card = document.querySelector(`.fax-in[data-message-id="${CSS.escape(String(last.id))}"]`);
    const scroller = card?.closest(".thread");
    if (scroller) scroller.scrollTop += card.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 12;
  }, [conversation.id, last]);

  return (
    <FaxContext.Provider value={context}>
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
    </FaxContext.Provider>
  );
}
