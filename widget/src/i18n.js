// Visitor-facing strings. zh* browsers get Simplified Chinese, everyone else English.

const en = {
  open: "Open chat with us",
  close: "Close",
  title: "How can we help?",
  subtitle: "We usually answer within a few minutes.",
  connecting: "Connecting…",
  connected: "Connected — chat is coming soon in this build",
  connectedHint: "You are through to the help desk. Live chat arrives in the next version of this widget.",
  unreachable: "Can't reach the help desk right now",
  retrying: "Trying again…",
  retry: "Try again",
  poweredBy: "Powered by WECC",
};

const zhCN = {
  open: "打开在线客服",
  close: "关闭",
  title: "有什么可以帮您？",
  subtitle: "我们通常会在几分钟内回复。",
  connecting: "正在连接…",
  connected: "已连接 — 此版本即将推出在线聊天",
  connectedHint: "您已连接到客服中心。在线聊天将在此组件的下一版本中推出。",
  unreachable: "暂时无法连接客服中心",
  retrying: "正在重试…",
  retry: "重试",
  poweredBy: "由 WECC 提供支持",
};

export function pickLanguage(preferred) {
  const candidates = [preferred, ...(navigator.languages || []), navigator.language].filter(Boolean);
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
