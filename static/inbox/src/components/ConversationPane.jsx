import { useT } from "../i18n.js";
import { channelLabel, getChannel } from "../channels/index.js";
import { EMPTY_THREAD } from "../threads.js";
import { Icon } from "./Icon.jsx";

function Placeholder() {
  const t = useT();
  return (
    <section class="conv-pane conv-empty" aria-label={t("conv.select")}>
      <Icon name="chat" size={40} />
      <p class="empty-title">{t("conv.select")}</p>
      <p>{t("conv.selectHint")}</p>
    </section>
  );
}

/**
 * The selected conversation: a header common to all channels, then the channel's own view of its
 * body (from the channel registry), so a voice call or a fax can replace the text thread.
 */
export function ConversationPane({ conversation, thread, liveError, user, tenantName, draft, onDraftChange, onSend, onResend, onLoadEarlier, onBack }) {
  const t = useT();
  if (!conversation) return <Placeholder />;
  const channel = getChannel(conversation.channel);
  const contactName = conversation.contact?.name || t("list.unknownContact");
  const View = channel.ConversationView;
  return (
    <section class="conv-pane" aria-labelledby="conv-title">
      <header class="conv-header">
        <button type="button" class="button button-quiet back-button" onClick={onBack} aria-label={t("conv.back")}>
          <Icon name="back" size={18} />
        </button>
        <span class={`conv-channel channel-${channel.id}`} aria-hidden="true">
          <Icon name={channel.icon} size={20} />
        </span>
        <div class="conv-heading">
          <h2 id="conv-title" tabIndex={-1}>{contactName}</h2>
          <p class="conv-subline">
            <span>{channelLabel(channel, t)}</span>
            {conversation.subject && <span>{conversation.subject}</span>}
            {tenantName && <span>{tenantName}</span>}
          </p>
        </div>
        <span class={`pill status-${conversation.status}`}>{t(`status.${conversation.status}`, null, conversation.status)}</span>
      </header>
      {liveError && (
        <p class="conv-notice" role="status">
          {t("conv.liveUnavailable", { code: liveError })}
        </p>
      )}
      <View
        channel={channel}
        conversation={conversation}
        thread={thread ?? EMPTY_THREAD}
        user={user}
        contactName={contactName}
        draft={draft}
        onDraftChange={onDraftChange}
        onSend={onSend}
        onResend={onResend}
        onLoadEarlier={onLoadEarlier}
      />
    </section>
  );
}
