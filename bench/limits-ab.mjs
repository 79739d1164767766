#!/usr/bin/env node
// Limits on/off: `node bench/limits-ab.mjs [--accounts N] [--rounds N] [--seconds S] [--concurrency N]`.
//
// The hub's intraledger payments with its limits on (rolling 24 h account limits, rate limits) and
// switched off (LIMITS=off, development only), two workerd processes from the working tree's bundle,
// measured rounds alternating (lib/limits-ab.mjs). bench/run.mjs runs the same comparison as a phase
// of its own (its summary's limits_on_tps, limits_off_tps, limits_ratio); this runs it alone.
//   --accounts N per side (default 300)   --rounds N (default 6)   --seconds S per round (default 4)
//   --concurrency N closed-loop clients (default 64)
import { parseArgs } from "node:util";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { bundle, generateJwk, BUILD } from "./lib/build.mjs";
import { limitsAB } from "./lib/limits-ab.mjs";

const { values: opt } = parseArgs({
  options: {
    accounts: { type: "string", default: "300" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "4" },
    concurrency: { type: "string", default: "64" },
  },
});
const log = (...a) => console.error(...a);
const dir = join(BUILD, "limits-ab");
mkdirSync(dir, { recursive: true });
// A copy of the bundle: another bench run may rebuild bench/.build/hub meanwhile.
bundle();
const hubBundle = join(dir, "hub.js");
copyFileSync(join(BUILD, "hub/index.js"), hubBundle);

const r = await limitsAB({
  hubBundle,
  jwk: await generateJwk(),
  dir,
  accounts: Number(opt.accounts),
  rounds: Number(opt.rounds),
  seconds: Number(opt.seconds),
  concurrency: Number(opt.concurrency),
  log,
});
console.log(`\nlimits on/off (${r.accounts} accounts each, c=${r.concurrency}, ${r.rounds} × ${r.seconds} s, alternating)`);
for (const [name, s] of [["on", r.on], ["off", r.off]]) {
  console.log(`  limits ${name.padEnd(3)}  median ${s.tps}/s  CPU ${s.cpu_ms} ms/payment  p99 ${s.p99_ms} ms  errors ${s.errors}`);
}
console.log(`  on/off throughput per round: ${r.ratios.join(" ")}  (median ${r.limits_ratio}; over the ${r.quiet_pairs} pairs no other process disturbed: ${r.quiet_ratio ?? "none"})`);
console.log(JSON.stringify({ limits_on_tps: r.limits_on_tps, limits_off_tps: r.limits_off_tps, limits_ratio: r.limits_ratio, limits_on_cpu_ms: r.on.cpu_ms, limits_off_cpu_ms: r.off.cpu_ms }));
if (r.on.errors || r.off.errors) process.exitCode = 1;
