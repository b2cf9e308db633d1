import { useT } from "../i18n.js";
import { channelLabel, getChannel, listChannels } from "../channels/index.js";
import { shortTime, fullTime } from "../util.js";
import { Icon } from "./Icon.jsx";

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

function ConversationItem({ conversation, selected, unread, onSelect, user, tenantName }) {
  const t = useT();
  const channel = getChannel(conversation.channel);
  const name = conversation.contact?.name || t("list.unknownContact");
  const when = conversation.last_message_at || conversation.updated_at;
  let assignment = t("list.unassigned");
  if (conversation.assignee_id) assignment = conversation.assignee_id === user.id ? t("list.assignedToYou") : t("list.assigned");
  return (
    <li>
      <button
        type="button"
        class={`conv-item${selected ? " selected" : ""}${unread ? " unread" : ""}`}
        aria-current={selected ? "true" : undefined}
        onClick={() => onSelect(conversation.id)}
      >
        <span class={`conv-channel channel-${channel.id}`} title={channelLabel(channel, t)}>
          <Icon name={channel.icon} size={18} />
          <span class="visually-hidden">{channelLabel(channel, t)}</span>
        </span>
        <span class="conv-main">
          <span class="conv-line">
            <span class="conv-name">{name}</span>
            <time class="conv-time" dateTime={when} title={fullTime(when, t.lang)}>
              {shortTime(when, t.lang)}
            </time>
          </span>
          <span class="conv-subject">{conversation.subject || t("list.noSubject")}</span>
          <span class="conv-line conv-tags">
            <span class={`pill status-${conversation.status}`}>{t(`status.${conversation.status}`, null, conversation.status)}</span>
            <span class="conv-assignee">{assignment}</span>
            {tenantName && <span class="conv-tenant">{tenantName}</span>}
            {unread && (
              <span class="unread-dot" title={t("list.updated")}>
                <span class="visually-hidden">{t("list.updated")}</span>
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}

export function ConversationList({ filter, onFilterChange, memberships, list, selectedId, unread, onSelect, onLoadMore, onRetry, user }) {
  const t = useT();
  const tenantNames = new Map(memberships.map((m) => [m.tenant_id, m.tenant_name]));
  const showTenant = memberships.length > 1;
  return (
    <section class="list-pane" aria-labelledby="list-heading">
      <h2 id="list-heading" class="pane-heading" tabIndex={-1}>
        {t("list.heading")}
      </h2>
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
              onSelect={onSelect}
              user={user}
              tenantName={showTenant ? tenantNames.get(c.tenant_id) : null}
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
