// Front-end build for WECC: the agent inbox and the visitor widget, bundled by esbuild into static/dist/.
//
//   node static/build.mjs            production build (minified, source maps), fails if widget.js is over budget
//   node static/build.mjs --watch    rebuild on change (not minified), budget only reported
//
// Outputs (static/dist/ is build output and git-ignored):
//   inbox.js, inbox.css   the agent inbox, loaded by static/inbox/index.html
//   widget.js             the visitor widget, served by the gateway at /widget.js
//   THIRD-PARTY-LICENSES.txt  licences of the npm packages that ended up in the bundles
import * as esbuild from "esbuild";
import { readFile, rm, mkdir, writeFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "static", "dist");
// The budget for the base widget bundle, gzipped. Everything heavier is loaded on demand.
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
    entryPoints: { widget: path.join(ROOT, "widget", "src", "index.js") },
    outdir: DIST,
    format: "iife",
    // Visitors' browsers are older and more varied than agents'.
    target: ["es2018", "chrome70", "firefox68", "safari15"],
    plugins: [cssAsText],
    banner: { js: "/*! WECC visitor widget | GPL-3.0-or-later */" },
  },
};

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

async function reportSizes(prefix = "") {
  const files = (await readdir(DIST)).filter((f) => f.startsWith(prefix) && /\.(js|css)$/.test(f)).sort();
  let widgetGz = null;
  for (const file of files) {
    const raw = await readFile(path.join(DIST, file));
    const gz = gzipSync(raw, { level: 9 }).length;
    if (file === "widget.js") widgetGz = gz;
    console.log(`  static/dist/${file.padEnd(12)} ${kib(raw.length).padStart(9)}  ${kib(gz).padStart(8)} gzipped`);
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
  const header = "Third-party software bundled into WECC's inbox.js and widget.js.\nWECC itself is GPL-3.0-or-later.\n";
  await writeFile(path.join(DIST, "THIRD-PARTY-LICENSES.txt"), [header, ...sections].join("\n" + "-".repeat(72) + "\n\n"));
}

async function buildOnce() {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const results = await Promise.all(Object.values(builds).map((options) => esbuild.build(options)));
  await writeThirdPartyLicenses(results.map((r) => r.metafile));
  console.log("built:");
  const widgetGz = await reportSizes();
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
  for (const [name, options] of Object.entries(builds)) {
    const ctx = await esbuild.context({ ...options, plugins: [...(options.plugins ?? []), reporter(name)] });
    await ctx.watch();
  }
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
