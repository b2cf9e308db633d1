// Co-browsing's recorder, loaded only once the visitor consented: rrweb records this page and the
// events go to the gateway (cobrowse_batch), which relays them to the agent helping the visitor.
// What is private never leaves this browser: every input's value is masked, password, card-number
// and one-time-code fields (and anything marked data-wecc-block, or matching the tenant's
// selectors) are replaced by an empty box with no value at all, text marked data-wecc-mask is
// masked, and the widget itself is not recorded.
import { record } from "@rrweb/record";

// Never sent in any form (rrweb's blockSelector: a same-size placeholder, no content, no events).
const PRIVATE = [
  "input[type=password]",
  '[autocomplete^="cc-"]',
  '[autocomplete$="-password"]',
  '[autocomplete="one-time-code"]',
  "[data-wecc-block]",
  "wecc-widget",
];
const FLUSH_MS = 50; // how often what changed goes out: the agent sees it about this late
const PART_CHARS = 90000; // a batch larger than this (a big page's snapshot) goes in parts
const META = 4;

/**
 * Starts recording. `send(batch)` resolves with the gateway's ack; `blockSelectors` and
 * `maskSelectors` are the tenant's own additions. Returns stop().
 */
export function start({ send, blockSelectors = [], maskSelectors = [] }) {
  let queue = [];
  let snapshot = false; // the queue starts a new full snapshot
  let timer = null;
  let partNumber = 0;
  const blockSelector = [...PRIVATE, ...blockSelectors].join(",");

  async function flush() {
    timer = null;
    if (queue.length === 0) return;
    const events = queue;
    const starts = snapshot;
    queue = [];
    snapshot = false;
    const text = JSON.stringify(events);
    let ack;
    if (text.length <= PART_CHARS) {
      ack = await send({ snapshot: starts, events });
    } else {
      const id = `p${Date.now().toString(36)}${(partNumber += 1)}`;
      const count = Math.ceil(text.length / PART_CHARS);
      for (let index = 0; index < count; index += 1) {
        ack = await send({ snapshot: starts, part: { id, index, count, text: text.slice(index * PART_CHARS, (index + 1) * PART_CHARS) } });
        if (!ack || !ack.ok) break;
      }
    }
    if (ack && ack.resnapshot) record.takeFullSnapshot(true); // the gateway keeps only so much since the last one
  }

  const stopRecording = record({
    emit(event) {
      if (event.type === META) {
        // A new full snapshot (the start, or a checkout): what was queued before belongs to the old one.
        if (queue.length) flush();
        snapshot = true;
      }
      queue.push(event);
      if (!timer) timer = setTimeout(flush, FLUSH_MS);
    },
    blockSelector,
    maskAllInputs: true,
    maskInputFn: (text, element) => (element && element.matches && element.matches(blockSelector) ? "" : "*".repeat(Math.min(text.length, 12))),
    maskTextSelector: ["[data-wecc-mask]", ...maskSelectors].join(","),
    // rrweb sends pointer moves every 500 ms by default: far too late to point at anything together.
    sampling: { mousemove: 20, mousemoveCallback: FLUSH_MS, scroll: 50, input: "last" },
    checkoutEveryNms: 120000, // a fresh snapshot now and then keeps catching up (and the agent's replay) small
    recordCanvas: false,
    collectFonts: false,
    slimDOMOptions: "all",
  });

  return function stop() {
    if (stopRecording) stopRecording();
    if (timer) clearTimeout(timer);
    timer = null;
    queue = [];
  };
}
