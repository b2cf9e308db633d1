// The panel's views. The shell shows one view at a time by name; a view is a component, or the name
// of an on-demand part (parts.js) for heavy views (voice, co-browsing), fetched when first shown,
// without the shell knowing what they contain.
import { Part } from "../part.jsx";

const views = new Map();

/** registerView("status", StatusView), or registerView("voice", { part: "voice" }) for parts/voice.jsx's View. */
export function registerView(name, view) {
  views.set(name, view);
}

export function hasView(name) {
  return views.has(name);
}

export function ViewHost({ name, fallback = null, ...props }) {
  const view = views.get(name);
  if (!view) return fallback;
  if (view.part) return <Part name={view.part} {...props} />;
  const View = view;
  return <View {...props} />;
}
