// What the inbox does with a received mail's body before an agent sees it: the quoted history is
// found (to be folded away), remote images are held back (tracking pixels tell the sender when and
// where a mail was read), and the HTML becomes the srcdoc of a sandboxed frame.
//
// The HTML was sanitised by the gateway (nh3) already. Here it is only parsed into an inert
// document (DOMParser: no script runs, no image loads) and written out again; the frame that shows
// it may run no script at all, and its Content-Security-Policy lets images come only from the
// gateway's attachment downloads and data: URLs unless the agent asks for remote ones.

// The line that introduces quoted history ("On … wrote:" in a few languages, Outlook's separator),
// as the gateway's own text splitter knows it (gateway/mail/parse.py), plus Chinese clients'.
const QUOTE_INTRO = new RegExp(
  "^\\s*(?:" +
    [
      "On\\s[^]{1,300}\\swrote:",
      "Am\\s[^]{1,300}\\sschrieb\\s?[^]{0,200}:",
      "Le\\s[^]{1,300}\\sa\\s[ée]crit\\s?:",
      "El\\s[^]{1,300}\\sescribi[óo]:",
      "Il\\s[^]{1,300}\\sha\\sscritto:",
      "Op\\s[^]{1,300}\\sschreef\\s[^]{0,200}:",
      "Em\\s[^]{1,300}\\sescreveu:",
      "在[^]{1,300}写道\\s?[:：]",
      "-{2,}\\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|原始邮件)\\s*-{2,}",
    ].join("|") +
    ")\\s*$",
  "i",
);
// Outlook's header block: "From: …" and, in the same block, "Sent: …" or "Date: …".
const OUTLOOK_FROM = /^\s*\*?(?:From|Von|De|Van|Da|发件人|寄件者)\s?[:：]\*?\s*\S/i;
const OUTLOOK_SENT = /(?:^|\n|\s)\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado(?: el)?|Verzonden|Inviato|发送时间|日期)\s?[:：]/i;
// What mail clients mark their quoted history with (kept by a sanitiser that keeps class and id).
const MARKED_HISTORY = ".gmail_quote, #divRplyFwdMsg, #appendonsend, .moz-cite-prefix, .yahoo_quoted";
const QUOTE_ATTR = "data-wecc-quote";
const REMOTE_ATTR = "data-wecc-remote";
const DROPPED = "script, iframe, frame, frameset, object, embed, link, meta, base, form, noscript, template";
const ATTACHMENT_PATH = "/api/v1/attachments/";
const MAX_INTRO_CHARS = 600;

/** A mail's plain text split where its quoted history starts (meta.email.quote_at, UTF-16 units as JS strings count). */
export function splitText(text, quoteAt) {
  const body = String(text ?? "");
  const at = Number.isInteger(quoteAt) && quoteAt > 0 && quoteAt < body.length ? quoteAt : null;
  if (at === null) return { main: body, quoted: "" };
  const main = body.slice(0, at).replace(/\s+$/, "");
  if (!main.trim()) return { main: body, quoted: "" }; // nothing but history: show it all
  return { main, quoted: body.slice(at).replace(/^\n+/, "") };
}

function textOf(node, skip) {
  if (skip.has(node)) return "";
  if (node.nodeType === 3) return node.data;
  if (node.nodeType !== 1) return "";
  let out = "";
  for (const child of node.childNodes) out += textOf(child, skip);
  return out;
}

/** Text that is not inside a <blockquote>: what someone wrote rather than quoted. */
function textOutsideQuotes(node) {
  if (node.nodeType === 3) return node.data;
  if (node.nodeType !== 1 || node.tagName === "BLOCKQUOTE") return "";
  let out = "";
  for (const child of node.childNodes) out += textOutsideQuotes(child);
  return out;
}

function blockText(el) {
  // <br> as a line break, so "From: …<br>Sent: …" reads as two lines.
  let out = "";
  for (const node of el.childNodes) {
    if (node.nodeType === 3) out += node.data;
    else if (node.nodeType === 1) out += node.tagName === "BR" ? "\n" : ` ${blockText(node)} `;
  }
  return out;
}

/** The nodes from `start` to the end of the body: start, its later siblings, then each ancestor's later siblings. */
function tailFrom(start, body) {
  const nodes = [];
  let current = start;
  let first = true;
  while (current && current !== body) {
    for (let n = first ? current : current.nextSibling; n; n = n.nextSibling) nodes.push(n);
    first = false;
    current = current.parentNode;
  }
  return nodes;
}

function isIntro(text) {
  const t = text.replace(/\s+/g, " ").trim();
  if (!t || t.length > MAX_INTRO_CHARS) return false;
  return QUOTE_INTRO.test(t) || (OUTLOOK_FROM.test(t) && OUTLOOK_SENT.test(text));
}

/** The node just before `el` that is not blank (whitespace text, <br>). */
function previousContent(el) {
  let n = el.previousSibling;
  while (n && ((n.nodeType === 3 && !n.data.trim()) || (n.nodeType === 1 && n.tagName === "BR"))) n = n.previousSibling;
  return n;
}

/**
 * Where the quoted history starts: an element a mail client marked as such, an "On … wrote:" or
 * Outlook "From:/Sent:" block (and everything after it), or a <blockquote> that nothing but more
 * quoting follows (a reply written between quotes keeps them in view). Returns the nodes to fold.
 */
function findHistory(body) {
  const candidates = [...body.querySelectorAll(`${MARKED_HISTORY}, blockquote, div, p, hr, span, font, td`)];
  for (const el of candidates) {
    let start = null;
    if (el.matches(MARKED_HISTORY)) {
      start = el;
    } else if (el.tagName === "HR") {
      const next = el.nextElementSibling;
      if (next && isIntro(blockText(next))) start = el;
    } else if (el.tagName === "BLOCKQUOTE") {
      const after = tailFrom(el, body).slice(1).map(textOutsideQuotes).join("");
      if (after.trim()) continue; // someone answered below it: not history
      start = el;
      const before = previousContent(el);
      if (before && isIntro(before.nodeType === 3 ? before.data : blockText(before))) start = before;
    } else if (el.children.length <= 12 && !el.querySelector("blockquote, div, p, table") && isIntro(blockText(el))) {
      start = el;
    }
    if (!start) continue;
    const nodes = tailFrom(start, body);
    const hidden = new Set(nodes);
    if (!textOf(body, hidden).trim() && !hasMediaOutside(body, hidden)) return null; // nothing new above it: show it all
    return nodes;
  }
  return null;
}

function hasMediaOutside(body, hidden) {
  return [...body.querySelectorAll("img")].some((img) => ![...hidden].some((n) => n === img || n.contains?.(img)));
}

function markHistory(doc, nodes) {
  for (const node of nodes) {
    if (node.nodeType === 1) {
      node.setAttribute(QUOTE_ATTR, "");
    } else if (node.nodeType === 3 && node.data.trim()) {
      const span = doc.createElement("span");
      span.setAttribute(QUOTE_ATTR, "");
      node.replaceWith(span);
      span.append(node);
    }
  }
}

/**
 * Parses a mail's (sanitised) HTML and prepares it for the frame. Answers {body, hasQuote, remote}:
 * the body's HTML with quoted history marked and remote images held back (their address kept aside
 * until allowRemote), and how many remote images it has.
 */
export function prepareHtml(html, { allowRemote = false, origin = location.origin } = {}) {
  const doc = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  const body = doc.body;
  for (const el of body.querySelectorAll(DROPPED)) el.remove();
  for (const el of body.querySelectorAll("*")) {
    for (const attr of [...el.attributes]) if (/^on/i.test(attr.name) || attr.name === "style" && /url\s*\(|expression/i.test(attr.value)) el.removeAttribute(attr.name);
  }
  let remote = 0;
  for (const img of body.querySelectorAll("img")) {
    const src = img.getAttribute("src") || "";
    let url = null;
    try {
      url = new URL(src, origin);
    } catch {
      url = null;
    }
    img.removeAttribute("srcset");
    if (url && url.protocol === "data:") continue;
    if (url && url.origin === origin && url.pathname.startsWith(ATTACHMENT_PATH)) {
      img.setAttribute("src", url.href); // absolute: the frame's CSP names the gateway by its origin
      continue;
    }
    img.removeAttribute("src");
    if (url && (url.protocol === "http:" || url.protocol === "https:")) {
      remote += 1;
      if (allowRemote) img.setAttribute("src", url.href);
      else img.setAttribute(REMOTE_ATTR, "");
    }
  }
  for (const a of body.querySelectorAll("a[href]")) {
    a.setAttribute("target", "_blank");
    a.setAttribute("rel", "noopener noreferrer nofollow");
  }
  const history = findHistory(body);
  if (history) markHistory(doc, history);
  return { body: body.innerHTML, hasQuote: Boolean(history), remote };
}

const FRAME_STYLE = `
html{overflow-x:auto;overflow-y:hidden}
body{margin:0;padding:4px 2px;display:flow-root;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;color:#1c2430;background:#fff;overflow-wrap:anywhere}
p{margin:0 0 .7em}
a{color:#1f5fd6}
img{max-width:100%;height:auto}
img[${REMOTE_ATTR}]{display:inline-block;min-width:14px;min-height:14px;max-width:48px;max-height:48px;background:#eef1f5;outline:1px dashed #b8c0cc}
img[${REMOTE_ATTR}][width="1"],img[${REMOTE_ATTR}][height="1"],img[${REMOTE_ATTR}][width="0"],img[${REMOTE_ATTR}][height="0"]{display:none}
table{max-width:100%;border-collapse:collapse}
td,th{vertical-align:top}
pre{white-space:pre-wrap}
blockquote{margin:0 0 .7em .4em;padding-left:.8em;border-left:3px solid #d3d9e3;color:#4a5568}
body:not(.show-quote) [${QUOTE_ATTR}]{display:none!important}
`;

function escapeAttr(value) {
  return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

/** The frame's document: CSP first (images only from the gateway's attachments and data:, remote ones when allowed), then the body. */
export function frameDocument(bodyHtml, { allowRemote = false, showQuote = false, origin = location.origin, lang = "en" } = {}) {
  const images = [`${origin}${ATTACHMENT_PATH}`, "data:"];
  if (allowRemote) images.push("https:", "http:");
  const csp = `default-src 'none'; img-src ${images.join(" ")}; style-src 'unsafe-inline'; font-src data:; form-action 'none'`;
  return (
    `<!doctype html><html lang="${escapeAttr(lang)}"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">` +
    `<meta name="referrer" content="no-referrer"><base target="_blank"><style>${FRAME_STYLE}</style></head>` +
    `<body class="${showQuote ? "show-quote" : ""}">${bodyHtml}</body></html>`
  );
}

/** "Re: Fwd: Order #77 [#K7Q2XM]" → "order #77": what tells two subjects of one thread apart. */
export function subjectKey(subject) {
  let s = String(subject ?? "").replace(/\[#[A-Z0-9]{6,12}\]/gi, " ");
  const prefix = /^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|r|rif|回复|答复|转发|回覆|轉寄)\s*(?:\[\d+\])?\s*[:：]\s*/i;
  while (prefix.test(s)) s = s.replace(prefix, "");
  return s.replace(/\s+/g, " ").trim().toLowerCase();
}

/** The customer's words as a quote under a reply: an intro line, then each line after "> ". */
export function quoteText(text, intro) {
  const lines = String(text ?? "").replace(/\r\n/g, "\n").replace(/\s+$/, "").split("\n");
  return `${intro}\n${lines.map((line) => (line ? `> ${line}` : ">")).join("\n")}`;
}
