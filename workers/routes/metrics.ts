import { createRoute, z } from "@hono/zod-openapi";
import { flushMetrics, isolateMetrics } from "../../durable/metrics/isolate";
import { lndClient } from "../../durable/lnd";
import { METRICS_SHARDS, W } from "../../src/metrics/catalog";
import { EXPOSITION_CONTENT_TYPE, renderExposition } from "../../src/metrics/exposition";
import { buildFamilies, channelFigures, mergeReadings, type NodeFigures, type SeriesReading } from "../../src/metrics/families";
import { metricsShard, type Env } from "../../durable/env";
import { errorResponses, newRouter } from "../openapi";
import { adminSecurity, requireAdmin } from "./admin";

/**
 * `GET /metrics` (the contract's "Operations"; docs/operations.md): the Prometheus text exposition of
 * the hub's counts and LND's figures, for the operator's `ADMIN_API_KEY` bearer only. Each scrape
 * hands this isolate's counts to a shard, reads every shard and sums them (docs/decisions/0022), and
 * asks LND (getinfo, listchannels) for the node's figures.
 */
export const metrics = newRouter();

/** How long the scrape waits for LND (Prometheus's default scrape timeout is 10 s). */
const PROBE_TIMEOUT_MS = 5_000;

/** LND's answers at this scrape: `up` when getinfo answered; the channels when listchannels did. */
async function probeNode(env: Env): Promise<NodeFigures> {
  const start = Date.now();
  let info: PromiseSettledResult<Awaited<ReturnType<ReturnType<typeof lndClient>["getInfo"]>>>;
  let channels: PromiseSettledResult<Awaited<ReturnType<ReturnType<typeof lndClient>["listChannels"]>>>;
  try {
    const lnd = lndClient(env, PROBE_TIMEOUT_MS);
    [info, channels] = await Promise.allSettled([lnd.getInfo(), lnd.listChannels()]);
  } catch {
    return { up: false, seconds: (Date.now() - start) / 1000 }; // no LND configured
  }
  const figures: NodeFigures = { up: info.status === "fulfilled", seconds: (Date.now() - start) / 1000 };
  if (info.status === "fulfilled") {
    figures.synced_to_chain = info.value.synced_to_chain;
    figures.block_height = info.value.block_height;
    figures.peers = info.value.num_peers;
    figures.pending_channels = info.value.num_pending_channels;
  }
  if (channels.status === "fulfilled") figures.channels = channelFigures(channels.value);
  return figures;
}

/**
 * This isolate's counts handed over first, then every shard's sums. A shard that does not answer fails
 * the scrape (500): an answer without its counts would show counters going backwards, which Prometheus
 * reads as a reset; a failed scrape is only a gap.
 */
async function readShards(env: Env, nowMs: number): Promise<SeriesReading> {
  await flushMetrics(env, { wait: true });
  return mergeReadings(await Promise.all(Array.from({ length: METRICS_SHARDS }, (_, n) => metricsShard(env, n).read(nowMs))));
}

metrics.openapi(
  createRoute({
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus metrics: requests and latency by route, payments by kind and status, webhook deliveries, LND's channels, the seed's six figures",
    description:
      "The Prometheus text exposition format (version 0.0.4). Only the operator's `ADMIN_API_KEY` bearer; an account's credential is 401. " +
      "docs/operations.md says what each metric means and which figures are exact, which lag and which are estimated.",
    security: adminSecurity,
    middleware: [requireAdmin],
    responses: {
      // Text, as long as the hub has series (no bound: test/openapi.test.ts bounds JSON answers' fields).
      200: { content: { "text/plain": { schema: z.string().openapi({ description: "text/plain; version=0.0.4; charset=utf-8" }) } }, description: "the metrics" },
      ...errorResponses(401),
    },
  }),
  async (c) => {
    const nowMs = Date.now();
    const [node, reading] = await Promise.all([probeNode(c.env), readShards(c.env, nowMs)]);
    // This scrape's probe counts toward the node's uptime: in this answer now, in the shards with the isolate's next hand-over.
    isolateMetrics.addToWindow(W.lndProbes, 1, nowMs);
    reading.recent[W.lndProbes] = (reading.recent[W.lndProbes] ?? 0) + 1;
    reading.day[W.lndProbes] = (reading.day[W.lndProbes] ?? 0) + 1;
    if (node.up) {
      isolateMetrics.addToWindow(W.lndProbesUp, 1, nowMs);
      reading.recent[W.lndProbesUp] = (reading.recent[W.lndProbesUp] ?? 0) + 1;
      reading.day[W.lndProbesUp] = (reading.day[W.lndProbesUp] ?? 0) + 1;
    }
    const body = renderExposition(buildFamilies(reading, node, { nowMs }));
    return c.body(body, 200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" }) as never;
  },
);
