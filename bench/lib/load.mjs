// Load generators. Closed loop: `concurrency` clients, each sending its next request as soon as the
// previous one is answered (throughput). Open loop: requests arriving at a rate (latency at a load).
// After `warmupMs`, completions are counted for `durationMs`.
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
 * CPU used from `warmupMs` on (when the measured window opens) until `cores(seconds)` is asked: by the
 * server (`cpu`), by this client, and by everything else on the machine (`machineCpu`), in cores.
 */
function cpuMeter({ cpu, machineCpu, warmupMs }) {
  let server = null;
  let machine = null;
  let client = null;
  const timer = setTimeout(() => {
    server = cpu ? cpu() : null;
    machine = machineCpu ? machineCpu() : null;
    client = process.cpuUsage();
  }, warmupMs);
  return {
    cores(seconds) {
      clearTimeout(timer);
      const serverUsed = cpu && server !== null ? cpu() - server : null;
      const clientUsed = client ? process.cpuUsage(client) : null;
      const clientS = clientUsed ? (clientUsed.user + clientUsed.system) / 1e6 : null;
      const machineUsed = machineCpu && machine !== null ? machineCpu() - machine : null;
      return {
        // Share of one core the server used during the measured window (1.0 = one core busy).
        server_cpu_cores: serverUsed === null ? null : round(serverUsed / seconds, 2),
        client_cpu_cores: clientS === null ? null : round(clientS / seconds, 2),
        // Everything else the machine ran meanwhile (other processes, kernel): high values mean a disturbed run.
        other_cpu_cores: machineUsed !== null && serverUsed !== null && clientS !== null ? round(Math.max(0, machineUsed - serverUsed - clientS) / seconds, 2) : null,
      };
    },
  };
}

/** What the requests of a measured window answered: counts, errors by status (with a sample each), latencies. */
class Tally {
  completed = 0;
  ok = 0;
  pending = 0;
  errors = {};
  samples = {};
  latencies = [];

  /** Counts one answer; `latencyMs` null when it is not to be timed. */
  add(result, latencyMs) {
    this.completed++;
    if (result.ok) {
      this.ok++;
      if (result.pending) this.pending++;
      if (latencyMs !== null) this.latencies.push(latencyMs);
    } else {
      this.errors[result.status] = (this.errors[result.status] ?? 0) + 1;
      if (!(result.status in this.samples)) this.samples[result.status] = String(result.error?.message ?? result.error ?? result.detail ?? "").slice(0, 300);
    }
  }

  report(seconds) {
    return {
      completed: this.completed,
      ok: this.ok,
      tps: round(this.ok / seconds, 1),
      error_count: this.completed - this.ok,
      errors: this.errors,
      error_samples: this.samples,
      pending: this.pending,
      latency: summarize(this.latencies),
    };
  }
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
  const tally = new Tally();
  const meter = cpuMeter({ cpu, machineCpu, warmupMs });
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
      tally.add(result, t0 >= measureFrom ? t1 - t0 : null);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  // Clients that ran out of work (`done`) shorten the window to when the last of them stopped.
  const seconds = ended === concurrency ? Math.max(0.001, Math.min(durationMs, lastEnd - measureFrom)) / 1000 : durationMs / 1000;
  return { concurrency, duration_s: round(seconds, 2), ...tally.report(seconds), ...meter.cores(seconds) };
}

/**
 * Open-loop load: requests arrive at `rate` per second (Poisson arrivals, as independent users
 * send), whether or not earlier ones were answered, so a slow answer cannot hold back the next
 * request (a closed loop at saturation measures its own queue: latency = clients / throughput).
 * This is how a latency target is judged: at an offered load below capacity. Latency runs from a
 * request's scheduled arrival (not from when the client got round to it) to its answer. At most
 * `maxInFlight` requests wait at once; an arrival beyond that is counted as `shed` (the load was
 * more than the server could take) and not sent.
 * op(i) → Promise<{ ok, status, pending?, detail? }> as for closedLoop; `i` counts arrivals.
 * Returns closedLoop's fields (`concurrency` null) plus { rate, offered, shed, max_in_flight }.
 */
export async function openLoop({ rate, warmupMs, durationMs, op, cpu = null, machineCpu = null, maxInFlight = 1000 }) {
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const measureTo = measureFrom + durationMs;
  const tally = new Tally();
  const meter = cpuMeter({ cpu, machineCpu, warmupMs });
  let offered = 0;
  let shed = 0;
  let inFlight = 0;
  let maxSeen = 0;
  const running = new Set();
  const arrive = (i, scheduled) => {
    const measured = scheduled >= measureFrom && scheduled < measureTo;
    if (measured) offered++;
    if (inFlight >= maxInFlight) {
      if (measured) shed++;
      return;
    }
    inFlight++;
    maxSeen = Math.max(maxSeen, inFlight);
    const done = (async () => {
      let result;
      try {
        result = await op(i);
      } catch (error) {
        result = { ok: false, status: "exception", error };
      }
      inFlight--;
      if (measured) tally.add(result, performance.now() - scheduled);
    })();
    running.add(done);
    done.finally(() => running.delete(done));
  };
  // Arrivals: exponential gaps of mean 1/rate; each is sent at its time (late ones at once, still timed from their schedule).
  let next = start;
  for (let i = 0; ; i++) {
    next += (-Math.log(1 - Math.random()) * 1000) / rate;
    if (next >= measureTo) break;
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    arrive(i, next);
  }
  await Promise.all(running);
  const seconds = durationMs / 1000;
  const answered = tally.report(seconds);
  return {
    concurrency: null,
    rate: round(rate, 1),
    offered,
    shed,
    max_in_flight: maxSeen,
    duration_s: round(seconds, 2),
    ...answered,
    error_count: answered.error_count + shed,
    errors: shed ? { ...answered.errors, shed } : answered.errors,
    ...meter.cores(seconds),
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
