// Proactive invitations from the tenant's rules: "Need a hand?" next to the launcher after N seconds
// on pages whose path matches a glob (`*` = anything; empty = every page). Each rule shows at most
// once per browser session (sessionStorage), and only while the visitor isn't chatting already.
// Single-page apps change the page without loading one: on history.pushState/replaceState, popstate
// and hashchange the rules are checked again and time on page restarts (a hash route "#/path" counts
// as a page; a plain "#anchor" does not).
import { load, save } from "./storage.js";

export function globMatches(glob, path) {
  if (!glob) return true;
  const pattern = String(glob).split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${pattern}$`).test(path);
}

/** The page's paths a rule is matched against: the path, and a hash router's route if any. */
function pagePaths() {
  const route = /^#!?(\/.*)$/.exec(location.hash);
  return route ? [location.pathname, route[1]] : [location.pathname];
}

/**
 * show(rule) puts the bubble up and answers whether it did (false: not now, try no more on this page);
 * withdraw() takes down a bubble whose page the visitor left.
 */
export function startInvitations(rules, widgetKey, show, withdraw) {
  const key = `wecc.invited.${widgetKey}`;
  let page = null;
  let timers = [];
  let showing = null;
  const matches = (rule, paths) => paths.some((p) => globMatches(rule.url_pattern, p));

  function check() {
    const paths = pagePaths();
    if (paths.join("#") === page) return; // same page (a query string or an anchor changed): the clock runs on
    page = paths.join("#");
    timers.forEach(clearTimeout);
    timers = [];
    if (showing && !matches(showing, paths)) {
      withdraw(showing);
      showing = null;
    }
    for (const rule of rules) {
      if (!rule || !rule.message || !matches(rule, paths)) continue;
      const id = String(rule.id || rule.message);
      const timer = setTimeout(() => {
        const shown = load("sessionStorage", key, []);
        if (shown.includes(id) || !show(rule)) return;
        showing = rule;
        save("sessionStorage", key, [...shown, id]);
      }, 1000 * Math.max(0, Number(rule.after_seconds) || 0));
      timers.push(timer);
    }
  }

  check();
  if (rules.length) onNavigation(check);
}

/** Calls fn after every same-document navigation: the History API has no event for pushState, so wrap it. */
function onNavigation(fn) {
  const later = () => setTimeout(fn, 0); // after the app has updated location (and before our timers matter)
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    if (typeof original !== "function") continue;
    history[method] = function (...args) {
      const result = original.apply(this, args);
      later();
      return result;
    };
  }
  window.addEventListener("popstate", later);
  window.addEventListener("hashchange", later);
}
