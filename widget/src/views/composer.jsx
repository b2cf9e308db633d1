// Where the visitor writes: Enter sends (not while an IME is composing, e.g. pinyin), Shift+Enter is
// a new line; keystrokes tell the agent "typing" (debounced by the session); the draft survives a
// reload; the attach button shows only when the gateway takes files.
import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "../icons.jsx";
import { load, save } from "../storage.js";

export function Composer({ t, s, session, settings }) {
  const [text, setText] = useState(() => load("sessionStorage", session.draftKey, ""));
  const [error, setError] = useState(null);
  const fileRef = useRef(null);
  const uploads = settings.uploads || {};
  const canAttach = settings.features.attachments && s.attachments && s.conversationId;

  useEffect(() => {
    if (canAttach) session.probeUploads();
  }, [canAttach]);

  function draft(value) {
    setText(value);
    save("sessionStorage", session.draftKey, value || null);
  }

  function submit(e) {
    e.preventDefault();
    const value = text.trim();
    if (!value) return;
    session.send(value);
    draft("");
  }

  function onKeyDown(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) submit(e);
  }

  // A file the site's limits refuse is not sent at all; any other's fate shows on its own line.
  function onFile(e) {
    const file = e.currentTarget.files[0];
    e.currentTarget.value = "";
    if (!file) return;
    const result = session.upload(file, uploads);
    setError(result.ok ? null : t.uploadErrors[result.code] || t.uploadErrors.failed);
  }

  return (
    <form class="composer" onSubmit={submit}>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="composer-row">
        {canAttach && (
          <button type="button" class="icon-btn" aria-label={t.attach} title={t.attach} onClick={() => fileRef.current.click()}>
            <Icon name="attach" size={20} />
          </button>
        )}
        {canAttach && <input type="file" ref={fileRef} hidden accept={(uploads.allowed_types || []).join(",")} onChange={onFile} />}
        <label class="sr" for="wecc-input">
          {t.message}
        </label>
        <textarea
          id="wecc-input"
          rows="1"
          maxLength={5000}
          value={text}
          placeholder={t.typeHere}
          onInput={(e) => {
            draft(e.currentTarget.value);
            session.typed();
          }}
          onKeyDown={onKeyDown}
          onBlur={session.stopTyping}
          data-autofocus
        />
        <button type="submit" class="icon-btn send" aria-label={t.send} title={t.send} disabled={!text.trim()}>
          <Icon name="send" size={20} />
        </button>
      </div>
    </form>
  );
}
