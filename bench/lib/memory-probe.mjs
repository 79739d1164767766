// Memory per warm account, JS heap and native apart, and what is left once the objects are evicted
// (issue 17, point 3). A fresh workerd with its inspector:
// 1. a baseline: a few accounts that paid each other (code loaded and compiled), V8 collected;
// 2. `accounts` more accounts, each funded and paying another once (its wallet, account and username
//    objects awake and through the payment path), V8 collected: the heap's growth ÷ accounts is the JS
//    heap per warm account (V8's own figure, Runtime.getHeapUsage), the anonymous RSS growth less
//    that is native memory (SQLite connections, page caches, prepared statements, runtime objects);
// 3. no request for `idleS` (past the runtime's eviction of idle objects), V8 collected again: the heap
//    kept per account then (objects evicted: their JS memory is garbage) and the anonymous RSS kept
//    (the allocator keeps freed pages for reuse, so RSS is a high-water mark);
// 4. as many other accounts warmed the same way: the anonymous RSS they add shows whether the memory
//    the evicted objects gave back is used again (little growth) or was leaked (as much as in step 2).
import { join } from "node:path";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { writeConfig } from "./build.mjs";
import { startWorkerd, memoryOf } from "./runtime.mjs";
import { createClient } from "./http.mjs";
import { pool, round } from "./load.mjs";
import { Hub } from "./hub.mjs";
import { hubInspector } from "./inspector.mjs";

const BASELINE_ACCOUNTS = 20;

export async function probeAccountMemory({ jwk, sim, dataDir, accounts = 1000, idleS = 30, log = () => {} }) {
  rmSync(dataDir, { recursive: true, force: true });
  const rt = await startWorkerd({ configPath: writeConfig({ dir: join(dataDir, "config"), jwk, dataDir, sim }), inspector: true, logPath: join(dataDir, "workerd.log") });
  const { inspector } = await hubInspector(rt.urls.inspector);
  try {
    const client = createClient(rt.url, { connections: 16 });
    const hub = new Hub(client, rt.url, `m${Date.now().toString(36)}`);
    const measure = async () => {
      // An isolate with nothing to do does not take inspector messages until an event wakes it: a
      // request to the cheapest route (no Durable Object) runs beside each message.
      const send = async (method) => (await Promise.all([inspector.send(method), client.request("GET", "/health")]))[0];
      // Twice: a collection can leave garbage the first one's finalizers freed.
      await send("HeapProfiler.collectGarbage");
      await send("HeapProfiler.collectGarbage");
      const heap = await send("Runtime.getHeapUsage");
      const mem = memoryOf(rt.pid);
      return { heap_mb: round(heap.usedSize / 2 ** 20, 2), heap_total_mb: round(heap.totalSize / 2 ** 20, 2), anon_mb: mem.anon_mb, rss_mb: mem.rss_mb };
    };
    const payEach = (from) => pool(from.length, 16, async (k) => {
      const a = from[k];
      const r = await hub.pay(a, from[(k + 1) % from.length]);
      if (!r.ok) throw new Error(`memory probe: payment failed ${r.status} ${String(r.detail).slice(0, 200)}`);
    });
    await payEach(await hub.createAccounts(BASELINE_ACCOUNTS, { concurrency: 16 }));
    await sleep(1000);
    const baseline = await measure();
    log(`[bench] memory probe: baseline ${JSON.stringify(baseline)}; warming ${accounts} accounts`);
    const warmed = await hub.createAccounts(accounts, { concurrency: 16 });
    await payEach(warmed);
    const warm = await measure();
    log(`[bench] memory probe: ${accounts} warm accounts ${JSON.stringify(warm)}; idle ${idleS} s`);
    await sleep(idleS * 1000);
    const idle = await measure();
    log(`[bench] memory probe: after ${idleS} s idle ${JSON.stringify(idle)}`);
    await payEach(await hub.createAccounts(accounts, { concurrency: 16 }));
    const rewarmed = await measure();
    log(`[bench] memory probe: ${accounts} other accounts warmed after that ${JSON.stringify(rewarmed)}`);
    const perAccountKb = (a, b, key) => round(((b[key] - a[key]) * 1024) / accounts, 1);
    const heapKb = perAccountKb(baseline, warm, "heap_mb");
    return {
      accounts,
      idle_s: idleS,
      baseline,
      warm,
      idle,
      rewarmed,
      heap_kb_per_warm_account: heapKb,
      native_kb_per_warm_account: round(perAccountKb(baseline, warm, "anon_mb") - heapKb, 1),
      heap_kb_per_account_after_idle: perAccountKb(baseline, idle, "heap_mb"),
      anon_kb_per_account_after_idle: perAccountKb(baseline, idle, "anon_mb"),
      anon_kb_per_rewarmed_account: perAccountKb(idle, rewarmed, "anon_mb"),
    };
  } finally {
    inspector.close();
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
