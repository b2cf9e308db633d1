import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { api, setCsrfToken, setUnauthorizedHandler } from "../api.js";
import { I18nContext, initialLanguage, saveLanguage, translator } from "../i18n.js";
import { Login } from "./Login.jsx";
import { Shell } from "./Shell.jsx";

/**
 * Decides what the agent sees: a loading line while the session is checked (GET /auth/me), the
 * sign-in form, or the inbox shell. Notices are functions of t so they follow a language switch.
 */
export function App() {
  const [lang, setLang] = useState(initialLanguage);
  const t = useMemo(() => translator(lang), [lang]);
  const [auth, setAuth] = useState({ status: "checking", session: null, notice: null });

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `${t("app.inbox")} · ${t("app.name")}`;
  }, [lang, t]);

  const changeLang = useCallback((code) => {
    saveLanguage(code);
    setLang(code);
  }, []);

  const signIn = useCallback((session) => {
    setCsrfToken(session?.csrf_token);
    setAuth({ status: "in", session, notice: null });
  }, []);

  const signOutLocally = useCallback((notice) => {
    setCsrfToken(null);
    setAuth({ status: "anon", session: null, notice });
  }, []);

  useEffect(() => {
    // Any authenticated call answering 401 means the session is gone: back to the sign-in form.
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setAuth((a) => (a.status === "in" ? { status: "anon", session: null, notice: (tr) => tr("login.sessionExpired") } : a));
    });
    const ctrl = new AbortController();
    api.me(ctrl.signal).then(signIn, (err) => {
      if (err?.name === "AbortError") return;
      if (err.status === 401) return signOutLocally(null);
      // The gateway is unreachable or misbehaving: say so, but still offer the form.
      const detail = (tr) => err.serverMessage || (err.status ? tr("error.http", { status: err.status }) : tr("error.network"));
      signOutLocally((tr) => tr("login.gatewayProblem", { detail: detail(tr) }));
    });
    return () => ctrl.abort();
  }, [signIn, signOutLocally]);

  /** Throws (for the shell to show) unless the gateway ended the session or it was already gone. */
  const logout = useCallback(async () => {
    try {
      await api.logout();
    } catch (err) {
      if (err.status !== 401) throw err;
    }
    signOutLocally((tr) => tr("login.signedOut"));
  }, [signOutLocally]);

  let screen;
  if (auth.status === "checking") {
    screen = (
      <p class="boot" role="status">
        {t("app.loading")}
      </p>
    );
  } else if (auth.status === "anon") {
    screen = <Login onLoggedIn={signIn} notice={auth.notice?.(t)} lang={lang} onLangChange={changeLang} />;
  } else {
    screen = <Shell key={auth.session.user.id} session={auth.session} lang={lang} onLangChange={changeLang} onLogout={logout} />;
  }
  return <I18nContext.Provider value={t}>{screen}</I18nContext.Provider>;
}
