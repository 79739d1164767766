#!/usr/bin/env node
// Which way of running the hub locally serves the most requests? `node bench/compare-runtimes.mjs`
//
// The same bundle (wrangler deploy --dry-run) behind: workerd serving it directly (what run.mjs
// uses), Miniflare's programmatic API (workerd with Miniflare's entry worker in front), and
// `wrangler dev` (what `npm start` runs: a Node proxy in front of Miniflare). Each serves
// GET /health to the same closed-loop client; the table is what docs/performance.md records.
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, BUILD, ROOT } from "./lib/build.mjs";
import { startWorkerd, startMiniflare, cpuSeconds, treeCpuSeconds, workerdVersion } from "./lib/runtime.mjs";
import { createClient, clientKind } from "./lib/http.mjs";
import { closedLoop } from "./lib/load.mjs";

const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    levels: { type: "string", default: "16,64" },
    "skip-wrangler-dev": { type: "boolean", default: false },
  },
});
const durationMs = Number(opt.duration) * 1000;
const levels = opt.levels.split(",").map(Number);
const log = (...a) => console.error(...a);

const bundles = bundle();
const sim = !!bundles.sim;
const jwk = await generateJwk();
const rows = [];

async function measure(name, rt, cpu) {
  const client = createClient(rt.url, { connections: Math.max(...levels) });
  try {
    for (const c of levels) {
      const r = await closedLoop({
        concurrency: c,
        warmupMs: 1000,
        durationMs,
        cpu,
        op: async () => {
          const res = await client.request("GET", "/health");
          return { ok: res.status === 200, status: res.status };
        },
      });
      rows.push({ runtime: name, concurrency: c, tps: r.tps, p50_ms: r.latency.p50_ms, p99_ms: r.latency.p99_ms, errors: r.error_count, server_cores: r.server_cpu_cores, bench_cores: r.client_cpu_cores });
      log(`[compare] ${name} c=${c}: ${r.tps}/s p50 ${r.latency.p50_ms} p99 ${r.latency.p99_ms} ms, server ${r.server_cpu_cores} cores, bench ${r.client_cpu_cores} cores`);
    }
  } finally {
    await client.close();
  }
}

// 1. workerd, directly.
{
  const dataDir = join(BUILD, "data-compare-workerd");
  const rt = await startWorkerd({ configPath: writeConfig({ jwk, dataDir, sim }) });
  try {
    await measure("workerd (bundle served directly)", rt, () => cpuSeconds(rt.pid));
  } finally {
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// 2. Miniflare's API.
{
  const dataDir = join(BUILD, "data-compare-miniflare");
  const rt = await startMiniflare({ jwk, persistDir: dataDir, sim });
  try {
    await measure("miniflare API (entry worker + workerd)", rt, () => cpuSeconds(rt.pid));
  } finally {
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// 3. wrangler dev (npm start), on the copy of wrangler.toml under bench/.build.
if (!opt["skip-wrangler-dev"]) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "--config", join(BUILD, "config-hub/wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port),
      "--persist-to", join(BUILD, "data-compare-wrangler-dev"), "--show-interactive-dev-session=false", "--log-level", "error"],
    { cwd: join(BUILD, "config-hub"), stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CI: "1" } },
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  try {
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error("wrangler dev did not answer /health in 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    await measure("wrangler dev (npm start)", { url }, () => treeCpuSeconds(child.pid));
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    process.removeListener("exit", killOnExit);
    rmSync(join(BUILD, "data-compare-wrangler-dev"), { recursive: true, force: true });
  }
}

console.log(`\nGET /health, closed loop, ${opt.duration} s per level; workerd ${workerdVersion()}, node ${process.version}, client ${clientKind}\n`);
const head = ["runtime", "conc", "req/s", "p50 ms", "p99 ms", "errors", "server cores", "bench cores"];
const table = rows.map((r) => [r.runtime, r.concurrency, r.tps, r.p50_ms, r.p99_ms, r.errors, r.server_cores, r.bench_cores]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(line(head));
for (const row of table) console.log(line(row));
console.log(JSON.stringify(rows));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
