// A tiny observable state holder: the connection, the chat session and the panel each keep one,
// and components re-render from it through useStore. Lives outside Preact so the host page's JS API
// can drive the widget too.
import { useEffect, useState } from "preact/hooks";

export function createStore(state) {
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...patch };
      listeners.forEach((fn) => fn(state));
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export function useStore(store) {
  const [state, setState] = useState(store.get());
  // Subscribe, and catch up with any change made between this render and the effect.
  useEffect(() => {
    setState(store.get());
    return store.subscribe(setState);
  }, [store]);
  return state;
}
