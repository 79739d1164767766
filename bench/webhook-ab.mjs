#!/usr/bin/env node
// A/B of webhook delivery between two commits: `node bench/webhook-ab.mjs --base <git ref>`.
//
// As bench/ab.mjs (both versions run at once, short measured rounds alternate between them, so the
// VM's drift hits both alike), but every account has a webhook endpoint (`events: ["*"]`) on a local
// receiver (lib/receiver.mjs), and each round reports what delivery costs and how long it takes:
// workerd CPU per payment (each payment is three events, each one delivery), deliveries per second,
// and commit → receiver p50/p99 of the round's payments' deliveries (the event's `timestamp` to its
// arrival, as bench/run.mjs measures `webhook_p99_ms`).
//   --base <ref>         the commit to compare against (default HEAD)
//   --new <ref>          the commit to compare (default: the working tree, with whatever else is in progress there)
//   --accounts N         per side, each with one endpoint (default 300)
//   --rounds N (default 6)   --seconds S per round (default 4)
//   --concurrency N      closed-loop paying clients (default 8); or --rate R: open loop at R payments/s
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, copyFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { bundle, generateJwk, writeConfig, BUILD, ROOT } from "./lib/build.mjs";
import { startWorkerd, cpuSeconds } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import * as load from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";
import { allowLoopbackOutbound, startReceiver } from "./lib/receiver.mjs";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string", default: "HEAD" },
    new: { type: "string" },
    accounts: { type: "string", default: "300" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "4" },
    concurrency: { type: "string", default: "8" },
    rate: { type: "string" },
  },
});
const { closedLoop, pool, round, summarize } = load;
const rate = opt.rate === undefined ? null : Number(opt.rate);
if (rate !== null && typeof load.openLoop !== "function") throw new Error("--rate needs openLoop in bench/lib/load.mjs");
const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const AB = join(BUILD, "webhook-ab");
mkdirSync(AB, { recursive: true });

/** A commit's hub bundle, built from a detached worktree of it (shared with bench/ab.mjs's). */
function bundleOf(ref) {
  const rev = execFileSync("git", ["rev-parse", "--short", ref], { cwd: ROOT, encoding: "utf8" }).trim();
  const tree = join(BUILD, "ab", `tree-${rev}`);
  if (!existsSync(tree)) {
    mkdirSync(join(BUILD, "ab"), { recursive: true });
    execFileSync("git", ["worktree", "add", "--detach", tree, rev], { cwd: ROOT, stdio: "ignore" });
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
  }
  const out = join(AB, `bundle-${rev}`);
  execFileSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
    cwd: tree,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    stdio: "ignore",
  });
  return { rev, path: join(out, "index.js") };
}
let newBundle = join(AB, "new.js");
let newRev = "working tree";
if (opt.new) ({ rev: newRev, path: newBundle } = bundleOf(opt.new));
else {
  bundle();
  copyFileSync(join(BUILD, "hub/index.js"), newBundle);
}
const { rev: baseRev, path: baseBundle } = bundleOf(opt.base);

const n = Number(opt.accounts);
const jwk = await generateJwk();
const sides = [];
try {
  for (const [name, hubBundle] of [["base", baseBundle], ["new", newBundle]]) {
    const dataDir = `/dev/shm/flash-hub-whab-${name}-${process.pid}`;
    const configPath = writeConfig({ dir: join(AB, `config-${name}`), jwk, storage: "disk", dataDir, sim: false, hubBundle });
    allowLoopbackOutbound(configPath);
    const rt = await startWorkerd({ configPath, logPath: join(AB, `${name}.log`) });
    const client = createClient(rt.url, { connections: Math.max(16, Number(opt.concurrency)) });
    const hub = new Hub(client, rt.url, `${name}${Date.now().toString(36)}`);
    // Arrivals of the round's payments: `${memo} ${type}` → latency (ms).
    const side = { name, rt, client, hub, dataDir, rounds: [], arrivals: new Map() };
    side.receiver = await startReceiver({
      onDelivery: (d) => {
        const body = JSON.parse(d.body);
        const memo = body?.data?.transaction?.memo;
        if (typeof memo === "string") side.arrivals.set(`${memo} ${body.type}`, d.at - Date.parse(body.timestamp));
      },
    });
    log(`[webhook-ab] ${name}: workerd pid ${rt.pid}, creating ${n} accounts with an endpoint each`);
    await hub.createAccounts(n, { concurrency: 16 });
    const created = await pool(n, 16, (i) => hub.createWebhook(hub.accounts[i], `${side.receiver.url}/hooks/${i}`, ["*"]));
    if (created.some((r) => !r.ok)) throw new Error(`POST /v1/webhooks failed: ${created.find((r) => !r.ok).status}`);
    sides.push(side);
  }

  let memoSeq = 0;
  const payOp = (s, measured) => async () => {
    const to = s.hub.randomAccount(-1, n);
    const from = s.hub.randomAccount(to.index, n);
    const memo = `ab:${memoSeq++}`;
    const res = await s.hub.pay(from, to, { memo });
    if (res.ok) measured.push(memo);
    return res;
  };
  // Warm-up: each account pays the next (every wallet and webhook actor awake, connections open), then a round each.
  for (const s of sides) {
    await pool(n, 16, (i) => s.hub.pay(s.hub.accounts[i], s.hub.accounts[(i + 1) % n], { memo: `ring:${i}` }));
    await closedLoop({ concurrency: Number(opt.concurrency), warmupMs: 0, durationMs: 2000, op: payOp(s, []) });
  }
  await sleep(2000);
  for (let r = 0; r < Number(opt.rounds); r++) {
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      s.arrivals.clear();
      s.receiver.reset();
      const measured = [];
      const t0 = performance.now();
      const cpu0 = cpuSeconds(s.rt.pid);
      const conn0 = s.receiver.connections();
      const common = { warmupMs: 0, durationMs: Number(opt.seconds) * 1000, op: payOp(s, measured), cpu: () => cpuSeconds(s.rt.pid) };
      const res = rate === null ? await closedLoop({ concurrency: Number(opt.concurrency), ...common }) : await load.openLoop({ rate, ...common });
      const windowS = (performance.now() - t0) / 1000;
      const inWindow = s.receiver.deliveries.length;
      const keys = measured.flatMap((m) => [`${m} transfer.sent`, `${m} transfer.delivered`, `${m} transfer.received`]);
      const drainT0 = performance.now();
      while (keys.some((k) => !s.arrivals.has(k)) && performance.now() - drainT0 < 15_000) await sleep(50);
      const drainS = (performance.now() - drainT0) / 1000;
      // workerd CPU from the start of the load until every delivery of its payments arrived: the whole cost of a payment and its deliveries.
      const cpuMs = ((cpuSeconds(s.rt.pid) - cpu0) * 1000) / measured.length;
      const lat = summarize(keys.filter((k) => s.arrivals.has(k)).map((k) => s.arrivals.get(k)));
      const missing = keys.filter((k) => !s.arrivals.has(k)).length;
      const connections = s.receiver.connections() - conn0;
      s.rounds.push({ connections, tps: res.tps, pay_p99: res.latency.p99_ms, cpu_ms: cpuMs, dps: inWindow / windowS, p50: lat.p50_ms, p99: lat.p99_ms, missing, drain_s: drainS, errors: res.error_count });
      log(
        `[webhook-ab] round ${r + 1} ${s.name}: ${round(res.tps, 1)} payments/s (p99 ${res.latency.p99_ms} ms), ${round(cpuMs, 3)} ms workerd CPU per payment with its deliveries, ` +
          `${round(inWindow / windowS, 1)} deliveries/s, commit → receiver p50 ${lat.p50_ms} / p99 ${lat.p99_ms} ms, drained ${round(drainS, 2)} s after, ${missing} missing, ${connections} connections opened`,
      );
      await sleep(1000);
    }
  }
} finally {
  for (const s of sides) {
    await s.client.close();
    await s.rt.stop();
    await s.receiver?.close();
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [base, neu] = sides;
const load_ = rate === null ? `c=${opt.concurrency}` : `open loop ${rate}/s`;
console.log(`\nwebhook A/B (${n} accounts each with an endpoint, ${load_}, ${opt.rounds} × ${opt.seconds} s, alternating): base ${baseRev} vs new ${newRev}`);
for (const s of sides) {
  const m = (k) => round(median(s.rounds.map((x) => x[k])), 3);
  console.log(
    `  ${s.name.padEnd(4)}  payments ${m("tps")}/s  CPU ${m("cpu_ms")} ms/payment  deliveries ${m("dps")}/s  commit → receiver p50 ${m("p50")} / p99 ${m("p99")} ms  ` +
      `connections opened ${m("connections")}  missing ${s.rounds.reduce((a, x) => a + x.missing, 0)}  errors ${s.rounds.reduce((a, x) => a + x.errors, 0)}`,
  );
}
const ratio = (k) => base.rounds.map((b, i) => neu.rounds[i][k] / b[k]);
console.log(`  new/base CPU per payment by round: ${ratio("cpu_ms").map((x) => round(x, 3)).join(" ")}  (median ${round(median(ratio("cpu_ms")), 3)})`);
console.log(`  new/base payments/s by round: ${ratio("tps").map((x) => round(x, 3)).join(" ")}  (median ${round(median(ratio("tps")), 3)})`);
