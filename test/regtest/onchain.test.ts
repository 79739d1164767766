// On-chain through LND's wallet against real lnd + btcd (docs/decisions/0023): a deposit from an
// outside node to a wallet's address, credited at ONCHAIN_CONFIRMATIONS as btcd mines, and a
// withdrawal to another node's address, settled at lnd's real fee once mined. After each test: the
// wallets' books (conservation) and solvency (what the hub owes covered by what lnd holds).

import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { WalletActor } from "../../durable/wallet-actor";
import { createLndClient, type LndRestClient } from "../../src/lightning";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, testEnv, waitFor, walletStub, type TestAccount } from "../helpers";
import { Control, Rest, regtestContext } from "./regtest";

const ctx = regtestContext();

describe.skipIf(!ctx)("on-chain against real lnd and btcd", () => {
  const client = (node: { restUrl: string; macaroonHex: string } | undefined): LndRestClient =>
    createLndClient({ baseUrl: node?.restUrl ?? "http://unused", fetch: (input, init) => fetch(input, init), macaroonHex: node?.macaroonHex });
  const hubLnd = client(ctx?.hub);
  const outside = { alice: ctx && new Rest(ctx.alice), bob: ctx && new Rest(ctx.bob) };
  const control = ctx && new Control(ctx.controlUrl);
  const node = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));

  const wallets: TestAccount[] = [];
  const account = async (prefix: string) => {
    const a = await createAccount(prefix);
    wallets.push(a);
    return a;
  };
  const types = async (a: TestAccount) => (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.map((e: { type: string }) => e.type);

  afterEach(async () => {
    const audits = await Promise.all(wallets.map((a) => auditOf(a.wallet_id)));
    expectConservation(audits);
    for (const a of audits) expect(a.problems).toEqual([]);
    // Solvency: what the hub owes its users is covered by what lnd holds (channels and confirmed chain funds).
    const owed = audits.reduce((s, a) => s + a.balance_msat + a.holds_msat + a.in_flight_msat, 0);
    const local = (await hubLnd.channelBalance()).local_balance.msat;
    const onChain = (await hubLnd.walletBalance()).confirmed_balance;
    expect(owed).toBeLessThanOrEqual(local + onChain * 1000);
  });

  it("credits a deposit from alice once, at 3 confirmations mined by btcd (pending before)", async () => {
    const a = await account("rxc");
    const r = await api("POST", "/v1/onchain/address", { token: a.access_token });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const address: string = r.json.address;
    expect(address).toMatch(/^bcrt1q/);
    // Whichever outside node has the coins (coinbases go to a node at random).
    const payer = (await client(ctx!.alice).walletBalance()).confirmed_balance > 1_000_000 ? outside.alice! : outside.bob!;
    const sent = await payer.ok("POST", "/v1/transactions", { addr: address, amount: "50000", target_conf: 2 });
    const txid: string = sent.txid;
    const sync = () => node().syncChain();
    await waitFor(async () => (await sync(), (await types(a)).includes("onchain.pending")), "the deposit seen", 30_000);
    expect(await balanceOf(a)).toBe(0);
    await control!.mine(2);
    await sync();
    expect(await balanceOf(a)).toBe(0);
    await control!.mine(1);
    await waitFor(async () => (await sync(), (await balanceOf(a)) === 50_000_000), "the deposit credited at 3 confirmations", 30_000);
    await control!.mine(2);
    await sync();
    expect(await balanceOf(a)).toBe(50_000_000);
    expect(await types(a)).toEqual(["onchain.pending", "onchain.received"]);
    const tx = (await hubLnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    expect(tx.output_details.find((o) => o.address === address)).toMatchObject({ amount: 50_000, is_our_address: true });
    expect((await auditOf(a.wallet_id)).chain_msat).toBe(-50_000_000);
  });

  it("withdraws to bob's address: estimated, held, sent once, settled at lnd's real fee when mined", async () => {
    const a = await account("wdc");
    await fund(a, 100_000);
    const { address: to } = await outside.bob!.ok("GET", "/v1/newaddress?type=WITNESS_PUBKEY_HASH");
    const est = await api("POST", "/v1/payments/onchain/estimate", { body: { address: to, amount_sat: 30_000 }, token: a.access_token });
    expect(est.status, JSON.stringify(est.json)).toBe(200);
    expect(est.json.fee_sat).toBeGreaterThan(0);
    const key = newKey();
    const r = await api("POST", "/v1/payments/onchain", { body: { address: to, amount_sat: 30_000 }, token: a.access_token, key });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "pending", amount_msat: 30_000_000 });
    const txid: string = r.json.txid;
    expect(txid).toMatch(/^[0-9a-f]{64}$/);
    const sent = (await hubLnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    expect(sent.label).toBe(`flash-hub:${r.json.withdrawal_id}`);
    await control!.mine(1);
    const followUp = () => runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) => w.onchain.followUp());
    await waitFor(async () => (await followUp(), (await api("POST", "/v1/payments/onchain", { body: { address: to, amount_sat: 30_000 }, token: a.access_token, key })).json.status === "succeeded"), "the withdrawal confirmed", 30_000);
    const mined = (await hubLnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    const done = await api("POST", "/v1/payments/onchain", { body: { address: to, amount_sat: 30_000 }, token: a.access_token, key });
    expect(done.json).toMatchObject({ status: "succeeded", txid, fee_msat: mined.total_fees * 1000 });
    expect(await balanceOf(a)).toBe(100_000_000 - 30_000_000 - mined.total_fees * 1000);
    const atBob = (await client(ctx!.bob).getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    expect(atBob.output_details.find((o) => o.address === to)).toMatchObject({ amount: 30_000, is_our_address: true });
    expect(await types(a)).toEqual(["faucet.credited", "onchain.withdrawal.pending", "onchain.withdrawal.succeeded"]);
    // A wrong-network address is refused before anything moves.
    const wrong = await api("POST", "/v1/payments/onchain", { body: { address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", amount_sat: 1000 }, token: a.access_token, key: newKey() });
    expect([wrong.status, wrong.json.error.code]).toEqual([400, "invalid_address"]);
  });
});
