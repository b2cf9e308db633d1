// Proactive invitations from the tenant's rules: "Need a hand?" next to the launcher after N seconds
// on pages whose path matches a glob (`*` = anything; empty = every page). Each rule shows at most
// once per browser session (sessionStorage), and only while the visitor isn't chatting already.
import { load, save } from "./storage.js";

export function globMatches(glob, path) {
  if (!glob) return true;
  const pattern = String(glob).split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${pattern}$`).test(path);
}

/** show(rule) puts the bubble up and answers whether it did (false: not now, try no more). */
export function startInvitations(rules, widgetKey, show) {
  const key = `wecc.invited.${widgetKey}`;
  for (const rule of rules) {
    if (!rule || !rule.message || !globMatches(rule.url_pattern, location.pathname)) continue;
    const id = String(rule.id || rule.message);
    setTimeout(() => {
      const shown = load("sessionStorage", key, []);
      if (!shown.includes(id) && show(rule)) save("sessionStorage", key, [...shown, id]);
    }, 1000 * Math.max(0, Number(rule.after_seconds) || 0));
  }
}
