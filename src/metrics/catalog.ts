/**
 * What `GET /metrics` exposes (docs/operations.md explains each): the names, their help text, and
 * the fixed vocabularies of their labels. One place, read by the recorder, the shards' reading and
 * the rendering, so a name is spelt once.
 */

/**
 * Request latency buckets, in seconds. A shard adds a histogram's buckets only to a stored series
 * with the same bounds (src/metrics/recorder.ts): change them and the old series restarts, as a
 * counter reset does.
 */
export const LATENCY_BOUNDS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The exposed names. Counters end in `_total`, durations are `_seconds`, money `_msat` or `_sat` (as LND counts channels). */
export const M = {
  httpRequests: "flash_http_requests_total",
  httpDuration: "flash_http_request_duration_seconds",
  paymentsStarted: "flash_payments_started_total",
  payments: "flash_payments_total",
  paymentVolume: "flash_payment_volume_msat_total",
  webhookDeliveries: "flash_webhook_deliveries_total",
  lndUp: "flash_lnd_up",
  lndProbeDuration: "flash_lnd_probe_duration_seconds",
  lndSynced: "flash_lnd_synced_to_chain",
  lndBlockHeight: "flash_lnd_block_height",
  lndPeers: "flash_lnd_peers",
  lndChannels: "flash_lnd_channels",
  lndCapacity: "flash_lnd_channel_capacity_sat",
  lndBalance: "flash_lnd_channel_balance_sat",
  transactionsPerSecond: "flash_transactions_per_second",
  averageLatency: "flash_average_latency_seconds",
  channelUtilization: "flash_channel_utilization_ratio",
  nodeUptime: "flash_node_uptime_ratio",
  activeUsers: "flash_active_users",
  dailyVolume: "flash_daily_volume_msat",
} as const;

/**
 * Kinds of payment: between wallets; a Lightning payment a wallet makes (to a hub invoice or out
 * through LND); one received through LND; an on-chain withdrawal; an on-chain deposit credited
 * (decision 0023); an operator program's reward credited (decision 0021).
 */
export const PAYMENT_KINDS = ["intraledger", "lightning_send", "lightning_receive", "onchain_send", "onchain_receive", "reward"] as const;
/** Kinds counted only when they arrive (succeeded): nothing of theirs starts or fails in a wallet. */
export const RECEIVED_KINDS: readonly PaymentKind[] = ["lightning_receive", "onchain_receive", "reward"];
export type PaymentKind = (typeof PAYMENT_KINDS)[number];
/** How a payment ended. */
export const PAYMENT_STATUSES = ["succeeded", "failed"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** How a webhook delivery attempt ended (durable/webhooks/deliveries.ts). */
export const WEBHOOK_OUTCOMES = ["delivered", "retrying", "failed", "gone", "dropped"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/**
 * Figures kept per minute as well as in total, for the seed's rates and 24 h figures (the shards sum
 * a span of minutes at each scrape). Internal names: they are not exposed as such.
 */
export const W = {
  requests: "requests",
  requestSeconds: "request_seconds",
  paymentsSucceeded: "payments_succeeded",
  volumeMsat: "volume_msat",
  lndProbes: "lnd_probes",
  lndProbesUp: "lnd_probes_up",
} as const;

/** The span of the "recent" rates (transactions per second, average latency): the current minute and the 4 before it. */
export const RECENT_MINUTES = 5;
/** The span of the daily figures (volume, uptime): the current minute and the 1,439 before it. */
export const DAY_MINUTES = 24 * 60;
/** The span of active users: the current hour and the 23 before it (sketches are kept per hour). */
export const ACTIVE_HOURS = 24;
/** How long shards keep per-minute figures and hourly sketches (a little over the longest span). */
export const RETAIN_MINUTES = DAY_MINUTES + 60;

export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);
export const hourOf = (ms: number): number => Math.floor(ms / 3_600_000);

/** How many metrics shards (MetricsActor instances) there are; /metrics reads all of them. Only ever raise it: a shard no longer read is a shard whose counts are lost. */
export const METRICS_SHARDS = 8;
