import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { api, auditOf, balanceOf, createAccount, expectConsistentBooks, fund, newKey, storedBooks, walletStub, type TestAccount } from "./helpers";

/** Runs only step 1 of the transfer protocol (debit + outbox), as if the sender crashed right after it. */
async function debitOnly(from: TestAccount, to: TestAccount, sat: number, key = newKey()) {
  const debited = await runInDurableObject(walletStub(from.wallet_id), (actor: WalletActor) =>
    actor.transfers.debit({
      idempotency: { key, fingerprint: "test" },
      to: { wallet_id: to.wallet_id, username: to.username },
      amount_msat: sat * 1000,
      memo: null,
    }),
  );
  if (!debited.ok) throw new Error(`debit refused: ${debited.message}`);
  return { ok: true as const, transfer_id: debited.transfer_id, transaction_id: debited.transaction.id };
}

async function outboxPayload(from: TestAccount, transfer_id: string) {
  return runInDurableObject(walletStub(from.wallet_id), (_a, state) =>
    JSON.parse(state.storage.sql.exec<{ payload: string }>("SELECT payload FROM transactions WHERE transfer_id = ?", transfer_id).one().payload),
  );
}

async function expectSettled(a: TestAccount, b: TestAccount, aBalance: number, bBalance: number) {
  expect(await balanceOf(a)).toBe(aBalance);
  expect(await balanceOf(b)).toBe(bBalance);
  const [auditA, auditB] = [await auditOf(a.wallet_id), await auditOf(b.wallet_id)];
  expect(auditA.in_flight_msat).toBe(0);
  expect(auditA.undelivered_transfers).toBe(0);
  expect(auditA.peers_msat + auditB.peers_msat).toBe(0); // what A delivered is what B received
  expectConsistentBooks(auditA);
  expectConsistentBooks(auditB);
}

describe("transfer faults", () => {
  it("receiver evicted between debit and credit: the sender's alarm delivers, credited once", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const key = newKey();
    const debited = await debitOnly(a, b, 400, key);
    expect(debited.ok).toBe(true);
    await walletStub(b.wallet_id).describe(); // make sure it is running, then evict it
    await evictDurableObject(walletStub(b.wallet_id));
    expect(await balanceOf(b)).toBe(0);
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json).toMatchObject({ balance_msat: 600_000, pending_out_msat: 400_000 });

    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    await expectSettled(a, b, 600_000, 400_000);
    const history = await api("GET", "/v1/wallet/transactions", { token: a.access_token });
    expect(history.json.transactions[0]).toMatchObject({ id: debited.transaction_id, status: "succeeded" });
    const events = await api("GET", "/v1/events?after=0", { token: b.access_token });
    expect(events.json.events.map((e: any) => e.type)).toEqual(["transfer.received"]);
  });

  it("every actor aborted after the debit (a crash): the stored alarm completes delivery", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    await debitOnly(a, b, 250);
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    await expectSettled(a, b, 750_000, 250_000);
  });

  it("credit happened but the acknowledgement was lost: redelivery credits nothing twice", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const key = newKey();
    const debited = await debitOnly(a, b, 300, key);
    const payload = await outboxPayload(a, debited.transfer_id);
    const credited = await walletStub(b.wallet_id).receiveTransfer(payload);
    expect(credited).toMatchObject({ ok: true, duplicate: false });
    expect(await walletStub(b.wallet_id).receiveTransfer(payload)).toMatchObject({ ok: true, duplicate: true });
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    await expectSettled(a, b, 700_000, 300_000);
    // A replay of the request now tells the final state.
    const replay = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => actor.idempotency.stored({ key, fingerprint: "test" }));
    expect(replay).toMatchObject({ ok: true, status: 200, body: { status: "succeeded", transaction: { id: debited.transaction_id, status: "succeeded" } } });
  });

  it("a wallet that was never opened refuses the credit and the money comes back", async () => {
    const a = await createAccount("a");
    await fund(a, 1000);
    const ghost = { wallet_id: `wal_${"f".repeat(32)}`, username: "ghost" } as TestAccount;
    await debitOnly(a, ghost, 100);
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    expect(await balanceOf(a)).toBe(1_000_000);
    const audit = await auditOf(a.wallet_id);
    expect(audit.in_flight_msat).toBe(0);
    expectConsistentBooks(audit);
    const history = await api("GET", "/v1/wallet/transactions", { token: a.access_token });
    expect(history.json.transactions[0]).toMatchObject({ status: "failed", direction: "out", amount_msat: 100_000 });
    const events = await api("GET", "/v1/events?after=0", { token: a.access_token });
    expect(events.json.events.map((e: any) => e.type)).toEqual(["faucet.credited", "transfer.sent", "transfer.failed"]);
  });

  it("after a wake-up, a new debit does not push back a delivery retry that is due sooner", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    await debitOnly(a, b, 100);
    // As if the delivery had failed and been scheduled again in a second; then the instance goes away.
    const retryAt = Date.now() + 1_000;
    await runInDurableObject(walletStub(a.wallet_id), (_actor, state) => state.storage.setAlarm(retryAt));
    await evictDurableObject(walletStub(a.wallet_id));
    expect((await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1 }, token: a.access_token, key: newKey() })).status).toBe(200);
    const alarm = await runInDurableObject(walletStub(a.wallet_id), (_actor, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(retryAt);
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    await expectSettled(a, b, 899_000, 101_000);
  });

  it("a journal that does not balance is refused and rolls back the whole transaction", async () => {
    const a = await createAccount("a");
    await fund(a, 1000);
    const before = await auditOf(a.wallet_id);
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
      expect(() =>
        actor.kit.unitOfWork.run(() => {
          actor.events.append("bogus", {}, new Date().toISOString());
          actor.ledger.post("bogus", [{ account: "wallet", amount_msat: 5 }, { account: "faucet", amount_msat: 4 }], new Date().toISOString());
        }),
      ).toThrow(/does not balance/);
      expect(() =>
        actor.kit.unitOfWork.run(() => actor.ledger.post("overdraw", [{ account: "wallet", amount_msat: -2_000_000 }, { account: "peers", amount_msat: 2_000_000 }], "now")),
      ).toThrow(/CHECK constraint/);
      // A transaction that posted and then failed: its amount must not stay in the in-memory balance.
      expect(() =>
        actor.kit.unitOfWork.run(() => {
          actor.ledger.post("then-fails", [{ account: "wallet", amount_msat: 7 }, { account: "faucet", amount_msat: -7 }], "now");
          throw new Error("failed after posting");
        }),
      ).toThrow(/failed after posting/);
    });
    expect(storedBooks(await auditOf(a.wallet_id))).toEqual(storedBooks(before));
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json.balance_msat).toBe(1_000_000);
    expectConsistentBooks(await auditOf(a.wallet_id));
  });
});
