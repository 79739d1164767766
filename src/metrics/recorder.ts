/**
 * What one isolate counted since it last handed its counts on (docs/decisions/0022): counters,
 * histograms, per-minute figures and the hourly sketch of active accounts, all in memory. Recording
 * is a few map updates, no I/O; `take()` hands the deltas over (to a metrics shard) and starts
 * again from zero, `restore()` puts back a delta that could not be handed over. Everything in a
 * delta adds up (no gauge): a shard's totals are the sum of what it was given, in any order.
 */
import { ACTIVE_HOURS, LATENCY_BOUNDS_S, M, RETAIN_MINUTES, W, hourOf, minuteOf } from "./catalog";
import { bucketIndex, type Labels } from "./exposition";
import { hllPoint } from "./hll";

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
  name: string;
  labels: Labels;
  bounds: readonly number[];
  buckets: number[];
  sum: number;
}

const HTTP_BOUNDS_JSON = JSON.stringify(LATENCY_BOUNDS_S);
/** The JSON of label objects counted before (the same object is spelt once). */
const labelJson = new WeakMap<Labels, string>();

export class MetricsRecorder {
  private counters = new Map<string, CounterDelta>();
  private histograms = new Map<string, Histogram>();
  private windows = new Map<string, Map<number, number>>();
  private sketches = new Map<number, Map<number, number>>();

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
    const minute = minuteOf(nowMs);
    let minutes = this.windows.get(name);
    if (!minutes) this.windows.set(name, (minutes = new Map()));
    minutes.set(minute, (minutes.get(minute) ?? 0) + by);
  }

  /**
   * One HTTP request: its route pattern (never the raw path: the label's values are the routes the
   * app declares), method and status, and how long it took. Counted in the request histogram (its
   * `_count` is the request counter) and in the recent figures.
   */
  request(method: string, route: string, status: number, seconds: number, nowMs: number): void {
    const key = `${method} ${status} ${route}`;
    let h = this.histograms.get(key);
    if (!h) {
      h = { name: M.httpDuration, labels: { method, route, status: String(status) }, bounds: LATENCY_BOUNDS_S, buckets: new Array(LATENCY_BOUNDS_S.length + 1).fill(0), sum: 0 };
      this.histograms.set(key, h);
    }
    h.buckets[bucketIndex(LATENCY_BOUNDS_S, seconds)]!++;
    h.sum += seconds;
    this.addToWindow(W.requests, 1, nowMs);
    this.addToWindow(W.requestSeconds, seconds, nowMs);
  }

  /** An account was active (this hour's sketch). */
  active(accountId: string, nowMs: number): void {
    const hour = hourOf(nowMs);
    let registers = this.sketches.get(hour);
    if (!registers) this.sketches.set(hour, (registers = new Map()));
    const { index, rank } = hllPoint(accountId);
    if ((registers.get(index) ?? 0) < rank) registers.set(index, rank);
  }

  get empty(): boolean {
    return this.counters.size === 0 && this.histograms.size === 0 && this.windows.size === 0 && this.sketches.size === 0;
  }

  /** Everything counted since the last take, and a fresh start; null when nothing was. */
  take(): MetricsDelta | null {
    if (this.empty) return null;
    const delta: MetricsDelta = {
      counters: [...this.counters.values()],
      histograms: [...this.histograms.values()].map((h) => ({
        name: h.name,
        labels: JSON.stringify(h.labels),
        bounds: h.bounds === LATENCY_BOUNDS_S ? HTTP_BOUNDS_JSON : JSON.stringify(h.bounds),
        buckets: h.buckets,
        sum: h.sum,
      })),
      windows: [...this.windows].flatMap(([name, minutes]) => [...minutes].map(([minute, value]) => ({ name, minute, value }))),
      sketches: [...this.sketches].map(([hour, registers]) => ({ hour, points: [...registers].flat() })),
    };
    this.counters = new Map();
    this.histograms = new Map();
    this.windows = new Map();
    this.sketches = new Map();
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
      const labels = JSON.parse(d.labels) as Labels;
      const key = d.name === M.httpDuration ? `${labels.method} ${labels.status} ${labels.route}` : `${d.name}\u0000${d.labels}`;
      const bounds = JSON.parse(d.bounds) as number[];
      const h = this.histograms.get(key);
      if (h && JSON.stringify(h.bounds) === d.bounds) {
        d.buckets.forEach((n, i) => (h.buckets[i]! += n));
        h.sum += d.sum;
      } else if (!h) {
        this.histograms.set(key, { name: d.name, labels, bounds: d.bounds === HTTP_BOUNDS_JSON ? LATENCY_BOUNDS_S : bounds, buckets: [...d.buckets], sum: d.sum });
      }
    }
    for (const w of delta.windows) {
      if (w.minute < oldestMinute) continue;
      let minutes = this.windows.get(w.name);
      if (!minutes) this.windows.set(w.name, (minutes = new Map()));
      minutes.set(w.minute, (minutes.get(w.minute) ?? 0) + w.value);
    }
    for (const s of delta.sketches) {
      if (s.hour < oldestHour) continue;
      let registers = this.sketches.get(s.hour);
      if (!registers) this.sketches.set(s.hour, (registers = new Map()));
      for (let i = 0; i + 1 < s.points.length; i += 2) {
        if ((registers.get(s.points[i]!) ?? 0) < s.points[i + 1]!) registers.set(s.points[i]!, s.points[i + 1]!);
      }
    }
  }
}
