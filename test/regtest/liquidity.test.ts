// The liquidity policy against real lnd (docs/decisions/0025): with alice as a preferred peer and the
// hub's outbound short of the target, the LightningNodeActor opens a channel to alice through lnd
// (OpenChannelSync), within the size bounds, once; lnd lists it as pending, then, mined, as active.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LightningNodeActor } from "../../durable/lightning-node-actor";
import { parseLiquidityPolicy, type LiquidityPolicy } from "../../src/liquidity";
import { createLndClient } from "../../src/lightning";
import { testEnv, waitFor } from "../helpers";
import { Control, Rest, regtestContext } from "./regtest";

const ctx = regtestContext();

describe.skipIf(!ctx)("liquidity policy against real lnd", () => {
  const hubLnd = createLndClient({ baseUrl: ctx?.hub.restUrl ?? "http://unused", fetch: (input, init) => fetch(input, init), macaroonHex: ctx?.hub.macaroonHex });
  const control = ctx && new Control(ctx.controlUrl);
  const node = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));
  const evaluateWith = (policy: LiquidityPolicy) =>
    runInDurableObject(node() as unknown as DurableObjectStub<LightningNodeActor>, async (n: LightningNodeActor) => {
      n.liquidityPolicy.policyOverride = policy;
      try {
        return await n.liquidityPolicy.evaluate();
      } finally {
        n.liquidityPolicy.policyOverride = null;
      }
    });

  it("alice, a preferred peer, gets a channel when the hub's outbound falls below the target; once", async () => {
    const alice = ctx!.alice.pubkey;
    // The hub's wallet funds the channel: top it up from whichever outside node has coins.
    if ((await hubLnd.walletBalance()).confirmed_balance < 5_000_000) {
      const { address } = await hubLnd.newAddress();
      const payer = (await createLndClient({ baseUrl: ctx!.alice.restUrl, fetch: (i, n) => fetch(i, n), macaroonHex: ctx!.alice.macaroonHex }).walletBalance()).confirmed_balance > 10_000_000
        ? new Rest(ctx!.alice)
        : new Rest(ctx!.bob);
      await payer.ok("POST", "/v1/transactions", { addr: address, amount: "10000000", sat_per_vbyte: "5" });
      await control!.mine(1);
      await waitFor(async () => (await hubLnd.walletBalance()).confirmed_balance >= 5_000_000, "the hub's wallet funded", 30_000);
    }
    // The hub's utilisation now (remote / (local + remote)); a target just under it: outbound is short.
    const channels = await hubLnd.listChannels({ active_only: true });
    const local = channels.reduce((s, c) => s + c.local_balance, 0);
    const remote = channels.reduce((s, c) => s + c.remote_balance, 0);
    const utilization = remote / (local + remote);
    expect(utilization).toBeGreaterThan(0.2);
    const before = channels.filter((c) => c.remote_pubkey === alice).length;
    const policy: LiquidityPolicy = {
      ...parseLiquidityPolicy((testEnv as unknown as { LIQUIDITY_POLICY: string }).LIQUIDITY_POLICY)!,
      target_utilization: utilization - 0.1,
      min_channel_size_sat: 1_000_000,
      max_channel_size_sat: 2_000_000,
      auto_open_channels: true,
      preferred_peers: [{ pubkey: alice, host: null }],
    };

    const first = await evaluateWith(policy);
    if (!("opens" in first)) throw new Error(JSON.stringify(first));
    expect(first.evaluation!.recommendations.find((r) => r.kind === "open")).toMatchObject({ peer: alice, fundable: true });
    const opened = first.opens[0]!;
    expect(opened, JSON.stringify(first.opens)).toMatchObject({ peer_pubkey: alice, state: "pending" });
    expect(opened.amount_sat).toBeGreaterThanOrEqual(1_000_000);
    expect(opened.amount_sat).toBeLessThanOrEqual(2_000_000);
    // lnd has it as a pending channel to alice of that capacity, at the funding outpoint the hub recorded.
    const pending = (await hubLnd.pendingChannels()).pending_open_channels.filter((p) => p.remote_node_pub === alice);
    expect(pending.map((p) => [p.channel_point.split(":")[0], p.capacity])).toContainEqual([opened.funding_txid, opened.amount_sat]);

    // Evaluated again while it is pending: alice is busy, nothing more is opened.
    const second = await evaluateWith(policy);
    if (!("opens" in second)) throw new Error(JSON.stringify(second));
    expect(second.opens.filter((o) => o.state === "pending" && o.created_at >= opened.created_at)).toHaveLength(1);
    expect((await hubLnd.pendingChannels()).pending_open_channels.filter((p) => p.remote_node_pub === alice)).toHaveLength(pending.length);

    // Mined: the channel is active, the hub's side funded.
    await control!.mine(6);
    await waitFor(
      async () => (await hubLnd.listChannels({ active_only: true })).some((c) => c.remote_pubkey === alice && c.channel_point.startsWith(opened.funding_txid!)),
      "the new channel active",
      60_000,
    );
    expect((await hubLnd.listChannels({ active_only: true })).filter((c) => c.remote_pubkey === alice)).toHaveLength(before + 1);

    // The test's own cleanup (the hub never closes a channel): closed cooperatively, so that the other files
    // see the network's three channels.
    const point = (await hubLnd.listChannels()).find((c) => c.channel_point.startsWith(opened.funding_txid!))!.channel_point;
    await control!.lncli("hub", "closechannel", "--funding_txid", point.split(":")[0]!, "--output_index", point.split(":")[1]!, "--sat_per_vbyte", "5");
    await control!.mine(1);
    await waitFor(async () => !(await hubLnd.listChannels()).some((c) => c.channel_point === point), "the test's channel closed", 60_000);
    await waitFor(async () => (await hubLnd.pendingChannels()).pending_open_channels.length === 0, "nothing pending", 30_000);
  });
});
