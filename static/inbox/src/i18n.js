// String tables for the agent inbox. Keys are stable; add a language by adding a table with the same keys.
import { createContext } from "preact";
import { useContext } from "preact/hooks";

const en = {
  "app.name": "WECC",
  "app.inbox": "Inbox",
  "app.loading": "Loading…",

  "lang.label": "Language",

  "login.title": "Sign in to the inbox",
  "login.email": "Email",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.submitting": "Signing in…",
  "login.retryAfter": "Try again in {seconds} s.",
  "login.sessionExpired": "Your session has ended. Please sign in again.",
  "login.gatewayProblem": "Couldn't check your session: {detail} You can still try to sign in.",
  "login.signedOut": "You have signed out.",

  "error.network": "Can't reach the gateway. Check your connection and try again.",
  "error.http": "The gateway answered with an error (HTTP {status}).",

  "topbar.signedInAs": "Signed in as {name}",
  "topbar.logout": "Sign out",
  "presence.label": "Status",
  "presence.available": "Available",
  "presence.away": "Away",
  "presence.offline": "Offline",
  "realtime.connected": "Live",
  "realtime.connecting": "Connecting…",
  "realtime.reconnecting": "Offline — reconnecting",
  "realtime.refused": "Live updates unavailable",
  "realtime.title": "Live updates: {state}",

  "list.heading": "Conversations",
  "list.filters": "Filter conversations",
  "list.tab.all": "All",
  "list.tab.mine": "Mine",
  "list.tab.unassigned": "Unassigned",
  "list.channel": "Channel",
  "list.channel.any": "All channels",
  "list.tenant": "Business",
  "list.tenant.any": "All businesses",
  "list.empty": "No conversations yet",
  "list.emptyHint": "New chats, calls, emails and faxes will appear here.",
  "list.loadMore": "Load more",
  "list.error": "Couldn't load conversations: {message}",
  "list.retry": "Retry",
  "list.unknownContact": "Unknown contact",
  "list.noSubject": "(no subject)",
  "list.assignedToYou": "Assigned to you",
  "list.unassigned": "Unassigned",
  "list.assigned": "Assigned",
  "list.updated": "New activity",

  "status.open": "Open",
  "status.pending": "Pending",
  "status.closed": "Closed",

  "channel.chat": "Chat",
  "channel.email": "Email",
  "channel.voice": "Voice",
  "channel.sip": "Phone (SIP)",
  "channel.callback": "Callback",
  "channel.fax": "Fax",

  "conv.select": "Select a conversation",
  "conv.selectHint": "Pick a conversation on the left to read and reply.",
  "conv.back": "Back to conversations",
  "conv.loading": "Loading messages…",
  "conv.error": "Couldn't load messages: {message}",
  "conv.loadEarlier": "Load earlier messages",
  "conv.noMessages": "No messages in this conversation yet.",
  "conv.liveUnavailable": "Live updates for this conversation are unavailable ({code}).",
  "conv.messages": "Messages",

  "msg.you": "You",
  "msg.agent": "Agent",
  "msg.system": "System",
  "msg.note": "Internal note",
  "msg.sending": "Sending…",
  "msg.failed": "Not sent: {message}",
  "msg.resend": "Resend",

  "composer.label": "Reply",
  "composer.mode": "Message type",
  "composer.reply": "Reply",
  "composer.note": "Note",
  "composer.placeholderReply": "Write a reply… (Enter sends, Shift+Enter for a new line)",
  "composer.placeholderNote": "Write an internal note — only agents see it",
  "composer.send": "Send",
  "composer.addNote": "Add note",

  "notice.dismiss": "Dismiss",
  "notice.presenceFailed": "Couldn't change your status: {code}",
};

const zhCN = {
  "app.name": "WECC",
  "app.inbox": "收件箱",
  "app.loading": "正在加载…",

  "lang.label": "语言",

  "login.title": "登录收件箱",
  "login.email": "电子邮箱",
  "login.password": "密码",
  "login.submit": "登录",
  "login.submitting": "正在登录…",
  "login.retryAfter": "请在 {seconds} 秒后重试。",
  "login.sessionExpired": "您的会话已结束，请重新登录。",
  "login.gatewayProblem": "无法检查您的会话：{detail} 您仍可尝试登录。",
  "login.signedOut": "您已退出登录。",

  "error.network": "无法连接到网关。请检查网络后重试。",
  "error.http": "网关返回错误（HTTP {status}）。",

  "topbar.signedInAs": "当前用户：{name}",
  "topbar.logout": "退出登录",
  "presence.label": "状态",
  "presence.available": "在线",
  "presence.away": "离开",
  "presence.offline": "离线",
  "realtime.connected": "实时",
  "realtime.connecting": "正在连接…",
  "realtime.reconnecting": "已断开 — 正在重连",
  "realtime.refused": "实时更新不可用",
  "realtime.title": "实时更新：{state}",

  "list.heading": "会话",
  "list.filters": "筛选会话",
  "list.tab.all": "全部",
  "list.tab.mine": "我的",
  "list.tab.unassigned": "未分配",
  "list.channel": "渠道",
  "list.channel.any": "全部渠道",
  "list.tenant": "企业",
  "list.tenant.any": "全部企业",
  "list.empty": "暂无会话",
  "list.emptyHint": "新的聊天、来电、邮件和传真会显示在这里。",
  "list.loadMore": "加载更多",
  "list.error": "无法加载会话：{message}",
  "list.retry": "重试",
  "list.unknownContact": "未知联系人",
  "list.noSubject": "（无主题）",
  "list.assignedToYou": "已分配给您",
  "list.unassigned": "未分配",
  "list.assigned": "已分配",
  "list.updated": "有新动态",

  "status.open": "进行中",
  "status.pending": "待处理",
  "status.closed": "已关闭",

  "channel.chat": "在线聊天",
  "channel.email": "电子邮件",
  "channel.voice": "语音",
  "channel.sip": "电话（SIP）",
  "channel.callback": "回拨",
  "channel.fax": "传真",

  "conv.select": "请选择一个会话",
  "conv.selectHint": "在左侧选择会话以查看和回复。",
  "conv.back": "返回会话列表",
  "conv.loading": "正在加载消息…",
  "conv.error": "无法加载消息：{message}",
  "conv.loadEarlier": "加载更早的消息",
  "conv.noMessages": "此会话暂无消息。",
  "conv.liveUnavailable": "此会话的实时更新不可用（{code}）。",
  "conv.messages": "消息",

  "msg.you": "您",
  "msg.agent": "坐席",
  "msg.system": "系统",
  "msg.note": "内部备注",
  "msg.sending": "正在发送…",
  "msg.failed": "未发送：{message}",
  "msg.resend": "重新发送",

  "composer.label": "回复",
  "composer.mode": "消息类型",
  "composer.reply": "回复",
  "composer.note": "备注",
  "composer.placeholderReply": "输入回复…（Enter 发送，Shift+Enter 换行）",
  "composer.placeholderNote": "输入内部备注 — 仅坐席可见",
  "composer.send": "发送",
  "composer.addNote": "添加备注",

  "notice.dismiss": "关闭",
  "notice.presenceFailed": "无法更改状态：{code}",
};

export const LANGUAGES = [
  { code: "en", label: "English", table: en },
  { code: "zh-CN", label: "简体中文", table: zhCN },
];

const STORAGE_KEY = "wecc.inbox.lang";

/** The saved choice if any, else the browser's language (any zh* → zh-CN), else English. */
export function initialLanguage() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && LANGUAGES.some((l) => l.code === saved)) return saved;
  } catch {
    // storage can be blocked; fall through to the browser's language
  }
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  for (const lang of langs) {
    const lower = String(lang).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function saveLanguage(code) {
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // not fatal: the choice lasts for this page only
  }
}

/**
 * Returns t(key, vars, fallback) for a language; an unknown key falls back to English, then to
 * `fallback` (e.g. a raw status value from a newer gateway), then to the key itself.
 */
export function translator(code) {
  const table = LANGUAGES.find((l) => l.code === code)?.table ?? en;
  const t = (key, vars, fallback) => {
    const template = table[key] ?? en[key] ?? fallback ?? key;
    return vars ? template.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : template;
  };
  t.lang = code;
  return t;
}

export const I18nContext = createContext(translator("en"));

export function useT() {
  return useContext(I18nContext);
}
