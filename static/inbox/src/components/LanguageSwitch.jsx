import { LANGUAGES, useT } from "../i18n.js";

export function LanguageSwitch({ lang, onChange }) {
  const t = useT();
  return (
    <label class="inline-select">
      <span class="visually-hidden">{t("lang.label")}</span>
      <select value={lang} onChange={(e) => onChange(e.currentTarget.value)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}
