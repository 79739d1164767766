// Builds the web app into web/dist (git-ignored; `npm start`, `npm test` and the browser tests build it
// before use: decision 0019) and checks its first load: the JavaScript that index.html loads, gzipped,
// must stay under FIRST_LOAD_LIMIT_KB (issue 13, point 6). `node web/build.mjs` alone builds and reports.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const WEB = dirname(fileURLToPath(import.meta.url));
export const WEB_DIST = join(WEB, "dist");
export const FIRST_LOAD_LIMIT_KB = 150;

/** Gzipped size in KB (level 9, as a server compressing static files ahead of time would). */
export const gzipKb = (bytes) => gzipSync(bytes, { level: 9 }).length / 1024;

/**
 * The JavaScript a first visit loads: the module scripts and module preloads index.html names, and
 * whatever they import statically (Vite writes those as preloads or as `import` statements in the chunk).
 */
export function firstLoad(dist = WEB_DIST) {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const seen = new Set();
  const queue = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g)].map((m) => m[1]);
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(dist, file), "utf8");
    for (const m of code.matchAll(/\bimport\s*(?:[\w{},*\s$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(join(dirname(file), m[1]));
  }
  const files = [...seen].map((file) => {
    const bytes = readFileSync(join(dist, file));
    return { file, kb: bytes.length / 1024, kb_gzip: gzipKb(bytes) };
  });
  return { files, kb_gzip: files.reduce((s, f) => s + f.kb_gzip, 0) };
}

/** Builds the app with Vite (its config: web/vite.config.ts) and fails when the first load is over the limit. */
export async function buildWeb({ quiet = true } = {}) {
  const { build } = await import("vite");
  await build({ configFile: join(WEB, "vite.config.ts"), logLevel: quiet ? "error" : "info" });
  const load = firstLoad();
  if (!load.files.length) throw new Error("web/dist/index.html loads no script: the build is not what the size check expects");
  if (load.kb_gzip > FIRST_LOAD_LIMIT_KB) {
    throw new Error(`the web app's first load is ${load.kb_gzip.toFixed(1)} KB of JavaScript gzipped, over the ${FIRST_LOAD_LIMIT_KB} KB budget (${load.files.map((f) => `${f.file} ${f.kb_gzip.toFixed(1)} KB`).join(", ")})`);
  }
  return load;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const load = await buildWeb({ quiet: false });
    console.log(`web app: first load ${load.kb_gzip.toFixed(1)} KB of JavaScript gzipped (budget ${FIRST_LOAD_LIMIT_KB} KB)`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
