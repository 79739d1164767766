// The layering rules, checked on the source text (run by `npm test` before the suites):
//   src/ imports nothing from workers/, durable/ or the Cloudflare runtime;
//   durable/ imports nothing from workers/;
//   no actor file (durable/*-actor.ts) imports another: actors meet through durable/ports.ts;
//   the hub's code (src/, durable/, workers/) imports nothing from what surrounds it: tests, the
//   benchmark, the simulator (its own Worker, reached through the LND_SIM binding), the scripts, the SDK;
//   the SDK (sdk/, a client for browsers, Node and Workers) imports packages, itself, and of the hub
//   only what clients share with it (src/nip44.ts): nothing of the runtime or the server;
//   the web app (web/src, run in browsers) imports packages, itself and the SDK (`@flash-hub/sdk`), nothing
//   of the hub, and nothing of Node or the Workers runtime.
// Every module reference counts, as TypeScript itself finds them: `import` and `import type`,
// re-exports (`export … from`), side-effect imports, `import("…")` in code and in types.
import { createRequire } from "node:module";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

const ts = createRequire(import.meta.url)("typescript");
const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const files = (dir) =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path) : /\.tsx?$/.test(path) ? [path] : [];
  });
const importsOf = (file) => ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true).importedFiles.map((f) => f.fileName);
const target = (file, spec) => (spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : spec);
const under = (t, dir) => t === dir || t.startsWith(`${dir}/`);
const AROUND = ["test", "bench", "sim", "scripts", "sdk", "web"];
/** What of the hub the SDK may import (its one NIP-44 v2 implementation). */
const SDK_SHARED = ["src/nip44.ts"];

const problems = [];
const checked = { src: files("src"), durable: files("durable"), workers: files("workers") };
for (const [layer, list] of Object.entries(checked)) {
  for (const file of list) {
    for (const spec of importsOf(file)) {
      const t = target(file, spec);
      const around = AROUND.find((dir) => under(t, dir));
      if (around) problems.push(`${file} imports ${spec}: the hub's code must not depend on ${around}/`);
      if (layer === "src" && (under(t, "workers") || under(t, "durable") || spec.startsWith("cloudflare:"))) {
        problems.push(`${file} imports ${spec}: src/ must not depend on the runtime or upper layers`);
      }
      if (layer === "durable" && under(t, "workers")) problems.push(`${file} imports ${spec}: durable/ must not depend on workers/`);
      if (layer === "durable" && /-actor\.ts$/.test(file) && /^durable\/[^/]+-actor(\.ts)?$/.test(t)) {
        problems.push(`${file} imports ${spec}: actors reach each other through durable/ports.ts`);
      }
    }
  }
}
const sdkFiles = files("sdk/src");
for (const file of sdkFiles) {
  for (const spec of importsOf(file)) {
    if (spec.startsWith("cloudflare:") || spec.startsWith("node:")) problems.push(`${file} imports ${spec}: the SDK runs in browsers, Node and Workers alike`);
    if (!spec.startsWith(".")) continue;
    const t = target(file, spec);
    if (!under(t, "sdk") && !SDK_SHARED.includes(t)) problems.push(`${file} imports ${spec}: the SDK may share ${SDK_SHARED.join(", ")} with the hub, nothing else`);
  }
}
const webFiles = files("web/src");
for (const file of webFiles) {
  for (const spec of importsOf(file)) {
    if (spec.startsWith("cloudflare:") || spec.startsWith("node:")) problems.push(`${file} imports ${spec}: the web app runs in browsers`);
    if (!spec.startsWith(".")) continue;
    const t = target(file, spec);
    if (!under(t, "web/src")) problems.push(`${file} imports ${spec}: the web app reaches the hub through the SDK (\`@flash-hub/sdk\`), nothing else of this repository`);
  }
}
if (problems.length) {
  console.error(`layering: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
const counts = [...Object.entries(checked), ["sdk", sdkFiles], ["web", webFiles]].map(([layer, list]) => `${list.length} of ${layer}/`);
console.log(`layering: ok (${counts.join(", ")} checked)`);
