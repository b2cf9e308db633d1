import { useEffect, useRef, useState } from "preact/hooks";
import { api, describeError } from "../api.js";
import { useT } from "../i18n.js";
import { LanguageSwitch } from "./LanguageSwitch.jsx";
import { Icon } from "./Icon.jsx";

/** Sign-in form. On success hands the session ({user, memberships, csrf_token}) up. */
export function Login({ onLoggedIn, notice, lang, onLangChange }) {
  const t = useT();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const emailRef = useRef(null);

  useEffect(() => emailRef.current?.focus(), []);

  // Count the Retry-After seconds down, and let the form be sent again when they are over.
  useEffect(() => {
    if (waitUntil <= Date.now()) return undefined;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= waitUntil) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [waitUntil]);
  const secondsLeft = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  async function submit(e) {
    e.preventDefault();
    if (busy || secondsLeft > 0) return;
    setBusy(true);
    setError(null);
    try {
      const session = await api.login(email.trim(), password);
      setPassword("");
      onLoggedIn(session);
    } catch (err) {
      setError({ message: describeError(err, t), status: err.status });
      if (err.status === 429 && err.retryAfter != null) {
        setWaitUntil(Date.now() + err.retryAfter * 1000);
        setNow(Date.now());
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login-page">
      <div class="login-lang">
        <LanguageSwitch lang={lang} onChange={onLangChange} />
      </div>
      <main class="login-card">
        <div class="brand brand-large">
          <Icon name="inbox" size={26} />
          <span>
            {t("app.name")} <span class="brand-sub">{t("app.inbox")}</span>
          </span>
        </div>
        <h1>{t("login.title")}</h1>
        {notice && <p class="notice-inline">{notice}</p>}
        <form onSubmit={submit}>
          <div class="field">
            <label for="login-email">{t("login.email")}</label>
            <input
              id="login-email"
              ref={emailRef}
              type="email"
              autocomplete="username"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="login-password">{t("login.password")}</label>
            <input
              id="login-password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </div>
          {error && (
            <div class="form-error" role="alert">
              <p>{error.message}</p>
              {error.status === 429 && secondsLeft > 0 && <p>{t("login.retryAfter", { seconds: secondsLeft })}</p>}
            </div>
          )}
          <button type="submit" class="button button-primary button-block" disabled={busy || secondsLeft > 0}>
            {busy ? t("login.submitting") : t("login.submit")}
          </button>
        </form>
      </main>
    </div>
  );
}
