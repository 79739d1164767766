// The liquidity policy (the seed's `channelStrategy`, docs/decisions/0025): what the hub's channels look
// like against it, and what to do about it. Pure: channels + pending opens + on-chain funds + policy in,
// per-channel utilisation and imbalance and recommendations out. It recommends opening a channel to a
// preferred peer and rebalancing a channel; it never recommends closing one (a close is the operator's).

import { z } from "@hono/zod-openapi";

/** A node public key: 33 bytes, compressed, hex. */
export const NODE_PUBKEY_RE = /^0[23][0-9a-f]{64}$/;

/** On-chain funds kept back from a channel open (the funding transaction's fee and the anchor reserve). */
export const OPEN_FEE_RESERVE_SAT = 100_000;
/** LND's largest channel without wumbo (option_support_large_channel). */
export const MAX_CHANNEL_SAT = 16_777_215 * 1_000;
/** How often the node evaluates the policy unless it says otherwise. */
export const DEFAULT_EVALUATE_EVERY_S = 600;

const PeerUri = z
  .string()
  .max(300)
  .regex(/^0[23][0-9a-f]{64}(@[^\s@]{1,250})?$/, "a node public key (66 hex digits), optionally @host:port");

/** The policy as configured (LIQUIDITY_POLICY, JSON; the seed's names). */
export const LiquidityPolicyConfig = z
  .object({
    minChannelSize: z.number().int().min(20_000).max(MAX_CHANNEL_SAT),
    maxChannelSize: z.number().int().min(20_000).max(MAX_CHANNEL_SAT),
    targetUtilization: z.number().gt(0).lt(1),
    rebalanceThreshold: z.number().gt(0).lte(1),
    autoOpenChannels: z.boolean(),
    preferredPeers: z.array(PeerUri).max(50),
    evaluateEveryS: z.number().int().min(10).max(86_400).optional(),
  })
  .strict()
  .refine((p) => p.minChannelSize <= p.maxChannelSize, "minChannelSize must not exceed maxChannelSize");

export interface PreferredPeer {
  pubkey: string;
  /** host:port to connect to, when given. */
  host: string | null;
}

export interface LiquidityPolicy {
  min_channel_size_sat: number;
  max_channel_size_sat: number;
  target_utilization: number;
  rebalance_threshold: number;
  auto_open_channels: boolean;
  preferred_peers: PreferredPeer[];
  evaluate_every_s: number;
}

/** The configured policy, or null when none is (no evaluation); a malformed one is an error that names the problem. */
export function parseLiquidityPolicy(text: string | undefined): LiquidityPolicy | null {
  if (text === undefined || text.trim() === "") return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("LIQUIDITY_POLICY is not JSON");
  }
  const parsed = LiquidityPolicyConfig.safeParse(json);
  if (!parsed.success) throw new Error(`LIQUIDITY_POLICY: ${parsed.error.issues.map((i) => `${i.path.join(".") || "policy"}: ${i.message}`).join("; ")}`);
  const p = parsed.data;
  return {
    min_channel_size_sat: p.minChannelSize,
    max_channel_size_sat: p.maxChannelSize,
    target_utilization: p.targetUtilization,
    rebalance_threshold: p.rebalanceThreshold,
    auto_open_channels: p.autoOpenChannels,
    preferred_peers: p.preferredPeers.map((uri) => {
      const at = uri.indexOf("@");
      return at < 0 ? { pubkey: uri, host: null } : { pubkey: uri.slice(0, at), host: uri.slice(at + 1) };
    }),
    evaluate_every_s: p.evaluateEveryS ?? DEFAULT_EVALUATE_EVERY_S,
  };
}

/** One of the node's channels, as the evaluation needs it (sat). */
export interface ChannelState {
  chan_id: string;
  remote_pubkey: string;
  capacity: number;
  local_balance: number;
  remote_balance: number;
  active: boolean;
}

/** A channel being opened (funding not yet confirmed). */
export interface PendingOpen {
  remote_pubkey: string;
  capacity: number;
  local_balance: number;
  remote_balance: number;
}

export interface ChannelReport {
  chan_id: string;
  remote_pubkey: string;
  capacity_sat: number;
  local_sat: number;
  remote_sat: number;
  active: boolean;
  /** remote / (local + remote): 0 when the hub could send all of it, 1 when it can only receive (as the metrics count it). */
  utilization: number;
  /** |utilization − the hub's overall utilization|: how far this channel is from the average a rebalance moves it to. */
  imbalance: number;
}

export type Recommendation =
  | {
      kind: "open";
      /** A preferred peer without a channel being opened to it; null when none is configured or all are busy. */
      peer: string | null;
      amount_sat: number;
      /** The node's confirmed on-chain funds cover it (with the fee reserve): only then is it opened automatically. */
      fundable: boolean;
      reason: string;
    }
  | {
      kind: "rebalance";
      chan_id: string;
      remote_pubkey: string;
      /** increase_outbound: move balance to the hub's side (the channel is used up); increase_inbound: the other way. */
      direction: "increase_outbound" | "increase_inbound";
      amount_sat: number;
      reason: string;
    };

export interface LiquidityEvaluation {
  totals: {
    channels: number;
    capacity_sat: number;
    local_sat: number;
    remote_sat: number;
    /** the hub's side of channels being opened (counted as outbound: a second open is not recommended for the same shortfall). */
    pending_open_local_sat: number;
    onchain_confirmed_sat: number;
    /** remote / (local + pending + remote) over the active channels; null without any balance. */
    utilization: number | null;
  };
  channels: ChannelReport[];
  recommendations: Recommendation[];
}

const ratio = (part: number, whole: number) => (whole > 0 ? Math.min(1, Math.max(0, part / whole)) : 0);
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * Evaluates the policy. Opening: when the hub's overall utilisation (what it has spent of its channels'
 * balance, channels being opened counted as the hub's) is above the target, one channel to a preferred
 * peer, sized to bring it back to the target, within the size bounds (and the on-chain funds, less the
 * fee reserve, when they cover at least the minimum). Rebalancing: a channel whose utilisation is more
 * than the threshold from the hub's overall utilisation (what a circular rebalance can reach: it moves
 * balance between channels, not into them), by the amount that brings it there. Never a close.
 */
export function evaluateLiquidity(
  policy: LiquidityPolicy,
  channels: readonly ChannelState[],
  pending: readonly PendingOpen[],
  onchainConfirmedSat: number,
): LiquidityEvaluation {
  const active = channels.filter((c) => c.active);
  const local = active.reduce((s, c) => s + Math.max(0, c.local_balance), 0);
  const remote = active.reduce((s, c) => s + Math.max(0, c.remote_balance), 0);
  const pendingLocal = pending.reduce((s, p) => s + Math.max(0, p.local_balance), 0);
  const balance = local + remote;
  const utilization = balance + pendingLocal > 0 ? ratio(remote, balance + pendingLocal) : null;
  const spread = balance > 0 ? ratio(remote, balance) : 0;

  const reports: ChannelReport[] = channels.map((c) => {
    const l = Math.max(0, c.local_balance);
    const r = Math.max(0, c.remote_balance);
    const u = ratio(r, l + r);
    return {
      chan_id: c.chan_id,
      remote_pubkey: c.remote_pubkey,
      capacity_sat: c.capacity,
      local_sat: l,
      remote_sat: r,
      active: c.active,
      utilization: u,
      imbalance: c.active && l + r > 0 ? Math.abs(u - spread) : 0,
    };
  });

  const recommendations: Recommendation[] = [];
  const target = policy.target_utilization;
  if (utilization === null || utilization > target) {
    // remote / (local + pending + remote + x) = target
    const needed = utilization === null ? 0 : Math.ceil(remote / target - (balance + pendingLocal));
    let amount = clamp(needed, policy.min_channel_size_sat, policy.max_channel_size_sat);
    const spendable = Math.max(0, Math.floor(onchainConfirmedSat) - OPEN_FEE_RESERVE_SAT);
    if (spendable < amount && spendable >= policy.min_channel_size_sat) amount = spendable;
    const busy = new Set(pending.map((p) => p.remote_pubkey));
    const capacityWith = (pubkey: string) => channels.filter((c) => c.remote_pubkey === pubkey).reduce((s, c) => s + c.capacity, 0);
    const candidates = policy.preferred_peers.filter((p) => !busy.has(p.pubkey));
    // The preferred peer the hub has the least capacity with (the first listed among equals).
    const peer = candidates.reduce<PreferredPeer | null>((best, p) => (best === null || capacityWith(p.pubkey) < capacityWith(best.pubkey) ? p : best), null);
    const shown = utilization === null ? "no channel balance" : `utilisation ${utilization.toFixed(3)} above the target ${target}`;
    recommendations.push({
      kind: "open",
      peer: peer?.pubkey ?? null,
      amount_sat: amount,
      fundable: peer !== null && spendable >= amount,
      reason:
        peer === null
          ? `${shown}; no preferred peer to open to (none configured, or each has a channel being opened)`
          : spendable >= amount
            ? `${shown}: open ${amount} sat to a preferred peer`
            : `${shown}: open ${amount} sat to a preferred peer once the node has the funds (${spendable} sat spendable on chain)`,
    });
  }
  for (const c of reports) {
    if (!c.active || c.imbalance <= policy.rebalance_threshold) continue;
    const amount = Math.round(c.imbalance * (c.local_sat + c.remote_sat));
    if (amount <= 0) continue;
    recommendations.push({
      kind: "rebalance",
      chan_id: c.chan_id,
      remote_pubkey: c.remote_pubkey,
      direction: c.utilization > spread ? "increase_outbound" : "increase_inbound",
      amount_sat: amount,
      reason: `utilisation ${c.utilization.toFixed(3)} is ${c.imbalance.toFixed(3)} from the hub's ${spread.toFixed(3)}, past the threshold ${policy.rebalance_threshold}`,
    });
  }
  return {
    totals: {
      channels: active.length,
      capacity_sat: active.reduce((s, c) => s + c.capacity, 0),
      local_sat: local,
      remote_sat: remote,
      pending_open_local_sat: pendingLocal,
      onchain_confirmed_sat: Math.max(0, Math.floor(onchainConfirmedSat)),
      utilization,
    },
    channels: reports,
    recommendations,
  };
}
