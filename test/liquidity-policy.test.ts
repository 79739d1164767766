// The liquidity policy's pure evaluation (src/liquidity.ts, docs/decisions/0025): examples, then
// properties over random channels, pending opens, funds and policies.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPEN_FEE_RESERVE_SAT, evaluateLiquidity, parseLiquidityPolicy, type ChannelState, type LiquidityPolicy, type PendingOpen } from "../src/liquidity";

const pk = (n: number) => `02${n.toString(16).padStart(64, "0")}`;
const SEED_POLICY = JSON.stringify({
  minChannelSize: 1_000_000,
  maxChannelSize: 100_000_000,
  targetUtilization: 0.7,
  rebalanceThreshold: 0.3,
  autoOpenChannels: true,
  preferredPeers: [`${pk(1)}@127.0.0.1:9735`, pk(2)],
});
const seed = parseLiquidityPolicy(SEED_POLICY)!;
const chan = (n: number, local: number, remote: number, peer = pk(n)): ChannelState => ({
  chan_id: String(n),
  remote_pubkey: peer,
  capacity: local + remote + 10_000,
  local_balance: local,
  remote_balance: remote,
  active: true,
});

describe("liquidity policy: configuration", () => {
  it("reads the seed's channelStrategy (peers with and without a host)", () => {
    expect(seed).toEqual({
      min_channel_size_sat: 1_000_000,
      max_channel_size_sat: 100_000_000,
      target_utilization: 0.7,
      rebalance_threshold: 0.3,
      auto_open_channels: true,
      preferred_peers: [
        { pubkey: pk(1), host: "127.0.0.1:9735" },
        { pubkey: pk(2), host: null },
      ],
      evaluate_every_s: 600,
    });
  });

  it("none configured is no policy; a malformed one names its problem", () => {
    expect(parseLiquidityPolicy(undefined)).toBeNull();
    expect(parseLiquidityPolicy("  ")).toBeNull();
    expect(() => parseLiquidityPolicy("{")).toThrow(/not JSON/);
    const bad = (patch: object) => () => parseLiquidityPolicy(JSON.stringify({ ...JSON.parse(SEED_POLICY), ...patch }));
    expect(bad({ minChannelSize: 200_000_000 })).toThrow(/minChannelSize/);
    expect(bad({ targetUtilization: 1.2 })).toThrow(/targetUtilization/);
    expect(bad({ preferredPeers: ["not-a-key"] })).toThrow(/preferredPeers/);
    expect(bad({ closeChannels: true })).toThrow(/closeChannels|unrecognized/i);
  });
});

describe("liquidity policy: evaluation", () => {
  it("balanced channels under the target: no recommendation", () => {
    const e = evaluateLiquidity(seed, [chan(1, 5_000_000, 5_000_000), chan(2, 4_000_000, 6_000_000)], [], 50_000_000);
    expect(e.totals.utilization).toBeCloseTo(0.55);
    expect(e.recommendations).toEqual([]);
    expect(e.channels.map((c) => c.utilization)).toEqual([0.5, 0.6]);
  });

  it("outbound short: one open to the preferred peer with the least capacity, sized back to the target", () => {
    // remote 9M of 10M: 0.9 > 0.7; 9M / (10M + x) = 0.7 → x ≈ 2.857M
    const e = evaluateLiquidity(seed, [chan(1, 1_000_000, 9_000_000, pk(1))], [], 50_000_000);
    expect(e.recommendations).toEqual([
      expect.objectContaining({ kind: "open", peer: pk(2), amount_sat: 2_857_143, fundable: true }),
    ]);
  });

  it("a channel being opened counts as outbound, and its peer is not chosen again", () => {
    const channels = [chan(1, 1_000_000, 9_000_000, pk(9))];
    const pending: PendingOpen[] = [{ remote_pubkey: pk(1), capacity: 3_000_000, local_balance: 2_990_000, remote_balance: 0 }];
    const e = evaluateLiquidity(seed, channels, pending, 50_000_000);
    // 9M / 12.99M ≈ 0.693 ≤ 0.7: nothing more to open
    expect(e.recommendations.filter((r) => r.kind === "open")).toEqual([]);
  });

  it("not enough on chain: opens what the funds allow above the minimum, else recommends without funding", () => {
    const short = evaluateLiquidity(seed, [chan(1, 1_000_000, 9_000_000)], [], 2_000_000);
    expect(short.recommendations[0]).toMatchObject({ kind: "open", amount_sat: 2_000_000 - OPEN_FEE_RESERVE_SAT, fundable: true });
    const none = evaluateLiquidity(seed, [chan(1, 1_000_000, 9_000_000)], [], 500_000);
    expect(none.recommendations[0]).toMatchObject({ kind: "open", amount_sat: 2_857_143, fundable: false });
  });

  it("no preferred peer: the open is recommended with no peer, never fundable", () => {
    const e = evaluateLiquidity({ ...seed, preferred_peers: [] }, [chan(1, 0, 10_000_000)], [], 50_000_000);
    expect(e.recommendations[0]).toMatchObject({ kind: "open", peer: null, fundable: false });
  });

  it("a channel far from the hub's average is rebalanced towards it", () => {
    const e = evaluateLiquidity(seed, [chan(1, 9_000_000, 1_000_000), chan(2, 1_000_000, 9_000_000), chan(3, 5_000_000, 5_000_000)], [], 0);
    expect(e.recommendations).toEqual([
      expect.objectContaining({ kind: "rebalance", chan_id: "1", direction: "increase_inbound", amount_sat: 4_000_000 }),
      expect.objectContaining({ kind: "rebalance", chan_id: "2", direction: "increase_outbound", amount_sat: 4_000_000 }),
    ]);
  });
});

describe("liquidity policy: properties", () => {
  const sat = fc.integer({ min: 0, max: 200_000_000 });
  const channelArb = fc.record({
    chan_id: fc.nat().map(String),
    remote_pubkey: fc.integer({ min: 1, max: 6 }).map(pk),
    local_balance: sat,
    remote_balance: sat,
    active: fc.boolean(),
  }).map((c): ChannelState => ({ ...c, capacity: c.local_balance + c.remote_balance + 5_000 }));
  const pendingArb = fc.record({ remote_pubkey: fc.integer({ min: 1, max: 6 }).map(pk), local_balance: sat }).map(
    (p): PendingOpen => ({ ...p, capacity: p.local_balance + 5_000, remote_balance: 0 }),
  );
  const policyArb = fc
    .record({
      min: fc.integer({ min: 20_000, max: 50_000_000 }),
      span: fc.integer({ min: 0, max: 100_000_000 }),
      target: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      threshold: fc.double({ min: 0.01, max: 1, noNaN: true }),
      auto: fc.boolean(),
      peers: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 4 }),
    })
    .map(
      (p): LiquidityPolicy => ({
        min_channel_size_sat: p.min,
        max_channel_size_sat: p.min + p.span,
        target_utilization: p.target,
        rebalance_threshold: p.threshold,
        auto_open_channels: p.auto,
        preferred_peers: p.peers.map((n) => ({ pubkey: pk(n), host: null })),
        evaluate_every_s: 600,
      }),
    );
  // Channel ids are unique, as LND's are.
  const channelsArb = fc.array(channelArb, { maxLength: 12 }).map((cs) => cs.map((c, i) => ({ ...c, chan_id: String(i + 1) })));
  const input = fc.tuple(policyArb, channelsArb, fc.array(pendingArb, { maxLength: 3 }), fc.integer({ min: 0, max: 500_000_000 }));

  it("never recommends a close; at most one open, within the size bounds, to a preferred peer with nothing being opened", () => {
    fc.assert(
      fc.property(input, ([policy, channels, pending, onchain]) => {
        const e = evaluateLiquidity(policy, channels, pending, onchain);
        for (const r of e.recommendations) expect(["open", "rebalance"]).toContain(r.kind);
        const opens = e.recommendations.filter((r) => r.kind === "open");
        expect(opens.length).toBeLessThanOrEqual(1);
        for (const o of opens) {
          expect(o.amount_sat).toBeGreaterThanOrEqual(policy.min_channel_size_sat);
          expect(o.amount_sat).toBeLessThanOrEqual(policy.max_channel_size_sat);
          if (o.peer !== null) {
            expect(policy.preferred_peers.map((p) => p.pubkey)).toContain(o.peer);
            expect(pending.map((p) => p.remote_pubkey)).not.toContain(o.peer);
          }
          if (o.fundable) {
            expect(o.peer).not.toBeNull();
            expect(o.amount_sat + OPEN_FEE_RESERVE_SAT).toBeLessThanOrEqual(onchain);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("an open exactly when the utilisation is above the target (or there is no balance at all)", () => {
    fc.assert(
      fc.property(input, ([policy, channels, pending, onchain]) => {
        const e = evaluateLiquidity(policy, channels, pending, onchain);
        const u = e.totals.utilization;
        expect(e.recommendations.some((r) => r.kind === "open")).toBe(u === null || u > policy.target_utilization);
      }),
      { numRuns: 500 },
    );
  });

  it("utilisation and imbalance are ratios; a rebalance is of an active channel, past the threshold, no more than its balance", () => {
    fc.assert(
      fc.property(input, ([policy, channels, pending, onchain]) => {
        const e = evaluateLiquidity(policy, channels, pending, onchain);
        expect(e.channels).toHaveLength(channels.length);
        for (const c of e.channels) {
          expect(c.utilization).toBeGreaterThanOrEqual(0);
          expect(c.utilization).toBeLessThanOrEqual(1);
          expect(c.imbalance).toBeGreaterThanOrEqual(0);
          expect(c.imbalance).toBeLessThanOrEqual(1);
        }
        for (const r of e.recommendations) {
          if (r.kind !== "rebalance") continue;
          const c = e.channels.find((x) => x.chan_id === r.chan_id && x.remote_pubkey === r.remote_pubkey)!;
          expect(c.active).toBe(true);
          expect(c.imbalance).toBeGreaterThan(policy.rebalance_threshold);
          expect(r.amount_sat).toBeGreaterThan(0);
          expect(r.amount_sat).toBeLessThanOrEqual(c.local_sat + c.remote_sat);
          expect(r.direction === "increase_outbound" ? c.remote_sat : c.local_sat).toBeGreaterThanOrEqual(r.amount_sat);
        }
      }),
      { numRuns: 500 },
    );
  });
});
