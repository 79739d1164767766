#!/usr/bin/env node
// Who waits at overload? `node bench/fairness.mjs [--accounts 300] [--concurrency 256] [--seconds 10]`
// (docs/performance.md, "Fair under overload").
// Random intraledger payments at `concurrency` clients (closed loop) on a fresh workerd; every request's
// start, end, payer and payee are kept, then: the latency percentiles, and for the slowest 1 %
// whether they bunch in time (the whole isolate stopped: GC, a long turn) or on a few wallets (an
// object's queue), and how the latency of a request relates to the requests in flight when it began.
import { parseArgs } from "node:util";
import { existsSync, rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, BUILD } from "./lib/build.mjs";
import { startWorkerd } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import { percentile, round } from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";

const { values: opt } = parseArgs({ options: { accounts: { type: "string", default: "300" }, concurrency: { type: "string", default: "256" }, seconds: { type: "string", default: "10" }, warmup: { type: "string", default: "2" }, limits: { type: "string", default: "on" } } });
const log = (...a) => console.error(...a);
const sim = !!bundle().sim;
const dataDir = existsSync("/dev/shm") ? `/dev/shm/flash-hub-fairness-${process.pid}` : join(BUILD, "data-fairness");
const rt = await startWorkerd({ configPath: writeConfig({ dir: join(BUILD, "config-fairness"), jwk: await generateJwk(), dataDir, sim, limits: opt.limits }) });
try {
  const concurrency = Number(opt.concurrency);
  const client = createClient(rt.url, { connections: concurrency });
  const hub = new Hub(client, rt.url, `f${Date.now().toString(36)}`);
  await hub.createAccounts(Number(opt.accounts), { concurrency: 16 });
  log(`[fairness] ${opt.accounts} accounts; ${concurrency} clients for ${opt.warmup} + ${opt.seconds} s`);
  const records = [];
  const t0 = performance.now();
  const from = t0 + Number(opt.warmup) * 1000;
  const to = from + Number(opt.seconds) * 1000;
  let inFlight = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < to) {
        const payee = hub.randomAccount();
        const payer = hub.randomAccount(payee.index);
        const start = performance.now();
        const flight = ++inFlight;
        const wallStart = Date.now();
        const res = await client.request("POST", "/v1/payments/intraledger", { headers: hub.headers(payer, hub.nextKey("fair")), body: JSON.stringify({ to: payee.username, amount_sat: 1 }) });
        inFlight--;
        const end = performance.now();
        // When the payer's wallet wrote the payment (its transaction's created_at, same machine clock): the wait before it, and after.
        const created = res.status === 200 ? Date.parse(JSON.parse(res.text).transaction?.created_at ?? "") : NaN;
        if (start >= from && end <= to) records.push({ start: start - from, ms: end - start, before_ms: created - wallStart, payer: payer.index, payee: payee.index, ok: res.status === 200, flight });
      }
    }),
  );
  const sorted = records.map((r) => r.ms).sort((a, b) => a - b);
  const p = (q) => round(percentile(sorted, q * 100), 1);
  const p50 = p(0.5);
  const p99 = p(0.99);
  log(`[fairness] ${records.length} payments (${round(records.length / Number(opt.seconds), 1)}/s), errors ${records.filter((r) => !r.ok).length}; p50 ${p50} p90 ${p(0.9)} p99 ${p99} max ${round(sorted.at(-1), 1)} ms: p99/p50 ${round(p99 / p50, 2)}`);
  const slow = records.filter((r) => r.ms >= p99);
  // Time: in which 100 ms windows did the slow ones start, and were the requests ending around them also slow?
  const windows = new Map();
  for (const r of slow) windows.set(Math.floor(r.start / 100), (windows.get(Math.floor(r.start / 100)) ?? 0) + 1);
  log(`[fairness] slowest 1 % (${slow.length}): started in ${windows.size} distinct 100 ms windows (of ${Number(opt.seconds) * 10}); busiest window ${Math.max(...windows.values())}`);
  // Wallets: do the slow ones share payers or payees?
  const count = (key) => {
    const m = new Map();
    for (const r of slow) m.set(r[key], (m.get(r[key]) ?? 0) + 1);
    return [...m.values()].sort((a, b) => b - a);
  };
  log(`[fairness] slow payers: ${count("payer").length} distinct (top ${count("payer").slice(0, 5).join(",")}); payees: ${count("payee").length} distinct (top ${count("payee").slice(0, 5).join(",")})`);
  // Timeline: latency of requests by start time, in 500 ms buckets (p50 / max).
  const buckets = new Map();
  for (const r of records) {
    const b = Math.floor(r.start / 500);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b).push(r.ms);
  }
  log(`[fairness] by start time (500 ms buckets): ${[...buckets].sort((a, b) => a[0] - b[0]).map(([b, xs]) => { xs.sort((x, y) => x - y); return `${b / 2}s:${xs.length} p50 ${round(percentile(xs, 50), 0)} max ${round(xs.at(-1), 0)}`; }).join(" | ")}`);
  const byLatency = [...records].sort((a, b) => b.ms - a.ms).slice(0, 10);
  log(`[fairness] 10 slowest: ${byLatency.map((r) => `${round(r.ms, 0)} ms at ${round(r.start, 0)} (${r.payer}→${r.payee}; written after ${r.before_ms} ms)`).join("; ")}`);
  const ends = new Map();
  for (const r of slow) ends.set(Math.floor((r.start + r.ms) / 100), (ends.get(Math.floor((r.start + r.ms) / 100)) ?? 0) + 1);
  log(`[fairness] slowest 1 % ended in ${ends.size} distinct 100 ms windows: ${[...ends].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([w, n]) => `${w / 10}s:${n}`).join(" ")}`);
  const before = slow.map((r) => r.before_ms).filter(Number.isFinite).sort((a, b) => a - b);
  log(`[fairness] slowest 1 %: time from sending to the payer's write p50 ${percentile(before, 50)} ms, max ${before.at(-1)} ms (the rest of their latency came after it)`);
} finally {
  await rt.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
