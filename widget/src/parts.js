// The widget's on-demand parts (widget/src/parts/*.jsx): screens most visitors never see, kept out of
// widget.js so that it stays small. static/build.mjs builds each into its own content-hashed file;
// loadPart fetches it once, from the gateway that served widget.js (so it works on any tenant's page),
// as a classic <script> (no CORS needed). The part hands over its module through an event on its own
// script element, and takes preact and the widget's modules from widget.js (`shared`).
// A part module may export `css` (added to the widget's shadow root) and `strings` ({en, "zh-CN"}).
import { distPath, files, shared } from "wecc:parts";

const TIMEOUT_MS = 20000;

let options = { base: null, nonce: "" };
let addStyles = (css) => waitingCss.push(css); // until the widget's shadow root exists
const waitingCss = [];
const loads = new Map();
const loaded = new Map();

/** origin: the gateway's (the widget script's own); nonce: the widget tag's CSP nonce, passed on to parts. */
export function configureParts({ origin, nonce }) {
  options = { base: new URL(distPath, origin), nonce: nonce || "" };
}

/** Where parts' CSS goes: the widget's shadow root. */
export function stylePartsWith(fn) {
  addStyles = fn;
  waitingCss.splice(0).forEach(fn);
}

/** The part's module if it is here already (so it draws at once), else null. */
export function partIfLoaded(name) {
  return loaded.get(name) || null;
}

/** Resolves with the part's module; a failure is not remembered, so calling again retries. */
export function loadPart(name) {
  if (!loads.has(name)) {
    const load = fetchPart(name).then(
      (module) => (loaded.set(name, module), module),
      (err) => {
        loads.delete(name);
        throw err;
      },
    );
    loads.set(name, load);
  }
  return loads.get(name);
}

function require(id) {
  if (id in shared) return shared[id];
  throw new Error(`a part needs ${id}, which widget.js does not share`);
}

function fetchPart(name) {
  return new Promise((resolve, reject) => {
    if (!files[name] || !options.base) return reject(new Error(`no widget part "${name}"`));
    const script = document.createElement("script");
    script.src = new URL(files[name], options.base).href;
    let timer = null;
    const finish = (err, module) => {
      if (!timer) return; // settled already (a late load after the timeout changes nothing)
      clearTimeout(timer);
      timer = null;
      script.remove();
      if (err) {
        console.error("[wecc]", err.message);
        reject(err);
      } else resolve(module);
    };
    script.addEventListener("wecc:part", (e) => {
      const module = { exports: {} };
      try {
        e.detail(require, module, module.exports);
        if (module.exports.css) addStyles(module.exports.css);
      } catch (err) {
        return finish(err);
      }
      finish(null, module.exports);
    });
    // `load` comes after the script ran: a part that did not register by then is not one.
    script.addEventListener("load", () => finish(new Error(`${script.src} is not a widget part`)));
    script.addEventListener("error", () => finish(new Error(`could not load ${script.src}`)));
    timer = setTimeout(() => finish(new Error(`${script.src} took too long`)), TIMEOUT_MS);
    script.async = true;
    if (options.nonce) script.nonce = options.nonce;
    (document.head || document.documentElement).appendChild(script);
  });
}
