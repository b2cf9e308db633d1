// The visitor's anonymous id for one business, kept in localStorage so a returning visitor is recognised.

function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // RFC 4122 version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const memory = {}; // when storage is blocked the id lasts for this page view only

/** Returns the stored id for this widget key, creating it on first use (key: wecc.visitor.<KEY>). */
export function visitorId(widgetKey) {
  const storageKey = `wecc.visitor.${widgetKey}`;
  try {
    let id = window.localStorage.getItem(storageKey);
    if (!id) {
      id = randomId();
      window.localStorage.setItem(storageKey, id);
    }
    return id;
  } catch (e) {
    if (!memory[storageKey]) memory[storageKey] = randomId();
    return memory[storageKey];
  }
}
