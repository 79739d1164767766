// Limits on/off (issue 12, point 10; docs/performance.md, "Limits on/off"): intraledger payments on
// the hub with every limit on (the rolling 24 h account limits of durable/wallet/limits.ts, the rate
// limits of workers/middleware/rate-limits.ts) and with them switched off (`LIMITS=off`, which the
// hub honours in development only). Both from one bundle, two workerd processes side by side, each
// with its own accounts; measured rounds alternate between them, as bench/ab.mjs does, because this
// VM's speed drifts by more than the difference. The ratio is on/off per pair of rounds, its median
// reported.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { writeConfig } from "./build.mjs";
import { startWorkerd, cpuSeconds, machineCpuSeconds } from "./runtime.mjs";
import { createClient } from "./http.mjs";
import { closedLoop, round } from "./load.mjs";
import { Hub } from "./hub.mjs";

/** Other processes' CPU during a round (cores) under which it counts as undisturbed. */
const QUIET_CORES = 0.25;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * → { accounts, concurrency, rounds, seconds, on: {tps, cpu_ms, p99_ms, errors, rounds}, off: {…},
 *     ratios (on/off per pair), quiet_pairs, quiet_ratio (the median over pairs no other process
 *     disturbed), limits_on_tps, limits_off_tps, limits_ratio (the median over every pair) }
 */
export async function limitsAB({ hubBundle, jwk, dir, accounts = 100, rounds = 4, seconds = 2, concurrency = 64, log = () => {} }) {
  const sides = [];
  try {
    for (const limits of ["on", "off"]) {
      const dataDir = `/dev/shm/flash-hub-limits-${limits}-${process.pid}`;
      const configPath = writeConfig({ dir: join(dir, `config-limits-${limits}`), jwk, storage: "disk", dataDir, sim: false, hubBundle, limits });
      const rt = await startWorkerd({ configPath, logPath: join(dir, `limits-${limits}.log`) });
      sides.push({ limits, rt, dataDir, client: null, hub: null, rounds: [] });
    }
    // Both sides' accounts at once (PBKDF2 dominates: the two processes share the cores alike).
    await Promise.all(
      sides.map(async (s) => {
        s.client = createClient(s.rt.url, { connections: concurrency });
        s.hub = new Hub(s.client, s.rt.url, `lim${s.limits}${Date.now().toString(36)}`);
        await s.hub.createAccounts(accounts, { concurrency: 8 });
      }),
    );
    log(`[limits] ${accounts} accounts each: limits on (pid ${sides[0].rt.pid}), LIMITS=off (pid ${sides[1].rt.pid})`);
    const pay = (hub) => () => hub.payRandomPair();
    // A warm-up round each (every wallet awake, JIT warm), then measured rounds, alternating which goes first.
    for (const s of sides) await closedLoop({ concurrency, warmupMs: 0, durationMs: 2000, op: pay(s.hub) });
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        await s.hub.refreshTokensIfOld();
        const res = await closedLoop({ concurrency, warmupMs: 500, durationMs: seconds * 1000, op: pay(s.hub), cpu: () => cpuSeconds(s.rt.pid), machineCpu: machineCpuSeconds });
        const cpu_ms = res.server_cpu_cores === null ? null : (res.server_cpu_cores * res.duration_s * 1000) / res.completed;
        s.rounds.push({ tps: res.tps, p99_ms: res.latency.p99_ms, cpu_ms, errors: res.error_count, other_cpu_cores: res.other_cpu_cores });
        log(`[limits] round ${r + 1} limits ${s.limits}: ${round(res.tps, 1)}/s, p99 ${res.latency.p99_ms} ms, ${cpu_ms === null ? "?" : round(cpu_ms, 3)} ms CPU/payment, errors ${res.error_count}, other processes ${res.other_cpu_cores} cores`);
      }
    }
  } finally {
    for (const s of sides) {
      await s.client?.close().catch(() => {});
      await s.rt.stop();
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  }
  const [on, off] = sides.map((s) => ({
    tps: round(median(s.rounds.map((r) => r.tps)), 1),
    cpu_ms: round(median(s.rounds.map((r) => r.cpu_ms ?? NaN)), 3),
    p99_ms: round(median(s.rounds.map((r) => r.p99_ms)), 1),
    errors: s.rounds.reduce((n, r) => n + r.errors, 0),
    rounds: s.rounds,
  }));
  const ratios = on.rounds.map((r, i) => round(r.tps / off.rounds[i].tps, 3));
  // The pairs of rounds during which the rest of the machine stayed nearly idle (a shared VM: other work skews one side).
  const quiet = ratios.filter((_, i) => Math.max(on.rounds[i].other_cpu_cores ?? 0, off.rounds[i].other_cpu_cores ?? 0) <= QUIET_CORES);
  return {
    accounts,
    concurrency,
    rounds,
    seconds,
    on,
    off,
    ratios,
    quiet_pairs: quiet.length,
    quiet_ratio: quiet.length ? round(median(quiet), 3) : null,
    limits_on_tps: on.tps,
    limits_off_tps: off.tps,
    limits_ratio: round(median(ratios), 3),
  };
}
