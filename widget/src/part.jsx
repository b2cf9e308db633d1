// Where an on-demand part (parts.js) is drawn: nothing while it loads (it is small and comes from the
// gateway already serving the widget), then the part's View with its own strings; if it can't be
// loaded, the visitor is told so and can try again, and whatever the base widget shows around it
// (such as "Start a new chat") keeps working; a part that stands in for a view (the call) is given
// onDone, and then the visitor can also go back.
import { useEffect, useRef, useState } from "preact/hooks";
import { loadPart, partIfLoaded } from "./parts.js";

export function Part({ name, t, lang, ...props }) {
  const [module, setModule] = useState(() => partIfLoaded(name));
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const ref = useRef(null);

  useEffect(() => {
    if (module) return undefined;
    let alive = true;
    loadPart(name).then(
      (m) => alive && setModule(m),
      () => alive && setFailed(true),
    );
    return () => {
      alive = false;
    };
  }, [name, attempt]);

  // Focus the shell put next to the part while it loaded moves into it, as if it had been there.
  useEffect(() => {
    const el = ref.current;
    const active = el && el.getRootNode().activeElement;
    const target = el && el.querySelector("[data-autofocus]");
    if (active && target && el.parentNode.contains(active)) target.focus();
  }, [module]);

  if (failed) {
    return (
      <div class="part-error" role="alert">
        <p class="error">{t.partFailed}</p>
        <button
          type="button"
          class="btn"
          onClick={() => {
            setFailed(false);
            setAttempt(attempt + 1);
          }}
        >
          {t.retry}
        </button>
        {props.onDone && (
          <button type="button" class="btn" onClick={props.onDone}>
            {t.back}
          </button>
        )}
      </div>
    );
  }
  if (!module) return null;
  const View = module.View;
  const own = module.strings && (module.strings[lang] || module.strings.en);
  return (
    <div class="part" ref={ref}>
      <View {...props} t={own ? { ...t, ...own } : t} lang={lang} />
    </div>
  );
}
