import { useT } from "../i18n.js";
import { channelLabel, getChannel, listChannels } from "../channels/index.js";
import { shortTime, fullTime } from "../util.js";
import { Icon } from "./Icon.jsx";

const STATUSES = ["open", "pending", "closed"];

const VIEWS = [
  { id: "all", key: "list.tab.all" },
  { id: "mine", key: "list.tab.mine" },
  { id: "unassigned", key: "list.tab.unassigned" },
];

function Filters({ filter, onFilterChange, memberships }) {
  const t = useT();
  const set = (patch) => onFilterChange({ ...filter, ...patch });
  return (
    <div class="filters">
      <div class="tabs" role="group" aria-label={t("list.filters")}>
        {VIEWS.map((v) => (
          <button key={v.id} type="button" class="tab" aria-pressed={filter.view === v.id} onClick={() => set({ view: v.id })}>
            {t(v.key)}
          </button>
        ))}
      </div>
      <div class="filter-selects">
        <label class="field-compact">
          <span>{t("list.channel")}</span>
          <select value={filter.channel} onChange={(e) => set({ channel: e.currentTarget.value })}>
            <option value="">{t("list.channel.any")}</option>
            {listChannels().map((c) => (
              <option key={c.id} value={c.id}>
                {channelLabel(c, t)}
              </option>
            ))}
          </select>
        </label>
        <label class="field-compact">
          <span>{t("list.status")}</span>
          <select value={filter.status ?? ""} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">{t("list.status.any")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {memberships.length > 1 && (
          <label class="field-compact">
            <span>{t("list.tenant")}</span>
            <select value={filter.tenantId} onChange={(e) => set({ tenantId: e.currentTarget.value })}>
              <option value="">{t("list.tenant.any")}</option>
              {memberships.map((m) => (
                <option key={m.tenant_id} value={m.tenant_id}>
                  {m.tenant_name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
    </div>
  );
}

function contactNameOf(conversation, t) {
  const prechat = conversation.attributes?.prechat;
  return conversation.contact?.name || (typeof prechat?.name === "string" && prechat.name) || t("list.unknownContact");
}

function UnreadBadge({ count, fresh }) {
  const t = useT();
  if (count > 0) {
    return (
      <span class="unread-count" title={t("list.unreadCount", { count })}>
        <span aria-hidden="true">{count > 99 ? "99+" : count}</span>
        <span class="visually-hidden">{t("list.unreadCount", { count })}</span>
      </span>
    );
  }
  if (fresh) {
    return (
      <span class="unread-dot" title={t("list.updated")}>
        <span class="visually-hidden">{t("list.updated")}</span>
      </span>
    );
  }
  return null;
}

/** The chats this agent is working on now, for switching between several at once. */
function ActiveChats({ items, selectedId, unreadCounts, typingIds, onSelect, held }) {
  const t = useT();
  if (items.length === 0) return null;
  return (
    <div class="active-chats">
      <h3 class="active-heading">{t("list.active", { count: items.length })}</h3>
      <ul>
        {items.map((c) => {
          const channel = getChannel(c.channel);
          const count = unreadCounts[c.id] ?? 0;
          return (
            <li key={c.id}>
              <button
                type="button"
                class={`active-item${c.id === selectedId ? " selected" : ""}${count ? " unread" : ""}`}
                aria-current={c.id === selectedId ? "true" : undefined}
                onClick={() => onSelect(c.id)}
              >
                <span class={`conv-channel small channel-${channel.id}`} aria-hidden="true">
                  <Icon name={channel.icon} size={14} />
                </span>
                <span class="active-name" title={contactNameOf(c, t)}>
                  {contactNameOf(c, t)}
                </span>
                {typingIds.has(c.id) && <span class="active-typing">{t("typing.short")}</span>}
                {held[c.id]?.state === "wrapup" && <span class="active-typing">{t("task.inWrapup")}</span>}
                <UnreadBadge count={count} />
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function ConversationItem({ conversation, selected, unread, unreadCount, onSelect, user, tenant }) {
  const t = useT();
  const channel = getChannel(conversation.channel);
  const name = contactNameOf(conversation, t);
  const when = conversation.last_message_at || conversation.updated_at;
  let assignment = t("list.unassigned");
  if (conversation.assignee_id) assignment = conversation.assignee_id === user.id ? t("list.assignedToYou") : t("list.assigned");
  return (
    <li>
      <button
        type="button"
        class={`conv-item${selected ? " selected" : ""}${unread || unreadCount ? " unread" : ""}`}
        data-conversation-id={conversation.id}
        aria-current={selected ? "true" : undefined}
        onClick={() => onSelect(conversation.id)}
      >
        <span class={`conv-channel channel-${channel.id}`} title={channelLabel(channel, t)}>
          <Icon name={channel.icon} size={18} />
          <span class="visually-hidden">{channelLabel(channel, t)}</span>
        </span>
        <span class="conv-main">
          <span class="conv-line">
            <span class="conv-name" title={name}>
              {name}
            </span>
            <time class="conv-time" dateTime={when} title={fullTime(when, t.lang)}>
              {shortTime(when, t.lang)}
            </time>
          </span>
          <span class="conv-subject" title={conversation.subject || undefined}>
            {conversation.subject || t("list.noSubject")}
          </span>
          <span class="conv-line conv-tags">
            <span class={`pill status-${conversation.status}`}>{t(`status.${conversation.status}`, null, conversation.status)}</span>
            <span class="conv-assignee">{assignment}</span>
            {tenant && (
              <span class={`conv-tenant${tenant.tenant_color ? " branded" : ""}`} title={tenant.tenant_name} style={tenant.tenant_color ? { "--brand": tenant.tenant_color } : undefined}>
                {tenant.tenant_name}
              </span>
            )}
            <UnreadBadge count={unreadCount} fresh={unread} />
          </span>
        </span>
      </button>
    </li>
  );
}

export function ConversationList({
  filter,
  onFilterChange,
  memberships,
  list,
  selectedId,
  unread,
  unreadCounts,
  active,
  typingIds,
  held,
  onSelect,
  onLoadMore,
  onRetry,
  user,
}) {
  const t = useT();
  const tenants = new Map(memberships.map((m) => [m.tenant_id, m]));
  const showTenant = memberships.length > 1;
  return (
    <section class="list-pane" aria-labelledby="list-heading">
      <h2 id="list-heading" class="pane-heading" tabIndex={-1}>
        {t("list.heading")}
      </h2>
      <ActiveChats items={active} selectedId={selectedId} unreadCounts={unreadCounts} typingIds={typingIds} onSelect={onSelect} held={held} />
      <Filters filter={filter} onFilterChange={onFilterChange} memberships={memberships} />
      <div class="list-scroll">
        {list.error && (
          <div class="list-state error" role="alert">
            <p>{t("list.error", { message: list.error })}</p>
            <button type="button" class="button" onClick={onRetry}>
              {t("list.retry")}
            </button>
          </div>
        )}
        {list.loading && list.items.length === 0 && <p class="list-state">{t("app.loading")}</p>}
        {!list.loading && !list.error && list.items.length === 0 && (
          <div class="list-state empty">
            <Icon name="inbox" size={36} />
            <p class="empty-title">{t("list.empty")}</p>
            <p>{t("list.emptyHint")}</p>
          </div>
        )}
        <ul class="conv-list">
          {list.items.map((c) => (
            <ConversationItem
              key={c.id}
              conversation={c}
              selected={c.id === selectedId}
              unread={unread.has(c.id)}
              unreadCount={unreadCounts[c.id] ?? 0}
              onSelect={onSelect}
              user={user}
              tenant={showTenant ? tenants.get(c.tenant_id) : null}
            />
          ))}
        </ul>
        {list.nextCursor && (
          <div class="list-more">
            <button type="button" class="button button-quiet" onClick={onLoadMore} disabled={list.loadingMore}>
              {list.loadingMore ? t("app.loading") : t("list.loadMore")}
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
