// The liquidity policy in the LightningNodeActor against the simulator (docs/decisions/0025): the
// evaluation kept and answered at GET /v1/admin/liquidity (the operator's bearer only), and with
// autoOpenChannels a channel opened to a preferred peer through LND once — the intent recorded before
// OpenChannel, found again among LND's pending channels after a crash, never opened twice.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LightningNodeActor } from "../durable/lightning-node-actor";
import { OPEN_LOOKUP_AFTER_MS } from "../durable/lightning-node/liquidity";
import { parseLiquidityPolicy, type LiquidityPolicy } from "../src/liquidity";
import { createLndClient } from "../src/lightning";
import { NODES } from "../sim/topology";
import { api, createAccount, testEnv, simLnd as lnd } from "./helpers";

const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
const node = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));
const onNode = <T>(fn: (instance: LightningNodeActor) => T | Promise<T>) =>
  runInDurableObject(node() as unknown as DurableObjectStub<LightningNodeActor>, (instance: LightningNodeActor) => fn(instance));
const report = async () => {
  const r = await api("GET", "/v1/admin/liquidity", { headers: { Authorization: `Bearer ${ADMIN}` } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
};
const configured = parseLiquidityPolicy((testEnv as unknown as { LIQUIDITY_POLICY: string }).LIQUIDITY_POLICY)!;
/**
 * The simulator's hub has spent 0.5 of its channels' balance: a target under it asks for a channel; small
 * channels (at most 2M sat) keep it above the target after each open, so each test's peer gets one.
 */
const eager = (patch: Partial<LiquidityPolicy> = {}): LiquidityPolicy => ({
  ...configured,
  target_utilization: 0.3,
  min_channel_size_sat: 1_000_000,
  max_channel_size_sat: 2_000_000,
  preferred_peers: [{ pubkey: NODES.alice.pubkey, host: "127.0.0.1:9735" }],
  ...patch,
});
const evaluateWith = (policy: LiquidityPolicy | null) =>
  onNode(async (n) => {
    n.liquidityPolicy.policyOverride = policy;
    try {
      return await n.liquidityPolicy.evaluate();
    } finally {
      n.liquidityPolicy.policyOverride = null;
    }
  });
const pendingTo = async (pubkey: string) => (await lnd.pendingChannels()).pending_open_channels.filter((p) => p.remote_node_pub === pubkey);

describe("liquidity policy in the node", () => {
  it("GET /v1/admin/liquidity: the operator's bearer only; the configured policy, the evaluation of the simulator's channels", async () => {
    const a = await createAccount("liq");
    expect((await api("GET", "/v1/admin/liquidity")).status).toBe(401);
    expect((await api("GET", "/v1/admin/liquidity", { token: a.access_token })).status).toBe(401);
    await evaluateWith(null);
    const r = await report();
    expect(r.policy).toMatchObject({ min_channel_size_sat: 1_000_000, max_channel_size_sat: 100_000_000, target_utilization: 0.7, rebalance_threshold: 0.3, auto_open_channels: true });
    expect(Date.parse(r.evaluated_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(r.evaluation.totals.channels).toBe(4);
    expect(r.evaluation.channels.map((c: { remote_pubkey: string }) => c.remote_pubkey).sort()).toEqual(
      ["alice", "bob", "carol", "erin"].map((n) => NODES[n as "alice"].pubkey).sort(),
    );
    for (const c of r.evaluation.channels) {
      expect(c.utilization).toBeGreaterThan(0.3);
      expect(c.utilization).toBeLessThan(0.7);
    }
    // Half spent, under the 0.7 target, and alike: nothing to do.
    expect(r.evaluation.recommendations.filter((x: { kind: string }) => x.kind === "open")).toEqual([]);
    // The scheduled task is registered on the node's alarm.
    expect(await onNode((n) => n.kit.scheduler.taskNames())).toContain("liquidity:evaluate");
  });

  it("autoOpenChannels: outbound short → one channel to the preferred peer, within the bounds, opened once", async () => {
    const before = await pendingTo(NODES.alice.pubkey);
    const first = await evaluateWith(eager());
    expect("opens" in first && first.opens[0]).toMatchObject({ peer_pubkey: NODES.alice.pubkey, state: "pending" });
    const opened = "opens" in first ? first.opens[0]! : null!;
    expect(opened.amount_sat).toBeGreaterThanOrEqual(1_000_000);
    expect(opened.amount_sat).toBeLessThanOrEqual(100_000_000);
    expect(opened.funding_txid).toMatch(/^[0-9a-f]{64}$/);
    const after = await pendingTo(NODES.alice.pubkey);
    expect(after.length).toBe(before.length + 1);
    expect(after.find((p) => p.channel_point === `${opened.funding_txid}:0`)).toMatchObject({ capacity: opened.amount_sat });
    // Again: the pending channel counts as outbound and alice is busy: nothing more is opened.
    const second = await evaluateWith(eager());
    expect(await pendingTo(NODES.alice.pubkey)).toHaveLength(after.length);
    expect("opens" in second && second.opens.filter((o) => o.state !== "failed" && o.state !== "abandoned" && o.peer_pubkey === NODES.alice.pubkey).length).toBe(
      "opens" in first ? first.opens.filter((o) => o.state !== "failed" && o.state !== "abandoned" && o.peer_pubkey === NODES.alice.pubkey).length : -1,
    );
    // The admin route shows the open.
    expect((await report()).opens.some((o: { funding_txid: string }) => o.funding_txid === opened.funding_txid)).toBe(true);
  });

  it("a crash between the intent and LND's answer: found among the pending channels, not opened again; none there → abandoned", async () => {
    // bob: an intent recorded, then (as if the actor died) LND opened it with nobody waiting for the answer.
    const amount = 1_234_567;
    await onNode((n) => {
      const now = Date.now();
      n.kit.sql`INSERT INTO channel_opens (open_id, peer_pubkey, amount_sat, state, created_at, updated_at)
                VALUES (${"open_" + "b".repeat(32)}, ${NODES.bob.pubkey}, ${amount}, 'opening', ${now}, ${now})`;
    });
    const point = await lnd.openChannel({ node_pubkey: NODES.bob.pubkey, local_funding_amount: amount });
    const bobBefore = (await pendingTo(NODES.bob.pubkey)).length;
    const r = await evaluateWith(eager({ preferred_peers: [{ pubkey: NODES.bob.pubkey, host: null }] }));
    expect("opens" in r && r.opens.find((o) => o.open_id === "open_" + "b".repeat(32))).toMatchObject({ state: "pending", funding_txid: point.funding_txid });
    expect(await pendingTo(NODES.bob.pubkey)).toHaveLength(bobBefore);

    // carol: an intent LND never got; while it is young nothing else is opened, after the lookup time it is abandoned.
    await onNode((n) => {
      const now = Date.now();
      n.kit.sql`INSERT INTO channel_opens (open_id, peer_pubkey, amount_sat, state, created_at, updated_at)
                VALUES (${"open_" + "c".repeat(32)}, ${NODES.carol.pubkey}, ${2_000_000}, 'opening', ${now}, ${now})`;
    });
    const carol = [{ pubkey: NODES.carol.pubkey, host: null }];
    const carolBefore = (await pendingTo(NODES.carol.pubkey)).length;
    await evaluateWith(eager({ preferred_peers: carol }));
    expect(await pendingTo(NODES.carol.pubkey)).toHaveLength(carolBefore);
    await onNode((n) => void n.kit.sql`UPDATE channel_opens SET updated_at = ${Date.now() - OPEN_LOOKUP_AFTER_MS - 1} WHERE open_id = ${"open_" + "c".repeat(32)}`);
    const later = await evaluateWith(eager({ preferred_peers: carol }));
    const opens = "opens" in later ? later.opens : [];
    expect(opens.find((o) => o.open_id === "open_" + "c".repeat(32))).toMatchObject({ state: "abandoned" });
    // …and then one new open to carol.
    expect(opens.filter((o) => o.peer_pubkey === NODES.carol.pubkey && o.state === "pending")).toHaveLength(1);
    expect(await pendingTo(NODES.carol.pubkey)).toHaveLength(carolBefore + 1);
  });

  it("refusals: not enough on chain is a recommendation only; a peer LND cannot reach is a failed open, recorded", async () => {
    const unfundable = await evaluateWith(eager({ min_channel_size_sat: 900_000_000, max_channel_size_sat: 900_000_000, preferred_peers: [{ pubkey: NODES.dave.pubkey, host: null }] }));
    expect("evaluation" in unfundable && unfundable.evaluation!.recommendations.find((x) => x.kind === "open")).toMatchObject({ fundable: false, peer: NODES.dave.pubkey });
    expect("opens" in unfundable && unfundable.opens.some((o) => o.peer_pubkey === NODES.dave.pubkey)).toBe(false);
    // dave is no peer of the hub's and no host is given: LND refuses ("not online").
    const refused = await evaluateWith(eager({ preferred_peers: [{ pubkey: NODES.dave.pubkey, host: null }] }));
    expect("opens" in refused && refused.opens.find((o) => o.peer_pubkey === NODES.dave.pubkey)).toMatchObject({ state: "failed", failure_reason: expect.stringMatching(/not online/) });
    expect(await pendingTo(NODES.dave.pubkey)).toHaveLength(0);
    // With its host, the hub connects first, then opens.
    const connected = await evaluateWith(eager({ preferred_peers: [{ pubkey: NODES.dave.pubkey, host: "127.0.0.1:9735" }] }));
    expect("opens" in connected && connected.opens[0]).toMatchObject({ peer_pubkey: NODES.dave.pubkey, state: "pending" });
  });
});

describe("liquidity policy when LND cannot be read", () => {
  it("the evaluation is null (not the last one with a new time), lightning_unavailable; the next one reads LND again", async () => {
    await evaluateWith(null);
    expect((await report()).evaluation).not.toBeNull();
    // The node's liquidity part talks to LND through a scope of the simulator where LND is down.
    await testEnv.LND_SIM!.fetch("http://sim/scope/liq-down/sim/knobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ unreachable: "503" }) });
    const failed = await onNode(async (n) => {
      const lnd = n.liquidityPolicy.lnd;
      n.liquidityPolicy.lnd = (timeoutMs) =>
        createLndClient({ baseUrl: "http://lnd/scope/liq-down", fetch: (input, init) => testEnv.LND_SIM!.fetch(input, init), timeoutMs });
      try {
        return await n.liquidityPolicy.evaluate();
      } finally {
        n.liquidityPolicy.lnd = lnd;
      }
    });
    expect(failed).toMatchObject({ code: "lightning_unavailable" });
    expect((await report()).evaluation).toBeNull();
    await evaluateWith(null);
    expect((await report()).evaluation.totals.channels).toBe(4);
  });
});
