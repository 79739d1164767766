import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { IDEMPOTENCY_TTL_MS } from "../src/idempotency";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT } from "../src/money";
import { MAX_INVOICE_CREDIT_SAT, defaultMaxFeeMsat } from "../src/payment-rules";
import { api, auditOf, balanceOf, createAccount, expectConservation, expectConsistentBooks, fund, newKey, testEnv, walletStub, type TestAccount } from "./helpers";

const onWallet = <R>(a: TestAccount, fn: (actor: WalletActor, state: DurableObjectState) => R | Promise<R>) => runInDurableObject(walletStub(a.wallet_id), fn);

const sim = (path: string, body: unknown) =>
  testEnv.LND_SIM!.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

describe("wallet parts", () => {
  it("every part's first step is recorded for a new wallet, and its tasks share the one alarm", async () => {
    const a = await createAccount("p");
    const parts = await onWallet(a, (_actor, state) =>
      state.storage.sql.exec<{ part: string }>("SELECT part FROM _kit_migrations WHERE step = 1 ORDER BY part").toArray().map((r) => r.part),
    );
    expect(parts).toEqual(["amp-receipts", "audit-trail", "chat-inbox", "events", "history", "idempotency", "identity", "invoices", "ledger", "lightning-payments", "limits", "onchain", "sockets", "solvency-feed", "transfers", "webhook-feed"]);
    const tasks = await onWallet(a, (actor) => actor.kit.scheduler.taskNames());
    expect(tasks).toEqual(["transfers:deliveries", "sockets:expiry", "idempotency:expiry", "lightning-payments:tracking", "webhook-feed:deliveries", "limits:expiry", "solvency-feed:push", "onchain:withdrawals"]);
  });

  it("transfers: pending → succeeded once; a second delivery of a settled transfer changes nothing", async () => {
    const [a, b] = [await createAccount("p"), await createAccount("p")];
    await fund(a, 1000);
    const debited = await onWallet(a, (actor) => actor.transfers.debit({ idempotency: { key: newKey(), fingerprint: "t" }, to: { wallet_id: b.wallet_id, username: b.username }, amount_msat: 300_000, memo: null }));
    if (!debited.ok) throw new Error(debited.message);
    expect(debited.transaction.status).toBe("pending");
    const first = await onWallet(a, (actor) => actor.transfers.outbox.deliverById(debited.transfer_id));
    expect(first).toMatchObject({ outcome: "delivered", settled: { status: "succeeded" } });
    const again = await onWallet(a, (actor) => actor.transfers.outbox.deliverById(debited.transfer_id));
    expect(again).toEqual({ outcome: "delivered", settled: null });
    // The receiver was never asked twice to credit, and would not credit twice anyway.
    expect(await balanceOf(b)).toBe(300_000);
    const redelivered = await walletStub(b.wallet_id).receiveTransfer({ transfer_id: debited.transfer_id, from: { wallet_id: a.wallet_id, username: a.username }, amount_msat: 300_000, memo: null });
    expect(redelivered).toMatchObject({ ok: true, duplicate: true });
    expect(await balanceOf(b)).toBe(300_000);
    expectConservation([await auditOf(a.wallet_id), await auditOf(b.wallet_id)]);
  });

  it("transfers: pending → failed when the receiver refuses for good (the money comes back), and never succeeds after", async () => {
    const a = await createAccount("p");
    await fund(a, 1000);
    const nowhere = { wallet_id: `wal_${"0".repeat(32)}`, username: "nobody" };
    const debited = await onWallet(a, (actor) => actor.transfers.debit({ idempotency: { key: newKey(), fingerprint: "t" }, to: nowhere, amount_msat: 200_000, memo: null }));
    if (!debited.ok) throw new Error(debited.message);
    expect(await balanceOf(a)).toBe(800_000);
    expect(await onWallet(a, (actor) => actor.transfers.outbox.deliverById(debited.transfer_id))).toMatchObject({ outcome: "returned", settled: { status: "failed" } });
    expect(await balanceOf(a)).toBe(1_000_000);
    expect(await onWallet(a, (actor) => actor.transfers.outbox.deliverById(debited.transfer_id))).toEqual({ outcome: "delivered", settled: null });
    const history = await api("GET", "/v1/wallet/transactions", { token: a.access_token });
    expect(history.json.transactions[0]).toMatchObject({ id: debited.transaction.id, status: "failed" });
    expectConsistentBooks(await auditOf(a.wallet_id));
  });

  it("idempotency: the expiry task deletes records past their lifetime on the wallet's alarm", async () => {
    const a = await createAccount("p");
    await fund(a, 10); // one live record
    await onWallet(a, (_actor, state) => {
      state.storage.sql.exec(
        "INSERT INTO idempotency (key, fingerprint, status, response, transaction_id, created_at) VALUES ('old', 'fp', 200, '{}', NULL, ?)",
        Date.now() - IDEMPOTENCY_TTL_MS - 1,
      );
    });
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    const keys = await onWallet(a, (_actor, state) => state.storage.sql.exec<{ key: string }>("SELECT key FROM idempotency").toArray().map((r) => r.key));
    expect(keys).toHaveLength(1);
    expect(keys).not.toContain("old");
    // The alarm is armed again for when the remaining record expires.
    const alarm = await onWallet(a, (_actor, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + IDEMPOTENCY_TTL_MS - 60_000);
  });

  it("invoices: an HTLC below the invoice or beyond the overpay cap is refused; a small overpayment is credited", async () => {
    const a = await createAccount("p");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 1000 }, token: a.access_token });
    expect(inv.status).toBe(201);
    const hash = inv.json.payment_hash as string;
    const credit = (msat: number) => onWallet(a, (actor) => actor.invoices.creditFromLnd(hash, msat));
    expect(await credit(999_999)).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await credit(MAX_INVOICE_CREDIT_SAT * MSAT_PER_SAT + 1)).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await balanceOf(a)).toBe(0);
    expect(await credit(1_000_500)).toMatchObject({ ok: true });
    expect(await balanceOf(a)).toBe(1_000_500);
    // Paid: the same HTLC again only returns the preimage; nothing is credited twice.
    expect(await credit(1_000_500)).toMatchObject({ ok: true });
    expect(await balanceOf(a)).toBe(1_000_500);
    expect((await api("GET", `/v1/invoices/${hash}`, { token: a.access_token })).json).toMatchObject({ status: "paid", paid_msat: 1_000_500 });
    expect(MAX_INVOICE_CREDIT_SAT).toBe(2 * MAX_PAYMENT_SAT);
    expectConsistentBooks(await auditOf(a.wallet_id));
  });

  it("lightning payments: without max_fee_sat the hold is amount + max(10 sat, 0.5 %)", async () => {
    const a = await createAccount("p");
    await fund(a, 100_000);
    const out = await sim("/sim/invoices", { amount_sat: 40_000, knobs: { payment_in_flight_ms: 20_000 } });
    const p = await api("POST", "/v1/payments/lightning", { body: { payment_request: out.payment_request }, token: a.access_token, key: newKey() });
    expect(p.json.status).toBe("pending");
    expect(defaultMaxFeeMsat(40_000_000)).toBe(200_000); // 0.5 % is above 10 sat here
    expect(defaultMaxFeeMsat(1_000_000)).toBe(10_000); // and below it here
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json).toMatchObject({ pending_out_msat: 40_200_000, balance_msat: 100_000_000 - 40_200_000 });
    expectConsistentBooks(await auditOf(a.wallet_id));
  });

  it("the books report names what is wrong when the stored books disagree", async () => {
    const a = await createAccount("p");
    await fund(a, 50);
    expect((await auditOf(a.wallet_id)).problems).toEqual([]);
    await onWallet(a, (_actor, state) => state.storage.sql.exec("UPDATE balances SET balance_msat = balance_msat + 1 WHERE account = 'wallet'"));
    const broken = await auditOf(a.wallet_id);
    expect(broken.problems.join("\n")).toMatch(/balance 50001 ≠ sum of its entries 50000/);
  });
});
