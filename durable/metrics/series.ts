import { ACTIVE_HOURS, DAY_MINUTES, RECENT_MINUTES, RETAIN_MINUTES, hourOf, minuteOf } from "../../src/metrics/catalog";
import type { SeriesReading } from "../../src/metrics/families";
import { addPoints, emptySketch, mergeSketch } from "../../src/metrics/hll";
import type { MetricsDelta } from "../../src/metrics/recorder";
import type { ActorKit, Part } from "../kit/part";

/** Old per-minute figures and sketches are deleted at most this often (on an `add`). */
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * A metrics shard's sums (docs/decisions/0022): what the isolates handed it, added up. Counters and
 * histograms by series (a histogram with other bounds than the stored one replaces it: a restart,
 * as a counter reset is), per-minute figures kept a little over a day, active-account sketches per
 * hour. Every table only ever grows by addition, so the order in which deltas arrive does not matter.
 */
export class Series implements Part {
  readonly name = "series";
  readonly migrations = [
    `CREATE TABLE counters (name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (name, labels)) WITHOUT ROWID;
     CREATE TABLE histograms (name TEXT NOT NULL, labels TEXT NOT NULL, bounds TEXT NOT NULL, buckets TEXT NOT NULL, sum REAL NOT NULL, PRIMARY KEY (name, labels)) WITHOUT ROWID;
     CREATE TABLE minutes (name TEXT NOT NULL, minute INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (name, minute)) WITHOUT ROWID;
     CREATE TABLE sketches (hour INTEGER PRIMARY KEY, registers BLOB NOT NULL);`,
  ];
  private prunedAt = 0;

  constructor(private readonly kit: ActorKit) {}

  /** Adds an isolate's delta, in one unit of work; figures older than what is kept are dropped. */
  add(delta: MetricsDelta, nowMs: number): void {
    const oldestMinute = minuteOf(nowMs) - RETAIN_MINUTES;
    const oldestHour = hourOf(nowMs) - ACTIVE_HOURS;
    this.kit.unitOfWork.run(() => {
      for (const c of delta.counters) {
        this.kit.sql`INSERT INTO counters (name, labels, value) VALUES (${c.name}, ${c.labels}, ${c.value})
                     ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value`;
      }
      for (const h of delta.histograms) {
        const stored = this.kit.sql<{ bounds: string; buckets: string; sum: number }>`SELECT bounds, buckets, sum FROM histograms WHERE name = ${h.name} AND labels = ${h.labels}`[0];
        let buckets = h.buckets;
        let sum = h.sum;
        if (stored && stored.bounds === h.bounds) {
          const before = JSON.parse(stored.buckets) as number[];
          buckets = h.buckets.map((n, i) => n + (before[i] ?? 0));
          sum += stored.sum;
        }
        this.kit.sql`INSERT INTO histograms (name, labels, bounds, buckets, sum) VALUES (${h.name}, ${h.labels}, ${h.bounds}, ${JSON.stringify(buckets)}, ${sum})
                     ON CONFLICT (name, labels) DO UPDATE SET bounds = excluded.bounds, buckets = excluded.buckets, sum = excluded.sum`;
      }
      for (const w of delta.windows) {
        if (w.minute < oldestMinute) continue;
        this.kit.sql`INSERT INTO minutes (name, minute, value) VALUES (${w.name}, ${w.minute}, ${w.value})
                     ON CONFLICT (name, minute) DO UPDATE SET value = value + excluded.value`;
      }
      for (const s of delta.sketches) {
        if (s.hour < oldestHour) continue;
        const stored = this.kit.sql<{ registers: ArrayBuffer }>`SELECT registers FROM sketches WHERE hour = ${s.hour}`[0];
        const registers = addPoints(stored ? new Uint8Array(stored.registers) : emptySketch(), s.points);
        this.kit.sql`INSERT INTO sketches (hour, registers) VALUES (${s.hour}, ${toBuffer(registers)})
                     ON CONFLICT (hour) DO UPDATE SET registers = excluded.registers`;
      }
      if (nowMs - this.prunedAt >= PRUNE_EVERY_MS) {
        this.prunedAt = nowMs;
        this.kit.sql`DELETE FROM minutes WHERE minute < ${oldestMinute}`;
        this.kit.sql`DELETE FROM sketches WHERE hour < ${oldestHour}`;
      }
    });
  }

  /** The shard's sums, its spans ending at `nowMs` (the scrape's time, the same for every shard). */
  read(nowMs: number): SeriesReading {
    const minute = minuteOf(nowMs);
    const spanSums = (from: number) =>
      Object.fromEntries(
        this.kit.sql<{ name: string; v: number }>`SELECT name, SUM(value) AS v FROM minutes WHERE minute >= ${from} AND minute <= ${minute} GROUP BY name`.map((r) => [r.name, r.v]),
      );
    let sketch: Uint8Array | null = null;
    const hour = hourOf(nowMs);
    for (const r of this.kit.sql<{ registers: ArrayBuffer }>`SELECT registers FROM sketches WHERE hour > ${hour - ACTIVE_HOURS} AND hour <= ${hour}`) {
      sketch = mergeSketch(sketch ?? emptySketch(), new Uint8Array(r.registers));
    }
    return {
      counters: this.kit.sql<{ name: string; labels: string; value: number }>`SELECT name, labels, value FROM counters`.map((r) => ({ name: r.name, labels: r.labels, value: r.value })),
      histograms: this.kit.sql<{ name: string; labels: string; bounds: string; buckets: string; sum: number }>`SELECT name, labels, bounds, buckets, sum FROM histograms`.map((r) => ({
        name: r.name,
        labels: r.labels,
        bounds: r.bounds,
        buckets: JSON.parse(r.buckets) as number[],
        sum: r.sum,
      })),
      recent: spanSums(minute - (RECENT_MINUTES - 1)),
      day: spanSums(minute - (DAY_MINUTES - 1)),
      sketch,
    };
  }
}

/** The registers as an ArrayBuffer of their own (a bound BLOB parameter). */
const toBuffer = (registers: Uint8Array): ArrayBuffer => registers.buffer.slice(registers.byteOffset, registers.byteOffset + registers.byteLength) as ArrayBuffer;
