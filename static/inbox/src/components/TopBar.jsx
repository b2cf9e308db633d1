import { useState } from "preact/hooks";
import { useT } from "../i18n.js";
import { DeskPhoneDialog } from "./DeskPhone.jsx";
import { Icon } from "./Icon.jsx";
import { LanguageSwitch } from "./LanguageSwitch.jsx";

export const PRESENCE_VALUES = ["available", "busy", "away", "offline"];

/** Product name, live-connection state, the agent's presence, language, and sign-out. */
export function TopBar({ user, presence, onPresenceChange, realtimeState, lang, onLangChange, onLogout, muted, onToggleMute, onReports, reportsOpen, onAdmin, adminOpen }) {
  const t = useT();
  const realtimeText = t(`realtime.${realtimeState}`);
  const [deskPhone, setDeskPhone] = useState(false);
  return (
    <header class="topbar">
      <div class="brand">
        <Icon name="inbox" size={22} />
        <span>
          {t("app.name")} <span class="brand-sub">{t("app.inbox")}</span>
        </span>
      </div>
      <div class="topbar-right">
        <span class={`live live-${realtimeState}`} title={t("realtime.title", { state: realtimeText })} role="status">
          <span class="live-dot" aria-hidden="true" />
          <span class="live-text">{realtimeText}</span>
        </span>
        <label class={`presence presence-${presence}`} title={t("presence.label")}>
          <span class="presence-dot" aria-hidden="true" />
          <span class="visually-hidden">{t("presence.label")}</span>
          <select value={presence} onChange={(e) => onPresenceChange(e.currentTarget.value)}>
            {PRESENCE_VALUES.map((p) => (
              <option key={p} value={p}>
                {t(`presence.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="button button-quiet icon-button"
          aria-pressed={muted}
          onClick={onToggleMute}
          title={muted ? t("sound.mutedTitle") : t("sound.onTitle")}
          aria-label={t("sound.label")}
        >
          <Icon name={muted ? "bellOff" : "bell"} size={18} />
        </button>
        {onReports && <PageButton name="reports" icon="chart" open={reportsOpen} onClick={onReports} title={t("reports.title")} />}
        {onAdmin && <PageButton name="admin" icon="settings" open={adminOpen} onClick={onAdmin} title={t("admin.title")} />}
        <button
          type="button"
          class="button button-quiet icon-button deskphone-open"
          onClick={() => setDeskPhone(true)}
          title={t("deskphone.title")}
          aria-label={t("deskphone.title")}
        >
          <Icon name="phone" size={18} />
        </button>
        {deskPhone && <DeskPhoneDialog onClose={() => setDeskPhone(false)} />}
        <LanguageSwitch lang={lang} onChange={onLangChange} />
        <span class="user-name" title={t("topbar.signedInAs", { name: user.name || user.email })}>
          {user.name || user.email}
        </span>
        <button type="button" class="button button-quiet" onClick={onLogout} aria-label={t("topbar.logout")}>
          <Icon name="logout" size={16} /> <span class="hide-narrow">{t("topbar.logout")}</span>
        </button>
      </div>
    </header>
  );
}

/** Opens (and, pressed again, closes) one of the pages that take the inbox's place. */
function PageButton({ name, icon, open, onClick, title }) {
  return (
    <button type="button" class={`button button-quiet icon-button ${name}-open`} aria-pressed={open} onClick={onClick} title={title} aria-label={title}>
      <Icon name={icon} size={18} />
    </button>
  );
}
