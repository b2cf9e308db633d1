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
  "presence.label": "Your status",
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

  "presence.busy": "Busy",

  "sound.label": "Offer sound",
  "sound.mute": "Mute",
  "sound.unmute": "Unmute",
  "sound.onTitle": "Offer sound is on — click to mute",
  "sound.mutedTitle": "Offer sound is muted — click to turn it on",

  "offer.region": "Incoming work",
  "offer.count": "Incoming: {count}",
  "offer.title": "Incoming {channel}",
  "offer.seconds": "{seconds} s",
  "offer.expiresIn": "Expires in {seconds} seconds",
  "offer.accept": "Accept",
  "offer.accepting": "Accepting…",
  "offer.reject": "Reject",
  "offer.gone": "This work is no longer available ({code}).",
  "offer.tabTitle": "Incoming",

  "list.status": "Status",
  "list.status.any": "Any status",
  "list.unreadCount": "{count} unread",
  "list.active": "Working on ({count})",

  "typing.contact": "{name} is typing…",
  "typing.short": "typing…",

  "receipt.sent": "Sent",
  "receipt.delivered": "Delivered",
  "receipt.read": "Read",

  "att.file": "File",
  "att.image": "Image",
  "att.download": "Download",
  "att.preview": "Preview {name}",

  "msg.discard": "Discard",

  "composer.attach": "Attach a file",
  "composer.removeFile": "Remove {name}",
  "composer.placeholderReplyCanned": "Write a reply… (/ for canned replies, Enter sends, Shift+Enter for a new line)",
  "composer.noteHint": "Only agents see notes.",
  "composer.closedHint": "This conversation is closed: you can add internal notes.",

  "canned.title": "Canned replies",
  "canned.open": "Insert a canned reply",

  "conv.transfer": "Transfer",
  "conv.close": "Close",

  "collision.someone": "Another agent",
  "collision.viewing": "Also viewing this conversation: {names}",
  "collision.typing": "Also typing a reply here: {names}. Agree who answers before you send.",

  "task.inWrapup": "Wrap-up",
  "task.failed": "That didn't work ({code}).",
  "task.error.wrapup_code_required": "Choose a wrap-up code: this business needs one before the work can end.",
  "task.error.unknown_wrapup_code": "That wrap-up code is no longer in use. Choose another one.",
  "task.error.not_yours": "This work is no longer yours: someone else has it now.",
  "task.error.not_found": "There is no such queue or agent any more. Choose another one.",
  "task.error.offline": "Not connected to the gateway. Try again once the connection is back.",
  "task.error.timeout": "The gateway did not answer in time. Try again.",

  "dialog.cancel": "Cancel",
  "dialog.close": "Close",

  "transfer.title": "Transfer the conversation",
  "transfer.to": "Transfer to",
  "transfer.queue": "Queue",
  "transfer.agent": "Agent",
  "transfer.choose": "Choose…",
  "transfer.note": "Note for the next agent",
  "transfer.notePlaceholder": "What they should know (only agents see it)",
  "transfer.none": "There is nowhere to transfer this conversation to.",
  "transfer.loadFailed": "Couldn't load where to transfer to: {error}",
  "transfer.submit": "Transfer",
  "transfer.sending": "Transferring…",
  "transfer.done": "Conversation transferred.",

  "close.title": "Close the conversation",
  "close.explainTask": "Your work on it ends, and you are free for the next one.",
  "close.explain": "The conversation is marked closed.",
  "close.code": "Wrap-up code",
  "close.optional": "(optional)",
  "close.chooseCode": "Choose a code…",
  "close.note": "Wrap-up note",
  "close.notePlaceholder": "Outcome, follow-up… (only agents see it)",
  "close.submit": "Close conversation",
  "close.closing": "Closing…",
  "close.done": "Conversation closed.",
  "close.codesFailed": "Couldn't load the wrap-up codes: {error}",

  "customer.heading": "Customer",
  "customer.toggle": "Customer details",
  "customer.close": "Hide customer details",
  "customer.error": "Couldn't load the customer: {message}",
  "customer.profile": "Profile",
  "customer.name": "Name",
  "customer.email": "Email",
  "customer.phone": "Phone",
  "customer.vip": "VIP {tier}",
  "customer.identities": "Known as",
  "customer.prechat": "Pre-chat form",
  "customer.prechatEmpty": "The form was left empty.",
  "customer.pageDetails": "From the website",
  "customer.duplicates": "Possible duplicates",
  "customer.duplicatesHint": "These contacts share a name, email or phone with this customer.",
  "customer.merge": "Merge…",
  "customer.history": "History on every channel",
  "customer.noHistory": "No other conversations.",
  "customer.thisConversation": "This conversation",

  "identity.email": "Email",
  "identity.phone": "Phone",
  "identity.fax": "Fax",
  "identity.visitor": "Web visitor",
  "identity.external": "External id",

  "merge.title": "Merge two contacts",
  "merge.explain": "Their conversations and identities become one contact's. This can't be undone from the inbox.",
  "merge.keep": "Keep",
  "merge.thisOne": "this customer",
  "merge.confirm": "Merge",
  "merge.merging": "Merging…",

  "delivery.failed": "Not delivered: {error}",

  "email.to": "To:",
  "email.cc": "Cc:",
  "email.subject": "Subject:",
  "email.cardLabel": "Mail from {name}",
  "email.replyLabel": "Reply by {name}",
  "email.toCustomer": "to {address}",
  "email.receivedAt": "Received {time}",
  "email.autoReply": "Automatic reply",
  "email.bulk": "Bulk / mailing list",
  "email.problems": "This mail may not show as it was sent:",
  "email.frameTitle": "Mail from {name}",
  "email.plainText": "Plain text",
  "email.remoteBlocked": "Remote images are blocked to protect your privacy.",
  "email.showRemote": "Show remote images",
  "email.showQuoted": "⋯ Show quoted text",
  "email.hideQuoted": "Hide quoted text",
  "email.noBody": "(this mail has no text)",
  "email.attachments": "Attachments",
  "email.original": "Download original (.eml)",
  "email.repliedTo": "In reply to another customer's conversation.",
  "email.openRepliedTo": "Open it: {subject}",
  "email.repliedToHidden": "(not one you can open)",
  "email.bounce.title": "Delivery failure report",
  "email.bounce.failed": "Delivery failed to {address}: {diagnostic}",
  "email.bounce.delayed": "Delivery delayed to {address}: {diagnostic}",
  "email.bounce.other": "Delivery report for {address}: {action}",
  "email.bounce.someone": "a recipient",
  "email.bounce.show": "Show the report",
  "email.bounce.hide": "Hide the report",
  "email.delivery.queued": "Queued for sending",
  "email.delivery.retrying": "Not sent yet, trying again: {error}",
  "email.delivery.sent": "Sent",
  "email.delivery.failed": "Not delivered: {error}",
  "email.delivery.unknown": "the mail server refused it",
  "email.composer.quote": "Quote the customer's last mail",
  "email.composer.placeholder": "Write your reply… (Ctrl+Enter sends)",
  "email.composer.placeholderCanned": "Write your reply… (/ for canned replies, Ctrl+Enter sends)",
  "email.quoteIntro": "On {date}, {name} wrote:",
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
  "presence.label": "我的状态",
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

  "presence.busy": "忙碌",

  "sound.label": "来电提示音",
  "sound.mute": "静音",
  "sound.unmute": "取消静音",
  "sound.onTitle": "提示音已开启 — 点击静音",
  "sound.mutedTitle": "提示音已静音 — 点击开启",

  "offer.region": "新的工作",
  "offer.count": "待接入：{count}",
  "offer.title": "新的{channel}",
  "offer.seconds": "{seconds} 秒",
  "offer.expiresIn": "{seconds} 秒后过期",
  "offer.accept": "接受",
  "offer.accepting": "正在接受…",
  "offer.reject": "拒绝",
  "offer.gone": "该工作已不可用（{code}）。",
  "offer.tabTitle": "新的接入",

  "list.status": "状态",
  "list.status.any": "全部状态",
  "list.unreadCount": "{count} 条未读",
  "list.active": "正在处理（{count}）",

  "typing.contact": "{name} 正在输入…",
  "typing.short": "正在输入…",

  "receipt.sent": "已发送",
  "receipt.delivered": "已送达",
  "receipt.read": "已读",

  "att.file": "文件",
  "att.image": "图片",
  "att.download": "下载",
  "att.preview": "预览 {name}",

  "msg.discard": "放弃",

  "composer.attach": "添加附件",
  "composer.removeFile": "移除 {name}",
  "composer.placeholderReplyCanned": "输入回复…（输入 / 使用快捷回复，Enter 发送，Shift+Enter 换行）",
  "composer.noteHint": "备注仅坐席可见。",
  "composer.closedHint": "此会话已关闭：您可以添加内部备注。",

  "canned.title": "快捷回复",
  "canned.open": "插入快捷回复",

  "conv.transfer": "转接",
  "conv.close": "关闭",

  "collision.someone": "另一位坐席",
  "collision.viewing": "同时在查看此会话：{names}",
  "collision.typing": "同时在此输入回复：{names}。发送前请先商定由谁回复。",

  "task.inWrapup": "话后处理",
  "task.failed": "操作未成功（{code}）。",
  "task.error.wrapup_code_required": "请选择话后代码：本企业要求结束工作前填写。",
  "task.error.unknown_wrapup_code": "该话后代码已停用，请选择其他代码。",
  "task.error.not_yours": "此工作已不属于您：已由他人处理。",
  "task.error.not_found": "该队列或坐席已不存在，请另选。",
  "task.error.offline": "未连接到网关。连接恢复后请重试。",
  "task.error.timeout": "网关未及时响应，请重试。",

  "dialog.cancel": "取消",
  "dialog.close": "关闭",

  "transfer.title": "转接会话",
  "transfer.to": "转接至",
  "transfer.queue": "队列",
  "transfer.agent": "坐席",
  "transfer.choose": "请选择…",
  "transfer.note": "给下一位坐席的备注",
  "transfer.notePlaceholder": "对方需要了解的情况（仅坐席可见）",
  "transfer.none": "没有可以转接的目标。",
  "transfer.loadFailed": "无法加载转接目标：{error}",
  "transfer.submit": "转接",
  "transfer.sending": "正在转接…",
  "transfer.done": "会话已转接。",

  "close.title": "关闭会话",
  "close.explainTask": "您在此会话上的工作将结束，可以接入下一个。",
  "close.explain": "会话将被标记为已关闭。",
  "close.code": "话后代码",
  "close.optional": "（可选）",
  "close.chooseCode": "请选择代码…",
  "close.note": "话后备注",
  "close.notePlaceholder": "处理结果、后续跟进…（仅坐席可见）",
  "close.submit": "关闭会话",
  "close.closing": "正在关闭…",
  "close.done": "会话已关闭。",
  "close.codesFailed": "无法加载话后代码：{error}",

  "customer.heading": "客户",
  "customer.toggle": "客户信息",
  "customer.close": "隐藏客户信息",
  "customer.error": "无法加载客户信息：{message}",
  "customer.profile": "资料",
  "customer.name": "姓名",
  "customer.email": "电子邮箱",
  "customer.phone": "电话",
  "customer.vip": "VIP {tier}",
  "customer.identities": "身份标识",
  "customer.prechat": "咨询前表单",
  "customer.prechatEmpty": "表单未填写。",
  "customer.pageDetails": "来自网站",
  "customer.duplicates": "可能重复的联系人",
  "customer.duplicatesHint": "这些联系人与当前客户的姓名、邮箱或电话相同。",
  "customer.merge": "合并…",
  "customer.history": "所有渠道的历史记录",
  "customer.noHistory": "没有其他会话。",
  "customer.thisConversation": "当前会话",

  "identity.email": "电子邮箱",
  "identity.phone": "电话",
  "identity.fax": "传真",
  "identity.visitor": "网站访客",
  "identity.external": "外部 ID",

  "merge.title": "合并两个联系人",
  "merge.explain": "两者的会话和身份标识将归入同一个联系人。此操作无法在收件箱中撤销。",
  "merge.keep": "保留",
  "merge.thisOne": "当前客户",
  "merge.confirm": "合并",
  "merge.merging": "正在合并…",

  "delivery.failed": "未送达：{error}",

  "email.to": "收件人：",
  "email.cc": "抄送：",
  "email.subject": "主题：",
  "email.cardLabel": "来自 {name} 的邮件",
  "email.replyLabel": "{name} 的回复",
  "email.toCustomer": "发送给 {address}",
  "email.receivedAt": "收到时间：{time}",
  "email.autoReply": "自动回复",
  "email.bulk": "群发 / 邮件列表",
  "email.problems": "这封邮件的显示可能与原件不同：",
  "email.frameTitle": "来自 {name} 的邮件",
  "email.plainText": "纯文本",
  "email.remoteBlocked": "为保护您的隐私，已阻止远程图片。",
  "email.showRemote": "显示远程图片",
  "email.showQuoted": "⋯ 显示引用内容",
  "email.hideQuoted": "隐藏引用内容",
  "email.noBody": "（这封邮件没有正文）",
  "email.attachments": "附件",
  "email.original": "下载原始邮件（.eml）",
  "email.repliedTo": "这是对另一位客户会话的回复。",
  "email.openRepliedTo": "打开该会话：{subject}",
  "email.repliedToHidden": "（您无权打开）",
  "email.bounce.title": "退信报告",
  "email.bounce.failed": "无法投递到 {address}：{diagnostic}",
  "email.bounce.delayed": "投递到 {address} 被延迟：{diagnostic}",
  "email.bounce.other": "{address} 的投递报告：{action}",
  "email.bounce.someone": "某位收件人",
  "email.bounce.show": "显示报告",
  "email.bounce.hide": "隐藏报告",
  "email.delivery.queued": "等待发送",
  "email.delivery.retrying": "尚未发出，正在重试：{error}",
  "email.delivery.sent": "已发送",
  "email.delivery.failed": "未送达：{error}",
  "email.delivery.unknown": "邮件服务器拒收",
  "email.composer.quote": "引用客户的上一封邮件",
  "email.composer.placeholder": "撰写回复…（Ctrl+Enter 发送）",
  "email.composer.placeholderCanned": "撰写回复…（输入 / 使用快捷回复，Ctrl+Enter 发送）",
  "email.quoteIntro": "{name} 于 {date} 写道：",
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
