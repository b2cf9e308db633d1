import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "../i18n.js";
import { channelLabel, getChannel } from "../channels/index.js";
import { EMPTY_THREAD } from "../threads.js";
import { CobrowseBar } from "./Cobrowse.jsx";
import { Icon } from "./Icon.jsx";
import { CloseDialog, TransferDialog } from "./TaskDialogs.jsx";

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

function namesOf(people, t) {
  return people.map((p) => p.name || t("collision.someone")).join(", ");
}

/** Someone else on this conversation: viewing (spec H) or, more urgent, typing a reply. */
function CollisionWarning({ activity }) {
  const t = useT();
  if (!activity) return null;
  const { agentsTyping, otherViewers } = activity;
  if (agentsTyping.length > 0) {
    const named = agentsTyping.map((a) => ({ name: a.name || otherViewers.find((v) => v.user_id === a.user_id)?.name || "" }));
    return (
      <p class="collision collision-typing" role="alert">
        <Icon name="warning" size={16} /> {t("collision.typing", { names: namesOf(named, t), count: named.length })}
      </p>
    );
  }
  if (otherViewers.length > 0) {
    return (
      <p class="collision" role="status">
        <Icon name="eye" size={16} /> {t("collision.viewing", { names: namesOf(otherViewers, t), count: otherViewers.length })}
      </p>
    );
  }
  return null;
}

/**
 * The selected conversation: a header common to all channels (with the agent's actions on it),
 * then the channel's own view of its body (from the channel registry), so a voice call or a fax can
 * replace the text thread.
 */
export function ConversationPane(props) {
  const {
    conversation,
    thread,
    liveError,
    silent,
    onShowMe,
    user,
    tenantName,
    draft,
    onDraftChange,
    onSend,
    onResend,
    onDiscard,
    onLoadEarlier,
    onBack,
    activity,
    task,
    onTyping,
    onTransfer,
    onCloseConversation,
    onOpenConversation,
    panelOpen,
    onTogglePanel,
    closeRequest,
  } = props;
  const t = useT();
  const [dialog, setDialog] = useState(null);
  // Asked to wrap this conversation up (a call the agent hung up): its close dialog opens.
  const conversationId = conversation?.id ?? null;
  const closedNow = conversation?.status === "closed";
  const handled = useRef(null);
  useEffect(() => {
    if (!closeRequest || handled.current === closeRequest || closeRequest.id !== conversationId) return;
    handled.current = closeRequest;
    if (!closedNow) setDialog("close");
  }, [closeRequest, conversationId]);
  if (!conversation) return <Placeholder />;
  const channel = getChannel(conversation.channel);
  const prechatName = typeof conversation.attributes?.prechat?.name === "string" ? conversation.attributes.prechat.name : "";
  const contactName = conversation.contact?.name || prechatName || t("list.unknownContact");
  const closed = conversation.status === "closed";
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
          <h2 id="conv-title" tabIndex={-1} title={contactName}>
            {contactName}
          </h2>
          <p class="conv-subline">
            <span>{channelLabel(channel, t)}</span>
            {conversation.subject && (
              <span class="conv-subline-text" title={conversation.subject}>
                {conversation.subject}
              </span>
            )}
            {tenantName && (
              <span class="conv-subline-text" title={tenantName}>
                {tenantName}
              </span>
            )}
            {task?.state === "wrapup" && <span class="wrapup-tag">{t("task.inWrapup")}</span>}
          </p>
        </div>
        <span class={`pill status-${conversation.status}`}>{t(`status.${conversation.status}`, null, conversation.status)}</span>
        <div class="conv-actions">
          {task && !closed && (
            <button type="button" class="button" onClick={() => setDialog("transfer")} title={t("conv.transfer")}>
              <Icon name="transfer" size={16} /> <span class="action-label">{t("conv.transfer")}</span>
            </button>
          )}
          {!closed && (
            <button type="button" class="button" onClick={() => setDialog("close")} title={t("conv.close")}>
              <Icon name="done" size={16} /> <span class="action-label">{t("conv.close")}</span>
            </button>
          )}
          <button
            type="button"
            class="button button-quiet icon-button panel-toggle"
            aria-pressed={panelOpen}
            aria-controls="customer-panel"
            onClick={onTogglePanel}
            title={t("customer.toggle")}
            aria-label={t("customer.toggle")}
          >
            <Icon name="user" size={18} />
          </button>
        </div>
      </header>
      <CollisionWarning activity={activity} />
      {(conversation.channel === "chat" || conversation.channel === "voice") && <CobrowseBar conversation={conversation} closed={closed} />}
      {liveError && (
        <p class="conv-notice" role="status">
          {t("conv.liveUnavailable", { code: liveError })}
        </p>
      )}
      {silent && (
        <p class="conv-notice" role="status">
          <Icon name="eye" size={16} /> {t("conv.watchingSilently")}{" "}
          <button type="button" class="link-button" onClick={onShowMe}>
            {t("conv.showMe")}
          </button>
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
        onDiscard={onDiscard}
        onLoadEarlier={onLoadEarlier}
        onTyping={onTyping}
        activity={activity}
        closed={closed}
        onOpenConversation={onOpenConversation}
      />
      {dialog === "transfer" && (
        <TransferDialog
          conversation={conversation}
          user={user}
          onCancel={() => setDialog(null)}
          onTransfer={async (target, note) => {
            const ack = await onTransfer(target, note);
            if (ack?.ok) setDialog(null);
            return ack;
          }}
        />
      )}
      {dialog === "close" && (
        <CloseDialog
          conversation={conversation}
          hasTask={Boolean(task)}
          onCancel={() => setDialog(null)}
          onConfirm={async (extra) => {
            const ack = await onCloseConversation(extra);
            if (ack?.ok) setDialog(null);
            return ack;
          }}
        />
      )}
    </section>
  );
}
