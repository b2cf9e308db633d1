// The panel's views. The shell shows one view at a time by name; a view is a component, or a loader
// returning a promise of one, so heavy views (chat with attachments, voice, co-browsing) can be
// fetched on demand without the shell knowing what they contain.
import { useEffect, useState } from "preact/hooks";

const views = new Map();

/** registerView("status", StatusView) or registerView("voice", () => import("./voice.jsx").then(m => m.VoiceView)) */
export function registerView(name, componentOrLoader, { lazy = false } = {}) {
  views.set(name, lazy ? { load: componentOrLoader, component: null } : { component: componentOrLoader });
}

export function hasView(name) {
  return views.has(name);
}

/** Renders the named view, loading it first if it is lazy. */
export function ViewHost({ name, fallback = null, ...props }) {
  const entry = views.get(name);
  const [, setLoaded] = useState(0);
  useEffect(() => {
    if (!entry || entry.component || !entry.load) return undefined;
    let alive = true;
    entry.load().then(
      (component) => {
        entry.component = component;
        if (alive) setLoaded((n) => n + 1);
      },
      (err) => console.error("[wecc] could not load the view", name, err),
    );
    return () => {
      alive = false;
    };
  }, [entry]);
  if (!entry || !entry.component) return fallback;
  const View = entry.component;
  return <View {...props} />;
}
