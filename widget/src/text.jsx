// Message text as the visitor sees it: plain text nodes (never HTML from the server), with
// http(s) addresses turned into links that open in a new tab and can't reach back into this page.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// A sentence's closing punctuation is rarely part of the address it ends with.
const TRAILING = /[.,;:!?)\]}>'"’”。，！？）]+$/;

export const LINK_REL = "noopener noreferrer nofollow";

/** Only addresses a click can't run code from. */
export function safeUrl(url) {
  return /^(https?:|blob:)/i.test(url || "") ? url : null;
}

export function Text({ value }) {
  const text = String(value || "");
  const parts = [];
  let last = 0;
  text.replace(URL_PATTERN, (match, at) => {
    const url = match.replace(TRAILING, "");
    parts.push(
      text.slice(last, at),
      <a href={url} target="_blank" rel={LINK_REL}>
        {url}
      </a>,
    );
    last = at + url.length;
    return match;
  });
  parts.push(text.slice(last));
  return parts;
}
