/**
 * What one isolate counted since it last handed its counts on (docs/decisions/0022): counters,
 * histograms, per-minute figures and the hourly sketch of active accounts, all in memory. Recording
 * is a few map updates, no I/O; `take()` hands the deltas over (to a metrics shard) and starts
 * again from zero, `restore()` puts back a delta that could not be handed over. Everything in a
 * delta adds up (no gauge): a shard's totals are the sum of what it was given, in any order.
 */
import { ACTIVE_HOURS, LATENCY_BOUNDS_S, M, RETAIN_MINUTES, W, hourOf, minuteOf } from "./catalog";
import { bucketIndex, type Labels } from "./exposition";
import { addPoints, emptySketch, hllPoint } from "./hll";

export interface CounterDelta {
  name: string;
  /** The labels as JSON (one spelling per label set: the code that counts builds them in a fixed order). */
  labels: string;
  value: number;
}

export interface HistogramDelta {
  name: string;
  labels: string;
  /** The bounds as JSON: a shard adds buckets only to a series with the same bounds. */
  bounds: string;
  /** Observations per bucket (not cumulative), the last past the last bound. */
  buckets: number[];
  sum: number;
}

export interface MetricsDelta {
  counters: CounterDelta[];
  histograms: HistogramDelta[];
  /** Per-minute figures: `minute` is minutes since the epoch. */
  windows: { name: string; minute: number; value: number }[];
  /** Active accounts: the HyperLogLog registers set per hour (flat: index, rank, index, rank, …). */
  sketches: { hour: number; points: number[] }[];
}

interface Histogram {
  labels: Labels;
  buckets: number[];
  sum: number;
}

const HTTP_BOUNDS_JSON = JSON.stringify(LATENCY_BOUNDS_S);
/** The JSON of label objects counted before (the same object is spelt once). */
const labelJson = new WeakMap<Labels, string>();

const addTo = <K>(map: Map<K, number>, key: K, by: number) => map.set(key, (map.get(key) ?? 0) + by);

export class MetricsRecorder {
  private counters = new Map<string, CounterDelta>();
  /** The request histograms by route, method and status (the route and method strings are the router's own, so these lookups hash nothing new). */
  private http = new Map<string, Map<string, Map<number, Histogram>>>();
  private windows = new Map<string, Map<number, number>>();
  /** This minute's requests and their seconds, kept as plain numbers (folded into `windows` when the minute changes or on take). */
  private minute = -1;
  private minuteRequests = 0;
  private minuteSeconds = 0;
  /** Active-account registers per hour; `hourRegisters` is the current hour's. */
  private sketches = new Map<number, Uint8Array>();
  private hour = -1;
  private hourRegisters: Uint8Array | null = null;

  /** Adds `by` to a counter. Callers that count often pass the same label object each time (its spelling is kept). */
  count(name: string, labels: Labels, by = 1): void {
    let json = labelJson.get(labels);
    if (json === undefined) labelJson.set(labels, (json = JSON.stringify(labels)));
    const key = `${name}\u0000${json}`;
    const counter = this.counters.get(key);
    if (counter) counter.value += by;
    else this.counters.set(key, { name, labels: json, value: by });
  }

  /** Adds `by` to the current minute of a per-minute figure. */
  addToWindow(name: string, by: number, nowMs: number): void {
    let minutes = this.windows.get(name);
    if (!minutes) this.windows.set(name, (minutes = new Map()));
    addTo(minutes, minuteOf(nowMs), by);
  }

  /**
   * One HTTP request: its route pattern (never the raw path: the label's values are the routes the
   * app declares), method and status, and how long it took. Counted in the request histogram (its
   * `_count` is the request counter) and in the recent figures. A few map lookups and additions.
   */
  request(method: string, route: string, status: number, seconds: number, nowMs: number): void {
    let byMethod = this.http.get(route);
    if (!byMethod) this.http.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let h = byStatus.get(status);
    if (!h) byStatus.set(status, (h = { labels: { method, route, status: String(status) }, buckets: new Array<number>(LATENCY_BOUNDS_S.length + 1).fill(0), sum: 0 }));
    h.buckets[bucketIndex(LATENCY_BOUNDS_S, seconds)]!++;
    h.sum += seconds;
    const minute = minuteOf(nowMs);
    if (minute !== this.minute) this.foldMinute(minute);
    this.minuteRequests++;
    this.minuteSeconds += seconds;
  }

  /** An account was active (this hour's sketch: one register set to the larger of two numbers). */
  active(accountId: string, nowMs: number): void {
    const hour = hourOf(nowMs);
    if (hour !== this.hour || !this.hourRegisters) {
      this.hour = hour;
      this.hourRegisters = this.sketches.get(hour) ?? null;
      if (!this.hourRegisters) this.sketches.set(hour, (this.hourRegisters = emptySketch()));
    }
    const { index, rank } = hllPoint(accountId);
    if (this.hourRegisters[index]! < rank) this.hourRegisters[index] = rank;
  }

  /** This minute's request figures into `windows`; `next` becomes the current minute. */
  private foldMinute(next: number): void {
    if (this.minuteRequests > 0) {
      let requests = this.windows.get(W.requests);
      if (!requests) this.windows.set(W.requests, (requests = new Map()));
      let seconds = this.windows.get(W.requestSeconds);
      if (!seconds) this.windows.set(W.requestSeconds, (seconds = new Map()));
      addTo(requests, this.minute, this.minuteRequests);
      addTo(seconds, this.minute, this.minuteSeconds);
    }
    this.minute = next;
    this.minuteRequests = 0;
    this.minuteSeconds = 0;
  }

  get empty(): boolean {
    return this.counters.size === 0 && this.http.size === 0 && this.windows.size === 0 && this.minuteRequests === 0 && this.sketches.size === 0;
  }

  /** Everything counted since the last take, and a fresh start; null when nothing was. */
  take(): MetricsDelta | null {
    this.foldMinute(this.minute);
    if (this.empty) return null;
    const histograms: HistogramDelta[] = [];
    for (const byMethod of this.http.values()) {
      for (const byStatus of byMethod.values()) {
        for (const h of byStatus.values()) histograms.push({ name: M.httpDuration, labels: JSON.stringify(h.labels), bounds: HTTP_BOUNDS_JSON, buckets: h.buckets, sum: h.sum });
      }
    }
    const delta: MetricsDelta = {
      counters: [...this.counters.values()],
      histograms,
      windows: [...this.windows].flatMap(([name, minutes]) => [...minutes].map(([minute, value]) => ({ name, minute, value }))),
      sketches: [...this.sketches].map(([hour, registers]) => {
        const points: number[] = [];
        for (let i = 0; i < registers.length; i++) if (registers[i]) points.push(i, registers[i]!);
        return { hour, points };
      }),
    };
    this.counters = new Map();
    this.http = new Map();
    this.windows = new Map();
    this.sketches = new Map();
    this.hourRegisters = null;
    return delta;
  }

  /**
   * Puts a taken delta back (it could not be handed over): added to what was counted since. Minutes
   * and hours older than a shard keeps are dropped, so an isolate that cannot reach a shard for long
   * holds a bounded amount (its counters and histograms are bounded by their label sets).
   */
  restore(delta: MetricsDelta, nowMs: number): void {
    const oldestMinute = minuteOf(nowMs) - RETAIN_MINUTES;
    const oldestHour = hourOf(nowMs) - ACTIVE_HOURS;
    for (const c of delta.counters) this.count(c.name, JSON.parse(c.labels) as Labels, c.value);
    for (const d of delta.histograms) {
      // Only request histograms are taken; one with other bounds (another version's) is dropped.
      if (d.name !== M.httpDuration || d.bounds !== HTTP_BOUNDS_JSON) continue;
      const { method, route, status } = JSON.parse(d.labels) as { method: string; route: string; status: string };
      let byMethod = this.http.get(route);
      if (!byMethod) this.http.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(method);
      if (!byStatus) byMethod.set(method, (byStatus = new Map()));
      const h = byStatus.get(Number(status));
      if (h) {
        d.buckets.forEach((n, i) => (h.buckets[i]! += n));
        h.sum += d.sum;
      } else byStatus.set(Number(status), { labels: { method, route, status }, buckets: [...d.buckets], sum: d.sum });
    }
    for (const w of delta.windows) if (w.minute >= oldestMinute) this.addToWindow(w.name, w.value, w.minute * 60_000);
    for (const s of delta.sketches) {
      if (s.hour < oldestHour) continue;
      let registers = this.sketches.get(s.hour);
      if (!registers) this.sketches.set(s.hour, (registers = emptySketch()));
      addPoints(registers, s.points);
    }
  }
}
