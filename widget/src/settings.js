// The tenant's widget settings (title, colour, position, pre-chat form, proactive rules, features),
// fetched once at page load from GET /api/v1/widget/config. Anything missing or unreachable falls
// back to these defaults, so the widget still works against a gateway without that endpoint.

export const DEFAULTS = {
  title: "",
  subtitle: "",
  logo_url: "", // the business's logo (its branding): https only
  color: "",
  position: "right",
  locale: "auto",
  prechat: { enabled: true, name: "optional", email: "optional", fields: [] },
  proactive: [],
  // Attachments off until the gateway says it takes them (an older one has no upload_ticket).
  features: { attachments: false, csat: true, transcript: false },
  uploads: null,
  cobrowse: { enabled: true, control: true, mask_selectors: [], block_selectors: [] },
  loaded: false, // these are the fallback, not the tenant's own (co-browsing won't run on them)
};

const TIMEOUT_MS = 5000;

export async function fetchSettings(origin, widgetKey) {
  const abort = typeof AbortController === "function" ? new AbortController() : null;
  const timer = abort && setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(`${origin}/api/v1/widget/config?key=${encodeURIComponent(widgetKey)}`, {
      credentials: "omit",
      signal: abort ? abort.signal : undefined,
    });
    return res.ok ? withDefaults(await res.json()) : DEFAULTS;
  } catch (e) {
    return DEFAULTS;
  } finally {
    clearTimeout(timer);
  }
}

/** The tenant's settings as the widget uses them: anything missing from the defaults. */
export function withDefaults(s) {
  if (!s || typeof s !== "object") return DEFAULTS;
  return {
    ...DEFAULTS,
    ...s,
    prechat: { ...DEFAULTS.prechat, ...s.prechat, fields: (s.prechat && s.prechat.fields) || [] },
    features: { ...DEFAULTS.features, ...s.features },
    cobrowse: { ...DEFAULTS.cobrowse, ...s.cobrowse },
    loaded: true,
    proactive: Array.isArray(s.proactive) ? s.proactive : [],
  };
}

/** A brand colour safe to put in a CSS property (hex or rgb()), else null. */
export function brandColor(value) {
  return /^(#[0-9a-f]{3,8}|rgba?\([\d\s,.%]+\))$/i.test(value || "") ? value : null;
}

/** Dark text on light brand colours, white on dark ones (for hex colours; white otherwise). */
export function textOn(color) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})/i.exec(color || "");
  if (!hex) return "#fff";
  const h = hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1];
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 170 ? "#1c2430" : "#fff";
}
