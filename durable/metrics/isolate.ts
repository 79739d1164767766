import { METRICS_SHARDS } from "../../src/metrics/catalog";
import { MetricsRecorder } from "../../src/metrics/recorder";
import { metricsShard, type Env } from "../env";

/**
 * This isolate's counts (module state: the gateway's requests and the actors running in this isolate
 * all count here, in memory). Handed to a metrics shard by `flushMetrics`: in the background at most
 * every FLUSH_INTERVAL_MS (`flushSoon`, called after recording), and by a scrape before it reads.
 */
export const isolateMetrics = new MetricsRecorder();

/** An isolate hands its counts over at most this often (in the background, on the back of a request). */
export const FLUSH_INTERVAL_MS = 10_000;
/** A scrape waits at most this long for a hand-over already under way before it reads the shards. */
const IN_FLIGHT_WAIT_MS = 2_000;

let lastFlushAt = 0;
let inFlight: Promise<void> | null = null;
let warned = false;

/**
 * Hands this isolate's counts to a shard in the background (`waitUntil`: the request's answer does not
 * wait) if the last hand-over began FLUSH_INTERVAL_MS ago or more and none is under way; otherwise
 * nothing (a time check). The first call of an isolate hands over at once.
 */
export function flushSoon(env: Partial<Pick<Env, "METRICS">>, waitUntil: (promise: Promise<unknown>) => void): void {
  if (inFlight || !env.METRICS) return;
  const now = Date.now();
  if (now - lastFlushAt < FLUSH_INTERVAL_MS) return;
  waitUntil(flushMetrics(env as Pick<Env, "METRICS">));
}

/**
 * Hands everything counted so far to a shard chosen at random; what could not be handed over is put
 * back (counted again next time). Never throws. A scrape calls it (`wait`: after a hand-over already
 * under way, at most IN_FLIGHT_WAIT_MS) so that it reads this isolate's counts too.
 */
export async function flushMetrics(env: Pick<Env, "METRICS">, { wait = false } = {}): Promise<void> {
  if (wait && inFlight) await Promise.race([inFlight, new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_WAIT_MS))]);
  lastFlushAt = Date.now();
  const delta = isolateMetrics.take();
  if (!delta) return;
  const handOver = (async () => {
    try {
      await metricsShard(env, Math.floor(Math.random() * METRICS_SHARDS)).add(delta);
    } catch (error) {
      isolateMetrics.restore(delta, Date.now());
      if (!warned) console.warn(`metrics: a hand-over to a shard failed (${(error as Error)?.message ?? String(error)}); its counts are kept for the next one`);
      warned = true;
    }
  })();
  inFlight = handOver;
  await handOver;
  if (inFlight === handOver) inFlight = null;
}
