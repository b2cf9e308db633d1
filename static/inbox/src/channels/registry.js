// Per-channel renderers for the inbox. The shell never branches on a channel's name: it asks this
// registry how to draw a conversation of that channel and its messages.
//
// A channel entry:
//   id                 "chat", "email", "voice", "sip", "callback", "fax", …
//   labelKey           i18n key of its name ("channel.email")
//   icon               name of an Icon
//   ConversationView   component for the conversation's body (thread + composer, or call controls + transcript, …)
//   MessageItem        component for one message in a thread
//   Composer           component for writing a reply
//   call               true when its work is a live call: an offer rings as an incoming call and is
//                      answered with the microphone (calls.js), the call bar shows while it lasts
// Anything left out falls back to the chat renderers, so a channel can start as a label and grow.
import { ChatComposer, ChatConversationView, ChatMessageItem } from "./chat.jsx";

const DEFAULTS = {
  icon: "chat",
  ConversationView: ChatConversationView,
  MessageItem: ChatMessageItem,
  Composer: ChatComposer,
};

const channels = new Map();

export function registerChannel(id, definition) {
  channels.set(id, { ...DEFAULTS, labelKey: `channel.${id}`, ...definition, id });
}

/** The renderers for a channel; an unknown channel (e.g. a newer gateway's) still renders as text. */
export function getChannel(id) {
  return channels.get(id) ?? { ...DEFAULTS, id, labelKey: null };
}

/** Registered channels in registration order (drives the channel filter). */
export function listChannels() {
  return [...channels.values()];
}

export function channelLabel(channel, t) {
  return channel.labelKey ? t(channel.labelKey) : channel.id;
}
