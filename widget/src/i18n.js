// Visitor-facing strings in English and Simplified Chinese (an on-demand part brings its own, parts.js). The language is the tenant's setting,
// else the tag's data-lang, else the browser's: zh* gets Simplified Chinese, everyone else English.

const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));

const en = {
  open: "Open chat with us",
  close: "Close",
  title: "How can we help?",
  subtitle: "We usually answer within a few minutes.",
  connecting: "Connecting…",
  unreachable: "Can't reach the help desk right now",
  retrying: "Trying again…",
  retry: "Try again",
  reconnecting: "Connection lost. Reconnecting… your messages will be sent when it is back.",
  poweredBy: "Powered by WECC",
  prechatIntro: "Tell us a little about you and we'll connect you with someone.",
  name: "Name",
  email: "Email",
  message: "Message",
  optional: "(optional)",
  choose: "Choose…",
  startChat: "Start chat",
  starting: "Starting…",
  offlineIntro: "We're away right now. Leave a message and we'll get back to you as soon as we can.",
  leaveMessage: "Send message",
  offlineSent: "Thank you! Your message is saved and queued. We'll reply by email, or right here, as soon as someone is available.",
  waiting: "Waiting for the next available person…",
  position: (p, wait) =>
    `You are number ${p} in line. ` + (wait ? `Estimated wait: about ${minutes(wait)} min.` : "We'll be with you as soon as we can."),
  chattingWith: (name) => `You're chatting with ${name}`,
  typing: (name) => `${name || "The agent"} is typing…`,
  conversation: "Conversation",
  you: "You",
  agent: "Agent",
  typeHere: "Type your message…",
  send: "Send",
  attach: "Attach a file",
  receipts: { sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" },
  resend: "Retry",
  remove: "Remove",
  fileKept: "It is kept only until you leave this page.",
  earlier: "Earlier messages",
  loading: "Loading…",
  uploadErrors: {
    file_too_large: "That file is too big to send.",
    file_type_refused: "That type of file can't be sent.",
    rate_limited: "Too many files at once; please wait a moment.",
    failed: "The file could not be sent.",
  },
  ended: "This chat has ended.",
  newChat: "Start a new chat",
  unread: (n) => `${n} new message${n === 1 ? "" : "s"}`,
  dismiss: "Dismiss",
  notSent: "That didn't go through. Please try again.",
  partFailed: "This part of the chat couldn't be loaded.",
  callUs: "Call us",
  back: "Back",
};

const zhCN = {
  open: "打开在线客服",
  close: "关闭",
  title: "有什么可以帮您？",
  subtitle: "我们通常会在几分钟内回复。",
  connecting: "正在连接…",
  unreachable: "暂时无法连接客服中心",
  retrying: "正在重试…",
  retry: "重试",
  reconnecting: "连接已断开，正在重新连接…恢复后会发送您的消息。",
  poweredBy: "由 WECC 提供支持",
  prechatIntro: "请简单介绍一下您自己，我们将为您转接客服。",
  name: "姓名",
  email: "电子邮箱",
  message: "留言内容",
  optional: "（选填）",
  choose: "请选择…",
  startChat: "开始对话",
  starting: "正在开始…",
  offlineIntro: "我们现在不在线。请留言，我们会尽快回复您。",
  leaveMessage: "发送留言",
  offlineSent: "谢谢！您的留言已保存并排队等候。客服有空时会通过电子邮件或在此处回复您。",
  waiting: "正在等待客服接入…",
  position: (p, wait) => `您排在第 ${p} 位。` + (wait ? `预计等待约 ${minutes(wait)} 分钟。` : "我们会尽快为您服务。"),
  chattingWith: (name) => `${name} 正在为您服务`,
  typing: (name) => `${name || "客服"}正在输入…`,
  conversation: "对话",
  you: "您",
  agent: "客服",
  typeHere: "请输入消息…",
  send: "发送",
  attach: "添加附件",
  receipts: { sending: "发送中…", sent: "已发送", delivered: "已送达", read: "已读", failed: "未发送" },
  resend: "重试",
  remove: "移除",
  fileKept: "离开此页面后将不再保留该文件。",
  earlier: "更早的消息",
  loading: "正在加载…",
  uploadErrors: {
    file_too_large: "文件太大，无法发送。",
    file_type_refused: "不支持发送此类文件。",
    rate_limited: "发送文件过于频繁，请稍候。",
    failed: "文件发送失败。",
  },
  ended: "本次对话已结束。",
  newChat: "开始新的对话",
  unread: (n) => `${n} 条新消息`,
  dismiss: "关闭提示",
  notSent: "发送失败，请重试。",
  partFailed: "无法加载此部分内容。",
  callUs: "电话联系",
  back: "返回",
};

/** The first supported language among the given preferences, then the browser's. */
export function pickLanguage(...preferred) {
  const candidates = [...preferred, ...(navigator.languages || []), navigator.language].filter(Boolean);
  for (const lang of candidates) {
    const lower = String(lang).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function strings(lang) {
  return lang === "zh-CN" ? zhCN : en;
}
