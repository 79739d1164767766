#!/usr/bin/env node
// Where does a payment's time go? `node bench/profile.mjs [--to username|wallet] [--limits off]`
//
// 1. Anatomy (workerd --async-trace): sequential intraledger payments between a few accounts
//    (`--op chat-pay`: payment messages in direct conversations; `chat-text`: text messages in
//    direct conversations; `chat-group`: text messages in one group of all the accounts; `webhooks`:
//    intraledger payments between accounts that each have a webhook endpoint on a local receiver);
//    from the trace, per payment (or message): Durable Object calls by method, SQL statements by method, the
//    isolate's time in JavaScript turns (SQLite runs inside them), alarms.
// 2. CPU profile (V8 inspector): the hub's isolate sampled while `--concurrency` clients pay
//    random users (a chat `--op`: make its requests); self time by function and by source module, GC and idle shares.
// Both run on their own fresh workerd (`--limits off`: LIMITS=off, no rolling limits and no rate
// limits); results go to stdout and bench/.build/profile-*.json.
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { createReadStream, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, BUILD } from "./lib/build.mjs";
import { startWorkerd, cpuSeconds } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import { closedLoop, pool, round } from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";
import { hubInspector } from "./lib/inspector.mjs";
import { allowLoopbackOutbound, startReceiver } from "./lib/receiver.mjs";

const { values: opt } = parseArgs({
  options: {
    to: { type: "string", default: "username" },
    op: { type: "string", default: "intraledger" },
    "trace-seconds": { type: "string", default: "8" },
    "trace-accounts": { type: "string", default: "20" },
    "trace-concurrency": { type: "string", default: "1" },
    "cpu-seconds": { type: "string", default: "6" },
    concurrency: { type: "string", default: "64" },
    accounts: { type: "string", default: "1000" },
    "skip-trace": { type: "boolean", default: false },
    "skip-cpu": { type: "boolean", default: false },
    "skip-perf": { type: "boolean", default: false },
    limits: { type: "string", default: "on" },
  },
});
const by = opt.to === "wallet" ? "wallet" : "username";
if (!["intraledger", "chat-pay", "chat-text", "chat-group", "webhooks"].includes(opt.op)) throw new Error(`--op intraledger|chat-pay|chat-text|chat-group|webhooks, not ${opt.op}`);
/** What the anatomy traces, and the Durable Object call that marks one of its requests in the trace. */
const ANATOMY = {
  intraledger: { label: "an intraledger payment", rootMethod: "sendTransfer" },
  "chat-pay": { label: "a payment message (direct conversation)", rootMethod: "postMessage" },
  "chat-text": { label: "a text message (direct conversation)", rootMethod: "postMessage" },
  "chat-group": { label: "a text message (group of every traced account)", rootMethod: "postMessage" },
  webhooks: { label: "an intraledger payment between accounts with a webhook endpoint each (3 deliveries)", rootMethod: "sendTransfer" },
}[opt.op];
const log = (...a) => console.error(...a);
const dataDir = (name) => (existsSync("/dev/shm") ? `/dev/shm/flash-hub-profile-${name}-${process.pid}` : join(BUILD, `data-profile-${name}`));

const sim = !!bundle().sim;
const jwk = await generateJwk();
const report = { to: by, op: opt.op };
/** `--op webhooks`: the local receiver of the workerd under way. */
let receiver = null;

if (!opt["skip-trace"]) report.anatomy = await anatomy();
if (!opt["skip-cpu"]) report.cpu = await cpuProfile();
const out = join(BUILD, `profile-${new Date().toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}.json`);
writeFileSync(out, JSON.stringify(report, null, 2));
console.log(`\nfull report: ${out}`);

// ── 1. Anatomy of a payment ──────────────────────────────────────────────────

async function anatomy() {
  const dir = dataDir("trace");
  const tracePath = join(BUILD, "trace.jsonl");
  const rt = await startWorkerd({ configPath: hubConfig({ jwk, dataDir: dir, sim }), extraArgs: [`--async-trace=${tracePath}`] });
  const nAccounts = Number(opt["trace-accounts"]);
  const concurrency = Number(opt["trace-concurrency"]);
  let payments = 0;
  const latencies = [];
  let seconds = 0;
  try {
    const client = createClient(rt.url, { connections: Math.max(4, concurrency) });
    const hub = new Hub(client, rt.url, `p${Date.now().toString(36)}`);
    await hub.createAccounts(nAccounts, { concurrency: 8 });
    const request = await anatomyRequest(hub, nAccounts);
    log(`[profile] anatomy of ${ANATOMY.label}: ${concurrency} client(s) among ${nAccounts} accounts for ${opt["trace-seconds"]} s, to ${by}, under --async-trace`);
    const t0 = performance.now();
    const end = t0 + Number(opt["trace-seconds"]) * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t1 = performance.now();
          const r = await request();
          latencies.push(performance.now() - t1);
          if (!r.ok) throw new Error(`payment failed: ${r.status} ${r.detail}`);
          payments++;
        }
      }),
    );
    seconds = (performance.now() - t0) / 1000;
    await client.close();
  } finally {
    await rt.stop();
    await closeReceiver();
    rmSync(dir, { recursive: true, force: true });
  }
  const a = await analyzeTrace(tracePath, ANATOMY.rootMethod);
  latencies.sort((x, y) => x - y);
  a.client_latency_p50_ms = round(latencies[Math.floor(latencies.length / 2)]);
  a.payments_sent = payments;
  a.accounts = nAccounts;
  a.concurrency = concurrency;
  a.payments_per_s_traced = round(payments / seconds, 1);
  printAnatomy(a);
  return a;
}

/** The hub's workerd config (`--limits off`: LIMITS=off); with `--op webhooks` its outbound fetch may reach the local receiver. */
function hubConfig(options) {
  const path = writeConfig({ ...options, limits: opt.limits });
  if (opt.op === "webhooks") allowLoopbackOutbound(path);
  return path;
}

async function closeReceiver() {
  await receiver?.close();
  receiver = null;
}

/** `--op webhooks`: a receiver, and an endpoint (`events: ["*"]`) for every account; each account pays the next (all awake). */
async function webhookEndpoints(hub) {
  receiver = await startReceiver();
  const accounts = hub.accounts;
  const created = await pool(accounts.length, 16, (i) => hub.createWebhook(accounts[i], `${receiver.url}/hooks/${i}`, ["*"]));
  if (created.some((r) => !r.ok)) throw new Error(`POST /v1/webhooks failed: ${created.find((r) => !r.ok).status}`);
  await pool(accounts.length, 16, (i) => hub.pay(accounts[i], accounts[(i + 1) % accounts.length], { by }));
  const t0 = performance.now();
  while (receiver.deliveries.length < 3 * accounts.length && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  log(`[profile] webhooks: ${accounts.length} endpoints, ${receiver.deliveries.length} warm-up deliveries`);
}

/** The request the anatomy repeats (`--op`), its conversations created first. */
async function anatomyRequest(hub, n) {
  const accounts = hub.accounts;
  const pick = (list) => list[(Math.random() * list.length) | 0];
  if (opt.op === "webhooks") await webhookEndpoints(hub);
  if (opt.op === "intraledger" || opt.op === "webhooks") {
    return () => {
      const i = (Math.random() * n) | 0;
      const j = (i + 1 + ((Math.random() * (n - 1)) | 0)) % n;
      return hub.pay(accounts[i], accounts[j], { by });
    };
  }
  let seq = 0;
  if (opt.op === "chat-group") {
    const g = await hub.createConversation(accounts[0], accounts.slice(1), "profile group");
    if (!g.ok) throw new Error(`POST /v1/conversations → ${g.status} ${g.detail}`);
    return () => hub.postMessage(pick(accounts), g.conversation_id, `t${seq++}`);
  }
  // Each account with the next one: n direct conversations.
  const convs = await pool(n, 8, async (i) => {
    const r = await hub.createConversation(accounts[i], [accounts[(i + 1) % n]]);
    if (!r.ok) throw new Error(`POST /v1/conversations → ${r.status} ${r.detail}`);
    return { id: r.conversation_id, members: [accounts[i], accounts[(i + 1) % n]] };
  });
  return () => {
    const cv = pick(convs);
    return opt.op === "chat-pay" ? hub.payInConversation(pick(cv.members), cv.id) : hub.postMessage(pick(cv.members), cv.id, `t${seq++}`);
  };
}

/** Reads the async trace: groups every DO request, SQL statement and JS turn under the HTTP request that caused it. */
async function analyzeTrace(path, rootMethod = "sendTransfer") {
  const ctxInfo = new Map(); // ctx → { actor }
  const parent = new Map(); // `${ctx}:${id}` → `${ctx}:${trigger}` (within a ctx)
  const kind = new Map(); // `${ctx}:${id}` → "request:fetch" | "request:jsrpc" | "request:alarm" | op name
  const links = new Map(); // DO request key → caller op key (other ctx)
  const methodOf = new Map(); // DO request key → RPC method
  const sqlOf = []; // [opKey, query, durationNs]
  const opStart = new Map();
  const turns = []; // [causeKey, ns]
  const alarms = [];
  for await (const line of createInterface(createReadStream(path))) {
    if (!line.startsWith("{")) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    const key = `${e.ctx}:${e.id}`;
    switch (e.e) {
      case "ctx":
        ctxInfo.set(e.ctx, { actor: e.actor, worker: e.worker });
        break;
      case "init":
        kind.set(key, e.kind === "request" ? `request:${e.name}` : e.name);
        if (e.trigger) parent.set(key, `${e.ctx}:${e.trigger}`);
        if (e.kind === "request" && e.name === "alarm") alarms.push(key);
        if (e.name === "durable_object_storage_exec") opStart.set(key, e.at);
        break;
      case "link":
        links.set(key, `${e.fromCtx}:${e.fromId}`);
        break;
      case "annotate":
        if (e.k === "jsrpc.method") {
          const req = requestOf(key);
          if (req && !methodOf.has(req)) methodOf.set(req, e.v);
        } else if (e.k === "db.query.text") sqlOf.push([key, e.v.replace(/\s+/g, " ").trim(), 0]);
        break;
      case "settle":
        if (opStart.has(key)) {
          const s = sqlOf.findLast?.((x) => x[0] === key);
          if (s) s[2] = e.at - opStart.get(key);
          opStart.delete(key);
        }
        break;
      case "turn":
        turns.push([`${e.ctx}:${e.cause}`, e.end - e.locked]);
        break;
    }
  }
  function requestOf(k) {
    for (let i = 0; i < 1000 && k; i++) {
      if (kind.get(k)?.startsWith("request:")) return k;
      k = parent.get(k);
    }
    return null;
  }
  // The HTTP request at the root of a DO request: follow links (DO → caller) up to a worker fetch.
  const rootMemo = new Map();
  function rootOf(req) {
    if (rootMemo.has(req)) return rootMemo.get(req);
    let r = req;
    for (let i = 0; i < 20 && r; i++) {
      if (kind.get(r) === "request:fetch" && !ctxInfo.get(Number(r.split(":")[0]))?.actor) break;
      const from = links.get(r);
      r = from ? requestOf(from) : null;
    }
    rootMemo.set(req, r);
    return r;
  }
  // Payments (or messages): HTTP requests whose tree includes a `rootMethod` call.
  const tree = new Map(); // root → { methods: [], sql: [], jsNs, workerJsNs }
  const node = (root) => {
    let t = tree.get(root);
    if (!t) tree.set(root, (t = { methods: [], sqlByMethod: {}, sqlCount: 0, sqlNs: 0, jsNs: 0, jsByMethod: {}, workerJsNs: 0 }));
    return t;
  };
  for (const [req, method] of methodOf) {
    const root = rootOf(req);
    if (root) node(root).methods.push(method);
  }
  const payments = new Set([...tree].filter(([, t]) => t.methods.includes(rootMethod)).map(([r]) => r));
  const alarmSet = new Set(alarms);
  let alarmSql = 0;
  let alarmNs = 0;
  let alarmSetAlarm = 0;
  let paymentSetAlarm = 0;
  for (const [opKey] of sqlOf) if (alarmSet.has(requestOf(opKey))) alarmSql++;
  for (const [causeKey, ns] of turns) if (alarmSet.has(requestOf(causeKey))) alarmNs += ns;
  for (const [k, v] of kind) if (v === "durable_object_storage_setAlarm") {
    const req = requestOf(k);
    if (alarmSet.has(req)) alarmSetAlarm++;
    else if (req && payments.has(rootOf(req))) paymentSetAlarm++;
  }
  for (const [opKey, query, ns] of sqlOf) {
    const req = requestOf(opKey);
    const root = req && rootOf(req);
    if (!payments.has(root)) continue;
    const t = node(root);
    const m = methodOf.get(req) ?? "?";
    (t.sqlByMethod[m] ??= []).push(query);
    t.sqlCount++;
    t.sqlNs += ns;
  }
  for (const [causeKey, ns] of turns) {
    const req = requestOf(causeKey);
    const root = req && rootOf(req);
    if (!payments.has(root)) continue;
    const t = node(root);
    if (req === root) t.workerJsNs += ns;
    else {
      const m = methodOf.get(req) ?? "?";
      t.jsByMethod[m] = (t.jsByMethod[m] ?? 0) + ns;
    }
    t.jsNs += ns;
  }
  const n = payments.size;
  const per = (x) => round(x / n, 2);
  const methodCounts = {};
  const sqlByMethod = {};
  const jsByMethodNs = {};
  const queries = {};
  let sql = 0;
  let sqlNs = 0;
  let jsNs = 0;
  let workerJsNs = 0;
  for (const root of payments) {
    const t = tree.get(root);
    for (const m of t.methods) methodCounts[m] = (methodCounts[m] ?? 0) + 1;
    for (const [m, qs] of Object.entries(t.sqlByMethod)) {
      sqlByMethod[m] = (sqlByMethod[m] ?? 0) + qs.length;
      for (const q of qs) queries[`${m}: ${q}`] = (queries[`${m}: ${q}`] ?? 0) + 1;
    }
    for (const [m, ns] of Object.entries(t.jsByMethod)) jsByMethodNs[m] = (jsByMethodNs[m] ?? 0) + ns;
    sql += t.sqlCount;
    sqlNs += t.sqlNs;
    jsNs += t.jsNs;
    workerJsNs += t.workerJsNs;
  }
  return {
    payments_traced: n,
    do_calls_per_payment: Object.fromEntries(Object.entries(methodCounts).map(([m, c]) => [m, per(c)])),
    do_calls_total_per_payment: per(Object.values(methodCounts).reduce((s, c) => s + c, 0)),
    sql_per_payment: per(sql),
    sql_by_method_per_payment: Object.fromEntries(Object.entries(sqlByMethod).map(([m, c]) => [m, per(c)])),
    sql_ms_per_payment: round(sqlNs / n / 1e6, 3),
    js_turn_ms_per_payment: round(jsNs / n / 1e6, 3),
    worker_js_ms_per_payment: round(workerJsNs / n / 1e6, 3),
    do_js_ms_per_payment_by_method: Object.fromEntries(Object.entries(jsByMethodNs).map(([m, ns]) => [m, round(ns / n / 1e6, 3)])),
    alarms_during_trace: alarms.length,
    alarms_per_payment: per(alarms.length),
    sql_per_alarm: alarms.length ? round(alarmSql / alarms.length, 2) : null,
    js_ms_per_alarm: alarms.length ? round(alarmNs / alarms.length / 1e6, 3) : null,
    set_alarm_calls_in_alarms: alarmSetAlarm,
    // Every setAlarm in the trace (setting the accounts and conversations up included), then those made by the measured requests.
    set_alarm_calls_per_payment: per([...kind.values()].filter((v) => v === "durable_object_storage_setAlarm").length),
    set_alarm_calls_in_payments_per_payment: per(paymentSetAlarm),
    statements: Object.entries(queries)
      .sort((x, y) => y[1] - x[1])
      .map(([q, c]) => ({ per_payment: per(c), statement: q.length > 160 ? `${q.slice(0, 157)}...` : q })),
  };
}

function printAnatomy(a) {
  console.log(`\n== Anatomy of ${ANATOMY.label} (to ${by}; ${a.payments_traced} payments by ${a.concurrency} client(s) among ${a.accounts} accounts, ${a.payments_per_s_traced}/s under --async-trace) ==`);
  console.log(`client latency p50 (tracing on): ${a.client_latency_p50_ms} ms`);
  console.log(`Durable Object calls per payment: ${a.do_calls_total_per_payment}  ${JSON.stringify(a.do_calls_per_payment)}`);
  console.log(`SQL statements per payment: ${a.sql_per_payment}  ${JSON.stringify(a.sql_by_method_per_payment)}  (${a.sql_ms_per_payment} ms inside SQLite calls)`);
  console.log(`isolate time in JS turns per payment: ${a.js_turn_ms_per_payment} ms (worker ${a.worker_js_ms_per_payment} ms; DOs ${JSON.stringify(a.do_js_ms_per_payment_by_method)})`);
  console.log(`alarms: ${a.alarms_during_trace} (${a.alarms_per_payment} per payment; ${a.sql_per_alarm} SQL statements and ${a.js_ms_per_alarm} ms of JS each); setAlarm calls per payment: ${a.set_alarm_calls_per_payment} in the whole trace, ${a.set_alarm_calls_in_payments_per_payment} by the payments themselves`);
  console.log("statements (per payment):");
  for (const s of a.statements) console.log(`  ${String(s.per_payment).padStart(5)}  ${s.statement}`);
}

// ── 2. CPU profile under load ───────────────────────────────────────────────

async function cpuProfile() {
  const dir = dataDir("cpu");
  const rt = await startWorkerd({ configPath: hubConfig({ jwk, dataDir: dir, sim }), inspector: true });
  const concurrency = Number(opt.concurrency);
  try {
    const client = createClient(rt.url, { connections: concurrency });
    const hub = new Hub(client, rt.url, `q${Date.now().toString(36)}`);
    await hub.createAccounts(Number(opt.accounts));
    const accounts = hub.accounts;
    const pick = (except = -1) => {
      for (;;) {
        const i = (Math.random() * accounts.length) | 0;
        if (i !== except) return accounts[i];
      }
    };
    // A chat op samples its own requests (conversations among all the accounts, made as for the anatomy).
    const op = opt.op.startsWith("chat-")
      ? await anatomyRequest(hub, accounts.length)
      : () => {
          const to = pick();
          return hub.pay(pick(to.index), to, { by });
        };
    if (opt.op === "webhooks") await webhookEndpoints(hub);
    const { target, inspector } = await hubInspector(rt.urls.inspector);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 250 });
    log(`[profile] cpu: warming up, then sampling ${opt["cpu-seconds"]} s of c=${concurrency} payments (inspector target "${target.title}")`);
    // Every account pays the next one (wakes every wallet), then 2 s of the real mix.
    await pool(accounts.length, 32, (i) => hub.pay(accounts[i], accounts[(i + 1) % accounts.length], { by }));
    await closedLoop({ concurrency, warmupMs: 0, durationMs: 2000, op });
    // Native view first (Linux perf, if installed), without the V8 profiler's own overhead.
    let native = null;
    if (!opt["skip-perf"]) native = await perfProfile(rt.pid, Number(opt["cpu-seconds"]), () => closedLoop({ concurrency, warmupMs: 0, durationMs: Number(opt["cpu-seconds"]) * 1000, op, cpu: () => cpuSeconds(rt.pid) }));
    await inspector.send("Profiler.start");
    const load = await closedLoop({ concurrency, warmupMs: 0, durationMs: Number(opt["cpu-seconds"]) * 1000, op, cpu: () => cpuSeconds(rt.pid) });
    const { profile } = await inspector.send("Profiler.stop");
    inspector.close();
    await client.close();
    const analysis = analyzeProfile(profile, readFileSync(join(BUILD, "hub/index.js"), "utf8"));
    analysis.native = native;
    analysis.load = { tps: load.tps, p50_ms: load.latency.p50_ms, p99_ms: load.latency.p99_ms, workerd_cores: load.server_cpu_cores, cpu_ms_per_payment: round((load.server_cpu_cores / load.tps) * 1000, 3) };
    printProfile(analysis, concurrency);
    writeFileSync(join(BUILD, "hub.cpuprofile"), JSON.stringify(profile));
    return analysis;
  } finally {
    await rt.stop();
    await closeReceiver();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `perf record` of workerd while `load()` runs; self time grouped into runtime layers. */
async function perfProfile(pid, seconds, load) {
  const data = join(BUILD, "perf.data");
  let perf;
  try {
    perf = spawn("perf", ["record", "-F", "999", "-g", "-o", data, "-p", String(pid), "--", "sleep", String(seconds)], { stdio: "ignore" });
  } catch {
    return null;
  }
  const exited = new Promise((resolve) => {
    perf.once("exit", (code) => resolve(code));
    perf.once("error", () => resolve(-1));
  });
  const result = await load();
  if ((await exited) !== 0) return { unavailable: "perf record failed (not installed or not permitted)" };
  let report;
  try {
    report = execFileSync("perf", ["report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none"], { encoding: "utf8", maxBuffer: 256 * 2 ** 20, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return { unavailable: "perf report failed" };
  }
  const layers = new Map();
  const symbols = [];
  for (const line of report.split("\n")) {
    const m = /^\s+([\d.]+)%\s+(\S.*?)\s+\[([.k])\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const pct = Number(m[1]);
    const layer = layerOf(m[2], m[3], m[4]);
    layers.set(layer, (layers.get(layer) ?? 0) + pct);
    if (symbols.length < 25) symbols.push({ pct, layer, symbol: m[4].slice(0, 120) });
  }
  return {
    tps: result.tps,
    workerd_cores: result.server_cpu_cores,
    layers: [...layers].sort((a, b) => b[1] - a[1]).map(([layer, pct]) => ({ layer, pct: round(pct, 1) })),
    top_symbols: symbols,
  };
}

function layerOf(dso, kind, sym) {
  if (kind === "k" || dso.includes("kernel")) return "kernel (syscalls, loopback TCP, page cache)";
  if (dso.startsWith("[JIT]") || dso === "[unknown]") return "JavaScript (JIT-compiled code)";
  if (/^(fe_|ge_|x25519|ed25519|ED25519|sha256|SHA256|sc_)/.test(sym)) return "crypto (BoringSSL: Ed25519 JWT checks, SHA-256)";
  if (/^(sqlite3|wal|pcache|vdbe|btree|yy_|unix|findReusableFd|pager|balance|moveTo|insertCell|getAndInitPage|columnName)/i.test(sym)) return "SQLite";
  if (/Heap::|Scavenger|MarkCompact|Marking|Sweeper|cppgc|GCTracer|MinorMS|ConcurrentMarking|GlobalHandles|EmbedderHeap|HeapTracer/.test(sym)) return "V8 GC and handles";
  if (/^Builtins_|v8::|^v8_|Runtime_/.test(sym)) return "V8 runtime and builtins";
  if (/tcmalloc|malloc|free|^operator new|^operator delete|TCMalloc/i.test(sym)) return "memory allocation";
  if (/^(kj::|capnp::)|\bkj::|\bcapnp::/.test(sym)) return "KJ / Cap'n Proto (event loop, HTTP, RPC)";
  if (/workerd::|workerd_server|async_trace/.test(sym)) return "workerd APIs and bindings (JSG, SQL, DO plumbing)";
  if (/^(__mem|__str|mem|str)/.test(sym) || dso.startsWith("libc")) return "libc (memcpy, strings, locks)";
  return "other";
}

/** Self time by function and by source module; the bundle's `// path` comments name the modules. */
function analyzeProfile(profile, bundleText) {
  const moduleStarts = []; // [line (0-based), module]
  const lines = bundleText.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(lines[i]);
    if (m) moduleStarts.push([i, m[1].replace(/^(\.\.\/)+/, "")]);
  }
  const moduleAt = (line) => {
    let lo = 0;
    let hi = moduleStarts.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (moduleStarts[mid][0] <= line) {
        found = moduleStarts[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const group = (mod) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(mod);
    return m ? `npm:${m[1]}` : mod;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((s, x) => s + x, 0);
  const fn = new Map();
  const mod = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const isBundle = cf.url && /index\.js$/.test(cf.url);
    const where = cf.url ? (isBundle ? moduleAt(cf.lineNumber) : cf.url.replace(/^.*\//, "")) : "(native)";
    const name = `${cf.functionName || "(anonymous)"} ${where}${isBundle ? `:${cf.lineNumber + 1}` : ""}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const g = cf.url ? (isBundle ? group(where) : `runtime:${where}`) : cf.functionName.startsWith("(") ? cf.functionName : `native:${cf.functionName}`;
    mod.set(g, (mod.get(g) ?? 0) + us);
  }
  const pct = (us) => round((us / total) * 100, 1);
  const top = (m, n) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ pct: pct(us), ms: round(us / 1000, 1), name: k }));
  return { sampled_ms: round(total / 1000, 0), by_module: top(mod, 30), by_function: top(fn, 40) };
}

function printProfile(a, concurrency) {
  const l = a.load;
  if (a.native?.layers) {
    console.log(`\n== perf (native) profile of workerd: c=${concurrency} payments: ${a.native.tps}/s, workerd ${a.native.workerd_cores} cores ==`);
    for (const r of a.native.layers) console.log(`  ${String(r.pct).padStart(5)}%  ${r.layer}`);
    console.log("top symbols:");
    for (const r of a.native.top_symbols) console.log(`  ${String(r.pct).padStart(5)}%  ${r.symbol}  [${r.layer}]`);
  } else if (a.native?.unavailable) console.log(`\n(perf: ${a.native.unavailable})`);
  console.log(`\n== CPU profile of the hub isolate: c=${concurrency} payments to ${by}: ${l.tps}/s, p50 ${l.p50_ms} ms, p99 ${l.p99_ms} ms ==`);
  console.log(`workerd ${l.workerd_cores} cores → ${l.cpu_ms_per_payment} ms of CPU per payment (whole process, from /proc)`);
  console.log(`V8 samples over ${a.sampled_ms} ms; self time by module / category:`);
  for (const r of a.by_module) console.log(`  ${String(r.pct).padStart(5)}%  ${r.name}`);
  console.log("self time by function (top 40):");
  for (const r of a.by_function) console.log(`  ${String(r.pct).padStart(5)}%  ${r.name}`);
}
