#!/usr/bin/env node
// A/B of the hub's payment path between two commits: `node bench/ab.mjs --base <git ref>`.
//
// This VM's speed drifts by ±15–20 % from minute to minute, more than most single changes are
// worth, so two separate bench runs cannot tell them apart. Here both versions run at once (two
// workerd processes, each with its own accounts), and short measured rounds alternate between them:
// drift hits both alike, and the per-round ratio is what is reported.
//   --base <ref>         the commit to compare against (default HEAD~1); the working tree is "new"
//   --accounts N         per side (default 1000)   --rounds N (default 6)   --seconds S per round (default 4)
//   --concurrency N      closed-loop clients (default 64)
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, copyFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, BUILD, ROOT } from "./lib/build.mjs";
import { startWorkerd, cpuSeconds } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import { closedLoop, round } from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string", default: "HEAD~1" },
    accounts: { type: "string", default: "1000" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "4" },
    concurrency: { type: "string", default: "64" },
  },
});
const log = (...a) => console.error(...a);
const AB = join(BUILD, "ab");
mkdirSync(AB, { recursive: true });

// The working tree's bundle, then the base commit's, built the same way from a detached worktree.
const newBundle = join(AB, "new.js");
bundle();
copyFileSync(join(BUILD, "hub/index.js"), newBundle);
const baseRev = execFileSync("git", ["rev-parse", "--short", opt.base], { cwd: ROOT, encoding: "utf8" }).trim();
const tree = join(AB, `tree-${baseRev}`);
if (!existsSync(tree)) {
  execFileSync("git", ["worktree", "add", "--detach", tree, baseRev], { cwd: ROOT, stdio: "ignore" });
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
}
const baseOut = join(AB, `base-${baseRev}`);
execFileSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", baseOut], {
  cwd: tree,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
  stdio: "ignore",
});
const baseBundle = join(baseOut, "index.js");

const jwk = await generateJwk();
const sides = [];
for (const [name, hubBundle] of [["base", baseBundle], ["new", newBundle]]) {
  const dataDir = `/dev/shm/flash-hub-ab-${name}-${process.pid}`;
  const rt = await startWorkerd({ configPath: writeConfig({ dir: join(AB, `config-${name}`), jwk, storage: "disk", dataDir, sim: false, hubBundle }), logPath: join(AB, `${name}.log`) });
  const client = createClient(rt.url, { connections: Number(opt.concurrency) });
  const hub = new Hub(client, rt.url, `${name}${Date.now().toString(36)}`);
  log(`[ab] ${name}: workerd pid ${rt.pid}, creating ${opt.accounts} accounts`);
  await hub.createAccounts(Number(opt.accounts), { concurrency: 16 });
  sides.push({ name, rt, client, hub, dataDir, rounds: [] });
}

const pay = (hub) => () => hub.payRandomPair();
try {
  // A warm-up round each (every wallet awake, JIT warm), then alternating measured rounds.
  for (const s of sides) await closedLoop({ concurrency: Number(opt.concurrency), warmupMs: 0, durationMs: 3000, op: pay(s.hub) });
  for (let r = 0; r < Number(opt.rounds); r++) {
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      const res = await closedLoop({ concurrency: Number(opt.concurrency), warmupMs: 500, durationMs: Number(opt.seconds) * 1000, op: pay(s.hub), cpu: () => cpuSeconds(s.rt.pid) });
      const cpuMs = res.server_cpu_cores === null ? null : (res.server_cpu_cores * res.duration_s * 1000) / res.completed;
      s.rounds.push({ tps: res.tps, p99: res.latency.p99_ms, cpu_ms: cpuMs, errors: Object.values(res.errors).reduce((a, b) => a + b, 0) });
      log(`[ab] round ${r + 1} ${s.name}: ${round(res.tps, 1)}/s, p99 ${res.latency.p99_ms} ms, ${cpuMs ? round(cpuMs, 3) : "?"} ms CPU/payment`);
    }
  }
} finally {
  for (const s of sides) {
    await s.client.close();
    await s.rt.stop();
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [base, neu] = sides;
const ratios = base.rounds.map((b, i) => neu.rounds[i].tps / b.tps);
console.log(`\nA/B (${opt.accounts} accounts each, c=${opt.concurrency}, ${opt.rounds} × ${opt.seconds} s, alternating): base ${baseRev} vs working tree`);
for (const s of sides) {
  console.log(`  ${s.name.padEnd(4)}  median ${round(median(s.rounds.map((r) => r.tps)), 1)}/s  CPU ${round(median(s.rounds.map((r) => r.cpu_ms)), 3)} ms/payment  p99 ${round(median(s.rounds.map((r) => r.p99)), 1)} ms  errors ${s.rounds.reduce((a, r) => a + r.errors, 0)}`);
}
console.log(`  new/base throughput per round: ${ratios.map((x) => round(x, 3)).join(" ")}  (median ${round(median(ratios), 3)})`);
