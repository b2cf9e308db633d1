// Where the widget came from and for which business: read once from its own <script> tag.
//   <script src="https://gateway.example/widget.js" data-tenant="WIDGET_KEY" async></script>
// Optional: data-lang="en" | "zh-CN" overrides the visitor's browser language (a tenant locale setting other than "auto" wins).
// data-preview: only on the gateway's own preview page (parts/preview.js), never on a site.

/** The widget's own tag: document.currentScript while the script first runs, else the first tag with data-tenant. */
export function findScriptTag() {
  const current = document.currentScript;
  if (current && current.dataset && current.dataset.tenant) return current;
  const tags = Array.from(document.querySelectorAll("script[data-tenant]"));
  return tags.find((s) => /\/widget\.js(\?|#|$)/.test(s.src)) || tags[0] || null;
}

/** @returns {{widgetKey: string, origin: string, lang: string|null, nonce: string, preview: boolean} | null} */
export function readConfig(tag) {
  if (!tag) return null;
  const widgetKey = (tag.dataset.tenant || "").trim();
  if (!widgetKey) return null;
  let origin;
  try {
    origin = new URL(tag.src || "", document.baseURI).origin;
  } catch (e) {
    origin = "null";
  }
  if (origin === "null") origin = window.location.origin; // inline or odd src: assume same origin
  // The page's CSP nonce on our tag, for the parts we add later (parts.js).
  return { widgetKey, origin, lang: tag.dataset.lang || null, nonce: tag.nonce || "", preview: "preview" in tag.dataset };
}
