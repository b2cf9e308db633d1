// First-party storage that never throws: private modes, blocked storage or a full quota only make
// the widget forget sooner. Keys are namespaced by the widget key, so two sites on one origin don't mix.

function area(name) {
  try {
    return window[name];
  } catch (e) {
    return null; // sandboxed frames throw on mere access
  }
}

export function load(name, key, fallback = null) {
  try {
    const raw = area(name).getItem(key);
    return raw == null ? fallback : JSON.parse(raw);
  } catch (e) {
    return fallback;
  }
}

/** Stores value as JSON; null or undefined removes the key. */
export function save(name, key, value) {
  try {
    if (value == null) area(name).removeItem(key);
    else area(name).setItem(key, JSON.stringify(value));
  } catch (e) {
    // not kept: fine
  }
}
