// Inline SVG icons (stroke style, 24×24 grid). Decorative: callers give the text alternative.
const PATHS = {
  chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z",
  email: "M3 6h18v12H3z M3 7l9 6 9-6",
  voice: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M5 11a7 7 0 0 0 14 0 M12 18v3",
  sip: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z",
  callback: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z M15 3l6 0 0 6 M21 3l-6 6",
  fax: "M7 8V3h10v5 M5 8h14a2 2 0 0 1 2 2v7h-4 M7 17H3v-7a2 2 0 0 1 2-2 M7 14h10v7H7z",
  inbox: "M3 13l3-8h12l3 8v6H3z M3 13h5l1 3h6l1-3h5",
  back: "M15 18l-6-6 6-6",
  send: "M4 12l16-8-6 16-2-7z",
  logout: "M15 4h4v16h-4 M10 8l-4 4 4 4 M6 12h10",
  note: "M5 4h14v11l-5 5H5z M14 20v-5h5",
  attach: "M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7.5",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M4 21a8 8 0 0 1 16 0",
  bell: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4z M10 20a2 2 0 0 0 4 0",
  bellOff: "M6 16V11a6 6 0 0 1 9.5-4.9 M18 11v5l2 2H8 M10 20a2 2 0 0 0 4 0 M3 3l18 18",
  transfer: "M4 8h13 M13 4l4 4-4 4 M20 16H7 M11 12l-4 4 4 4",
  done: "M20 6L9 17l-5-5",
  canned: "M13 3L4 14h7l-1 7 9-11h-7z",
  eye: "M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
  chart: "M4 20V10 M10 20V4 M16 20v-7 M22 20H2",
  settings: "M4 6h10 M18 6h2 M4 12h4 M12 12h8 M4 18h12 M20 18h0 M16 4v4 M10 10v4 M18 16v4",
  file: "M14 3H6v18h12V7z M14 3v4h4",
  download: "M12 4v11 M7 10l5 5 5-5 M5 20h14",
  close: "M6 6l12 12 M18 6L6 18",
  warning: "M12 3l10 18H2z M12 10v5 M12 18v.5",
  history: "M3 12a9 9 0 1 0 3-6.7 M3 4v4h4 M12 7v5l3 2",
  merge: "M6 3v6a6 6 0 0 0 6 6h0a6 6 0 0 1 6 6 M18 3v6a6 6 0 0 1-6 6",
  list: "M8 6h12 M8 12h12 M8 18h12 M4 6h.01 M4 12h.01 M4 18h.01",
  phone: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z",
  hangup: "M3 15.5c5-5 13-5 18 0l-2.5 2.5-3.5-1.5v-3a9 9 0 0 0-6 0v3L5.5 18z",
  mic: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M5 11a7 7 0 0 0 14 0 M12 18v3",
  micOff: "M15 9.5V6a3 3 0 0 0-5.7-1.3 M9 9v3a3 3 0 0 0 4.7 2.5 M5 11a7 7 0 0 0 11.3 5.5 M19 11a7 7 0 0 1-.6 2.8 M12 18v3 M3 3l18 18",
  pause: "M8 5v14 M16 5v14",
  play: "M7 4l13 8-13 8z",
  record: "M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10z M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z",
};

export function Icon({ name, size = 18, class: className = "" }) {
  const d = PATHS[name] ?? PATHS.chat;
  return (
    <svg
      class={`icon ${className}`}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={d} />
    </svg>
  );
}
