// A part (parts.js): the socket.io client, the heaviest thing the widget uses, fetched when the
// visitor first needs the gateway (the panel opens, or a chat is going on at page load) rather than
// on every page view of the tenant's site.
export { io } from "socket.io-client";
