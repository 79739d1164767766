// Closed-loop load: `concurrency` clients, each sending its next request as soon as the previous
// one is answered. After `warmupMs`, completions are counted for `durationMs`.
import { performance } from "node:perf_hooks";

/** Percentile (nearest rank) of a sorted array. */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

/** Latency summary (ms) of an array of samples. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    n,
    mean_ms: n ? round(sum / n) : null,
    p50_ms: round(percentile(sorted, 50)),
    p95_ms: round(percentile(sorted, 95)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: n ? round(sorted[n - 1]) : null,
  };
}

/**
 * op(clientIndex) → Promise<{ ok: boolean, status: number|string, pending?: boolean, detail?: string, done?: boolean }>.
 * Throws are counted as errors ("exception") and the client carries on; `done` ends that client.
 * cpu: optional () → CPU seconds of the server, sampled over the measured window; machineCpu: the
 * same for the whole machine (to tell how much else was running).
 * Returns { concurrency, duration_s, completed, tps, ok, errors: {status: count}, pending, latency }.
 */
export async function closedLoop({ concurrency, warmupMs, durationMs, op, cpu = null, machineCpu = null }) {
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const measureTo = measureFrom + durationMs;
  const latencies = [];
  const errors = {};
  let completed = 0;
  let ok = 0;
  let pending = 0;
  const samples = {};
  let cpuAtStart = null;
  let clientCpuAtStart = null;
  let machineAtStart = null;
  const cpuTimer = setTimeout(() => {
    cpuAtStart = cpu ? cpu() : null;
    machineAtStart = machineCpu ? machineCpu() : null;
    clientCpuAtStart = process.cpuUsage();
  }, warmupMs);
  let ended = 0;
  let lastEnd = 0;
  const client = async (i) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= measureTo) return;
      let result;
      try {
        result = await op(i);
      } catch (error) {
        result = { ok: false, status: "exception", error };
      }
      const t1 = performance.now();
      if (result.done) {
        ended++;
        lastEnd = Math.max(lastEnd, t1);
        return;
      }
      if (t1 < measureFrom || t1 > measureTo) continue;
      completed++;
      if (result.ok) {
        ok++;
        if (result.pending) pending++;
        if (t0 >= measureFrom) latencies.push(t1 - t0);
      } else {
        errors[result.status] = (errors[result.status] ?? 0) + 1;
        if (!(result.status in samples)) samples[result.status] = String(result.error?.message ?? result.error ?? result.detail ?? "").slice(0, 300);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  clearTimeout(cpuTimer);
  const cpuUsed = cpu && cpuAtStart !== null ? cpu() - cpuAtStart : null;
  const clientCpu = clientCpuAtStart ? process.cpuUsage(clientCpuAtStart) : null;
  const machineUsed = machineCpu && machineAtStart !== null ? machineCpu() - machineAtStart : null;
  // Clients that ran out of work (`done`) shorten the window to when the last of them stopped.
  const seconds = ended === concurrency ? Math.max(0.001, Math.min(durationMs, lastEnd - measureFrom)) / 1000 : durationMs / 1000;
  return {
    concurrency,
    duration_s: round(seconds, 2),
    completed,
    ok,
    tps: round(ok / seconds, 1),
    error_count: completed - ok,
    errors,
    error_samples: samples,
    pending,
    latency: summarize(latencies),
    // Share of one core the server used during the measured window (1.0 = one core busy).
    server_cpu_cores: cpuUsed === null ? null : round(cpuUsed / seconds, 2),
    client_cpu_cores: clientCpu ? round((clientCpu.user + clientCpu.system) / 1e6 / seconds, 2) : null,
    // Everything else the machine ran meanwhile (other processes, kernel): high values mean a disturbed run.
    other_cpu_cores:
      machineUsed !== null && cpuUsed !== null && clientCpu ? round(Math.max(0, machineUsed - cpuUsed - (clientCpu.user + clientCpu.system) / 1e6) / seconds, 2) : null,
  };
}

/** Runs async `fn(i)` for i in [0, n) with at most `limit` at once; returns results in order. */
export async function pool(n, limit, fn) {
  const results = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await fn(i);
      }
    }),
  );
  return results;
}

export { round };
