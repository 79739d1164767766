// Memory per idle WebSocket, measured where it can be seen.
//
// workerd's allocator keeps the memory of Durable Objects that went to sleep and hands it out
// again: in the main run, 1,000 sockets opened after 1,000 accounts were touched fit in memory
// the process already holds, and RSS barely moves. So the probe runs on a fresh workerd with a
// handful of accounts (little memory churned) and opens batches of sockets to them; each batch
// is left idle until the accounts' Durable Objects hibernate, then RSS is read. The slope over
// the batches is the cost of an idle socket, whatever else the process holds.
import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { writeConfig, BUILD } from "./build.mjs";
import { startWorkerd, memoryOf } from "./runtime.mjs";
import { createClient } from "./http.mjs";
import { Hub } from "./hub.mjs";
import { pool, round } from "./load.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of [x, y] points. */
export function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx ? sxy / sxx : NaN;
}

export async function socketMemoryProbe({ jwk, dataDir, accounts = 20, batches = 4, batchSize = 1000, settleS = 12, initialWait = true, log = () => {} }) {
  const rt = await startWorkerd({ configPath: writeConfig({ jwk, dataDir, dir: `${dataDir}-config`, sim: false }), logPath: join(BUILD, "workerd-probe.log") });
  const sockets = [];
  const client = createClient(rt.url, { connections: 32 });
  try {
    const hub = new Hub(client, rt.url, `m${Date.now().toString(36)}`);
    await hub.createAccounts(accounts, { concurrency: 4 });
    if (initialWait) await sleep(settleS * 1000);
    const points = [[0, memoryOf(rt.pid).rss_mb]];
    const detail = [{ sockets: 0, ...memoryOf(rt.pid) }];
    for (let b = 1; b <= batches; b++) {
      const t0 = performance.now();
      sockets.push(...(await pool(batchSize, 32, (i) => hub.openStream(hub.accounts[i % accounts], () => {}))));
      log(`[bench] socket probe: ${sockets.length} sockets open (${round((performance.now() - t0) / 1000, 1)} s), idling ${settleS} s`);
      await sleep(settleS * 1000);
      const m = memoryOf(rt.pid);
      points.push([sockets.length, m.rss_mb]);
      detail.push({ sockets: sockets.length, ...m });
    }
    return {
      accounts,
      sockets: sockets.length,
      settle_s: settleS,
      points,
      detail,
      mb_per_1k_sockets: round(slope(points) * 1000, 1),
      anon_mb_per_1k_sockets: round(slope(detail.map((d) => [d.sockets, d.anon_mb])) * 1000, 1),
    };
  } finally {
    for (const s of sockets) s.close();
    await client.close();
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}-config`, { recursive: true, force: true });
  }
}
