// `npm test`: the layering and configuration checks, the OpenAPI lint, the web app's build and size, the suites in workerd (vitest, given every
// argument of `npm test -- …`, e.g. .ci/run's reporters), then the Node.js suites (test/node/, `node --test`:
// real third-party clients against the hub served by workerd). Fails if any of them fails.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: "inherit" }).status ?? 1;

// The OpenAPI document the app serves, linted with Redocly's recommended rules; the SDK's types generated from it, current.
for (const check of ["scripts/check-layers.mjs", "scripts/check-config.mjs", "scripts/openapi-lint.mjs", ["scripts/openapi-sdk-types.mjs", "--check"]]) {
  const [script, ...args] = [check].flat();
  if (run(process.execPath, [join(root, script), ...args]) !== 0) process.exit(1);
}

// The web app (web/dist, git-ignored: built here so a fresh clone's npm test needs nothing else), with its
// first-load budget (web/build.mjs fails the build over it).
try {
  const web = await (await import("../web/build.mjs")).buildWeb();
  console.log(`web app: first load ${web.kb_gzip.toFixed(1)} KB of JavaScript gzipped`);
} catch (error) {
  console.error(`web app: ${error.message}`);
  process.exit(1);
}

const vitest = run(join(root, "node_modules/.bin/vitest"), ["run", ...process.argv.slice(2)]);

const nodeDir = join(root, "test/node");
const nodeSuites = readdirSync(nodeDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".test.mjs"))
  .sort()
  .map((f) => join(nodeDir, f));
const node = nodeSuites.length ? run(process.execPath, ["--test", ...nodeSuites]) : 0;

process.exit(vitest !== 0 || node !== 0 ? 1 : 0);
