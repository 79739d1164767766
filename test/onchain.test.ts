import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { LightningNodeActor } from "../durable/lightning-node-actor";
import type { WalletActor } from "../durable/wallet-actor";
import { lndClient } from "../durable/lnd";
import { GrpcCode, LndError } from "../src/lightning";
import { withdrawalLabel } from "../src/onchain";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, storedBooks, testEnv, walletStub, type TestAccount } from "./helpers";

/** The simulator's outside world (sim/README.md, "Control routes"). */
export async function sim<T = any>(path: string, body: unknown = {}): Promise<{ status: number; json: T }> {
  const res = await testEnv.LND_SIM!.fetch(`http://lnd-sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as T };
}

describe("the simulator's chain (LND's wallet routes)", () => {
  const lnd = lndClient(testEnv);

  it("gives addresses, sees deposits in the mempool, confirms them as blocks are mined, and re-orgs", async () => {
    const { address } = await lnd.newAddress();
    expect(address).toMatch(/^bcrt1q[0-9a-z]{38}$/);
    expect((await lnd.newAddress("TAPROOT_PUBKEY")).address).toMatch(/^bcrt1p[0-9a-z]{58}$/);
    const before = await lnd.walletBalance();
    const events: string[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      try {
        for await (const tx of lnd.subscribeTransactions({ signal: controller.signal })) events.push(`${tx.tx_hash}:${tx.num_confirmations}`);
      } catch {
        // aborted
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    const sent = await sim("/sim/onchain/send", { address, amount_sat: 50_000 });
    expect(sent.status).toBe(200);
    const txid: string = sent.json.txid;
    const find = async () => (await lnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid);
    expect(await find()).toMatchObject({ num_confirmations: 0, amount: 50_000, block_height: 0, output_details: [{ address, amount: 50_000, is_our_address: true, output_index: 0 }] });
    expect((await lnd.walletBalance()).unconfirmed_balance).toBe(before.unconfirmed_balance + 50_000);
    await sim("/sim/mine", { blocks: 2 });
    expect((await find())!.num_confirmations).toBe(2);
    expect((await lnd.walletBalance()).confirmed_balance).toBe(before.confirmed_balance + 50_000);
    // Two blocks replaced by empty ones: back in the mempool; then double-spent away.
    expect((await sim("/sim/onchain/reorg", { blocks: 2 })).json.unconfirmed).toContain(txid);
    expect((await find())!.num_confirmations).toBe(0);
    await sim("/sim/onchain/reorg", { txid });
    expect(await find()).toBeUndefined();
    expect(await lnd.walletBalance()).toMatchObject({ confirmed_balance: before.confirmed_balance, unconfirmed_balance: before.unconfirmed_balance });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await watching;
    expect(events).toEqual([`${txid}:0`, `${txid}:1`]);
  });

  it("estimates a fee, sends coins with a label, and refuses what LND refuses", async () => {
    const { json } = await sim("/sim/onchain/address");
    const to: string = json.address;
    const estimate = await lnd.estimateFee({ addr_to_amount: { [to]: 20_000 }, target_conf: 6 });
    expect(estimate).toEqual({ fee_sat: 1410, sat_per_vbyte: 10 });
    const before = await lnd.walletBalance();
    const { txid } = await lnd.sendCoins({ addr: to, amount: 20_000, sat_per_vbyte: 2, label: "flash-hub:test" });
    const tx = (await lnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    expect(tx).toMatchObject({ label: "flash-hub:test", total_fees: 282, amount: -20_282, num_confirmations: 0 });
    expect((await lnd.walletBalance()).confirmed_balance).toBe(before.confirmed_balance - 20_282);
    expect((await sim("/sim/onchain/tx", { txid })).json).toMatchObject({ outputs: [{ address: to, amount_sat: 20_000 }], fee_sat: 282, confirmations: 0 });
    await expect(lnd.sendCoins({ addr: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", amount: 20_000 })).rejects.toBeInstanceOf(LndError);
    await expect(lnd.sendCoins({ addr: to, amount: 100 })).rejects.toThrow(/dust/);
    await expect(lnd.sendCoins({ addr: to, amount: 10_000_000_000 })).rejects.toThrow(/insufficient funds/);
  });
});

// ── The hub: deposits and withdrawals through LND's wallet (docs/decisions/0023) ──

const node = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));
const onNode = <T>(fn: (instance: LightningNodeActor) => T | Promise<T>) =>
  runInDurableObject(node() as unknown as DurableObjectStub<LightningNodeActor>, (instance: LightningNodeActor) => fn(instance));
const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;

/** Every wallet the hub tests create: conservation is checked over all of them after each test. */
const wallets: TestAccount[] = [];
const account = async (prefix: string) => {
  const a = await createAccount(prefix);
  wallets.push(a);
  return a;
};
afterEach(async () => {
  if (wallets.length) expectConservation(await Promise.all(wallets.map((a) => auditOf(a.wallet_id))));
});

const newAddress = async (a: TestAccount) => {
  const r = await api("POST", "/v1/onchain/address", { token: a.access_token });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.address as string;
};
const outsidePays = async (address: string, amount_sat: number) => {
  const r = await api("POST", "/dev/sim/onchain/send", { body: { address, amount_sat } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.txid as string;
};
const mine = async (blocks: number) => {
  const r = await api("POST", "/dev/sim/mine", { body: { blocks } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
};
const events = async (a: TestAccount) => (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events as { seq: number; type: string; data: any }[];
const types = async (a: TestAccount) => (await events(a)).map((e) => e.type);
const history = async (a: TestAccount) => (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions as any[];
const expectGapless = async (a: TestAccount) => {
  const seqs = (await events(a)).map((e) => e.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  expect((await auditOf(a.wallet_id)).problems).toEqual([]);
};
/** The node's listing of a transaction, as the stream or the sweep would hand it over. */
const lndTx = async (txid: string) => (await lndClient(testEnv).getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;

describe("on-chain deposits", () => {
  it("gives each wallet its own addresses (POST /v1/onchain/address, scope receive)", async () => {
    const [a, b] = [await account("oca"), await account("ocb")];
    const [a1, a2, b1] = [await newAddress(a), await newAddress(a), await newAddress(b)];
    for (const address of [a1, a2, b1]) expect(address).toMatch(/^bcrt1q[0-9a-z]{38}$/);
    expect(new Set([a1, a2, b1]).size).toBe(3);
    expect(await onNode((n) => [n.deposits.walletOf(a1), n.deposits.walletOf(a2), n.deposits.walletOf(b1)])).toEqual([a.wallet_id, a.wallet_id, b.wallet_id]);
    const key = (await api("POST", "/v1/api-keys", { body: { name: "read only", scopes: ["read"] }, token: a.access_token })).json.key;
    expect((await api("POST", "/v1/onchain/address", { token: key })).status).toBe(403);
    expect((await api("POST", "/v1/onchain/address", {})).status).toBe(401);
  });

  it("writes onchain.pending when seen and credits once at 3 confirmations, however often LND reports it, across a restart of the node actor", async () => {
    const a = await account("ocd");
    const address = await newAddress(a);
    const txid = await outsidePays(address, 40_000);
    expect(await types(a)).toEqual(["onchain.pending"]);
    const [pending] = await events(a);
    expect(pending!.data).toMatchObject({ txid, vout: 0, address, confirmations: 0, balance_msat: 0, transaction: { kind: "onchain", direction: "in", amount_msat: 40_000_000, status: "pending" } });
    expect(await balanceOf(a)).toBe(0);
    expect((await history(a))[0]).toMatchObject({ kind: "onchain", direction: "in", status: "pending", amount_msat: 40_000_000 });

    await mine(2);
    // Reported again, by the stream and by the sweep: still pending, nothing credited.
    await onNode(async (n) => {
      const tx = await lndTx(txid);
      expect(tx.num_confirmations).toBe(2);
      await n.deposits.apply(tx);
      await n.deposits.apply(tx);
      await n.deposits.sweep();
    });
    expect(await balanceOf(a)).toBe(0);
    expect(await types(a)).toEqual(["onchain.pending"]);

    // The node actor (and every actor) restarts; the third block credits once.
    await abortAllDurableObjects();
    await mine(1);
    expect(await balanceOf(a)).toBe(40_000_000);
    expect(await types(a)).toEqual(["onchain.pending", "onchain.received"]);
    expect((await events(a))[1]!.data).toMatchObject({ txid, vout: 0, confirmations: 3, balance_msat: 40_000_000, transaction: { status: "succeeded" } });

    // Reported twice more, after another restart, and deeper: still once.
    await abortAllDurableObjects();
    await mine(2);
    const confirmed = await lndTx(txid);
    await onNode(async (n) => {
      await n.deposits.apply(confirmed);
      await n.deposits.apply(confirmed);
    });
    // The wallet itself is told again (an outbox redelivery), even of an older state.
    for (const state of ["confirmed", "seen", "dropped"] as const) {
      const r = await walletStub(a.wallet_id).receiveOnchainDeposit({ outpoint: `${txid}:0`, txid, vout: 0, address, amount_msat: 40_000_000, confirmations: 5, state, version: 1 });
      expect(r).toMatchObject({ ok: true, status: "credited" });
    }
    expect(await balanceOf(a)).toBe(40_000_000);
    expect(await types(a)).toEqual(["onchain.pending", "onchain.received"]);
    expect((await history(a)).map((t) => [t.kind, t.status, t.amount_msat])).toEqual([["onchain", "succeeded", 40_000_000]]);
    expect((await auditOf(a.wallet_id)).chain_msat).toBe(-40_000_000);
    await expectGapless(a);
  });

  it("never credits a deposit a re-org takes away before the threshold; confirmations that drop start again", async () => {
    const a = await account("ocr");
    const address = await newAddress(a);
    // Confirmations drop (two blocks replaced): pending again at 0, credited only at 3 of the new chain.
    const first = await outsidePays(address, 10_000);
    await mine(2);
    const reorged = await sim("/sim/onchain/reorg", { blocks: 2 });
    expect(reorged.json.unconfirmed).toContain(first);
    await onNode((n) => n.deposits.sweep());
    await mine(2);
    expect(await balanceOf(a)).toBe(0);
    await mine(1);
    expect(await balanceOf(a)).toBe(10_000_000);

    // Double-spent away at 2 confirmations: dropped, and never credited however many blocks follow.
    const second = await outsidePays(address, 20_000);
    await mine(2);
    expect(await balanceOf(a)).toBe(10_000_000);
    await sim("/sim/onchain/reorg", { txid: second });
    await onNode((n) => n.deposits.sweep());
    await mine(5);
    expect(await balanceOf(a)).toBe(10_000_000);
    const t = await types(a);
    expect(t).toEqual(["onchain.pending", "onchain.received", "onchain.pending", "onchain.dropped"]);
    const dropped = (await events(a))[3]!;
    expect(dropped.data).toMatchObject({ txid: second, transaction: { status: "failed" } });
    expect((await history(a)).map((x) => x.status)).toEqual(["failed", "succeeded"]);
    await expectGapless(a);
  });

  it("credits each output of one transaction to the wallet whose address it pays (txid:vout)", async () => {
    const [a, b] = [await account("ocm"), await account("ocn")];
    const [pa, pb] = [await newAddress(a), await newAddress(b)];
    const sent = await sim("/sim/onchain/send", { outputs: [{ address: pa, amount_sat: 3000 }, { address: pb, amount_sat: 4000 }, { address: pa, amount_sat: 5000 }] });
    expect(sent.status).toBe(200);
    await mine(3);
    expect(await balanceOf(a)).toBe(8_000_000);
    expect(await balanceOf(b)).toBe(4_000_000);
    expect(await types(a)).toEqual(["onchain.pending", "onchain.pending", "onchain.received", "onchain.received"]);
    await expectGapless(a);
    await expectGapless(b);
  });
});

describe("on-chain withdrawals", () => {
  const estimate = (a: TestAccount, body: unknown) => api("POST", "/v1/payments/onchain/estimate", { body, token: a.access_token });
  const withdraw = (a: TestAccount, body: unknown, key = newKey()) => api("POST", "/v1/payments/onchain", { body, token: a.access_token, key });
  const outsideAddress = async () => (await sim("/sim/onchain/address")).json.address as string;
  /** The wallet's follow-up task, run now (its alarm may be set for another part's task first). */
  const followUp = (a: TestAccount) => runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) => w.onchain.followUp());

  it("estimates, holds amount + twice the fee, sends once, settles at LND's real fee and refunds the rest", async () => {
    const a = await account("ocw");
    await fund(a, 100_000);
    const to = await outsideAddress();
    const est = await estimate(a, { address: to, amount_sat: 20_000 });
    expect(est.status, JSON.stringify(est.json)).toBe(200);
    expect(est.json).toEqual({ fee_sat: 1410, fee_rate_sat_vb: 10, max_fee_sat: 2820 });

    const key = newKey();
    const r = await withdraw(a, { address: to, amount_sat: 20_000 }, key);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "pending", address: to, amount_msat: 20_000_000, fee_msat: 0, reserved_msat: 22_820_000, transaction: { kind: "onchain", direction: "out", status: "pending" } });
    const txid: string = r.json.txid;
    expect(txid).toMatch(/^[0-9a-f]{64}$/);
    expect(await api("GET", "/v1/wallet", { token: a.access_token }).then((w) => w.json)).toMatchObject({ balance_msat: 77_180_000, pending_out_msat: 22_820_000 });
    expect((await sim("/sim/onchain/tx", { txid })).json).toMatchObject({ outputs: [{ address: to, amount_sat: 20_000 }], fee_sat: 1410, label: withdrawalLabel(r.json.withdrawal_id) });

    // A retry answers the same withdrawal (nothing sent twice); another body with the key is a conflict.
    const again = await withdraw(a, { address: to, amount_sat: 20_000 }, key);
    expect(again.json).toMatchObject({ withdrawal_id: r.json.withdrawal_id, txid, status: "pending" });
    expect((await withdraw(a, { address: to, amount_sat: 20_001 }, key)).json.error.code).toBe("idempotency_conflict");

    // Unconfirmed: the follow-up leaves it pending. Mined: settled at the real fee.
    await followUp(a);
    expect((await withdraw(a, { address: to, amount_sat: 20_000 }, key)).json.status).toBe("pending");
    await mine(1);
    await followUp(a);
    const done = await withdraw(a, { address: to, amount_sat: 20_000 }, key);
    expect(done.json).toMatchObject({ status: "succeeded", txid, fee_msat: 1_410_000, reserved_msat: 0, transaction: { status: "succeeded", fee_msat: 1_410_000 } });
    expect(await api("GET", "/v1/wallet", { token: a.access_token }).then((w) => w.json)).toMatchObject({ balance_msat: 78_590_000, pending_out_msat: 0 });
    expect(await types(a)).toEqual(["faucet.credited", "onchain.withdrawal.pending", "onchain.withdrawal.succeeded"]);
    const books = await auditOf(a.wallet_id);
    expect(books).toMatchObject({ chain_msat: 21_410_000, holds_msat: 0, fees_msat: 0 });
    await expectGapless(a);

    // At the caller's fee rate: 2 sat/vB.
    const slow = await withdraw(a, { address: to, amount_sat: 5_000, fee_rate_sat_vb: 2 });
    expect(slow.json).toMatchObject({ status: "pending", reserved_msat: 6_282_000 });
    await mine(1);
    await followUp(a);
    expect(await balanceOf(a)).toBe(78_590_000 - 5_282_000);
    await expectGapless(a);
  });

  it("refuses bad input with a clear 4xx and moves nothing: invalid or wrong-network address, amounts, insufficient balance, frozen, over the limit", async () => {
    const a = await account("ocx");
    await fund(a, 30_000);
    const to = await outsideAddress();
    const before = storedBooks(await auditOf(a.wallet_id));
    const cases: [unknown, number, string][] = [
      [{ address: "bcrt1qnotanaddress", amount_sat: 5000 }, 400, "invalid_address"],
      [{ address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", amount_sat: 5000 }, 400, "invalid_address"],
      [{ address: "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfX", amount_sat: 5000 }, 400, "invalid_address"],
      [{ address: to, amount_sat: 0 }, 400, "invalid_request"],
      [{ address: to, amount_sat: 999 }, 400, "invalid_request"],
      [{ address: to, amount_sat: 5000.5 }, 400, "invalid_request"],
      [{ address: to, amount_sat: 5000, fee_rate_sat_vb: 0 }, 400, "invalid_request"],
      [{ address: to, amount_sat: 5000, extra: 1 }, 400, "invalid_request"],
      [{ address: to, amount_sat: 29_000 }, 422, "insufficient_balance"],
    ];
    for (const [body, status, code] of cases) {
      const r = await withdraw(a, body);
      expect([r.status, r.json?.error?.code], JSON.stringify(body)).toEqual([status, code]);
      if (code === "invalid_address") expect((await estimate(a, body)).json.error.code).toBe("invalid_address");
    }
    expect((await api("POST", "/v1/payments/onchain", { body: { address: to, amount_sat: 5000 }, token: a.access_token })).status).toBe(400); // no Idempotency-Key

    // Over the level-0 withdrawal limit (50,000 sat a day), then frozen.
    await fund(a, 100_000);
    const funded = storedBooks(await auditOf(a.wallet_id));
    expect((await api("POST", `/v1/admin/accounts/${a.account_id}/level`, { body: { level: 0 }, token: ADMIN })).status).toBe(200);
    const over = await withdraw(a, { address: to, amount_sat: 60_000 });
    expect([over.status, over.json.error.code]).toEqual([422, "limit_exceeded"]);
    expect((await api("POST", `/v1/admin/accounts/${a.account_id}/freeze`, { body: { reason: "test" }, token: ADMIN })).status).toBe(200);
    const frozen = await withdraw(a, { address: to, amount_sat: 5_000 });
    expect([frozen.status, frozen.json.error.code]).toEqual([403, "account_frozen"]);
    expect(storedBooks(await auditOf(a.wallet_id))).toEqual(funded);
    expect(before.balance_msat).toBe(30_000_000);
    expect(await types(a)).toEqual(["faucet.credited", "faucet.credited"]);
    await expectGapless(a);
  });

  it("releases the hold whole when LND refuses the send", async () => {
    const a = await account("ocf");
    await fund(a, 50_000);
    const to = await outsideAddress();
    await onNode((n) => {
      const lnd = n.sends.lnd;
      n.sends.lnd = (timeoutMs?: number) =>
        new Proxy(lnd(timeoutMs), {
          get(target, prop) {
            if (prop === "sendCoins") return async () => Promise.reject(new LndError(GrpcCode.UNKNOWN, "insufficient funds available to construct transaction", 500));
            const value: unknown = Reflect.get(target, prop);
            return typeof value === "function" ? value.bind(target) : value;
          },
        });
    });
    try {
      const r = await withdraw(a, { address: to, amount_sat: 10_000 });
      expect(r.json).toMatchObject({ status: "failed", txid: null, fee_msat: 0, failure_reason: expect.stringMatching(/insufficient funds/), transaction: { status: "failed" } });
    } finally {
      await abortAllDurableObjects(); // the next instance has the real client
    }
    expect(await balanceOf(a)).toBe(50_000_000);
    expect(await types(a)).toEqual(["faucet.credited", "onchain.withdrawal.pending", "onchain.withdrawal.failed"]);
    expect((await api("GET", "/v1/account/limits", { token: a.access_token })).json.limits.find((l: any) => l.kind === "withdrawal").used_sat).toBe(0);
    await expectGapless(a);
  });

  it("sends once across crashes: a hold the wallet never handed over, and a send whose answer was lost (found by its label)", async () => {
    const a = await account("occ");
    await fund(a, 60_000);
    const to = await outsideAddress();
    // The wallet dies between its hold and the call to the node actor: the follow-up sends it.
    const held = await runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) =>
      w.onchain.hold({ idempotency: { key: newKey(), fingerprint: "f" }, address: to, amount_msat: 10_000_000, fee_rate_sat_vb: null, max_fee_msat: 2_820_000 }),
    );
    if (!held.ok) throw new Error(held.message);
    await abortAllDurableObjects();
    await followUp(a);
    const first = await runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) => w.onchain.byId(held.withdrawal_id)!);
    expect(first).toMatchObject({ status: "pending", txid: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // LND published a withdrawal but its answer never reached the node actor (which then died): found by its label, not sent again.
    const held2 = await runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) =>
      w.onchain.hold({ idempotency: { key: newKey(), fingerprint: "g" }, address: to, amount_msat: 15_000_000, fee_rate_sat_vb: null, max_fee_msat: 2_820_000 }),
    );
    if (!held2.ok) throw new Error(held2.message);
    const label = withdrawalLabel(held2.withdrawal_id);
    await onNode((n) => {
      n.kit.sql`INSERT INTO onchain_sends (withdrawal_id, wallet_id, address, amount_sat, fee_rate_sat_vb, label, state, created_at, updated_at)
                VALUES (${held2.withdrawal_id}, ${a.wallet_id}, ${to}, ${15_000}, ${null}, ${label}, 'sending', ${Date.now() - 60_000}, ${Date.now() - 60_000})`;
    });
    const { txid } = await lndClient(testEnv).sendCoins({ addr: to, amount: 15_000, label, target_conf: 6 });
    await abortAllDurableObjects();
    await followUp(a);
    const second = await runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (w: WalletActor) => w.onchain.byId(held2.withdrawal_id)!);
    expect(second).toMatchObject({ status: "pending", txid });
    const labelled = (await lndClient(testEnv).getTransactions({ end_height: -1 })).transactions.filter((t) => t.label === label);
    expect(labelled).toHaveLength(1);

    await mine(1);
    await followUp(a);
    expect(await balanceOf(a)).toBe(60_000_000 - 10_000_000 - 1_410_000 - 15_000_000 - 1_410_000);
    await expectGapless(a);
  });
});
