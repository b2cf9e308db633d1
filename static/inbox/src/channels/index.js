// The channels the inbox knows. Each later channel (email threads, voice call controls, fax pages,
// co-browsing) registers its own renderers here — in its own module — instead of editing the shell.
import { registerChannel } from "./registry.js";
import { EmailComposer, EmailConversationView, EmailMessageItem } from "./email.jsx";
import { FaxComposer, FaxConversationView, FaxMessageItem } from "./fax.jsx";
import { VoiceConversationView, VoiceMessageItem } from "./voice.jsx";

registerChannel("chat", { icon: "chat" });
registerChannel("email", { icon: "email", ConversationView: EmailConversationView, MessageItem: EmailMessageItem, Composer: EmailComposer });
registerChannel("voice", { icon: "voice", call: true, ConversationView: VoiceConversationView, MessageItem: VoiceMessageItem });
// A callback is a call the gateway places once the agent answers: the same call bar and timeline.
registerChannel("callback", { icon: "callback", call: true, ConversationView: VoiceConversationView, MessageItem: VoiceMessageItem });
// Until its issue lands SIP renders as a text thread with the default composer.
registerChannel("sip", { icon: "sip" });
registerChannel("fax", { icon: "fax", ConversationView: FaxConversationView, MessageItem: FaxMessageItem, Composer: FaxComposer });

export { getChannel, listChannels, channelLabel, registerChannel } from "./registry.js";
