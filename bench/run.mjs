#!/usr/bin/env node
// Flash Hub load benchmark: `node bench/run.mjs [--quick]` (see docs/performance.md).
//
// Bundles the hub and the LND simulator with `wrangler deploy --dry-run`, serves them with workerd
// directly (SQLite Durable Objects on local disk), drives them over loopback with a closed-loop
// load generator, prints a table, writes bench/results/<date>.json and, as its last line, a
// one-line JSON summary. It makes no timing assertions: targets are reported, not enforced.
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, calibrationWorkerPath, BUILD, ROOT, BENCH_ADMIN_KEY } from "./lib/build.mjs";
import { startWorkerd, startMiniflare, memoryOf, cpuSeconds, machineCpuSeconds, workerdVersion, threadCount } from "./lib/runtime.mjs";
import { createClient, clientKind } from "./lib/http.mjs";
import { closedLoop, openLoop, summarize, round, pool } from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";
import { socketMemoryProbe } from "./lib/socket-probe.mjs";
import { probeAccountMemory } from "./lib/memory-probe.mjs";
import { startReceiver, verifyDeliveries, standardWebhooks } from "./lib/receiver.mjs";
import { limitsAB } from "./lib/limits-ab.mjs";
import { clientSizes } from "./lib/client-sizes.mjs";

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    accounts: { type: "string" },
    sockets: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    levels: { type: "string" },
    "hot-levels": { type: "string" },
    storage: { type: "string", default: "tmpfs" },
    runtime: { type: "string", default: "workerd" },
    to: { type: "string", default: "username" },
    "skip-calibration": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    retries: { type: "string" },
    "chat-pairs": { type: "string" },
    "chat-group-messages": { type: "string" },
    "chat-direct-levels": { type: "string" },
    "chat-group-levels": { type: "string" },
    "skip-chat": { type: "boolean", default: false },
    "webhook-endpoints": { type: "string" },
    "webhook-levels": { type: "string" },
    "skip-webhooks": { type: "boolean", default: false },
    "skip-lnurl": { type: "boolean", default: false },
    "skip-operations": { type: "boolean", default: false },
    limits: { type: "string", default: "on" },
    "skip-limits-ab": { type: "boolean", default: false },
    "skip-account-memory": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (opt.help) {
  console.log(`node bench/run.mjs [--quick] [--accounts N] [--sockets N] [--duration S] [--warmup S]
  [--levels 1,16,64,256] [--hot-levels 16,64] [--storage tmpfs|disk] [--runtime workerd|miniflare]
  [--to username|wallet] [--retries N] [--skip-calibration] [--keep]
  [--chat-pairs N] [--chat-group-messages N] [--chat-direct-levels 16,1] [--chat-group-levels 1,4] [--skip-chat]
  [--webhook-endpoints N] [--webhook-levels 16,1] [--skip-webhooks] [--skip-lnurl] [--skip-operations]
  [--limits on|off] [--skip-limits-ab] [--skip-account-memory]`);
  process.exit(0);
}

const quick = opt.quick;
const cfg = {
  mode: quick ? "quick" : "full",
  accounts: Number(opt.accounts ?? (quick ? 100 : 1000)),
  durationS: Number(opt.duration ?? (quick ? 2 : 10)),
  warmupS: Number(opt.warmup ?? (quick ? 0.5 : 2)),
  levels: (opt.levels ?? "1,16,64,256").split(",").map(Number),
  hotLevels: (opt["hot-levels"] ?? (quick ? "64" : "16,64")).split(",").map(Number),
  wsConcurrency: 16,
  // workerd evicts a Durable Object ~10 s after its last event (one with hibernatable WebSockets
  // too): memory is compared between states where the same objects are asleep.
  evictWaitS: quick ? 2 : 12,
  // The socket memory probe (lib/socket-probe.mjs): accounts, batches × sockets, first wait.
  // Memory per warm account (JS heap and native apart), after eviction, and when other accounts warm up then.
  accountMemory: quick ? { accounts: 100, idleS: 30 } : { accounts: 1000, idleS: 30 },
  probe: quick ? { accounts: 10, batches: 2, batchSize: 500, initialWait: false } : { accounts: 20, batches: 4, batchSize: 1000, initialWait: true },
  // The machine may be shared: a measurement during which other processes used more than
  // `otherCpuLimit` cores is repeated (after waiting for a quiet moment) up to `retries` times.
  retries: Number(opt.retries ?? (quick ? 0 : 2)),
  otherCpuLimit: 0.25,
  calibrationS: quick ? 2 : 5,
  storage: opt.storage,
  runtime: opt.runtime,
  to: opt.to === "wallet" ? "wallet" : "username",
};
cfg.sockets = Math.min(cfg.accounts, Number(opt.sockets ?? cfg.accounts));
// Chat: direct pairs and a group among accounts 2… (0 and 1 are the hot accounts, with long event logs),
// each member with a socket; payment messages over one direct conversation per account.
cfg.chat = {
  pairs: Math.max(1, Math.min(Number(opt["chat-pairs"] ?? 50), Math.floor((cfg.accounts - 2) / 2))),
  groupSize: Math.max(2, Math.min(50, cfg.accounts - 2)),
  groupMessages: Number(opt["chat-group-messages"] ?? (quick ? 40 : 200)),
  groupWarmupMessages: quick ? 5 : 20,
  // Clients sending text at once; the first level of each is the headline figure. Between pairs: 16, as
  // the live events phase (1 for the unloaded floor). In the group: one message at a time already
  // offers the group all it can take (~40 messages/s here); 4 at once shows the queue. --quick runs
  // the headline levels only.
  directLevels: (opt["chat-direct-levels"] ?? (quick ? "16" : "16,1")).split(",").map(Number),
  groupLevels: (opt["chat-group-levels"] ?? (quick ? "1" : "1,4")).split(",").map(Number),
  // The direct-chat latency figure: an open loop at this share of what the first direct level sustained
  // (docs/decisions/0017-bench-latency-at-offered-load.md).
  openLoopShare: Number(opt["chat-open-share"] ?? 0.5),
};
// Webhooks: one endpoint per account (accounts 0…N-1, more created if the run has fewer), a local
// receiver, random payments among those accounts at the live events phase's concurrency.
cfg.webhooks = {
  endpoints: Number(opt["webhook-endpoints"] ?? (quick ? 50 : 1000)),
  // The issue's target (webhook_p99_ms <= 250) is stated for 1,000 endpoints.
  targetEndpoints: 1000,
  // Paying clients; the first level is the headline figure: 16, as the live events phase (1 for the unloaded floor).
  levels: (opt["webhook-levels"] ?? "16,1").split(",").map(Number),
  // The latency figure's open loop: this share of the deliveries per second the first level kept up with.
  openLoopShare: Number(opt["webhook-open-share"] ?? 0.5),
  // How long deliveries of the measured payments may take to arrive once the load stops.
  graceS: 30,
};
// LNURL-pay callbacks: as the invoice phase (16 clients), among every account.
cfg.lnurl = { concurrency: 16, amountMsat: 1000 };
// The hub's limits (rolling 24 h account limits, rate limits): `--limits off` serves the whole run with
// LIMITS=off (development only). Either way a phase of its own compares intraledger payments with them
// on and off, two fresh hubs side by side, rounds alternating (lib/limits-ab.mjs; docs/performance.md).
if (!["on", "off"].includes(opt.limits)) throw new Error(`--limits must be on or off, not ${opt.limits}`);
cfg.limits = opt.limits;
cfg.limitsAb = { accounts: quick ? 50 : 300, rounds: quick ? 4 : 6, seconds: quick ? 2 : 4, concurrency: 64 };
const ms = (s) => Math.round(s * 1000);

const log = (...args) => console.error(...args); // progress on stderr; the table and summary on stdout
const started = new Date();
const runTag = started.getTime().toString(36);
// Durable Object storage: "tmpfs" = SQLite files on /dev/shm (the default: same files and WAL as
// on disk, but a commit's fsync costs nothing, as production's replicated storage does not block the
// isolate on a local fsync); "disk" = SQLite files under bench/.build (every commit fsyncs on the
// thread that runs JavaScript). (workerd's in-memory storage has no SQL API: the hub cannot use it.)
if (cfg.storage === "tmpfs" && !existsSync("/dev/shm")) cfg.storage = "disk";
const dataDir = cfg.storage === "tmpfs" ? join("/dev/shm", `flash-hub-bench-${runTag}`) : join(BUILD, `data-${runTag}`);
const results = { started_at: started.toISOString(), config: cfg, machine: machineInfo(), runtime: {}, phases: {}, notes: [] };

let runtime = null;
let client = null;
let calClient = null;
let receiver = null;
const sockets = [];
let cleaningUp = false;
async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  for (const ws of sockets) {
    try {
      ws.close();
    } catch {}
  }
  await client?.close().catch(() => {});
  await calClient?.close().catch(() => {});
  await runtime?.stop().catch(() => {});
  await receiver?.close().catch(() => {});
  if (!opt.keep) rmSync(dataDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    log(`\n${signal}: stopping the runtime`);
    cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  log(error?.stack ?? error);
  await cleanup();
  process.exit(1);
}
await cleanup();

async function main() {
  // ── Runtime ────────────────────────────────────────────────────────────────
  log(`[bench] ${cfg.mode}: ${cfg.accounts} accounts, ${cfg.sockets} sockets, ${cfg.durationS}s per level, storage ${cfg.storage}, runtime ${cfg.runtime}`);
  let t = performance.now();
  const bundles = bundle();
  results.runtime.bundle_ms = Math.round(performance.now() - t);
  if (!bundles.sim) {
    results.notes.push(`no LND simulator (${bundles.simError}): the hub runs without LND_SIM; Lightning phases are skipped`);
    log(`[bench] ${bundles.simError}: running the hub without the LND simulator`);
  }
  const jwk = await generateJwk();
  t = performance.now();
  if (cfg.runtime === "miniflare") {
    runtime = await startMiniflare({ jwk, persistDir: dataDir, sim: !!bundles.sim });
  } else {
    const configPath = writeConfig({ jwk, storage: "disk", dataDir, sim: !!bundles.sim, extra: [{ name: "calib", path: calibrationWorkerPath() }], limits: cfg.limits });
    allowLoopbackOutbound(configPath);
    runtime = await startWorkerd({ configPath, sockets: ["http", "calib"] });
  }
  results.runtime.start_ms = Math.round(performance.now() - t);
  Object.assign(results.runtime, { kind: runtime.kind, url: runtime.url, pid: runtime.pid, threads: threadCount(runtime.pid) });
  log(`[bench] ${runtime.kind} pid ${runtime.pid} serving ${runtime.url} (started in ${results.runtime.start_ms} ms)`);
  const cpu = () => cpuSeconds(runtime.pid);
  const loop = (o) => closedLoop({ cpu, machineCpu: machineCpuSeconds, ...o });
  const open = (o) => openLoop({ cpu, machineCpu: machineCpuSeconds, ...o });
  /** Until the rest of the machine (not workerd, not the bench) has been nearly idle for 2 s; at most 60 s. */
  const waitForQuiet = async () => {
    const t0 = performance.now();
    let calm = 0;
    while (calm < 2 && performance.now() - t0 < 60_000) {
      const m0 = machineCpuSeconds();
      const w0 = cpu();
      const c0 = process.cpuUsage();
      await sleep(1000);
      const c = process.cpuUsage(c0);
      const other = machineCpuSeconds() - m0 - (cpu() - w0) - (c.user + c.system) / 1e6;
      calm = other < 0.15 ? calm + 1 : 0;
    }
    return round((performance.now() - t0) / 1000, 1);
  };
  /** Runs a measurement; repeats it when other processes disturbed it, keeping the least disturbed. */
  const quietly = async (name, run) => {
    let best = null;
    for (let attempt = 1; attempt <= cfg.retries + 1; attempt++) {
      const waited = attempt > 1 ? await waitForQuiet() : 0;
      // Waits for quiet can outlast the access tokens (15 min): renew old ones before every attempt.
      await hub.refreshTokensIfOld();
      const r = await run();
      r.attempt = attempt;
      if (waited) r.waited_for_quiet_s = waited;
      if (!best || (r.ok > 0 && (best.ok === 0 || (r.other_cpu_cores ?? 0) < (best.other_cpu_cores ?? 0)))) best = r;
      if ((r.other_cpu_cores ?? 0) <= cfg.otherCpuLimit) break;
      if (attempt <= cfg.retries) log(`[bench] ${name}: other processes used ${r.other_cpu_cores} cores meanwhile; measuring again`);
    }
    return best;
  };
  const maxConcurrency = Math.max(...cfg.levels, ...cfg.hotLevels, cfg.wsConcurrency, 64);
  client = createClient(runtime.url, { connections: maxConcurrency });
  const hub = new Hub(client, runtime.url, runTag);

  const health = await client.request("GET", "/health");
  if (health.status !== 200) throw new Error(`GET /health → ${health.status}`);
  const memory = (results.memory = { detail: {} });
  const snap = (name) => {
    const m = memoryOf(runtime.pid);
    memory[`${name}_mb`] = m.rss_mb;
    memory.detail[name] = m;
    return m.rss_mb;
  };
  snap("idle");
  log(`[bench] workerd RSS idle: ${memory.idle_mb} MB`);

  // ── Accounts ───────────────────────────────────────────────────────────────
  snap("before_accounts");
  t = performance.now();
  await hub.createAccounts(cfg.accounts, { onProgress: (n) => log(`[bench]   ${n}/${cfg.accounts} accounts`) });
  const createS = (performance.now() - t) / 1000;
  results.phases.accounts = { count: cfg.accounts, seconds: round(createS, 1), per_second: round(cfg.accounts / createS, 1), note: "POST /v1/accounts (PBKDF2, 100k iterations) + POST /dev/faucet each" };
  snap("after_accounts");
  memory.mb_per_1k_accounts = round(((memory.after_accounts_mb - memory.before_accounts_mb) / cfg.accounts) * 1000, 1);
  log(`[bench] ${cfg.accounts} accounts created and funded in ${round(createS, 1)} s; RSS ${memory.after_accounts_mb} MB`);
  const accounts = hub.accounts;
  /** Every account pays the next one: wakes every wallet (and recipient lookup) before a measurement. */
  const warmRing = async () => {
    await hub.refreshTokensIfOld();
    const t0 = performance.now();
    const res = await pool(accounts.length, 32, (i) => hub.pay(accounts[i], accounts[(i + 1) % accounts.length], { by: cfg.to }));
    const failed = res.filter((r) => !r.ok);
    if (failed.length) throw new Error(`warm-up payments failed: ${failed.length}, first ${failed[0].status} ${String(failed[0].detail).slice(0, 200)}`);
    return round((performance.now() - t0) / 1000, 1);
  };
  const randomAccount = (except, limit) => hub.randomAccount(except, limit);

  // ── Live events: sockets, idle memory, push latency ─────────────────────────
  {
    await hub.refreshTokensIfOld();
    const ws = (results.phases.websocket = { sockets: cfg.sockets });
    const waiting = new Map(); // memo → { tResp, tSend }
    const arrivals = new Map(); // memo → tWs
    let replayed = 0;
    let unexpected = 0;
    const onMessage = (account, text, tArrive) => {
      // Only the bench's own payments carry a "ws:" memo; every other frame is counted and skipped.
      const m = /"type":"transfer\.received".*"memo":"(ws:[0-9]+)"/.exec(text);
      if (m) {
        if (!arrivals.has(m[1])) arrivals.set(m[1], tArrive); // the first of the receiver's sockets
      } else if (text.includes('"type":"faucet.credited"')) replayed++;
      else if (!text.includes('"type":"transfer.')) unexpected++;
    };
    log(`[bench] idling ${cfg.evictWaitS} s${cfg.evictWaitS >= 11 ? " (the accounts' Durable Objects go to sleep)" : ""}`);
    await sleep(cfg.evictWaitS * 1000);
    snap("before_sockets");
    t = performance.now();
    const opened = await pool(cfg.sockets, 32, (i) => hub.openStream(accounts[i], onMessage));
    sockets.push(...opened);
    ws.connect_s = round((performance.now() - t) / 1000, 2);
    snap("sockets_connected");
    log(`[bench] ${cfg.sockets} sockets open in ${ws.connect_s} s; RSS ${memory.sockets_connected_mb} MB; idling ${cfg.evictWaitS} s`);
    await sleep(cfg.evictWaitS * 1000);
    snap("sockets_idle");
    // Not the headline figure: the allocator reuses the sleeping accounts' memory for these sockets
    // (see lib/socket-probe.mjs, which measures it at the end of the run).
    memory.mb_per_1k_sockets_in_run = round(((memory.sockets_idle_mb - memory.before_sockets_mb) / cfg.sockets) * 1000, 1);
    log(`[bench] RSS with ${cfg.sockets} idle sockets: ${memory.sockets_idle_mb} MB (${memory.mb_per_1k_sockets_in_run} MB per 1,000 in this process)`);
    ws.warmup_s = await warmRing();

    // Payments to random receivers that each have a socket; the memo ties the event to its payment.
    let memoSeq = 0;
    let windowFrom = 0;
    let windowTo = 0;
    const load = await quietly("live events", () => {
      waiting.clear();
      arrivals.clear();
      windowFrom = performance.now() + ms(cfg.warmupS);
      windowTo = windowFrom + ms(cfg.durationS);
      return loop({
      concurrency: cfg.wsConcurrency,
      warmupMs: ms(cfg.warmupS),
      durationMs: ms(cfg.durationS),
      cpu,
      op: async () => {
        const to = randomAccount(-1, cfg.sockets);
        const from = randomAccount(to.index);
        const memo = `ws:${memoSeq++}`;
        const tSend = performance.now();
        const r = await hub.pay(from, to, { memo, by: cfg.to });
        const tResp = performance.now();
        if (r.ok && tSend >= windowFrom && tResp <= windowTo) waiting.set(memo, { tSend, tResp });
        return r;
      },
      });
    });
    await sleep(1000); // stragglers
    const fromResponse = [];
    const fromRequest = [];
    let beforeResponse = 0;
    let missing = 0;
    for (const [memo, w] of waiting) {
      const tWs = arrivals.get(memo);
      if (tWs === undefined) {
        missing++;
        continue;
      }
      fromRequest.push(tWs - w.tSend);
      if (tWs < w.tResp) beforeResponse++;
      fromResponse.push(Math.max(0, tWs - w.tResp));
    }
    Object.assign(ws, {
      payments: load,
      events_matched: fromResponse.length,
      events_missing: missing,
      events_before_response: beforeResponse,
      replayed_on_connect: replayed,
      unexpected_frames: unexpected,
      // The brief's figure: from the payment's HTTP response to the receiver's frame (0 when the frame came first).
      push_after_response: summarize(fromResponse),
      // From sending the payment request to the receiver's frame.
      push_after_request: summarize(fromRequest),
    });
    snap("sockets_after_load");
    log(`[bench] live events: ${fromResponse.length} matched, ${missing} missing, ${beforeResponse} before the HTTP response; after response p50 ${ws.push_after_response.p50_ms} / p99 ${ws.push_after_response.p99_ms} ms`);
    for (const s of sockets) s.close();
    sockets.length = 0;
    await sleep(2000);
    snap("sockets_closed");
  }
  results.phases.warmup_s = await warmRing();

  // ── Payments between users ─────────────────────────────────────────────────
  const intraledger = (results.phases.intraledger = {});
  for (const c of cfg.levels) {
    await hub.refreshTokensIfOld();
    const r = await quietly(`intraledger c=${c}`, () => loop({
      concurrency: c,
      warmupMs: ms(cfg.warmupS),
      durationMs: ms(cfg.durationS),
      cpu,
      op: () => {
        return hub.payRandomPair({ by: cfg.to });
      },
    }));
    // Issue 17, fairness under overload: how much longer the slowest requests wait than the median one.
    r.p99_over_p50 = r.latency.p50_ms > 0 ? round(r.latency.p99_ms / r.latency.p50_ms, 2) : null;
    intraledger[`c${c}`] = r;
    log(`[bench] intraledger c=${c}: ${r.tps}/s p50 ${r.latency.p50_ms} p99 ${r.latency.p99_ms} ms (p99/p50 ${r.p99_over_p50}), errors ${r.error_count}, pending ${r.pending}, workerd ${r.server_cpu_cores} cores, bench ${r.client_cpu_cores}`);
  }

  // ── Hot accounts ───────────────────────────────────────────────────────────
  const hot = (results.phases.hot_account = {});
  const hotSender = accounts[0];
  const hotReceiver = accounts[1];
  for (const c of cfg.hotLevels) {
    await hub.refreshTokensIfOld();
    const base = { concurrency: c, warmupMs: ms(cfg.warmupS), durationMs: ms(cfg.durationS), cpu };
    hot[`one_to_many_c${c}`] = await quietly("hot one to many", () => loop({ ...base, op: () => hub.pay(hotSender, randomAccount(hotSender.index), { by: cfg.to }) }));
    hot[`many_to_one_c${c}`] = await quietly("hot many to one", () => loop({ ...base, op: () => hub.pay(randomAccount(hotReceiver.index), hotReceiver, { by: cfg.to }) }));
    for (const k of [`one_to_many_c${c}`, `many_to_one_c${c}`]) {
      const r = hot[k];
      log(`[bench] hot ${k}: ${r.tps}/s p50 ${r.latency.p50_ms} p99 ${r.latency.p99_ms} ms, errors ${r.error_count}, pending ${r.pending}, workerd ${r.server_cpu_cores} cores`);
    }
  }
  snap("after_payments");

  // ── Lightning: invoices and simulated payments ────────────────────────────
  const ln = (results.phases.lightning = {});
  {
    await hub.refreshTokensIfOld();
    const probe = await hub.createInvoice(accounts[0]);
    if (!probe.ok) {
      ln.skipped = `POST /v1/invoices answered ${probe.status}: ${String(probe.detail).slice(0, 200)}`;
    } else {
      const paid = await hub.simPay(probe.payment_request);
      const invoices = [];
      ln.create = await quietly("invoices", () => loop({
        concurrency: 16,
        warmupMs: ms(cfg.warmupS),
        durationMs: ms(cfg.durationS),
        cpu,
        op: async () => {
          const r = await hub.createInvoice(randomAccount());
          if (r.ok) invoices.push(r.payment_request);
          return r;
        },
      }));
      log(`[bench] invoices: ${ln.create.tps}/s p50 ${ln.create.latency.p50_ms} p99 ${ln.create.latency.p99_ms} ms, errors ${ln.create.error_count}, workerd ${ln.create.server_cpu_cores} cores`);
      if (!paid.ok && (paid.status === 404 || paid.status >= 500)) {
        ln.sim_pay_skipped = `POST /dev/sim/pay answered ${paid.status}: ${String(paid.detail).slice(0, 200)}`;
      } else {
        // Newest first: the warm-up's invoices are the oldest. Each invoice is paid once.
        // Not repeated when disturbed: each attempt would spend invoices the next one needs.
        ln.sim_pay = await loop({
          concurrency: 16,
          warmupMs: ms(cfg.warmupS),
          durationMs: ms(cfg.durationS),
          op: async () => {
            const pr = invoices.pop();
            if (!pr) return { done: true };
            return hub.simPay(pr);
          },
        });
        if (invoices.length === 0) results.notes.push(`sim pay ran out of invoices: its rate is over ${ln.sim_pay.duration_s} s`);
        log(`[bench] sim pay: ${ln.sim_pay.tps}/s p50 ${ln.sim_pay.latency.p50_ms} p99 ${ln.sim_pay.latency.p99_ms} ms, errors ${ln.sim_pay.error_count}`);
      }
    }
    if (ln.skipped) log(`[bench] lightning skipped: ${ln.skipped}`);
  }
  snap("end");

  // ── Chat: fan-out of text messages to every member's socket, payment messages ──
  const chat = (results.phases.chat = {});
  if (opt["skip-chat"]) chat.skipped = "--skip-chat";
  else await chatPhases({ hub, accounts, intraledger, chat, quietly, loop, open });
  snap("after_chat");

  // ── LNURL-pay callbacks: each issues an invoice through the Lightning node ──
  // (After chat, before webhooks: no endpoint exists yet, so the invoices feed no deliveries.)
  const lnurl = (results.phases.lnurl = {});
  if (opt["skip-lnurl"]) lnurl.skipped = "--skip-lnurl";
  else if (!bundles.sim) lnurl.skipped = "no LND simulator";
  else {
    const probe = await hub.lnurlCallback(accounts[0], cfg.lnurl.amountMsat);
    if (!probe.ok) lnurl.skipped = `GET /lnurlp/…/callback answered ${probe.status}: ${String(probe.detail).slice(0, 200)}`;
    else {
      lnurl.callback = await quietly("lnurl callbacks", () =>
        loop({
          concurrency: cfg.lnurl.concurrency,
          warmupMs: ms(cfg.warmupS),
          durationMs: ms(cfg.durationS),
          op: () => hub.lnurlCallback(randomAccount(), cfg.lnurl.amountMsat),
        }),
      );
      lnurl.accounts = accounts.length;
      log(`[bench] lnurl callbacks: ${lnurl.callback.tps}/s p50 ${lnurl.callback.latency.p50_ms} p99 ${lnurl.callback.latency.p99_ms} ms, errors ${lnurl.callback.error_count}, workerd ${lnurl.callback.server_cpu_cores} cores`);
    }
  }
  if (lnurl.skipped) log(`[bench] lnurl skipped: ${lnurl.skipped}`);

  // ── Operations: reward claims (every claim of a program in its one actor), solvency and /metrics reads ──
  // (Before webhooks, like LNURL: no endpoint exists yet, so the rewards credited feed no deliveries.)
  const operations = (results.phases.operations = {});
  if (opt["skip-operations"]) operations.skipped = "--skip-operations";
  else if (cfg.runtime !== "workerd") operations.skipped = "needs workerd (the bench's config gives the hub its ADMIN_API_KEY)";
  else await operationsPhase({ hub, accounts, operations, quietly, loop });
  if (operations.skipped) log(`[bench] operations skipped: ${operations.skipped}`);

  // ── Webhooks: deliveries to a local receiver while accounts pay each other ──
  const webhooks = (results.phases.webhooks = {});
  if (opt["skip-webhooks"]) webhooks.skipped = "--skip-webhooks";
  else if (cfg.runtime !== "workerd") webhooks.skipped = "Miniflare's outbound network refuses loopback addresses: the receiver cannot be reached";
  else await webhookPhase({ hub, webhooks, quietly, loop, open, cpu });
  if (webhooks.skipped) log(`[bench] webhooks skipped: ${webhooks.skipped}`);
  snap("after_webhooks");

  // ── Calibration: what the runtime does with the least possible work per request ──
  // (Last, so its thousand Durable Objects do not blur the memory figures above.)
  if (!opt["skip-calibration"]) {
    const cal = (results.phases.calibration = {});
    const dur = { warmupMs: 500, durationMs: ms(cfg.calibrationS) };
    cal.hub_health_c64 = await quietly("calibration", () => loop({ concurrency: 64, ...dur, op: () => simpleGet(client, "/health") }));
    if (runtime.urls.calib) {
      calClient = createClient(runtime.urls.calib, { connections: 64 });
      const names = Array.from({ length: cfg.accounts }, (_, i) => `c${i}`);
      const any = () => names[(Math.random() * names.length) | 0];
      await pool(names.length, 32, (i) => simpleGet(calClient, `/bump/${names[i]}`)); // open every object first
      cal.do_update_spread_c64 = await quietly("calibration", () => loop({ concurrency: 64, ...dur, op: () => simpleGet(calClient, `/bump/${any()}`) }));
      cal.do_update_one_c64 = await quietly("calibration", () => loop({ concurrency: 64, ...dur, op: () => simpleGet(calClient, "/bump/hot") }));
      cal.do_chain_spread_c64 = await quietly("calibration", () => loop({ concurrency: 64, ...dur, op: () => simpleGet(calClient, `/chain/${any()}/${any()}`) }));
      // A payment's calls, commits and statements without the hub's code, across the same number of objects.
      const pair = () => {
        const a = any();
        let b = any();
        while (b === a) b = any();
        return `/transfer/${a}/${b}`;
      };
      cal.transfer_shape_spread_c64 = await quietly("calibration", () => loop({ concurrency: 64, ...dur, op: () => simpleGet(calClient, pair()) }));
    } else {
      results.notes.push("calibration worker not served (runtime miniflare): only /health measured");
    }
    for (const [k, v] of Object.entries(cal)) log(`[bench] calibration ${k}: ${v.tps} req/s, p99 ${v.latency.p99_ms} ms, workerd ${v.server_cpu_cores} cores`);
  }

  // ── Memory per idle socket, on a fresh workerd ────────────────────────────
  await runtime.stop();
  runtime = null;

  // ── Limits on/off: two fresh hubs, intraledger rounds alternating between them ──
  const limitsAb = (results.phases.limits_ab = {});
  if (opt["skip-limits-ab"]) limitsAb.skipped = "--skip-limits-ab";
  else if (cfg.runtime !== "workerd") limitsAb.skipped = "needs workerd (the runtime the bench configures)";
  else {
    Object.assign(limitsAb, await limitsAB({ hubBundle: join(BUILD, "hub/index.js"), jwk, dir: BUILD, ...cfg.limitsAb, log }));
    log(`[bench] limits on ${limitsAb.limits_on_tps}/s, off ${limitsAb.limits_off_tps}/s: on/off ${limitsAb.limits_ratio} (rounds ${limitsAb.ratios.join(" ")})`);
  }
  memory.socket_probe = await socketMemoryProbe({ jwk, dataDir: `${dataDir}-probe`, ...cfg.probe, log });
  memory.mb_per_1k_sockets = memory.socket_probe.mb_per_1k_sockets;
  log(`[bench] socket probe: ${memory.mb_per_1k_sockets} MB per 1,000 idle sockets (${memory.socket_probe.points.map((p) => `${p[0]}: ${p[1]} MB`).join(", ")})`);
  if (opt["skip-account-memory"]) memory.accounts_probe = { skipped: "--skip-account-memory" };
  else if (cfg.runtime !== "workerd") memory.accounts_probe = { skipped: "needs workerd (its inspector reads the heap)" };
  else {
    memory.accounts_probe = await probeAccountMemory({ jwk, sim: !!bundles.sim, dataDir: `${dataDir}-accounts`, ...cfg.accountMemory, log });
    const m = memory.accounts_probe;
    log(`[bench] account memory: ${m.heap_kb_per_warm_account} KB of JS heap and ${m.native_kb_per_warm_account} KB native per warm account; after ${m.idle_s} s idle ${m.heap_kb_per_account_after_idle} KB heap kept; ${m.anon_kb_per_rewarmed_account} KB anonymous RSS per account warmed after that`);
  }
  results.finished_at = new Date().toISOString();
  results.elapsed_s = round((Date.now() - started.getTime()) / 1000, 1);

  // ── Report ─────────────────────────────────────────────────────────────────
  // The clients' sizes (built after the load phases, so the build disturbs none of them).
  results.clients = await clientSizes();
  log(`[bench] clients: SDK bundle ${results.clients.sdk_bundle_kb_gzip} KB gzipped, web app first load ${results.clients.web_first_load_kb_gzip} KB of JavaScript gzipped`);
  const best = Object.values(intraledger).reduce((a, b) => (b.tps > (a?.tps ?? -1) ? b : a), null);
  const hotBest = (prefix) => Math.max(...Object.entries(hot).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v.tps));
  const summary = {
    mode: cfg.mode,
    storage: cfg.storage,
    intraledger_tps: best?.tps ?? null,
    intraledger_best_concurrency: best?.concurrency ?? null,
    intraledger_p99_ms: intraledger.c16?.latency.p99_ms ?? null,
    // p99 ÷ p50 of payments between random users at each level (issue 17: ≤ 5 at 256 clients).
    intraledger_p99_over_p50: Object.fromEntries(Object.entries(intraledger).map(([k, r]) => [k, r.p99_over_p50])),
    hot_account_tps: Math.min(hotBest("one_to_many"), hotBest("many_to_one")),
    hot_one_to_many_tps: hotBest("one_to_many"),
    hot_many_to_one_tps: hotBest("many_to_one"),
    ws_push_p99_ms: results.phases.websocket.push_after_response.p99_ms,
    ws_push_p50_ms: results.phases.websocket.push_after_response.p50_ms,
    invoice_tps: ln.create?.tps ?? null,
    sim_pay_tps: ln.sim_pay?.tps ?? null,
    rss_mb_per_1k_sockets: memory.mb_per_1k_sockets,
    rss_idle_mb: memory.idle_mb,
    rss_mb_per_1k_accounts: memory.mb_per_1k_accounts,
    heap_kb_per_warm_account: memory.accounts_probe?.heap_kb_per_warm_account ?? null,
    native_kb_per_warm_account: memory.accounts_probe?.native_kb_per_warm_account ?? null,
    heap_kb_per_account_after_idle: memory.accounts_probe?.heap_kb_per_account_after_idle ?? null,
    anon_kb_per_rewarmed_account: memory.accounts_probe?.anon_kb_per_rewarmed_account ?? null,
    errors:
      [...Object.values(intraledger), ...Object.values(hot), results.phases.websocket.payments, ln.create, ln.sim_pay,
        ...chatRuns(chat).map((x) => x.messages), ...Object.values(chat.pay ?? {}), chat.intraledger_adjacent, lnurl.callback, operations.claims,
        ...webhookRuns(webhooks).map((x) => x.payments)]
        .filter(Boolean)
        .reduce((s, r) => s + r.error_count, 0) + (webhooks.signatures?.failed ?? 0) + (webhooks.misrouted ?? 0) + (limitsAb.on?.errors ?? 0) + (limitsAb.off?.errors ?? 0),
    chat_msg_p99_ms: chat.direct?.open?.fan_out.p99_ms ?? null,
    chat_msg_p50_ms: chat.direct?.open?.fan_out.p50_ms ?? null,
    chat_msg_rate: chat.direct?.open?.messages.rate ?? null,
    chat_msg_c16_p99_ms: chat.direct?.[`c${cfg.chat.directLevels[0]}`]?.fan_out.p99_ms ?? null,
    chat_group50_p99_ms: chat.group?.[`c${cfg.chat.groupLevels[0]}`]?.fan_out.p99_ms ?? null,
    chat_group50_p50_ms: chat.group?.[`c${cfg.chat.groupLevels[0]}`]?.fan_out.p50_ms ?? null,
    chat_pay_tps: chat.pay ? Math.max(...Object.values(chat.pay).map((r) => r.tps)) : null,
    chat_pay_p99_ms: chat.pay?.c16?.latency.p99_ms ?? null,
    lnurl_tps: lnurl.callback?.tps ?? null,
    lnurl_p99_ms: lnurl.callback?.latency.p99_ms ?? null,
    reward_claim_tps: operations.claims?.tps ?? null,
    reward_claim_p99_ms: operations.claims?.latency.p99_ms ?? null,
    solvency_p50_ms: operations.solvency?.p50_ms ?? null,
    metrics_scrape_p50_ms: operations.metrics?.p50_ms ?? null,
    webhook_endpoints: webhooks.endpoints ?? null,
    webhook_tps: webhooks[`c${cfg.webhooks.levels[0]}`]?.deliveries_per_s ?? null,
    webhook_p99_ms: webhooks.open?.commit_to_receiver.p99_ms ?? null,
    webhook_p50_ms: webhooks.open?.commit_to_receiver.p50_ms ?? null,
    webhook_rate: webhooks.open?.payments.rate ?? null,
    webhook_c16_p99_ms: webhooks[`c${cfg.webhooks.levels[0]}`]?.commit_to_receiver.p99_ms ?? null,
    webhook_signature_failures: webhooks.signatures?.failed ?? null,
    limits_on_tps: limitsAb.limits_on_tps ?? null,
    limits_off_tps: limitsAb.limits_off_tps ?? null,
    limits_ratio: limitsAb.limits_ratio ?? null,
    events_missing: results.phases.websocket.events_missing + chatRuns(chat).reduce((n, x) => n + x.events_missing, 0) + (webhooks.events_missing ?? 0),
    // Event sockets the hub closed under the bench (e.g. 4001, an expired token): their frames count as missing.
    sockets_closed_by_hub: hub.socketsClosedByHub.length,
    sdk_bundle_kb_gzip: results.clients.sdk_bundle_kb_gzip,
    web_first_load_kb_gzip: results.clients.web_first_load_kb_gzip,
  };
  results.summary = summary;
  if (hub.socketsClosedByHub.length) results.sockets_closed_by_hub = hub.socketsClosedByHub.slice(0, 20);
  const disturbed = allLoads(results.phases).filter(([, r]) => (r.other_cpu_cores ?? 0) > 0.25);
  if (disturbed.length) {
    results.notes.push(
      `other processes used CPU during ${disturbed.map(([k, r]) => `${k} (${r.other_cpu_cores} cores)`).join(", ")}: those figures are disturbed`,
    );
  }
  results.targets = targets(summary);
  printTable(results);

  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  const file = join(ROOT, "bench/results", `${started.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}${quick ? "-quick" : ""}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 2) + "\n");
  renameSync(`${file}.tmp`, file);
  console.log(`\nresults: ${file.slice(ROOT.length + 1)}`);
  console.log(JSON.stringify(summary));
  // A smoke check asserts no timing, only that the hub answered every request and delivered every event
  // (on sockets and to webhook endpoints, each delivery signed).
  if (summary.errors || summary.events_missing) {
    log(`[bench] FAILED: ${summary.errors} requests failed or deliveries unsigned, ${summary.events_missing} events missing (live events, chat frames, webhook deliveries)`);
    process.exitCode = 1;
  }
}

/**
 * Chat, after the other phases (its Durable Objects then blur none of the memory figures above):
 * 1. text messages between direct pairs, both members' sockets open: from sending the message to the
 *    moment the last member's socket has its `chat.message` frame (matched by the message's unique text),
 *    at closed-loop levels (throughput), then arriving at random at half of the first level's rate (the
 *    latency figure, decision 0017);
 * 2. the same in a group of 50, every member's socket open, a bounded number of messages;
 * 3. payment messages between random pairs of direct conversations, at the intraledger phase's concurrency.
 * A request that fails setting up throws (the run fails); a failure under load is an error, a frame
 * that never came is `events_missing`.
 */
async function chatPhases({ hub, accounts, intraledger, chat, quietly, loop, open }) {
  const c = cfg.chat;
  const must = (r, what) => {
    if (!r.ok) throw new Error(`${what} → ${r.status} ${String(r.detail).slice(0, 200)}`);
    return r;
  };
  const pick = (list) => list[(Math.random() * list.length) | 0];
  await hub.refreshTokensIfOld();

  // Conversations first, then each member's log caught up, then the sockets: nothing old is replayed.
  let t = performance.now();
  const pairs = (await pool(c.pairs, 16, (k) => hub.createConversation(accounts[2 + 2 * k], [accounts[3 + 2 * k]]))).map((r, k) => ({
    id: must(r, "POST /v1/conversations (direct)").conversation_id,
    members: [accounts[2 + 2 * k], accounts[3 + 2 * k]],
  }));
  const groupMembers = accounts.slice(2, 2 + c.groupSize);
  const g = must(await hub.createConversation(groupMembers[0], groupMembers.slice(1), "bench group"), "POST /v1/conversations (group)");
  if (g.kind !== "group" || g.members.length !== groupMembers.length) throw new Error(`the group has ${g.members.length} members (${g.kind}), not ${groupMembers.length}`);
  const group = { id: g.conversation_id, members: groupMembers };
  const members = [...new Set([...pairs.flatMap((p) => p.members), ...groupMembers])];
  await pool(members.length, 16, (i) => hub.catchUpEvents(members[i]));
  chat.setup_s = round((performance.now() - t) / 1000, 2);

  // text → { tSend, tResp, expected (members), got (account indices), tAll (the last member's frame) }
  const sent = new Map();
  let duplicates = 0;
  const onMessage = (account, text, tArrive) => {
    const m = /"type":"chat\.message".*?"text":"(c[dg]:[0-9]+)"/.exec(text);
    const e = m && sent.get(m[1]);
    if (!e) return;
    if (e.got.has(account.index)) {
      duplicates++;
      return;
    }
    e.got.add(account.index);
    if (e.got.size === e.expected) e.tAll = tArrive;
  };
  t = performance.now();
  // Tokens with nearly their whole life ahead: a socket closes when its token expires (the phase lasts minutes with retries).
  await hub.refreshTokensIfOld(60_000);
  const opened = await pool(members.length, 32, (i) => hub.openStream(members[i], onMessage));
  sockets.push(...opened);
  chat.sockets = opened.length;
  chat.connect_s = round((performance.now() - t) / 1000, 2);
  log(`[bench] chat: ${pairs.length} direct pairs and a group of ${group.members.length} in ${chat.setup_s} s; ${opened.length} sockets open in ${chat.connect_s} s`);

  let seq = 0;
  let counted = [];
  /** Sends one text message, counted if `inWindow` says so once it is answered. */
  const send = async (prefix, conv, sender, inWindow) => {
    const text = `${prefix}:${seq++}`;
    const e = { tSend: performance.now(), tResp: 0, expected: conv.members.length, got: new Set(), tAll: undefined };
    sent.set(text, e);
    const r = await hub.postMessage(sender, conv.id, text);
    e.tResp = performance.now();
    if (r.ok && inWindow(e)) counted.push(e);
    return r;
  };
  /** After a short wait for stragglers: fan-out latencies of the counted messages, and frames that never came. */
  const evaluate = async () => {
    await sleep(1000);
    const fanOut = [];
    let missing = 0;
    let complete = 0;
    for (const e of counted) {
      if (e.tAll === undefined) {
        missing += e.expected - e.got.size;
        continue;
      }
      fanOut.push(e.tAll - e.tSend);
      if (e.tAll <= e.tResp) complete++;
    }
    return { messages_matched: fanOut.length, events_missing: missing, frames_before_response: complete, fan_out: summarize(fanOut) };
  };
  const split = ({ fan, ...messages }) => ({ messages, ...fan });

  // 1. Direct pairs: random pair, random sender, warm-up then the measured window, at each level.
  chat.direct = { pairs: pairs.length };
  for (const conc of c.directLevels) {
    const r = await quietly(`chat direct c=${conc}`, async () => {
      sent.clear();
      counted = [];
      const from = performance.now() + ms(cfg.warmupS);
      const to = from + ms(cfg.durationS);
      const r = await loop({
        concurrency: conc,
        warmupMs: ms(cfg.warmupS),
        durationMs: ms(cfg.durationS),
        op: () => {
          const p = pick(pairs);
          return send("cd", p, pick(p.members), (e) => e.tSend >= from && e.tResp <= to);
        },
      });
      r.fan = await evaluate();
      return r;
    });
    const x = (chat.direct[`c${conc}`] = split(r));
    log(`[bench] chat direct c=${conc}: ${r.tps}/s, HTTP p99 ${r.latency.p99_ms} ms; fan-out p50 ${x.fan_out.p50_ms} / p99 ${x.fan_out.p99_ms} ms, ${x.events_missing} frames missing, errors ${r.error_count}`);
  }

  // 1b. The latency figure: messages arriving at random (open loop) at half the rate the first level
  //     sustained, so the fan-out is timed at a load the hub carries, not in its own queue.
  const capacity = chat.direct[`c${c.directLevels[0]}`]?.messages.tps;
  if (capacity) {
    const rate = round(capacity * c.openLoopShare, 1);
    const r = await quietly(`chat direct open loop ${rate}/s`, async () => {
      sent.clear();
      counted = [];
      const from = performance.now() + ms(cfg.warmupS);
      const to = from + ms(cfg.durationS);
      const r = await open({
        rate,
        warmupMs: ms(cfg.warmupS),
        durationMs: ms(cfg.durationS),
        op: () => {
          const p = pick(pairs);
          return send("cd", p, pick(p.members), (e) => e.tSend >= from && e.tSend < to);
        },
      });
      r.fan = await evaluate();
      return r;
    });
    const x = (chat.direct.open = split(r));
    log(`[bench] chat direct open loop at ${rate}/s (${c.openLoopShare} × ${capacity}/s): ${r.tps}/s, HTTP p99 ${r.latency.p99_ms} ms, at most ${r.max_in_flight} in flight; fan-out p50 ${x.fan_out.p50_ms} / p99 ${x.fan_out.p99_ms} ms, ${x.events_missing} frames missing, errors ${r.error_count}`);
  }

  // 2. The group: a bounded number of messages from random members, after a few unmeasured ones, at each level.
  for (const r of await pool(c.groupWarmupMessages, 1, () => send("cg", group, pick(group.members), () => false))) must(r, "group warm-up message");
  chat.group = { members: group.members.length, messages_per_level: c.groupMessages };
  for (const conc of c.groupLevels) {
    const r = await quietly(`chat group c=${conc}`, async () => {
      sent.clear();
      counted = [];
      let left = c.groupMessages;
      const r = await loop({
        concurrency: conc,
        warmupMs: 0,
        durationMs: 600_000, // the count ends it
        op: () => (left-- > 0 ? send("cg", group, pick(group.members), () => true) : { done: true }),
      });
      r.fan = await evaluate();
      return r;
    });
    const x = (chat.group[`c${conc}`] = split(r));
    log(`[bench] chat group of ${group.members.length} c=${conc}: ${r.ok} messages, ${r.tps}/s, HTTP p99 ${r.latency.p99_ms} ms; fan-out p50 ${x.fan_out.p50_ms} / p99 ${x.fan_out.p99_ms} ms, ${x.events_missing} frames missing, errors ${r.error_count}`);
  }
  chat.duplicate_frames = duplicates;
  for (const ws of opened) ws.close();
  sockets.length = 0;

  // 3. Payment messages: one direct conversation per account with a random other one (a pair drawn
  //    twice is the same conversation), each woken by one payment, then random conversation, random
  //    direction, as the intraledger phase pays random pairs.
  await hub.refreshTokensIfOld();
  t = performance.now();
  const convs = new Map();
  const made = await pool(accounts.length, 16, async (i) => {
    const other = hub.randomAccount(i);
    return { a: accounts[i], b: other, r: await hub.createConversation(accounts[i], [other]) };
  });
  for (const { a, b, r } of made) convs.set(must(r, "POST /v1/conversations (direct)").conversation_id, { id: r.conversation_id, members: [a, b] });
  const list = [...convs.values()];
  const warm = await pool(list.length, 32, (k) => hub.payInConversation(list[k].members[0], list[k].id));
  const failed = warm.filter((r) => !r.ok);
  if (failed.length) throw new Error(`chat warm-up payments failed: ${failed.length}, first ${failed[0].status} ${String(failed[0].detail).slice(0, 200)}`);
  chat.pay_conversations = list.length;
  chat.pay_setup_s = round((performance.now() - t) / 1000, 1);
  log(`[bench] chat payments: ${list.length} direct conversations created and each paid once in ${chat.pay_setup_s} s`);
  const best = Object.values(intraledger).reduce((a, b) => (b.tps > (a?.tps ?? -1) ? b : a), null);
  const levels = [...new Set([16, best?.concurrency ?? 16])].sort((x, y) => x - y);
  const base = { warmupMs: ms(cfg.warmupS), durationMs: ms(cfg.durationS) };
  // The intraledger load again, right before: the VM drifts ±15–20 % in a minute, so this ratio is the fairer one.
  chat.intraledger_adjacent = await quietly("intraledger (adjacent)", () => loop({ ...base, concurrency: best?.concurrency ?? 16, op: () => hub.payRandomPair({ by: cfg.to }) }));
  chat.pay = {};
  for (const conc of levels) {
    await hub.refreshTokensIfOld();
    const r = await quietly(`chat pay c=${conc}`, () =>
      loop({
        ...base,
        concurrency: conc,
        op: () => {
          const cv = pick(list);
          return hub.payInConversation(pick(cv.members), cv.id);
        },
      }),
    );
    chat.pay[`c${conc}`] = r;
    log(`[bench] chat pay c=${conc}: ${r.tps}/s p50 ${r.latency.p50_ms} p99 ${r.latency.p99_ms} ms, errors ${r.error_count}, pending ${r.pending}, workerd ${r.server_cpu_cores} cores (intraledger right before, c=${chat.intraledger_adjacent.concurrency}: ${chat.intraledger_adjacent.tps}/s)`);
  }
}

/**
 * Webhooks (issue 11), after the other phases (once an account has an endpoint, every event of its
 * wallet feeds its webhook actor, which would change the figures above):
 * 1. a local receiver (lib/receiver.mjs) and one endpoint per account for accounts 0…N-1 (`events: ["*"]`),
 *    then each of those accounts pays the next once (wakes every wallet and webhook actor; deliveries
 *    drained before measuring);
 * 2. random payments among those accounts, each with a unique memo, at 16 clients (the live events
 *    phase's load; then 1, the unloaded floor), warm-up then the measured window. Each payment is three events, each one delivery:
 *    the payer's `transfer.sent` and `transfer.delivered`, the payee's `transfer.received`;
 * 3. once the load stops, the deliveries of the payments measured are awaited (at most `graceS`).
 * Measured: deliveries per second arriving at the receiver during the window (`deliveries_per_s`), and
 * from each event's commit (its `timestamp`: the event's `created_at`, ms) to its arrival (same machine
 * clock). Every delivery is verified with `standardwebhooks` (a failure is an error); a delivery of a
 * measured payment that never came is `events_missing`, one at the wrong endpoint `misrouted` (an error).
 */
/**
 * The operator's capabilities (issue 14), measured as the payments are:
 * 1. reward claims at 16 clients: programs of 1 sat per claim, each with a budget for every account;
 *    claim n goes to program ⌊n / accounts⌋ by account n mod accounts, so the clients claim the same
 *    program at once (its budget lives in one actor: a popular promotion's case);
 * 2. GET /v1/admin/solvency and GET /metrics, one at a time (each reads every shard).
 */
async function operationsPhase({ hub, accounts, operations, quietly, loop }) {
  const n = accounts.length;
  const programs = [];
  // Enough claims for the window at up to 2,000 claims/s.
  const count = Math.min(200, Math.ceil(((cfg.warmupS + cfg.durationS) * 2000) / n) + 1);
  for (let p = 0; p < count; p++) {
    const made = await hub.createRewardProgram(BENCH_ADMIN_KEY, `bench ${p}`, 1, n);
    if (!made.ok) {
      operations.skipped = `POST /v1/admin/rewards answered ${made.status}: ${String(made.detail).slice(0, 200)}`;
      return;
    }
    programs.push(made.program_id);
  }
  let next = 0;
  operations.claims = await quietly("reward claims", () =>
    loop({
      concurrency: 16,
      warmupMs: ms(cfg.warmupS),
      durationMs: ms(cfg.durationS),
      op: () => {
        const j = next++;
        if (j >= programs.length * n) return Promise.resolve({ ok: false, status: "no claim left (more programs needed)" });
        return hub.claimReward(accounts[j % n], programs[Math.floor(j / n)]);
      },
    }),
  );
  operations.programs = programs.length;
  for (const [name, path] of [["solvency", "/v1/admin/solvency"], ["metrics", "/metrics"]]) {
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const r = await hub.adminGet(BENCH_ADMIN_KEY, path);
      if (!r.ok) throw new Error(`GET ${path} → ${r.status} ${String(r.detail).slice(0, 200)}`);
      times.push(performance.now() - t);
    }
    operations[name] = summarize(times);
  }
  log(
    `[bench] operations: reward claims ${operations.claims.tps}/s p50 ${operations.claims.latency.p50_ms} p99 ${operations.claims.latency.p99_ms} ms (errors ${operations.claims.error_count}); ` +
      `solvency p50 ${operations.solvency.p50_ms} ms, /metrics p50 ${operations.metrics.p50_ms} ms`,
  );
}

async function webhookPhase({ hub, webhooks, quietly, loop, open, cpu }) {
  const w = cfg.webhooks;
  if (hub.accounts.length < w.endpoints) {
    const more = w.endpoints - hub.accounts.length;
    const t0 = performance.now();
    await hub.createAccounts(more);
    webhooks.accounts_created = more;
    log(`[bench] webhooks: ${more} more accounts created in ${round((performance.now() - t0) / 1000, 1)} s`);
  }
  await hub.refreshTokensIfOld();
  const members = hub.accounts.slice(0, w.endpoints);
  const n = members.length;

  // Arrivals of the bench's own payments' events: `${memo} ${type}` → delivery (the first one).
  const arrivals = new Map();
  const seen = new Set();
  let duplicates = 0;
  let unmatched = 0;
  receiver = await startReceiver({
    onDelivery: (d) => {
      const once = `${d.path} ${d.id}`;
      if (seen.has(once)) {
        duplicates++;
        return;
      }
      seen.add(once);
      let body;
      try {
        body = JSON.parse(d.body);
      } catch {
        unmatched++;
        return;
      }
      const memo = body?.data?.transaction?.memo;
      if (typeof memo !== "string" || !memo.startsWith("wh:")) {
        unmatched++;
        return;
      }
      d.type = body.type;
      d.commit = Date.parse(body.timestamp);
      arrivals.set(`${memo} ${body.type}`, d);
    },
  });
  webhooks.receiver = receiver.url;
  const path = (i) => `/hooks/${i}`;

  let t = performance.now();
  const secrets = new Map(); // path → whsec_…
  const created = await pool(n, 16, (i) => hub.createWebhook(members[i], `${receiver.url}${path(i)}`, ["*"]));
  created.forEach((r, i) => {
    if (!r.ok) throw new Error(`POST /v1/webhooks → ${r.status} ${String(r.detail).slice(0, 200)}`);
    secrets.set(path(i), r.secret);
  });
  webhooks.endpoints = n;
  webhooks.setup_s = round((performance.now() - t) / 1000, 1);

  const signatures = (webhooks.signatures = { checked: 0, failed: 0, samples: [] });
  const verifyReceived = () => {
    if (!standardWebhooks()) return;
    const v = verifyDeliveries(receiver.deliveries, (d) => secrets.get(d.path));
    signatures.checked += v.checked;
    signatures.failed += v.failed;
    signatures.samples.push(...v.samples.slice(0, 5 - signatures.samples.length));
  };
  if (!standardWebhooks()) results.notes.push("the standardwebhooks package is not installed: webhook signatures were not verified");
  const waitFor = async (done, seconds) => {
    const t0 = performance.now();
    while (!done() && performance.now() - t0 < seconds * 1000) await sleep(100);
    return round((performance.now() - t0) / 1000, 2);
  };

  // Every member pays the next once: wallets and webhook actors awake, connections to the receiver open.
  t = performance.now();
  const ring = await pool(n, 16, (i) => hub.pay(members[i], members[(i + 1) % n], { by: cfg.to, memo: `wr:${i}` }));
  const ringFailed = ring.filter((r) => !r.ok);
  if (ringFailed.length) throw new Error(`webhook warm-up payments failed: ${ringFailed.length}, first ${ringFailed[0].status} ${String(ringFailed[0].detail).slice(0, 200)}`);
  await waitFor(() => receiver.deliveries.length >= 3 * n, w.graceS);
  webhooks.warmup = { payments: n, deliveries: receiver.deliveries.length, seconds: round((performance.now() - t) / 1000, 1) };
  verifyReceived();
  log(`[bench] webhooks: ${n} endpoints on ${receiver.url} in ${webhooks.setup_s} s; warm-up ring: ${n} payments, ${webhooks.warmup.deliveries}/${3 * n} deliveries in ${webhooks.warmup.seconds} s`);

  let memoSeq = 0;
  const TYPES = ["transfer.sent", "transfer.received", "transfer.delivered"];
  /** One measured window at `concurrency` paying clients (or payments arriving at `rate` per second), then the wait for its deliveries. */
  const measure = async ({ concurrency, rate }) => {
    receiver.reset();
    arrivals.clear();
    const measured = [];
    const windowFrom = performance.now() + ms(cfg.warmupS);
    const windowTo = windowFrom + ms(cfg.durationS);
    const load = await (rate ? open : loop)({
      ...(rate ? { rate } : { concurrency }),
      warmupMs: ms(cfg.warmupS),
      durationMs: ms(cfg.durationS),
      op: async () => {
        const to = hub.randomAccount(-1, n);
        const from = hub.randomAccount(to.index, n);
        const memo = `wh:${memoSeq++}`;
        const tSend = performance.now();
        const res = await hub.pay(from, to, { memo, by: cfg.to });
        // Closed loop: sent and answered in the window; open loop: sent in it (answers may come after).
        if (res.ok && tSend >= windowFrom && (rate ? tSend < windowTo : performance.now() <= windowTo)) measured.push({ memo, from: from.index, to: to.index });
        return res;
      },
    });
    // Each measured payment: which delivery should arrive where.
    const expected = measured.flatMap((p) => [
      [`${p.memo} transfer.sent`, path(p.from)],
      [`${p.memo} transfer.delivered`, path(p.from)],
      [`${p.memo} transfer.received`, path(p.to)],
    ]);
    const loadEnd = performance.now();
    const cpuAtEnd = cpu();
    const drainS = await waitFor(() => expected.every(([k]) => arrivals.has(k)), w.graceS);
    await sleep(500); // late duplicates, and the deliveries of the payments answered after the window
    // What was still on its way when the load stopped, delivered with the thread to itself.
    const after = receiver.deliveries.filter((d) => d.t > loadEnd);
    const lastT = after.reduce((m, d) => Math.max(m, d.t), loadEnd);
    const afterLoad = {
      deliveries: after.length,
      seconds: round((lastT - loadEnd) / 1000, 3),
      per_s: after.length && lastT > loadEnd ? round(after.length / ((lastT - loadEnd) / 1000), 1) : null,
      // workerd's CPU from the end of the load until 0.5 s after the last delivery (it idles otherwise).
      // (Only from 100 deliveries on: fewer would mostly measure whatever else ran meanwhile.)
      workerd_cpu_ms_per_delivery: after.length >= 100 ? round(((cpu() - cpuAtEnd) * 1000) / after.length, 3) : null,
    };
    const inWindow = receiver.deliveries.filter((d) => d.t >= windowFrom && d.t <= windowTo).length;
    const latency = [];
    const byType = Object.fromEntries(TYPES.map((x) => [x, []]));
    let missing = 0;
    let misrouted = 0;
    for (const [k, where] of expected) {
      const d = arrivals.get(k);
      if (!d) {
        missing++;
        continue;
      }
      if (d.path !== where) misrouted++;
      const x = d.at - d.commit;
      latency.push(x);
      byType[d.type]?.push(x);
    }
    verifyReceived();
    return {
      payments: load,
      payments_measured: measured.length,
      deliveries_expected: expected.length,
      deliveries_received: receiver.deliveries.length,
      deliveries_in_window: inWindow,
      // Deliveries arriving at the receiver per second of the measured window (any payment's).
      deliveries_per_s: round(inWindow / (ms(cfg.durationS) / 1000), 1),
      // Events the payments made per second (three per payment): what the deliveries had to keep up with.
      events_per_s: round(3 * load.tps, 1),
      commit_to_receiver: summarize(latency),
      by_type: Object.fromEntries(TYPES.map((x) => [x, summarize(byType[x])])),
      events_missing: missing,
      misrouted,
      // From the end of the load until the last delivery of a measured payment arrived (at most grace_s).
      drain_s: drainS,
      grace_s: w.graceS,
      after_load: afterLoad,
    };
  };

  webhooks.levels = w.levels;
  webhooks.events_missing = 0;
  webhooks.misrouted = 0;
  // The closed-loop levels (what the deliveries keep up with), then the latency figure: payments arriving
  // at random (open loop) at half the rate the first level's deliveries kept up with (decision 0017).
  const runs = w.levels.map((conc) => ({ name: `c${conc}`, how: { concurrency: conc }, what: `${conc} paying clients` }));
  runs.splice(1, 0, { name: "open", how: null, what: "open loop" });
  for (const run of runs) {
    if (!run.how) {
      const first = webhooks[runs[0].name];
      const rate = round((first.deliveries_per_s / 3) * w.openLoopShare, 1);
      if (!(rate > 0)) continue;
      run.how = { rate };
      run.what = `payments arriving at ${rate}/s (${w.openLoopShare} × ${first.deliveries_per_s} deliveries/s ÷ 3)`;
    }
    // quietly() judges the payments' window; every attempt's missing and misrouted deliveries count.
    const x = await quietly(`webhooks ${run.name}`, async () => {
      const m = await measure(run.how);
      webhooks.events_missing += m.events_missing;
      webhooks.misrouted += m.misrouted;
      return Object.assign(m.payments, { wh: m });
    });
    const { wh, ...payments } = x;
    const level = (webhooks[run.name] = { ...wh, payments });
    log(
      `[bench] webhooks (${n} endpoints, ${run.what}): payments ${payments.tps}/s (p99 ${payments.latency.p99_ms} ms, workerd ${payments.server_cpu_cores} cores), ` +
        `deliveries ${level.deliveries_per_s}/s (events made ${level.events_per_s}/s); commit → receiver p50 ${level.commit_to_receiver.p50_ms} / p99 ${level.commit_to_receiver.p99_ms} ms; ` +
        `${level.events_missing} missing, ${level.misrouted} misrouted, last delivery ${level.drain_s} s after the load; ` +
        `after the load ${level.after_load.deliveries} deliveries in ${level.after_load.seconds} s (workerd ${level.after_load.workerd_cpu_ms_per_delivery} ms CPU each)`,
    );
  }
  webhooks.duplicates = duplicates;
  webhooks.unmatched_deliveries = unmatched;
  log(`[bench] webhooks: signatures ${signatures.checked - signatures.failed}/${signatures.checked} valid, ${duplicates} duplicate deliveries`);
}

/**
 * Lets the hub's outbound fetch reach loopback addresses (the webhook receiver): workerd's default
 * "internet" service allows public addresses only, and a service of that name in the config replaces it.
 */
function allowLoopbackOutbound(configPath) {
  const text = readFileSync(configPath, "utf8");
  const patched = text.replace(/services = \[\n/, (m) => `${m}    (name = "internet", network = (allow = ["public", "local"])),\n`);
  if (patched === text) throw new Error(`no services list in ${configPath}`);
  writeFileSync(configPath, patched);
}

/** Every measured level of the webhook phase. */
function webhookRuns(webhooks) {
  return Object.entries(webhooks ?? {}).filter(([k]) => /^c\d+$|^open$/.test(k)).map(([, v]) => v);
}

/** Every measured run of chat text messages (direct and group, each level). */
function chatRuns(chat) {
  const levels = (o) => Object.entries(o ?? {}).filter(([k]) => /^c\d+$/.test(k)).map(([, v]) => v);
  return [...levels(chat.direct), ...(chat.direct?.open ? [chat.direct.open] : []), ...levels(chat.group)];
}

async function simpleGet(c, path) {
  const r = await c.request("GET", path);
  return { ok: r.status === 200, status: r.status, detail: r.text };
}

/** Every closed-loop result in the phases, as [name, result]. */
function allLoads(phases, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(phases)) {
    if (v && typeof v === "object" && "tps" in v && "latency" in v) out.push([`${prefix}${k}`, v]);
    else if (v && typeof v === "object") out.push(...allLoads(v, `${prefix}${k}.`));
  }
  return out;
}

function sleep(msec) {
  return new Promise((resolve) => setTimeout(resolve, msec));
}

function targets(s) {
  const check = (value, op, limit) => ({ value, target: `${op} ${limit}`, met: value === null || limit === null ? null : op === ">=" ? value >= limit : value <= limit });
  return {
    intraledger_tps: check(s.intraledger_tps, ">=", 1000),
    intraledger_p99_ms: check(s.intraledger_p99_ms, "<=", 50),
    hot_account_tps: check(s.hot_account_tps, ">=", 300),
    ws_push_p99_ms: check(s.ws_push_p99_ms, "<=", 25),
    rss_mb_per_1k_sockets: check(s.rss_mb_per_1k_sockets, "<=", 50),
    // Issue 17: a warm wallet's JS heap (an account wakes its wallet, account and username objects: all three counted).
    heap_kb_per_warm_account: check(s.heap_kb_per_warm_account, "<=", 150),
    intraledger_c256_p99_over_p50: check(s.intraledger_p99_over_p50?.c256 ?? null, "<=", 5),
    // Latency targets are judged at an offered load the hub carries (open loop at half its rate; decision 0017).
    chat_msg_p99_ms: check(s.chat_msg_p99_ms, "<=", 25),
    chat_group50_p99_ms: check(s.chat_group50_p99_ms, "<=", 100),
    // Stated for 1,000 endpoints: a run with fewer (--quick: 50) reports the figure without judging it.
    webhook_p99_ms:
      s.webhook_endpoints !== null && s.webhook_endpoints < cfg.webhooks.targetEndpoints
        ? { ...check(s.webhook_p99_ms, "<=", 250), met: null, target: `<= 250 with ${cfg.webhooks.targetEndpoints} endpoints (this run: ${s.webhook_endpoints}, not judged)` }
        : { ...check(s.webhook_p99_ms, "<=", 250), target: `<= 250 with ${cfg.webhooks.targetEndpoints} endpoints${s.webhook_endpoints === null ? "" : ` (this run: ${s.webhook_endpoints})`}` },
    // Relative to this run's intraledger figure (0.7 × intraledger_tps).
    // Issue 12: the payment figures with every limit on within 10 % of the same hubs with them off.
    limits_ratio: check(s.limits_ratio, ">=", 0.9),
    chat_pay_tps: {
      ...check(s.chat_pay_tps, ">=", s.intraledger_tps === null ? null : round(0.7 * s.intraledger_tps, 1)),
      target: `>= 0.7 × intraledger_tps${s.intraledger_tps === null ? "" : ` = ${round(0.7 * s.intraledger_tps, 1)}`}`,
    },
  };
}

function machineInfo() {
  let commit = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim();
    if (dirty) commit += "+dirty";
  } catch {}
  return {
    cores: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? "unknown",
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    workerd: workerdVersion(),
    http_client: clientKind,
    git: commit,
  };
}

function printTable(r) {
  const rows = [];
  const add = (phase, x, extra = "") =>
    rows.push([phase, x.concurrency ?? "", x.tps ?? "", x.latency?.p50_ms ?? "", x.latency?.p95_ms ?? "", x.latency?.p99_ms ?? "", x.error_count ?? "", x.server_cpu_cores ?? "", x.tps ? round((x.server_cpu_cores / x.tps) * 1000, 3) : "", x.other_cpu_cores ?? "", extra]);
  for (const [k, v] of Object.entries(r.phases.calibration ?? {})) add(`calibration ${k.replace(/_c\d+$/, "")}`, v);
  for (const [, v] of Object.entries(r.phases.intraledger)) add("intraledger (random pairs)", v, [v.p99_over_p50 != null ? `p99/p50 ${v.p99_over_p50}` : "", v.pending ? `${v.pending} pending` : ""].filter(Boolean).join(", "));
  for (const [k, v] of Object.entries(r.phases.hot_account)) add(`hot ${k.replace(/_c\d+$/, "").replace(/_/g, " ")}`, v, v.pending ? `${v.pending} pending` : "");
  const ws = r.phases.websocket;
  add(`payments with ${ws.sockets} sockets`, ws.payments);
  if (r.phases.lightning.create) add("invoice create", r.phases.lightning.create);
  if (r.phases.lightning.sim_pay) add("sim pay (outside → hub)", r.phases.lightning.sim_pay);
  const chat = r.phases.chat ?? {};
  const fan = (x) => `fan-out p50 ${x.fan_out.p50_ms} / p99 ${x.fan_out.p99_ms} ms${x.events_missing ? `, ${x.events_missing} missing` : ""}`;
  for (const [k, v] of Object.entries(chat.direct ?? {})) if (/^c\d+$/.test(k)) add(`chat text, ${chat.direct.pairs} direct pairs`, v.messages, fan(v));
  if (chat.direct?.open) add(`chat text, ${chat.direct.pairs} direct pairs, open loop at ${chat.direct.open.messages.rate}/s`, chat.direct.open.messages, fan(chat.direct.open));
  for (const [k, v] of Object.entries(chat.group ?? {})) if (/^c\d+$/.test(k)) add(`chat text, group of ${chat.group.members}`, v.messages, fan(v));
  for (const [, v] of Object.entries(chat.pay ?? {})) add("chat payments (random direct)", v, v.pending ? `${v.pending} pending` : "");
  if (chat.intraledger_adjacent) add("intraledger (right before chat pay)", chat.intraledger_adjacent);
  const lnurl = r.phases.lnurl ?? {};
  if (lnurl.callback) add(`LNURL callback (${lnurl.accounts} users)`, lnurl.callback);
  const operations = r.phases.operations ?? {};
  if (operations.claims) add(`reward claims (${operations.programs} programs, one at a time by 16 clients)`, operations.claims);
  const wh = r.phases.webhooks ?? {};
  for (const x of webhookRuns(wh)) add(`payments, ${wh.endpoints} webhook endpoints`, x.payments, `${x.deliveries_per_s} deliveries/s, commit → receiver p50 ${x.commit_to_receiver.p50_ms} / p99 ${x.commit_to_receiver.p99_ms} ms`);
  const head = ["phase", "conc", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "workerd cores", "cpu ms/req", "other cores", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
  const m = r.machine;
  console.log(`\nFlash Hub bench (${r.config.mode}) ${r.started_at}: ${m.cores} cores, node ${m.node}, workerd ${m.workerd}, ${r.runtime.kind}, storage ${r.config.storage}, ${r.config.accounts} accounts, pay to ${r.config.to}\n`);
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nlive events (${ws.sockets} sockets, ${ws.payments.concurrency} paying clients): after the HTTP response p50 ${ws.push_after_response.p50_ms} / p99 ${ws.push_after_response.p99_ms} ms; ` +
      `after the request p50 ${ws.push_after_request.p50_ms} / p99 ${ws.push_after_request.p99_ms} ms; ${ws.events_before_response}/${ws.events_matched} frames before the response, ${ws.events_missing} missing`,
  );
  const mem = r.memory;
  console.log(
    `memory (workerd RSS): idle ${mem.idle_mb} MB; ${r.config.accounts} accounts touched ${mem.after_accounts_mb} MB (+${mem.mb_per_1k_accounts} MB per 1,000 accounts; ${mem.before_sockets_mb} MB after ${r.config.evictWaitS} s idle); ` +
      `${ws.sockets} idle sockets ${mem.sockets_idle_mb} MB (${mem.sockets_connected_mb} MB right after connecting); end ${mem.end_mb} MB`,
  );
  const pr = mem.socket_probe;
  console.log(
    `socket memory (fresh workerd, ${pr.accounts} accounts): ${pr.points.map((p) => `${p[0]} sockets ${p[1]} MB`).join(", ")} → ${pr.mb_per_1k_sockets} MB per 1,000 idle sockets ` +
      `(in the main run: ${mem.mb_per_1k_sockets_in_run} MB per 1,000, hidden by memory the process already held)`,
  );
  if (chat.direct) {
    const line = (name, x) =>
      `${name}, ${x.messages.concurrency} clients: ${x.messages_matched} messages, send → last member's frame p50 ${x.fan_out.p50_ms} / p99 ${x.fan_out.p99_ms} ms (HTTP p99 ${x.messages.latency.p99_ms} ms), ` +
      `${x.events_missing} frames missing, ${x.frames_before_response}/${x.messages_matched} complete before the response`;
    for (const [k, v] of Object.entries(chat.direct)) if (/^c\d+$/.test(k)) console.log(line(`chat direct (${chat.direct.pairs} pairs)`, v));
    if (chat.direct.open) console.log(line(`chat direct (${chat.direct.pairs} pairs), open loop at ${chat.direct.open.messages.rate}/s`, chat.direct.open).replace(", null clients", ""));
    for (const [k, v] of Object.entries(chat.group ?? {})) if (/^c\d+$/.test(k)) console.log(line(`chat group (${chat.group.members} members)`, v));
    if (chat.pay) console.log(`chat payments: ${chat.pay_conversations} direct conversations; best ${Math.max(...Object.values(chat.pay).map((v) => v.tps))}/s; intraledger right before: ${chat.intraledger_adjacent?.tps ?? "n/a"}/s`);
  }
  if (chat.skipped) console.log(`chat: skipped (${chat.skipped})`);
  const lim = r.phases.limits_ab ?? {};
  if (lim.on) {
    console.log(
      `limits on/off (${lim.accounts} accounts each, ${lim.concurrency} clients, ${lim.rounds} × ${lim.seconds} s alternating): on ${lim.on.tps}/s (${lim.on.cpu_ms} ms CPU/payment, p99 ${lim.on.p99_ms} ms), ` +
        `off ${lim.off.tps}/s (${lim.off.cpu_ms} ms CPU/payment, p99 ${lim.off.p99_ms} ms); on/off per round ${lim.ratios.join(" ")}, median ${lim.limits_ratio} ` +
        `(over the ${lim.quiet_pairs} pairs no other process disturbed: ${lim.quiet_ratio ?? "none"})`,
    );
  } else if (lim.skipped) console.log(`limits on/off: skipped (${lim.skipped})`);
  for (const x of webhookRuns(wh)) {
    const t = x.by_type;
    console.log(
      `webhooks (${wh.endpoints} endpoints, ${x.payments.concurrency === null ? `payments arriving at ${x.payments.rate}/s` : `${x.payments.concurrency} paying clients`}, ${x.payments.tps} payments/s = ${x.events_per_s} events/s): ${x.deliveries_per_s} deliveries/s at the receiver; ` +
        `event commit → receiver p50 ${x.commit_to_receiver.p50_ms} / p95 ${x.commit_to_receiver.p95_ms} / p99 ${x.commit_to_receiver.p99_ms} ms over ${x.commit_to_receiver.n} deliveries ` +
        `(p99 sent ${t["transfer.sent"].p99_ms}, received ${t["transfer.received"].p99_ms}, delivered ${t["transfer.delivered"].p99_ms} ms); ` +
        `${x.events_missing} missing, ${x.misrouted} misrouted; last delivery ${x.drain_s} s after the load` +
        (x.after_load.workerd_cpu_ms_per_delivery !== null ? `; after the load ${x.after_load.deliveries} deliveries in ${x.after_load.seconds} s, workerd ${x.after_load.workerd_cpu_ms_per_delivery} ms CPU each` : ""),
    );
  }
  if (wh.signatures) console.log(`webhooks: signatures (standardwebhooks) ${wh.signatures.checked - wh.signatures.failed}/${wh.signatures.checked} valid, ${wh.duplicates} duplicate deliveries`);
  if (wh.skipped) console.log(`webhooks: skipped (${wh.skipped})`);
  if (lnurl.skipped) console.log(`lnurl: skipped (${lnurl.skipped})`);
  if (r.phases.lightning.skipped) console.log(`lightning: skipped (${r.phases.lightning.skipped})`);
  if (r.phases.lightning.sim_pay_skipped) console.log(`sim pay: skipped (${r.phases.lightning.sim_pay_skipped})`);
  console.log(`accounts: ${r.phases.accounts.count} in ${r.phases.accounts.seconds} s (${r.phases.accounts.per_second}/s)`);
  for (const n of r.notes) console.log(`note: ${n}`);
  console.log("\ntargets:");
  for (const [k, v] of Object.entries(r.targets)) console.log(`  ${k.padEnd(22)} ${String(v.value).padStart(8)}  (${v.target})  ${v.met === null ? "n/a" : v.met ? "met" : "MISSED"}`);
}
