// Front-end build for WECC: the agent inbox and the visitor widget, bundled by esbuild into static/dist/.
//
//   node static/build.mjs            production build (minified, source maps), fails if widget.js is over budget
//   node static/build.mjs --watch    rebuild on change (not minified), budget only reported
//
// Outputs (static/dist/ is build output and git-ignored):
//   inbox.js, inbox.css   the agent inbox, loaded by static/inbox/index.html
//   widget.js             the visitor widget, served by the gateway at /widget.js
//   widget-NAME-HASH.js   its on-demand parts (widget/src/parts/NAME.jsx), served from /static/dist/
//   THIRD-PARTY-LICENSES.txt  licences of the npm packages that ended up in the bundles
import * as esbuild from "esbuild";
import { readFile, rm, mkdir, writeFile, readdir, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "static", "dist");
const WIDGET_SRC = path.join(ROOT, "widget", "src");
const PARTS_SRC = path.join(WIDGET_SRC, "parts");
// Where the gateway serves DIST; widget.js fetches its parts from there on its own origin.
const DIST_PATH = "/static/dist/";
// The issue's budget for the base widget bundle, gzipped. Everything heavier is loaded on demand.
const WIDGET_BUDGET_BYTES = 35 * 1024;

const watch = process.argv.includes("--watch");
const production = !watch;

/** Widget CSS is imported as a (minified) string and put into the widget's shadow root. */
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const { code } = await esbuild.transform(source, { loader: "css", minify: production, target: ["chrome70", "firefox68", "safari15"] });
      return { contents: code, loader: "text" };
    });
  },
};

const common = {
  bundle: true,
  minify: production,
  sourcemap: "linked",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "warning",
  metafile: true,
  define: { "process.env.NODE_ENV": JSON.stringify(production ? "production" : "development") },
};

// Visitors' browsers are older and more varied than agents'.
const WIDGET_TARGET = ["es2018", "chrome70", "firefox68", "safari15"];

// ---- the widget's on-demand parts ----
// Each widget/src/parts/NAME.jsx becomes widget-NAME-HASH.js: a classic script (no CORS needed on a
// tenant's page) that hands its module to the loader in widget/src/parts.js through an event on its
// own <script> element, so it needs no global. What a part imports from outside parts/ (preact and the
// widget's own modules) is not bundled again but taken from widget.js at run time: one preact, whose
// hooks only work with the copy that renders them. widget.js shares exactly the names parts import.
const parts = { files: {}, shared: new Map() }; // shared: module id -> Set of imported names ("*": all)
const PART_OPEN = 'document.currentScript.dispatchEvent(new CustomEvent("wecc:part",{detail:function(require,module,exports){';
const PART_CLOSE = "}}));";

const toId = (file) => path.relative(WIDGET_SRC, file).split(path.sep).join("/");

/** In a part's build: preact and the widget's modules outside parts/ become require("id") of widget.js. */
const fromBase = {
  name: "from-base",
  setup(build) {
    build.onResolve({ filter: /^preact(\/|$)/ }, (args) => ({ path: args.path, external: true }));
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const file = path.resolve(args.resolveDir, args.path);
      if (!file.startsWith(WIDGET_SRC + path.sep) || file.startsWith(PARTS_SRC + path.sep) || file.endsWith(".css")) return undefined;
      return { path: toId(file), external: true };
    });
  },
};

/** In widget.js: `import { shared, files, distPath } from "wecc:parts"`, what the parts built above need. */
const partsManifest = {
  name: "parts-manifest",
  setup(build) {
    build.onResolve({ filter: /^wecc:parts$/ }, () => ({ path: "wecc:parts", namespace: "wecc-parts" }));
    build.onLoad({ filter: /.*/, namespace: "wecc-parts" }, () => {
      const lines = [];
      const entries = [...parts.shared].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, names], i) => {
        const from = JSON.stringify(id.startsWith("preact") ? id : `./${id}`);
        if (names.has("*")) {
          lines.push(`import * as m${i} from ${from};`);
          return `${JSON.stringify(id)}: m${i}`;
        }
        const list = [...names].sort();
        lines.push(`import { ${list.map((n, j) => `${n} as m${i}_${j}`).join(", ")} } from ${from};`);
        return `${JSON.stringify(id)}: { ${list.map((n, j) => `${JSON.stringify(n)}: m${i}_${j}`).join(", ")} }`;
      });
      lines.push(`export const shared = { ${entries.join(", ")} };`);
      lines.push(`export const files = ${JSON.stringify(parts.files)};`);
      lines.push(`export const distPath = ${JSON.stringify(DIST_PATH)};`);
      return { contents: lines.join("\n"), resolveDir: WIDGET_SRC, loader: "js" };
    });
  },
};

async function partEntries() {
  const names = existsSync(PARTS_SRC) ? (await readdir(PARTS_SRC)).filter((f) => /\.jsx?$/.test(f)) : [];
  return Object.fromEntries(names.map((f) => [`widget-${f.replace(/\.jsx?$/, "")}`, path.join(PARTS_SRC, f)]));
}

/** Options for the parts' build; `parts.files` is filled from its metafile (recordParts). */
async function partsOptions() {
  return {
    ...common,
    entryPoints: await partEntries(),
    // Content-hashed names: a widget.js still cached from before a deploy never runs a newer part.
    entryNames: production ? "[name]-[hash]" : "[name]",
    outdir: DIST,
    format: "cjs",
    platform: "browser",
    target: WIDGET_TARGET,
    plugins: [cssAsText, fromBase],
    banner: { js: `/*! WECC visitor widget part | GPL-3.0-or-later */\n${PART_OPEN}` },
    footer: { js: PART_CLOSE },
  };
}

/** Notes the parts' file names, and which names they import from widget.js (read from an ES module build of them). */
async function recordParts(options, metafile) {
  parts.files = {};
  for (const [out, meta] of Object.entries(metafile.outputs)) {
    if (meta.entryPoint && out.endsWith(".js")) parts.files[path.basename(meta.entryPoint).replace(/\.jsx?$/, "")] = path.basename(out);
  }
  const esm = await esbuild.build({ ...options, format: "esm", minify: false, write: false, sourcemap: false, banner: {}, footer: {} });
  parts.shared = new Map();
  for (const file of esm.outputFiles) {
    for (const [statement, clause, id] of file.text.matchAll(/^import\s+([^;"]*?)\s+from\s+"([^"]+)";$/gm)) {
      const names = parts.shared.get(id) || new Set();
      const named = /^(?:(\w+)\s*,\s*)?\{([^}]*)\}$/.exec(clause);
      if (/^\*\s+as\s+\w+$/.test(clause)) names.add("*");
      else if (/^\w+$/.test(clause)) names.add("default");
      else if (named) {
        if (named[1]) names.add("default");
        named[2].split(",").map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean).forEach((n) => names.add(n));
      } else throw new Error(`${file.path}: cannot tell what "${statement}" takes from widget.js`);
      parts.shared.set(id, names);
    }
  }
}

const builds = {
  inbox: {
    ...common,
    entryPoints: { inbox: path.join(ROOT, "static", "inbox", "src", "main.jsx") },
    outdir: DIST,
    format: "iife",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
    banner: { js: "/*! WECC agent inbox | GPL-3.0-or-later */" },
  },
  widget: {
    ...common,
    entryPoints: { widget: path.join(WIDGET_SRC, "index.js") },
    outdir: DIST,
    format: "iife",
    target: WIDGET_TARGET,
    plugins: [cssAsText, partsManifest],
    banner: { js: "/*! WECC visitor widget | GPL-3.0-or-later */" },
  },
};

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

// A part of an earlier build (widget-NAME-HASH.*): kept a while, because a visitor's browser may
// still run the widget.js of that build (it is cached for 5 minutes) and ask for its parts.
const OLD_PART = /^widget-[a-z0-9_-]+-[A-Z0-9]{8}\.(js|css|js\.map|css\.map)$/;
const OLD_PARTS_KEPT_MS = 7 * 24 * 3600 * 1000;

/** Empties static/dist for a build, keeping recent parts of earlier builds. */
async function clearDist() {
  if (!existsSync(DIST)) return mkdir(DIST, { recursive: true });
  for (const file of await readdir(DIST)) {
    const full = path.join(DIST, file);
    if (OLD_PART.test(file) && Date.now() - (await stat(full)).mtimeMs < OLD_PARTS_KEPT_MS) continue;
    await rm(full, { recursive: true, force: true });
  }
}

async function reportSizes(prefix = "", since = 0) {
  const all = (await readdir(DIST)).filter((f) => f.startsWith(prefix) && /\.(js|css)$/.test(f)).sort();
  const files = [];
  for (const f of all) if ((await stat(path.join(DIST, f))).mtimeMs >= since) files.push(f); // this build's only
  let widgetGz = null;
  for (const file of files) {
    const raw = await readFile(path.join(DIST, file));
    const gz = gzipSync(raw, { level: 9 }).length;
    if (file === "widget.js") widgetGz = gz;
    console.log(`  static/dist/${file.padEnd(28)} ${kib(raw.length).padStart(9)}  ${kib(gz).padStart(8)} gzipped`);
  }
  return widgetGz;
}

/** Collects the licence of every npm package that was bundled, so the built files carry their notices. */
async function writeThirdPartyLicenses(metafiles) {
  const packages = new Map();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs)) {
      const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
      if (match) packages.set(match[1], null);
    }
  }
  const sections = [];
  for (const dir of [...packages.keys()].sort()) {
    const pkg = JSON.parse(await readFile(path.join(ROOT, dir, "package.json"), "utf8"));
    const names = (await readdir(path.join(ROOT, dir))).filter((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = names.length ? await readFile(path.join(ROOT, dir, names[0]), "utf8") : `License: ${pkg.license ?? "see package"}`;
    sections.push(`${pkg.name}@${pkg.version} (${pkg.license ?? "see licence text"})\n\n${text.trim()}\n`);
  }
  const header = "Third-party software bundled into WECC's inbox.js and widget.js (with its parts).\nWECC itself is GPL-3.0-or-later.\n";
  await writeFile(path.join(DIST, "THIRD-PARTY-LICENSES.txt"), [header, ...sections].join("\n" + "-".repeat(72) + "\n\n"));
}

async function buildOnce() {
  const started = Date.now() - 1000; // file times may be coarser than the clock
  await clearDist();
  // The parts first: widget.js embeds their file names and shares what they import.
  const widgetBuild = async () => {
    const options = await partsOptions();
    const partsResult = await esbuild.build(options);
    await recordParts(options, partsResult.metafile);
    return [partsResult, await esbuild.build(builds.widget)];
  };
  const results = (await Promise.all([esbuild.build(builds.inbox).then((r) => [r]), widgetBuild()])).flat();
  await writeThirdPartyLicenses(results.map((r) => r.metafile));
  console.log("built:");
  const widgetGz = await reportSizes("", started);
  if (widgetGz === null) throw new Error("widget.js was not produced");
  console.log(`widget.js gzipped: ${widgetGz} bytes (${kib(widgetGz)}) of a ${kib(WIDGET_BUDGET_BYTES)} budget`);
  if (widgetGz > WIDGET_BUDGET_BYTES) {
    console.error(`error: widget.js is ${kib(widgetGz)} gzipped, over the ${kib(WIDGET_BUDGET_BYTES)} budget; load the heavy part on demand instead`);
    process.exit(1);
  }
}

async function watchAll() {
  if (!existsSync(DIST)) await mkdir(DIST, { recursive: true });
  const reporter = (name) => ({
    name: "report",
    setup(build) {
      build.onEnd(async (result) => {
        if (result.errors.length) return;
        console.log(`[${new Date().toLocaleTimeString()}] rebuilt ${name}`);
        await reportSizes(name).catch(() => {});
      });
    },
  });
  const withReport = (name, options) => ({ ...options, plugins: [...(options.plugins ?? []), reporter(name)] });
  const inbox = await esbuild.context(withReport("inbox", builds.inbox));
  const widget = await esbuild.context(withReport("widget", builds.widget));
  // A part's rebuild may change what widget.js must share with it: rebuild widget.js after it.
  // (A new file in widget/src/parts/ needs a restart of the watcher.)
  const afterParts = {
    name: "then-widget",
    setup(build) {
      build.onEnd(async (result) => {
        if (result.errors.length) return;
        await recordParts(partsOpts, result.metafile);
        await widget.rebuild().catch(() => {});
      });
    },
  };
  const partsOpts = await partsOptions();
  const partsCtx = await esbuild.context({ ...partsOpts, plugins: [...partsOpts.plugins, afterParts] });
  await partsCtx.rebuild();
  await Promise.all([inbox.watch(), widget.watch(), partsCtx.watch()]);
  console.log("watching widget/src and static/inbox/src; Ctrl-C stops");
}

if (watch) {
  await watchAll();
} else {
  await buildOnce().catch((err) => {
    console.error(err?.message ?? err);
    process.exit(1);
  });
}
