// Starts the runtime the bench measures: workerd serving the bundles directly (the default), or
// Miniflare's programmatic API (for the comparison in docs/performance.md).
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, readFileSync, readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT, BUILD } from "./build.mjs";

const require = createRequire(join(ROOT, "package.json"));
export const WORKERD_BIN = join(ROOT, "node_modules/workerd/bin/workerd");

export function workerdVersion() {
  try {
    return execFileSync(WORKERD_BIN, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * `workerd serve <config>` with every socket on 127.0.0.1:<ephemeral>; resolves once workerd
 * reports each port on the control fd. Returns { url, urls: {socket: url}, pid, stop() };
 * with `inspector`, urls.inspector is the V8 inspector (DevTools protocol) of every isolate.
 */
export async function startWorkerd({ configPath, sockets = ["http"], inspector = false, extraArgs = [], logPath = join(BUILD, "workerd.log"), env = null }) {
  const args = ["serve", configPath, "config", "--control-fd=3", ...extraArgs];
  for (const s of sockets) args.push(`--socket-addr=${s}=127.0.0.1:0`);
  if (inspector) args.push("--inspector-addr=127.0.0.1:0");
  const awaited = inspector ? [...sockets, "inspector"] : sockets;
  // env: extra environment variables for workerd (e.g. allocator settings), on top of the bench's.
  const child = spawn(WORKERD_BIN, args, { cwd: BUILD, stdio: ["ignore", "pipe", "pipe", "pipe"], ...(env ? { env: { ...process.env, ...env } } : {}) });
  // Never leave workerd behind, however the bench ends (EPIPE, an uncaught error, Ctrl-C).
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const log = createWriteStream(logPath);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve((exited = { code, signal }))));
  const ports = new Map();
  const ready = (async () => {
    for await (const line of createInterface(child.stdio[3])) {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.event === "listen") ports.set(msg.socket, msg.port);
      if (msg.event === "listen-inspector") ports.set("inspector", msg.port);
      if (awaited.every((s) => ports.has(s))) return;
    }
  })();
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("workerd did not start in 30 s")), 30_000).unref());
  try {
    await Promise.race([ready, exit.then(() => Promise.reject(new Error(`workerd exited (${JSON.stringify(exited)}); see ${logPath}`))), timeout]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const urls = Object.fromEntries([...ports].map(([s, p]) => [s, `http://127.0.0.1:${p}`]));
  return {
    kind: "workerd",
    url: urls.http,
    urls,
    pid: child.pid,
    logPath,
    stop: async () => {
      await stopChild(child, exit);
      process.removeListener("exit", killOnExit);
    },
  };
}

async function stopChild(child, exit) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exit;
  clearTimeout(timer);
}

/**
 * The same two bundles through Miniflare's API (it also runs workerd, with its own entry worker
 * in front of ours inside the process). For the runtime comparison only.
 */
export async function startMiniflare({ jwk, persistDir, sim = true }) {
  const { Miniflare, convertV4MiniflareOptions } = require("miniflare");
  const workers = [
    {
      name: "hub",
      modules: true,
      scriptPath: join(BUILD, "hub/index.js"),
      compatibilityDate: "2026-10-01",
      compatibilityFlags: ["nodejs_compat"],
      bindings: { ENVIRONMENT: "development", BITCOIN_NETWORK: "regtest", JWT_PRIVATE_JWK: jwk },
      durableObjects: {
        WALLET: { className: "WalletActor", useSQLite: true },
        ACCOUNT: { className: "AccountActor", useSQLite: true },
        USERNAME: { className: "UsernameActor", useSQLite: true },
        LIGHTNING: { className: "LightningNodeActor", useSQLite: true },
      },
      ...(sim ? { serviceBindings: { LND_SIM: "flash-lnd-sim" } } : {}),
    },
  ];
  if (sim) {
    workers.push({
      name: "flash-lnd-sim",
      modules: true,
      scriptPath: join(BUILD, "sim/index.js"),
      compatibilityDate: "2026-10-01",
      compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
      durableObjects: { SIM: { className: "SimNetwork", useSQLite: true } },
    });
  }
  const before = new Set(childPids(process.pid));
  // Miniflare 5 takes a new options shape; its converter accepts the documented v4 one (and, like
  // v4, leaves the cross-process dev registry off).
  const v4 = { workers, host: "127.0.0.1", port: 0, durableObjectsPersist: persistDir };
  const mf = new Miniflare(convertV4MiniflareOptions ? convertV4MiniflareOptions(v4) : v4);
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const pid = childPids(process.pid).find((p) => !before.has(p) && comm(p) === "workerd") ?? null;
  return { kind: "miniflare", url, urls: { http: url }, pid, stop: () => mf.dispose() };
}

export function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export function childPids(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // process gone
  }
  return out;
}

/** VmRSS of a process and all its descendants, in MB (from /proc/<pid>/status). */
export function rssMb(pid) {
  return memoryOf(pid).rss_mb;
}

/** RSS and its parts (anonymous, file-backed, shared memory) of a process tree, in MB. */
export function memoryOf(pid) {
  const kb = { VmRSS: 0, RssAnon: 0, RssFile: 0, RssShmem: 0 };
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    let status;
    try {
      status = readFileSync(`/proc/${p}/status`, "utf8");
    } catch {
      return;
    }
    for (const k of Object.keys(kb)) {
      const m = new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status);
      if (m) kb[k] += Number(m[1]);
    }
    for (const c of childPids(p)) visit(c);
  };
  visit(pid);
  const mb = (x) => Math.round((x / 1024) * 10) / 10;
  return { rss_mb: mb(kb.VmRSS), anon_mb: mb(kb.RssAnon), file_mb: mb(kb.RssFile), shmem_mb: mb(kb.RssShmem) };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and all its descendants (wrangler dev: Node proxy + workerd). */
export function treeCpuSeconds(pid) {
  let total = 0;
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    const s = cpuSeconds(p);
    if (!Number.isNaN(s)) total += s;
    for (const c of childPids(p)) visit(c);
  };
  visit(pid);
  return total;
}

/** CPU seconds the whole machine has been busy (all cores, from /proc/stat). */
export function machineCpuSeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return NaN;
  }
}

/** Threads of a process (workerd's JS runs on one of them). */
export function threadCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}
