import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, auditOf, balanceOf, createAccount, expectConsistentBooks, fund, newKey, pay, walletStub } from "./helpers";

describe("payments between users", () => {
  it("moves money by username and by wallet id, with history and events on both sides", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const p = await api("POST", "/v1/payments/intraledger", { body: { to: b.username.toUpperCase(), amount_sat: 1200, memo: "lunch" }, token: a.access_token, key: newKey() });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json.status).toBe("succeeded");
    expect(p.json.transaction).toMatchObject({ kind: "intraledger", direction: "out", amount_msat: 1_200_000, fee_msat: 0, status: "succeeded", memo: "lunch" });
    expect(p.json.transaction.counterparty).toEqual({ wallet_id: b.wallet_id, username: b.username });
    const byId = await pay(a, b.wallet_id, 300);
    expect(byId.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(3_500_000);
    expect(await balanceOf(b)).toBe(1_500_000);
    const wallet = await api("GET", "/v1/wallet", { token: a.access_token });
    expect(wallet.json).toEqual({ wallet_id: a.wallet_id, balance_msat: 3_500_000, pending_out_msat: 0 });

    const tx = await api("GET", "/v1/wallet/transactions?limit=10", { token: b.access_token });
    expect(tx.json.transactions.map((t: any) => t.amount_msat)).toEqual([300_000, 1_200_000]);
    expect(tx.json.transactions[1]).toMatchObject({ direction: "in", status: "succeeded", memo: "lunch", counterparty: { wallet_id: a.wallet_id, username: a.username } });
    const ev = await api("GET", "/v1/events?after=0", { token: b.access_token });
    expect(ev.json.events.map((e: any) => [e.seq, e.type])).toEqual([[1, "transfer.received"], [2, "transfer.received"]]);
    expect(ev.json.events[1].data.balance_msat).toBe(1_500_000);
    const evA = await api("GET", "/v1/events?after=0", { token: a.access_token });
    expect(evA.json.events.map((e: any) => e.type)).toEqual(["faucet.credited", "transfer.sent", "transfer.delivered", "transfer.sent", "transfer.delivered"]);
    for (const w of [a.wallet_id, b.wallet_id]) expectConsistentBooks(await auditOf(w));
  });

  it("replays the stored response for a repeated key and refuses the key with another body", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const key = newKey();
    const first = await pay(a, b.username, 1000, key);
    const again = await pay(a, b.username, 1000, key);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const other = await pay(a, b.username, 1001, key);
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe("idempotency_conflict");
    expect(await balanceOf(a)).toBe(4_000_000);
    expect(await balanceOf(b)).toBe(1_000_000);
  });

  it("replays a payment that spent the whole balance (the stored answer, not insufficient_balance), and writes nothing", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const key = newKey();
    const first = await pay(a, b.username, 1000, key);
    expect(first.json.status).toBe("succeeded");
    const before = await auditOf(a.wallet_id);
    const again = await pay(a, b.username, 1000, key);
    expect([again.status, again.json]).toEqual([200, first.json]);
    const after = await auditOf(a.wallet_id);
    expect([after.event_count, after.history_sum_msat]).toEqual([before.event_count, before.history_sum_msat]);
    expectConsistentBooks(after);
    expect(await balanceOf(b)).toBe(1_000_000);
  });

  it("a key whose record has expired (24 h) starts a new payment", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const key = newKey();
    const first = await pay(a, b.username, 1000, key);
    await runInDurableObject(walletStub(a.wallet_id), (_actor, state) => {
      state.storage.sql.exec("UPDATE idempotency SET created_at = created_at - ? WHERE key = ?", 24 * 3600 * 1000 + 1, key);
    });
    const second = await pay(a, b.username, 1000, key);
    expect(second.status).toBe(200);
    expect(second.json.transaction.id).not.toBe(first.json.transaction.id);
    expect(await balanceOf(a)).toBe(3_000_000);
    expect(await balanceOf(b)).toBe(2_000_000);
    expectConsistentBooks(await auditOf(a.wallet_id));
  });

  it("executes concurrent duplicates once", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const key = newKey();
    const replies = await Promise.all(Array.from({ length: 10 }, () => pay(a, b.username, 700, key)));
    expect(new Set(replies.map((r) => r.json.transaction.id)).size).toBe(1);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await balanceOf(a)).toBe(4_300_000);
    expect(await balanceOf(b)).toBe(700_000);
  });

  it("requires an Idempotency-Key", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 100);
    const r = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 10 }, token: a.access_token });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    expect(await balanceOf(a)).toBe(100_000);
  });

  it("refuses insufficient balance, self-payment and unknown recipients, changing nothing", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const poor = await pay(a, b.username, 1001);
    expect([poor.status, poor.json.error.code]).toEqual([422, "insufficient_balance"]);
    const self = await pay(a, a.username, 10);
    expect([self.status, self.json.error.code]).toEqual([422, "self_payment"]);
    const selfById = await pay(a, a.wallet_id, 10);
    expect(selfById.json.error.code).toBe("self_payment");
    const nobody = await pay(a, "no_such_user_zz", 10);
    expect([nobody.status, nobody.json.error.code]).toEqual([404, "unknown_recipient"]);
    const noWallet = await pay(a, `wal_${"0".repeat(32)}`, 10);
    expect([noWallet.status, noWallet.json.error.code]).toEqual([404, "unknown_recipient"]);
    expect(await balanceOf(a)).toBe(1_000_000);
    const ev = await api("GET", "/v1/events?after=0", { token: a.access_token });
    expect(ev.json.events).toHaveLength(1);
    // A refused attempt does not consume its key: after topping up, the same key can pay.
    const key = newKey();
    expect((await pay(a, b.username, 1500, key)).status).toBe(422);
    await fund(a, 1000);
    expect((await pay(a, b.username, 1500, key)).json.status).toBe("succeeded");
  });

  it("pages the history newest first with a cursor", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    for (let i = 1; i <= 5; i++) await pay(a, b.username, i);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await api("GET", `/v1/wallet/transactions?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: b.access_token });
      expect(r.status).toBe(200);
      expect(r.json.transactions.length).toBeLessThanOrEqual(2);
      seen.push(...r.json.transactions.map((t: any) => t.amount_msat / 1000));
      cursor = r.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);
  });

  it("faucet exists only in development and credits from the faucet account", async () => {
    const a = await createAccount("a");
    const key = newKey();
    const f = await api("POST", "/dev/faucet", { body: { amount_sat: 2500 }, token: a.access_token, key });
    expect(f.status).toBe(200);
    expect(f.json.transaction).toMatchObject({ kind: "faucet", direction: "in", amount_msat: 2_500_000 });
    // The same key again replays (the repeat's own writes are rolled back); another body is a conflict.
    expect((await api("POST", "/dev/faucet", { body: { amount_sat: 2500 }, token: a.access_token, key })).json).toEqual(f.json);
    expect((await api("POST", "/dev/faucet", { body: { amount_sat: 2501 }, token: a.access_token, key })).status).toBe(409);
    const audit = await auditOf(a.wallet_id);
    expect(audit.event_count).toBe(1);
    expect(audit.faucet_msat).toBe(-2_500_000);
    expectConsistentBooks(audit);
    const over = await api("POST", "/dev/faucet", { body: { amount_sat: 10_000_001 }, token: a.access_token });
    expect(over.status).toBe(400);
  });
});
