#!/usr/bin/env node
// Where workerd's memory per idle socket goes: the socket probe of lib/socket-probe.mjs (fresh workerd,
// batches of sockets, slope of RSS over sockets), for several kinds of socket side by side.
//
//   node bench/socket-memory.mjs --summarize FILE [--batch-size N]   (re-reads a --trace output)
//   node bench/socket-memory.mjs [--variants a,b,...] [--batches 3] [--batch-size 1000] [--settle 12]
//                                [--env NAME=VALUE ...] [--tcmalloc] [--smaps] [--trace FILE] [--json FILE]
//
// Variants (a raw TCP client does the handshake, so exactly the headers below are sent):
//   keepalive        an HTTP/1.1 keep-alive connection to a plain Worker after one `GET /health`
//   worker-ws        a WebSocket accepted by a plain Worker (`server.accept()`, no Durable Object)
//   do-ws            bench/calibration/counter.js `GET /ws/<name>`: Worker → DO, `ctx.acceptWebSocket`
//   hub-ws           the hub's `GET /v1/events/stream` (Worker → WalletActor, `ctx.acceptWebSocket`)
//   hub-undici       the same through Node's WebSocket (undici), exactly as lib/socket-probe.mjs opens them
//   …+deflate        the same handshake with `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`
//                    (what browsers and undici send); without it, no extension is offered.
//   do-ws-nocompress do-ws+deflate with the compatibility flag `no_web_socket_compression` (workerd declines deflate)
//
// --env NAME=VALUE   passed to workerd (e.g. MALLOC_ARENA_MAX=2; workerd links tcmalloc, so glibc's do nothing)
// --tcmalloc         reads tcmalloc's own counters (gdb calls MallocExtension_Internal_GetNumericProperty in
//                    workerd) at the first and last point: live application bytes vs allocator caches
// --smaps            which mappings grew between the first and last point (tcmalloc heap, V8 cage, stacks…)
// --trace FILE       bpftrace on workerd's allocator entry points (malloc/new/free/delete…) while the LAST batch
//                    connects and idles: bytes still allocated at the end, by call stack (needs root, bpftrace)
//
// Runs one workerd at a time; each variant's workerd is fresh. Writes nothing under bench/ (all in /tmp).
import net from "node:net";
import { randomBytes } from "node:crypto";
import { spawn, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { writeConfig, generateJwk, calibrationWorkerPath, BUILD, COMPATIBILITY_DATE } from "./lib/build.mjs";
import { startWorkerd, memoryOf, WORKERD_BIN } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import { Hub } from "./lib/hub.mjs";
import { pool, round } from "./lib/load.mjs";
import { slope } from "./lib/socket-probe.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TMP = "/tmp/socket-memory";
const DEFLATE = "permessage-deflate; client_max_window_bits";

// ── arguments ───────────────────────────────────────────────────────────────
const argv = process.argv.slice(2);
const opt = { variants: "keepalive,worker-ws,do-ws,do-ws+deflate,hub-ws,hub-ws+deflate", batches: 3, batchSize: 1000, settle: 12, accounts: 20, warmup: 200, env: {}, tcmalloc: false, smaps: false, trace: null, json: null };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => argv[++i];
  if (a === "--variants") opt.variants = next();
  else if (a === "--batches") opt.batches = Number(next());
  else if (a === "--batch-size") opt.batchSize = Number(next());
  else if (a === "--settle") opt.settle = Number(next());
  else if (a === "--accounts") opt.accounts = Number(next());
  else if (a === "--warmup") opt.warmup = Number(next());
  else if (a === "--env") {
    const [k, ...v] = next().split("=");
    opt.env[k] = v.join("=");
  } else if (a === "--tcmalloc") opt.tcmalloc = true;
  else if (a === "--smaps") opt.smaps = true;
  else if (a === "--trace") opt.trace = next();
  else if (a === "--json") opt.json = next();
  else if (a === "--summarize") opt.summarize = next();
  else if (a === "--help" || a === "-h") {
    console.log(readFileSync(new URL(import.meta.url), "utf8").split("\n").slice(1, 26).join("\n"));
    process.exit(0);
  } else throw new Error(`unknown argument ${a}`);
}
const log = (...m) => console.error("[socket-memory]", ...m);

// ── the workers of the non-hub variants ─────────────────────────────────────
const PLAIN_WORKER = `
export default {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/ws") {
      const { 0: client, 1: server } = new WebSocketPair();
      server.accept();
      return new Response(null, { status: 101, webSocket: client });
    }
    return new Response("ok");
  },
};
`;

function writeCalibrationConfig(dir, dataDir, { compatFlags = [] } = {}) {
  mkdirSync(dir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dir, "plain.js"), PLAIN_WORKER);
  const flags = JSON.stringify(compatFlags);
  const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "calib", worker = .calib),
    (name = "plain", worker = .plain),
    (name = "do-storage", disk = (path = ${JSON.stringify(dataDir)}, writable = true)),
  ],
  sockets = [
    (name = "http", http = (), service = "calib"),
    (name = "plain", http = (), service = "plain"),
  ],
);
const calib :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${JSON.stringify(relative(dir, calibrationWorkerPath()))})],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ${flags},
  bindings = [(name = "COUNTER", durableObjectNamespace = "Counter")],
  durableObjectNamespaces = [(className = "Counter", uniqueKey = "bench-calibration-Counter", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
);
const plain :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "plain.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ${flags},
);
`;
  const path = join(dir, "workerd.capnp");
  writeFileSync(path, text);
  return path;
}

// ── a raw client: exactly the handshake we choose, nothing read or sent after it ─────────────
function rawOpen(port, path, { websocket = true, deflate = false, counters }) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = "";
    let done = false;
    const timer = setTimeout(() => fail(new Error(`no answer to ${path} in 30 s`)), 30_000);
    const fail = (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on("connect", () => {
      const lines = [`GET ${path} HTTP/1.1`, "Host: localhost"];
      if (websocket) {
        lines.push("Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`, "Sec-WebSocket-Version: 13");
        if (deflate) lines.push(`Sec-WebSocket-Extensions: ${DEFLATE}`);
      }
      sock.write(lines.join("\r\n") + "\r\n\r\n");
    });
    sock.on("data", (d) => {
      if (done) return; // frames (the hub replays events) are read and dropped
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
      if (websocket ? status !== 101 : status !== 200) return fail(new Error(`${path} → ${head.split("\r\n")[0]}`));
      if (!websocket) {
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length - end - 4 < len) return; // the rest of the body is on its way
      }
      if (websocket && deflate && !/sec-websocket-extensions:\s*permessage-deflate/i.test(head)) counters.deflateDeclined++;
      if (websocket && deflate && /sec-websocket-extensions:\s*permessage-deflate/i.test(head)) counters.deflateAccepted++;
      done = true;
      clearTimeout(timer);
      resolve(sock);
    });
    sock.on("error", (e) => (done ? null : fail(e)));
    sock.on("close", () => (done ? counters.closed++ : fail(new Error(`${path}: closed before the handshake`))));
  });
}

// ── tcmalloc's counters, read in workerd by gdb ─────────────────────────────
const TCMALLOC_PROPS = [
  "generic.current_allocated_bytes", // live application bytes
  "generic.heap_size",
  "generic.physical_memory_used", // all tcmalloc memory backed by RAM (incl. metadata)
  "tcmalloc.pageheap_free_bytes", // free pages not released to the OS
  "tcmalloc.pageheap_unmapped_bytes",
  "tcmalloc.cpu_free", // per-CPU caches
  "tcmalloc.central_cache_free",
  "tcmalloc.transfer_cache_free",
  "tcmalloc.sharded_transfer_cache_free",
  "tcmalloc.metadata_bytes",
  "tcmalloc.external_fragmentation_bytes",
];

export function tcmallocStats(pid) {
  const cmds = ["set pagination off", "set $v = (unsigned long*)malloc(8)"];
  for (const p of TCMALLOC_PROPS) {
    cmds.push(`set *$v = 0`, `call (int)MallocExtension_Internal_GetNumericProperty("${p}", ${p.length}, $v)`, `printf "PROP ${p} %lu\\n", *$v`);
  }
  cmds.push("call (void)free($v)", "detach", "quit");
  const out = execFileSync("gdb", ["-q", "-batch", "-p", String(pid), ...cmds.flatMap((c) => ["-ex", c])], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
  const stats = {};
  for (const m of out.matchAll(/^PROP (\S+) (\d+)$/gm)) stats[m[1]] = Number(m[2]);
  return stats;
}

// ── /proc/<pid>/smaps: resident KB per mapping ──────────────────────────────
function smaps(pid) {
  const maps = [];
  let cur = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      cur = { start: m[1], size_kb: (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1024, perms: m[3], name: m[4] || "[anon]", rss_kb: 0, anon_huge_kb: 0 };
      maps.push(cur);
    } else if (cur && line.startsWith("Rss:")) cur.rss_kb = Number(line.split(/\s+/)[1]);
    else if (cur && line.startsWith("AnonHugePages:")) cur.anon_huge_kb = Number(line.split(/\s+/)[1]);
  }
  return maps;
}

function smapsGrowth(before, after, sockets) {
  const prev = new Map(before.map((m) => [m.start, m]));
  const rows = after
    .map((m) => ({ ...m, grew_kb: m.rss_kb - (prev.get(m.start)?.rss_kb ?? 0) }))
    .filter((m) => Math.abs(m.grew_kb) >= 256)
    .sort((a, b) => b.grew_kb - a.grew_kb);
  return rows.slice(0, 12).map((m) => ({ mapping: `${m.start} ${m.perms} ${m.name}`, vma_mb: round(m.size_kb / 1024, 1), rss_mb: round(m.rss_kb / 1024, 1), grew_mb: round(m.grew_kb / 1024, 1), kb_per_socket: round(m.grew_kb / sockets, 1), anon_huge_mb: round(m.anon_huge_kb / 1024, 1) }));
}

// ── bpftrace: allocator entry points, bytes still allocated at the end by call stack ─────────
// bpftrace's ustack() needs one stack-map entry per distinct stack, and the map fills up long before
// 1,000 sockets have connected (every JIT frame makes a stack distinct): stacks come back empty. So the
// probe walks the frame pointers itself (workerd is built with them) and stores the return addresses
// as integers; they are symbolised afterwards from `nm` and the load address of workerd.
const FRAMES = 14;
function bpftraceProgram(bin, pid) {
  const allocs = [
    ["malloc", "arg0"],
    ["_Znwm", "arg0"],
    ["_ZnwmRKSt9nothrow_t", "arg0"],
    ["_ZnwmSt11align_val_t", "arg0"],
    ["_ZnwmSt11align_val_tRKSt9nothrow_t", "arg0"],
    ["_Znwm12__hot_cold_t", "arg0"],
    ["_Znam12__hot_cold_t", "arg0"],
    ["__size_returning_new", "arg0"],
    ["__size_returning_new_hot_cold", "arg0"],
    ["__size_returning_new_aligned", "arg0"],
    ["tcmalloc_size_returning_operator_new_nothrow", "arg0"],
    ["calloc", "arg0 * arg1"],
    ["memalign", "arg1"],
    ["aligned_alloc", "arg1"],
    ["realloc", "arg1"],
    ["posix_memalign", "arg2"],
  ];
  const frees = ["free", "_ZdlPv", "_ZdlPvm", "_ZdlPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "sdallocx"];
  // return addresses: the caller's (at [sp] on entry), then up the rbp chain
  let walk = `$fp = reg("bp"); $r0 = *(uint64*)uptr(reg("sp"));`;
  for (let i = 1; i < FRAMES; i++) walk += ` $r${i} = *(uint64*)uptr($fp + 8); $fp = *(uint64*)uptr($fp);`;
  const tuple = `(${Array.from({ length: FRAMES }, (_, i) => `$r${i}`).join(", ")})`;
  let p = `BEGIN { printf("TRACING\\n"); }\n`;
  for (const [fn, size] of allocs) {
    let pre = "";
    if (fn === "realloc") pre = "delete(@sz[arg0]); delete(@st[arg0]); ";
    if (fn === "posix_memalign") pre = "@pmout[tid] = arg0; ";
    p += `uprobe:${bin}:${fn} /pid == ${pid}/ { ${pre}@req[tid] = ${size}; ${walk} @stk[tid] = ${tuple}; }\n`;
    const ptr = fn === "posix_memalign" ? "*(uint64*)uptr(@pmout[tid])" : "retval";
    p += `uretprobe:${bin}:${fn} /pid == ${pid} && @req[tid]/ { $q = ${ptr}; @sz[$q] = @req[tid]; @st[$q] = @stk[tid]; delete(@req[tid]); delete(@stk[tid]); }\n`;
  }
  for (const fn of frees) p += `uprobe:${bin}:${fn} /pid == ${pid}/ { delete(@sz[arg0]); delete(@st[arg0]); }\n`;
  p += `END { clear(@req); clear(@stk); clear(@pmout); }\n`;
  return p;
}

function startTrace(pid, outFile) {
  const bin = execFileSync("readlink", ["-f", `/proc/${pid}/exe`], { encoding: "utf8" }).trim();
  const progPath = join(TMP, "alloc.bt");
  writeFileSync(progPath, bpftraceProgram(bin, pid));
  // where workerd's text is loaded (PIE), for the symbols
  const base = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").find((l) => l.includes(bin) && / 00000000 /.test(l));
  writeFileSync(`${outFile}.meta.json`, JSON.stringify({ bin, base: parseInt(base, 16) }));
  const child = spawn("bpftrace", [progPath], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: "2000000" } });
  const chunks = [];
  child.stdout.on("data", (d) => chunks.push(d));
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exit = new Promise((r) => child.once("exit", r));
  const ready = new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (Buffer.concat(chunks).includes("TRACING")) {
        clearInterval(t);
        resolve();
      }
    }, 200);
    exit.then(() => {
      clearInterval(t);
      reject(new Error(`bpftrace exited: ${err.slice(0, 500)}`));
    });
  });
  return {
    ready,
    stop: async () => {
      child.kill("SIGINT");
      await exit;
      writeFileSync(outFile, Buffer.concat(chunks));
      if (err.trim()) writeFileSync(`${outFile}.stderr`, err);
      return outFile;
    },
  };
}

/** A C++ frame without its argument list and template arguments: `kj::(anon)::WebSocketImpl::receive`. */
function shortFrame(f) {
  let out = "";
  let depth = 0;
  const g = f.replace(/\(anonymous namespace\)/g, "(anon)");
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "<") depth++;
    else if (c === ">") depth = Math.max(0, depth - 1);
    else if (c === "(" && depth === 0 && g.slice(i, i + 6) !== "(anon)") break;
    else if (depth === 0) out += c;
  }
  return out || g.slice(0, 120);
}

let symbolCache = null;
function symbolizer(bin) {
  if (!symbolCache) {
    const cache = join(TMP, "workerd.syms");
    let text;
    try {
      text = readFileSync(cache, "utf8");
    } catch {
      text = execFileSync("nm", ["-C", "--defined-only", "-n", bin], { encoding: "utf8", maxBuffer: 1 << 30 });
      writeFileSync(cache, text);
    }
    const addrs = [];
    const names = [];
    for (const line of text.split("\n")) {
      const m = /^([0-9a-f]+) [tTwW] (.*)$/.exec(line);
      if (!m) continue;
      addrs.push(parseInt(m[1], 16));
      names.push(m[2]);
    }
    symbolCache = { addrs, names };
  }
  const { addrs, names } = symbolCache;
  return (off) => {
    let lo = 0;
    let hi = addrs.length - 1;
    if (off < addrs[0] || off > addrs[hi] + 1e6) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (addrs[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return names[lo];
  };
}

// What a live block is for, from the frames of its stack (first rule that matches).
const CATEGORIES = [
  ["relay", "Response.webSocket → client: api::WebSocket::couple (WebSocketPipe pumps both ways, abort watchers)", /WebSocket::couple|LegacyWebSocketAdapter::couple/],
  ["client-ws", "client-facing kj WebSocket (kj::newWebSocket: WebSocketImpl + 4 KiB receive buffer)", /kj::newWebSocket|ServerResponseImpl::acceptWebSocket/],
  ["hibernation", "accepting side: WebSocketPair, accept()/acceptWebSocket, HibernationManager read loop", /HibernationManager|acceptAsHibernatable|DurableObjectState::acceptWebSocket|WebSocketPair/],
  ["subrequest", "Worker → DO subrequest kept open (stub.fetch: HttpClientAdapter, cloned headers, the DO's entrypoint)", /HttpClientAdapter|Fetcher::fetch|fetchImpl/],
  ["worker-request", "the Worker's request, alive as long as the socket (WorkerEntrypoint, IoContext, ServiceWorkerGlobalScope::request)", /WorkerEntrypoint|ServiceWorkerGlobalScope::request|IoContext|newWorkerEntrypoint|worker_request|worker_start_request/],
  ["deflate", "zlib (permessage-deflate)", /deflate|inflate|zlib|Zlib|Compression/],
  ["sqlite", "SQLite", /sqlite3/],
  ["http-conn", "HTTP connection in workerd's Rust server (hyper/tokio; Rust frames without symbols)", /kj_hyper|listen_http|hyper|tokio|finish_grow|try_reserve|try_append|^::request/],
  ["v8", "V8 / jsg (malloc'd, outside the JS heap)", /v8::|jsg::|Builtins_/],
];

function categorize(stacks, sockets) {
  const out = new Map(CATEGORIES.map(([k, label]) => [k, { key: k, label, bytes: 0, count: 0 }]));
  out.set("other", { key: "other", label: "other / unresolved", bytes: 0, count: 0 });
  for (const e of stacks) {
    const text = e.stack.join("\n");
    const hit = CATEGORIES.find(([, , re]) => e.stack.some((f) => re.test(f)) || re.test(text));
    const c = out.get(hit ? hit[0] : "other");
    c.bytes += e.bytes;
    c.count += e.count;
  }
  return [...out.values()].filter((c) => c.bytes).map((c) => ({ ...c, bytes_per_socket: round(c.bytes / sockets, 0), blocks_per_socket: round(c.count / sockets, 1) })).sort((a, b) => b.bytes - a.bytes);
}

/** Parses bpftrace's @sz / @st maps: bytes still allocated, by stack (top frames). */
export function summarizeTrace(file, sockets, { frames = FRAMES } = {}) {
  const text = readFileSync(file, "utf8");
  const meta = JSON.parse(readFileSync(`${file}.meta.json`, "utf8"));
  const sym = symbolizer(meta.bin);
  const sizes = new Map();
  for (const m of text.matchAll(/^@sz\[(\d+)\]: (\d+)$/gm)) sizes.set(m[1], Number(m[2]));
  const byStack = new Map();
  const names = new Map();
  for (const m of text.matchAll(/^@st\[(\d+)\]: \(([^)]*)\)$/gm)) {
    const size = sizes.get(m[1]);
    if (size === undefined) continue;
    const stack = [];
    for (const a of m[2].split(",").map((x) => Number(x.trim())).slice(0, frames)) {
      if (!a) break;
      let n = names.get(a);
      if (n === undefined) {
        const s = sym(a - meta.base);
        n = s ? shortFrame(s) : "(jit or unknown)";
        names.set(a, n);
      }
      if (stack[stack.length - 1] !== n || n !== "(jit or unknown)") stack.push(n);
    }
    const key = stack.join("\n");
    const e = byStack.get(key) ?? { bytes: 0, count: 0, stack };
    e.bytes += size;
    e.count++;
    byStack.set(key, e);
  }
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const stacks = [...byStack.values()].sort((a, b) => b.bytes - a.bytes);
  return { live_allocations: sizes.size, live_bytes: total, bytes_per_socket: round(total / sockets, 0), categories: categorize(stacks, sockets), stacks };
}

// ── one variant ─────────────────────────────────────────────────────────────
async function runVariant(name) {
  const [kind, ...mods] = name.split("+");
  const deflate = mods.includes("deflate");
  const base = kind.replace(/-nocompress$/, "");
  const nocompress = kind.endsWith("-nocompress");
  const dir = join(TMP, `${name}-${process.pid}`);
  const dataDir = `/dev/shm/socket-memory-${process.pid}-${name.replace(/\W/g, "_")}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let configPath;
  let jwk = null;
  const hubKind = base.startsWith("hub");
  if (hubKind) {
    jwk = await generateJwk();
    configPath = writeConfig({ jwk, dataDir, dir, sim: false });
    // A copy of the bundle, so that a rebuild of bench/.build while this runs does not pull it away.
    copyFileSync(join(BUILD, "hub/index.js"), join(dir, "hub.js"));
    writeFileSync(configPath, readFileSync(configPath, "utf8").replace(/esModule = embed "[^"]*hub\/index\.js"/, 'esModule = embed "hub.js"'));
  } else configPath = writeCalibrationConfig(dir, dataDir, { compatFlags: nocompress ? ["no_web_socket_compression"] : [] });
  const rt = await startWorkerd({ configPath, sockets: hubKind ? ["http"] : ["http", "plain"], logPath: join(dir, "workerd.log"), env: Object.keys(opt.env).length ? opt.env : null });
  if (!rt.url) throw new Error(`workerd did not start; see ${join(dir, "workerd.log")}`);
  const port = (u) => Number(new URL(u).port);
  const counters = { closed: 0, deflateAccepted: 0, deflateDeclined: 0 };
  const sockets = [];
  const client = createClient(rt.url, { connections: 8 });
  let hub = null;
  let trace = null;
  try {
    let open;
    if (hubKind) {
      hub = new Hub(client, rt.url, `s${Date.now().toString(36)}`);
      await hub.createAccounts(opt.accounts, { concurrency: 4 });
      const streamPath = (a) => `/v1/events/stream?after=${a.lastSeq}&access_token=${encodeURIComponent(a.token)}`;
      open =
        base === "hub-undici"
          ? (i) => hub.openStream(hub.accounts[i % opt.accounts], () => {})
          : (i) => rawOpen(port(rt.url), streamPath(hub.accounts[i % opt.accounts]), { deflate, counters });
    } else if (base === "keepalive") open = () => rawOpen(port(rt.urls.plain), "/health", { websocket: false, counters });
    else if (base === "worker-ws") open = () => rawOpen(port(rt.urls.plain), "/ws", { deflate, counters });
    else if (base === "do-ws") {
      await pool(opt.accounts, 4, (i) => client.request("GET", `/bump/c${i}`)); // wake (and create) the objects once
      open = (i) => rawOpen(port(rt.url), `/ws/c${i % opt.accounts}`, { deflate, counters });
    } else throw new Error(`unknown variant ${name}`);

    const openBatch = async (n) => {
      const from = sockets.length;
      sockets.push(...(await pool(n, 32, (i) => open(from + i))));
    };
    // A first, small batch: whatever a first socket initialises once (code paths, caches) is not per socket.
    if (opt.warmup) await openBatch(opt.warmup);
    await sleep(opt.settle * 1000);
    const m0 = memoryOf(rt.pid);
    const points = [[sockets.length, m0.rss_mb]];
    const detail = [{ sockets: sockets.length, ...m0 }];
    const tc0 = opt.tcmalloc ? tcmallocStats(rt.pid) : null;
    const sm0 = opt.smaps ? smaps(rt.pid) : null;
    for (let b = 1; b <= opt.batches; b++) {
      const last = b === opt.batches;
      if (last && opt.trace) {
        trace = startTrace(rt.pid, opt.trace);
        await trace.ready;
        await sleep(1000);
      }
      const t0 = performance.now();
      await openBatch(opt.batchSize);
      log(`${name}: ${sockets.length} open (${round((performance.now() - t0) / 1000, 1)} s), ${counters.closed} closed by workerd; idling ${opt.settle} s`);
      await sleep(opt.settle * 1000);
      if (last && trace) {
        await trace.stop();
        trace = null;
        await sleep(2000);
      }
      const m = memoryOf(rt.pid);
      points.push([sockets.length, m.rss_mb]);
      detail.push({ sockets: sockets.length, ...m });
    }
    const tc1 = opt.tcmalloc ? tcmallocStats(rt.pid) : null;
    const n = opt.batches * opt.batchSize;
    const result = {
      variant: name,
      env: opt.env,
      sockets: sockets.length,
      closed_by_workerd: counters.closed,
      deflate_negotiated: deflate ? `${counters.deflateAccepted}/${counters.deflateAccepted + counters.deflateDeclined}` : null,
      points,
      detail,
      mb_per_1k: round(slope(points) * 1000, 1),
      anon_mb_per_1k: round(slope(detail.map((d) => [d.sockets, d.anon_mb])) * 1000, 1),
    };
    if (tc0 && tc1) {
      result.tcmalloc_kb_per_socket = Object.fromEntries(TCMALLOC_PROPS.filter((p) => p in tc1).map((p) => [p, round((tc1[p] - (tc0[p] ?? 0)) / 1024 / n, 1)]));
      result.tcmalloc_end_mb = Object.fromEntries(TCMALLOC_PROPS.filter((p) => p in tc1).map((p) => [p, round(tc1[p] / 2 ** 20, 1)]));
    }
    if (sm0) result.smaps_growth = smapsGrowth(sm0, smaps(rt.pid), n);
    if (opt.trace) {
      const s = summarizeTrace(opt.trace, opt.batchSize);
      result.trace = { file: opt.trace, live_allocations: s.live_allocations, live_bytes: s.live_bytes, bytes_per_socket: s.bytes_per_socket, categories: s.categories, top: s.stacks.slice(0, 40).map((e) => ({ bytes_per_socket: round(e.bytes / opt.batchSize, 0), count_per_socket: round(e.count / opt.batchSize, 2), stack: e.stack })) };
    }
    return result;
  } finally {
    if (trace) await trace.stop().catch(() => {});
    for (const s of sockets) (s.destroy ?? s.close).call(s);
    await client.close();
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ── main ────────────────────────────────────────────────────────────────────
if (opt.summarize) {
  // --summarize FILE [--batch-size N]: re-reads a bpftrace output written by --trace
  const s = summarizeTrace(opt.summarize, opt.batchSize);
  console.log(`${s.live_allocations} blocks, ${round(s.live_bytes / 2 ** 20, 2)} MB, ${s.bytes_per_socket} B per socket (of ${opt.batchSize})`);
  for (const c of s.categories) console.log(`  ${String(c.bytes_per_socket).padStart(6)} B/socket  ${String(c.blocks_per_socket).padStart(5)} blocks  ${c.label}`);
  for (const e of s.stacks.slice(0, 40)) console.log(`${round(e.bytes / opt.batchSize, 0)} B/socket in ${round(e.count / opt.batchSize, 2)} blocks\n    ${e.stack.slice(0, 14).join("\n    ")}`);
  process.exit(0);
}
mkdirSync(TMP, { recursive: true });
const results = [];
for (const v of opt.variants.split(",").filter(Boolean)) {
  log(`variant ${v}${Object.keys(opt.env).length ? ` env ${JSON.stringify(opt.env)}` : ""}`);
  try {
    results.push(await runVariant(v));
  } catch (error) {
    log(`${v} failed: ${error.stack ?? error}`);
    results.push({ variant: v, error: String(error.message ?? error) });
  }
}
const envText = Object.entries(opt.env).map(([k, v]) => `${k}=${v}`).join(" ") || "-";
console.log(`\nworkerd ${execFileSync(WORKERD_BIN, ["--version"], { encoding: "utf8" }).trim()}; ${opt.warmup} warm-up sockets, then ${opt.batches} × ${opt.batchSize}, ${opt.settle} s idle each; env ${envText}\n`);
console.log("| variant | deflate negotiated | closed by workerd | RSS MB at each point | MB / 1k sockets | anon MB / 1k |");
console.log("|---|---|---|---|---|---|");
for (const r of results) {
  if (r.error) console.log(`| ${r.variant} | error: ${r.error} | | | | |`);
  else console.log(`| ${r.variant} | ${r.deflate_negotiated ?? "-"} | ${r.closed_by_workerd} | ${r.points.map((p) => p[1]).join(" → ")} | **${r.mb_per_1k}** | ${r.anon_mb_per_1k} |`);
}
for (const r of results) {
  if (r.tcmalloc_kb_per_socket) console.log(`\n${r.variant} tcmalloc KB per socket: ${JSON.stringify(r.tcmalloc_kb_per_socket)}\n  at the end (MB): ${JSON.stringify(r.tcmalloc_end_mb)}`);
  if (r.smaps_growth) {
    console.log(`\n${r.variant} mappings that grew (first → last point):`);
    for (const g of r.smaps_growth) console.log(`  ${g.grew_mb} MB (${g.kb_per_socket} KB/socket)  vma ${g.vma_mb} MB rss ${g.rss_mb} MB thp ${g.anon_huge_mb} MB  ${g.mapping}`);
  }
  if (r.trace) {
    console.log(`\n${r.variant} allocations made while the last ${opt.batchSize} sockets connected and still live ${opt.settle} s later: ${r.trace.live_allocations} blocks, ${round(r.trace.live_bytes / 2 ** 20, 2)} MB, ${r.trace.bytes_per_socket} B/socket (requested sizes)`);
    for (const c of r.trace.categories) console.log(`  ${String(c.bytes_per_socket).padStart(6)} B/socket  ${String(c.blocks_per_socket).padStart(5)} blocks  ${c.label}`);
    console.log("  largest stacks:");
    for (const t of r.trace.top.slice(0, 25)) console.log(`  ${t.bytes_per_socket} B/socket in ${t.count_per_socket} blocks\n      ${t.stack.slice(0, 10).join("\n      ")}`);
  }
}
if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2));
