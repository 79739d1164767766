#!/usr/bin/env node
// V8's garbage collections while clients pay: `node bench/gc-pauses.mjs [--accounts 1000] [--concurrency 16] [--seconds 10]
// [--op pay|chat-text|chat-pay]` (chat: text or payment messages in one direct conversation per account).
//
// workerd runs the hub's isolate on one thread, so a full collection (mark-compact) stops every request in
// flight; this shows how often that happens and how long it takes, next to the latency it costs. The hub is
// served as the bench serves it, with V8's `--trace-gc` (workerd's `v8Flags`), and the collections logged
// during the measured window are counted.
import { parseArgs } from "node:util";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { bundle, generateJwk, writeConfig, BUILD } from "./lib/build.mjs";
import { startWorkerd, cpuSeconds } from "./lib/runtime.mjs";
import { createClient } from "./lib/http.mjs";
import { closedLoop, round } from "./lib/load.mjs";
import { Hub } from "./lib/hub.mjs";

const { values: opt } = parseArgs({
  options: {
    accounts: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    seconds: { type: "string", default: "10" },
    op: { type: "string", default: "pay" },
  },
});
const log = (...a) => console.error(...a);
const logPath = join(BUILD, "workerd-gc.log");
const dataDir = `/dev/shm/flash-hub-gc-${process.pid}`;

bundle();
const configPath = writeConfig({ dir: join(BUILD, "config-gc"), jwk: await generateJwk(), storage: "disk", dataDir, sim: false, v8Flags: ["--trace-gc"] });
// V8 stamps each collection with the ms since its isolate started (just after workerd did): the window is
// found by time. workerd's stdout is a pipe, so libc would hand V8's lines over in blocks and keep the last
// ones when workerd is stopped; coreutils' stdbuf library makes it line-buffered.
const libstdbuf = ["/usr/libexec/coreutils/libstdbuf.so", "/usr/lib/x86_64-linux-gnu/coreutils/libstdbuf.so", "/usr/lib/coreutils/libstdbuf.so"].find(existsSync);
if (!libstdbuf) log("[gc] coreutils' libstdbuf.so not found: the last collections may be missing from the log");
const startedAt = performance.now();
const rt = await startWorkerd({ configPath, logPath, env: libstdbuf ? { LD_PRELOAD: libstdbuf, _STDBUF_O: "L" } : null });
let window = null;
let result = null;
const client = createClient(rt.url, { connections: 64 });
try {
  const hub = new Hub(client, rt.url, `g${Date.now().toString(36)}`);
  log(`[gc] creating ${opt.accounts} accounts`);
  await hub.createAccounts(Number(opt.accounts), { concurrency: 16 });
  let op = () => hub.payRandomPair();
  if (opt.op === "chat-text" || opt.op === "chat-pay") {
    // One direct conversation per account with a random other one.
    const convs = [];
    for (let i = 0; i < hub.accounts.length; i += 64) {
      const batch = hub.accounts.slice(i, i + 64).map(async (a) => {
        const b = hub.randomAccount(a.index);
        const r = await hub.createConversation(a, [b]);
        if (!r.ok) throw new Error(`POST /v1/conversations → ${r.status} ${r.detail}`);
        return { id: r.conversation_id, members: [a, b] };
      });
      convs.push(...(await Promise.all(batch)));
    }
    let seq = 0;
    op = () => {
      const cv = convs[(Math.random() * convs.length) | 0];
      const from = cv.members[(Math.random() * 2) | 0];
      return opt.op === "chat-pay" ? hub.payInConversation(from, cv.id) : hub.postMessage(from, cv.id, `gc:${seq++}`);
    };
  }
  await closedLoop({ concurrency: 64, warmupMs: 0, durationMs: 4000, op }); // every wallet awake, JIT warm
  const from = performance.now() - startedAt;
  result = await closedLoop({ concurrency: Number(opt.concurrency), warmupMs: 0, durationMs: Number(opt.seconds) * 1000, op, cpu: () => cpuSeconds(rt.pid) });
  window = [from, performance.now() - startedAt];
} finally {
  await client.close();
  await rt.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

// e.g. "[pid:0x…]  23255 ms: Mark-Compact 38.4 (52.2) -> 8.3 (52.2) MB, pooled: 0.0 MB, 109.64 / 0.00 ms …"
const collections = readFileSync(logPath, "utf8")
  .split("\n")
  .map((line) => /\s(\d+) ms: (Scavenge|Mark-Compact)\b.*?MB, ([\d.]+) \/ [\d.]+ ms/.exec(line))
  .filter((m) => m && Number(m[1]) >= window[0] && Number(m[1]) <= window[1])
  .map((m) => ({ at_ms: Number(m[1]), kind: m[2], pause_ms: Number(m[3]) }));
const describe = (kind) => {
  const xs = collections.filter((c) => c.kind === kind).map((c) => c.pause_ms);
  return xs.length ? `${xs.length} (${round(Math.min(...xs), 1)}–${round(Math.max(...xs), 1)} ms each, ${round(xs.reduce((s, x) => s + x, 0), 0)} ms in all)` : "none";
};
const r = result;
console.log(`${opt.op === "pay" ? "payments" : opt.op}: ${r.tps}/s at ${opt.concurrency} clients among ${opt.accounts} accounts for ${opt.seconds} s; latency p50 ${r.latency.p50_ms} / p99 ${r.latency.p99_ms} / max ${r.latency.max_ms} ms; workerd ${r.server_cpu_cores} cores`);
console.log(`mark-compact pauses: ${describe("Mark-Compact")}`);
console.log(`scavenges: ${describe("Scavenge")}`);
writeFileSync(join(BUILD, "gc-pauses.json"), JSON.stringify({ options: opt, payments: r, collections }, null, 2));
