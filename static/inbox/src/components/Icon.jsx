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
