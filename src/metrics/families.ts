/**
 * From what the metrics shards hold (summed) and what LND answered at this scrape, to the families
 * `GET /metrics` renders. Pure; docs/operations.md says what each figure means and how exact it is.
 */
import { ACTIVE_HOURS, DAY_MINUTES, LATENCY_BOUNDS_S, M, PAYMENT_KINDS, PAYMENT_STATUSES, RECEIVED_KINDS, RECENT_MINUTES, W, WEBHOOK_OUTCOMES, minuteOf } from "./catalog";
import type { Family, HistogramSample, Labels, Sample } from "./exposition";
import { estimateDistinct, mergeSketch } from "./hll";
import type { CounterDelta, HistogramDelta } from "./recorder";

/** What one shard answers (durable/metrics/series.ts), and the sum of all of them. */
export interface SeriesReading {
  counters: CounterDelta[];
  histograms: HistogramDelta[];
  /** Per-minute figures summed over the last RECENT_MINUTES minutes (the current one included). */
  recent: Record<string, number>;
  /** The same over the last DAY_MINUTES minutes. */
  day: Record<string, number>;
  /** The active-account sketch of the last ACTIVE_HOURS hours (registers merged), or null if none. */
  sketch: Uint8Array | null;
}

export const emptyReading = (): SeriesReading => ({ counters: [], histograms: [], recent: {}, day: {}, sketch: null });

const addInto = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [name, value] of Object.entries(from)) into[name] = (into[name] ?? 0) + value;
};

/** The sum of the shards' readings: counters and histograms by series, spans by name, sketches by register. */
export function mergeReadings(readings: readonly SeriesReading[]): SeriesReading {
  const counters = new Map<string, CounterDelta>();
  const histograms = new Map<string, HistogramDelta>();
  const merged = emptyReading();
  for (const r of readings) {
    for (const c of r.counters) {
      const key = `${c.name}\u0000${c.labels}`;
      const have = counters.get(key);
      if (have) have.value += c.value;
      else counters.set(key, { ...c });
    }
    for (const h of r.histograms) {
      const key = `${h.name}\u0000${h.labels}\u0000${h.bounds}`;
      const have = histograms.get(key);
      if (have) {
        h.buckets.forEach((n, i) => (have.buckets[i] = (have.buckets[i] ?? 0) + n));
        have.sum += h.sum;
      } else histograms.set(key, { ...h, buckets: [...h.buckets] });
    }
    addInto(merged.recent, r.recent);
    addInto(merged.day, r.day);
    if (r.sketch) merged.sketch = merged.sketch ? mergeSketch(merged.sketch, r.sketch) : Uint8Array.from(r.sketch);
  }
  merged.counters = [...counters.values()];
  merged.histograms = [...histograms.values()];
  return merged;
}

/** What LND answered at this scrape (`up` false: it did not answer getinfo within the probe's time). */
export interface NodeFigures {
  up: boolean;
  /** How long the probe took. */
  seconds: number;
  synced_to_chain?: boolean;
  block_height?: number;
  peers?: number;
  pending_channels?: number;
  channels?: ChannelFigures;
}

export interface ChannelFigures {
  active: number;
  inactive: number;
  capacity_sat: number;
  local_sat: number;
  remote_sat: number;
  /** The same balances over the active channels only (what utilisation is computed on). */
  active_local_sat: number;
  active_remote_sat: number;
}

/** The node's open channels, summed (LND's ListChannels: capacity and each side's balance in sat). */
export function channelFigures(channels: readonly { active: boolean; capacity: number; local_balance: number; remote_balance: number }[]): ChannelFigures {
  const f: ChannelFigures = { active: 0, inactive: 0, capacity_sat: 0, local_sat: 0, remote_sat: 0, active_local_sat: 0, active_remote_sat: 0 };
  for (const c of channels) {
    const local = Math.max(0, c.local_balance);
    const remote = Math.max(0, c.remote_balance);
    f.capacity_sat += c.capacity;
    f.local_sat += local;
    f.remote_sat += remote;
    if (!c.active) {
      f.inactive++;
      continue;
    }
    f.active++;
    f.active_local_sat += local;
    f.active_remote_sat += remote;
  }
  return f;
}

/**
 * Channel utilisation: the share of the active channels' balance on the peers' side, remote / (local +
 * remote), as the liquidity policy computes it (src/liquidity.ts): 0 when the hub could send all of it,
 * 1 when it can send nothing more and only receive. Null without an active channel's balance.
 */
export const channelUtilization = (f: ChannelFigures): number | null => {
  const balance = f.active_local_sat + f.active_remote_sat;
  return balance > 0 ? f.active_remote_sat / balance : null;
};

export interface ScrapeContext {
  nowMs: number;
}

const parse = (json: string): Labels => JSON.parse(json) as Labels;
const one = (value: number | null | undefined, labels: Labels = {}): Sample[] => (value === null || value === undefined || !Number.isFinite(value) ? [] : [{ labels, value }]);
const flag = (value: boolean | undefined): number | undefined => (value === undefined ? undefined : value ? 1 : 0);

/**
 * Counter samples of `name`, with a zero for each label set of `zeros` nothing has counted yet (so
 * `rate()` has a start, and a scrape shows every kind before it happens).
 */
function counterSamples(reading: SeriesReading, name: string, zeros: readonly Labels[] = []): Sample[] {
  const samples = new Map<string, Sample>();
  for (const labels of zeros) samples.set(JSON.stringify(labels), { labels, value: 0 });
  for (const c of reading.counters) if (c.name === name) samples.set(c.labels, { labels: parse(c.labels), value: (samples.get(c.labels)?.value ?? 0) + c.value });
  return [...samples.values()];
}

/** Seconds covered by the recent span at `nowMs`: its full minutes and the current one so far. */
export const recentSpanSeconds = (nowMs: number): number => (nowMs - (minuteOf(nowMs) - (RECENT_MINUTES - 1)) * 60_000) / 1000;

/** Every family `GET /metrics` renders, in the order docs/operations.md lists them. */
export function buildFamilies(reading: SeriesReading, node: NodeFigures, context: ScrapeContext): Family[] {
  const boundsJson = JSON.stringify(LATENCY_BOUNDS_S);
  const http = reading.histograms.filter((h) => h.name === M.httpDuration && h.bounds === boundsJson);
  const httpSamples: HistogramSample[] = http.map((h) => ({ labels: parse(h.labels), buckets: h.buckets, sum: h.sum }));
  const requestCounts: Sample[] = http.map((h) => ({ labels: parse(h.labels), value: h.buckets.reduce((a, b) => a + b, 0) }));
  const channels = node.channels;
  const recentRequests = reading.recent[W.requests] ?? 0;
  const dayProbes = reading.day[W.lndProbes] ?? 0;
  return [
    { name: M.httpRequests, type: "counter", help: "HTTP requests answered, by method, route pattern (as the API declares it) and status.", samples: requestCounts },
    { name: M.httpDuration, type: "histogram", help: "Time from a request's arrival to its answer, by method, route pattern and status (the Workers clock: it moves at I/O).", bounds: LATENCY_BOUNDS_S, samples: httpSamples },
    {
      name: M.paymentsStarted,
      type: "counter",
      help: "Payments started by a wallet (debited or held), by kind.",
      samples: counterSamples(reading, M.paymentsStarted, PAYMENT_KINDS.filter((kind) => !RECEIVED_KINDS.includes(kind)).map((kind) => ({ kind }))),
    },
    {
      name: M.payments,
      type: "counter",
      help: "Payments that ended, by kind and status (succeeded or failed; refused requests are not payments: see the 4xx of the request counter).",
      samples: counterSamples(reading, M.payments, PAYMENT_KINDS.flatMap((kind) => PAYMENT_STATUSES.filter((status) => !RECEIVED_KINDS.includes(kind) || status === "succeeded").map((status) => ({ kind, status })))),
    },
    {
      name: M.paymentVolume,
      type: "counter",
      help: "Amounts of the payments that succeeded, in millisatoshis, by kind (fees not included).",
      samples: counterSamples(reading, M.paymentVolume, PAYMENT_KINDS.map((kind) => ({ kind }))),
    },
    {
      name: M.webhookDeliveries,
      type: "counter",
      help: "Webhook delivery attempts by outcome: delivered, retrying (another attempt is scheduled), failed (the last attempt), gone (410: endpoint disabled), dropped (endpoint deleted or disabled).",
      samples: counterSamples(reading, M.webhookDeliveries, WEBHOOK_OUTCOMES.map((outcome) => ({ outcome }))),
    },
    { name: M.lndUp, type: "gauge", help: "1 if LND answered getinfo at this scrape, else 0.", samples: one(node.up ? 1 : 0) },
    { name: M.lndProbeDuration, type: "gauge", help: "How long this scrape's LND probe (getinfo and listchannels) took.", samples: one(node.seconds) },
    { name: M.lndSynced, type: "gauge", help: "1 if LND says it is synced to the chain, else 0 (absent when LND did not answer).", samples: one(flag(node.synced_to_chain)) },
    { name: M.lndBlockHeight, type: "gauge", help: "The block height LND is at.", samples: one(node.block_height) },
    { name: M.lndPeers, type: "gauge", help: "Peers LND is connected to.", samples: one(node.peers) },
    {
      name: M.lndChannels,
      type: "gauge",
      help: "LND's channels by state: active and inactive (open), pending (opening or closing).",
      samples: [...one(channels?.active, { state: "active" }), ...one(channels?.inactive, { state: "inactive" }), ...one(node.pending_channels, { state: "pending" })],
    },
    { name: M.lndCapacity, type: "gauge", help: "Total capacity of LND's open channels, in satoshis.", samples: one(channels?.capacity_sat) },
    {
      name: M.lndBalance,
      type: "gauge",
      help: "Balance of LND's open channels by side, in satoshis: local (the hub can send it) and remote (the hub can receive it).",
      samples: [...one(channels?.local_sat, { side: "local" }), ...one(channels?.remote_sat, { side: "remote" })],
    },
    {
      name: M.transactionsPerSecond,
      type: "gauge",
      help: `Payments that succeeded per second over the last ${RECENT_MINUTES} minutes (seed: transactionsPerSecond).`,
      samples: one((reading.recent[W.paymentsSucceeded] ?? 0) / recentSpanSeconds(context.nowMs)),
    },
    {
      name: M.averageLatency,
      type: "gauge",
      help: `Mean time to answer a request over the last ${RECENT_MINUTES} minutes, in seconds (seed: averageLatency; absent without requests).`,
      samples: one(recentRequests > 0 ? (reading.recent[W.requestSeconds] ?? 0) / recentRequests : null),
    },
    {
      name: M.channelUtilization,
      type: "gauge",
      help: "Share of LND's active channels' balance on the peers' side, remote / (local + remote), at this scrape (seed: channelUtilization).",
      samples: one(channels ? channelUtilization(channels) : null),
    },
    {
      name: M.nodeUptime,
      type: "gauge",
      help: `Share of the scrapes of the last ${DAY_MINUTES / 60} hours at which LND answered (seed: nodeUptime).`,
      samples: one(dayProbes > 0 ? (reading.day[W.lndProbesUp] ?? 0) / dayProbes : null),
    },
    {
      name: M.activeUsers,
      type: "gauge",
      help: `Distinct accounts that made an authenticated request in the last ${ACTIVE_HOURS} hours (the current hour and the ${ACTIVE_HOURS - 1} before), estimated by HyperLogLog (about 1.6 % standard error; seed: activeUsers).`,
      samples: one(reading.sketch ? estimateDistinct(reading.sketch) : 0),
    },
    {
      name: M.dailyVolume,
      type: "gauge",
      help: `Amounts of the payments that succeeded in the last ${DAY_MINUTES / 60} hours, in millisatoshis (seed: dailyVolume).`,
      samples: one(reading.day[W.volumeMsat] ?? 0),
    },
  ];
}
