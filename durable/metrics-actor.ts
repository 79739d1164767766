import { Actor } from "./kit/actor";
import type { Env } from "./env";
import type { MetricsPort } from "./ports";
import { Series } from "./metrics/series";
import type { SeriesReading } from "../src/metrics/families";
import type { MetricsDelta } from "../src/metrics/recorder";

/**
 * One of METRICS_SHARDS shards of the hub's metrics (`metrics:<n>`, docs/decisions/0022): isolates
 * hand their counts to a shard chosen at random, at most every few seconds each, never per request;
 * `GET /metrics` reads every shard and sums them. No shard is on a request's path, and none is a
 * hot singleton: the shards share the isolates' hand-overs between them.
 */
export class MetricsActor extends Actor<Env> implements MetricsPort {
  readonly series = new Series(this.kit);
  protected readonly parts = [this.series];

  /** Adds what one isolate counted since its last hand-over (one unit of work). */
  async add(delta: MetricsDelta): Promise<void> {
    this.series.add(delta, Date.now());
  }

  /** This shard's sums, its spans (recent, day, active accounts) ending at `now_ms`, the scrape's time. */
  async read(now_ms: number): Promise<SeriesReading> {
    return this.series.read(now_ms);
  }
}
