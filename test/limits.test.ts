import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RollBack } from "../durable/kit/unit-of-work";
import type { WalletActor } from "../durable/wallet-actor";
import { LEVEL_LIMITS_SAT, LIMIT_WINDOW_MS, LIMIT_WINDOW_S } from "../src/limits";
import { api, auditOf, balanceOf, createAccount, expectConservation, expectConsistentBooks, fund, newKey, pay, storedBooks, testEnv, walletStub, type TestAccount } from "./helpers";

const onWallet = <R>(a: TestAccount, fn: (actor: WalletActor, state: DurableObjectState) => R | Promise<R>) => runInDurableObject(walletStub(a.wallet_id), fn);

/** The simulator's own control routes (an invoice may carry knobs that apply only to it). */
const sim = (path: string, body: unknown) =>
  testEnv.LND_SIM!.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

async function limitsOf(a: TestAccount) {
  const r = await api("GET", "/v1/account/limits", { token: a.access_token });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { level: number; totp_threshold_sat: number; limits: { kind: string; window_s: number; limit_sat: number; used_sat: number; remaining_sat: number }[] };
}

/** Used sat per kind, as `GET /v1/account/limits` says. */
async function usedOf(a: TestAccount): Promise<Record<string, number>> {
  return Object.fromEntries((await limitsOf(a)).limits.map((l) => [l.kind, l.used_sat]));
}

async function setLevel(a: TestAccount, level: number) {
  const r = await walletStub(a.wallet_id).setLevel(level);
  expect(r, JSON.stringify(r)).toMatchObject({ level });
}

async function outsideInvoice(amount_sat: number, knobs?: Record<string, unknown>) {
  const r = await sim("/sim/invoices", knobs ? { amount_sat, knobs } : { amount_sat });
  expect(r.payment_request, JSON.stringify(r)).toBeTruthy();
  return r as { payment_request: string; payment_hash: string };
}

const payLn = (a: TestAccount, payment_request: string, extra: Record<string, unknown> = {}) =>
  api("POST", "/v1/payments/lightning", { body: { payment_request, ...extra }, token: a.access_token, key: newKey() });

async function conversation(a: TestAccount, b: TestAccount): Promise<string> {
  const c = await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token });
  expect([200, 201], JSON.stringify(c.json)).toContain(c.status);
  return c.json.conversation_id;
}

const chatPay = (a: TestAccount, conversation_id: string, amount_sat: number) =>
  api("POST", `/v1/conversations/${conversation_id}/messages`, { body: { payment: { amount_sat } }, token: a.access_token, key: newKey() });

const conserved = async (...accounts: TestAccount[]) => expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));

describe("account limits", () => {
  it("a new account is level 1 with the default limits, nothing used, and the default TOTP threshold", async () => {
    const a = await createAccount("l");
    const limits = await limitsOf(a);
    expect(limits).toEqual({
      level: 1,
      totp_threshold_sat: 100_000,
      limits: (["send", "intraledger", "withdrawal"] as const).map((kind) => ({
        kind,
        window_s: 86_400,
        limit_sat: LEVEL_LIMITS_SAT[1][kind],
        used_sat: 0,
        remaining_sat: LEVEL_LIMITS_SAT[1][kind],
      })),
    });
    expect(LIMIT_WINDOW_S).toBe(86_400);
    // Read scope is enough; no credential is not.
    const key = await api("POST", "/v1/api-keys", { body: { name: "r", scopes: ["read"] }, token: a.access_token });
    expect((await api("GET", "/v1/account/limits", { token: key.json.key })).status).toBe(200);
    expect((await api("GET", "/v1/account/limits")).status).toBe(401);
    const doc = await api("GET", "/openapi.json");
    expect(doc.json.paths).toHaveProperty(["/v1/account/limits"]);
  });

  it("every kind of send counts: intraledger, chat, a hub invoice paid inside, LNURL to a hub address as intraledger; Lightning out as withdrawal (amount, not fee)", async () => {
    const [a, b] = [await createAccount("l"), await createAccount("l")];
    await fund(a, 100_000);
    expect((await pay(a, b.username, 1000)).json.status).toBe("succeeded");
    expect(await usedOf(a)).toEqual({ send: 1000, intraledger: 1000, withdrawal: 0 });

    const chat = await chatPay(a, await conversation(a, b), 300);
    expect(chat.status, JSON.stringify(chat.json)).toBe(201);
    expect(await usedOf(a)).toEqual({ send: 1300, intraledger: 1300, withdrawal: 0 });

    const invoice = await api("POST", "/v1/invoices", { body: { amount_sat: 400 }, token: b.access_token });
    const inside = await payLn(a, invoice.json.payment_request);
    expect(inside.json, JSON.stringify(inside.json)).toMatchObject({ status: "succeeded", fee_msat: 0 });
    expect(await usedOf(a)).toEqual({ send: 1700, intraledger: 1700, withdrawal: 0 });

    const lnurl = await api("POST", "/v1/payments/lnurl", { body: { destination: `${b.username.toLowerCase()}@hub.test`, amount_sat: 500 }, token: a.access_token, key: newKey() });
    expect(lnurl.json, JSON.stringify(lnurl.json)).toMatchObject({ status: "succeeded", fee_msat: 0 });
    expect(await usedOf(a)).toEqual({ send: 2200, intraledger: 2200, withdrawal: 0 });

    // Dave is two hops away: the payment pays a fee, which does not count.
    const out = await payLn(a, (await outsideInvoice(2000)).payment_request);
    expect(out.json, JSON.stringify(out.json)).toMatchObject({ status: "succeeded" });
    expect(out.json.fee_msat).toBeGreaterThan(0);
    expect(await usedOf(a)).toEqual({ send: 4200, intraledger: 2200, withdrawal: 2000 });
    const send = (await limitsOf(a)).limits.find((l) => l.kind === "send")!;
    expect(send.remaining_sat).toBe(LEVEL_LIMITS_SAT[1].send - 4200);

    // Receiving counts for nothing.
    expect(await usedOf(b)).toEqual({ send: 0, intraledger: 0, withdrawal: 0 });
    await conserved(a, b);
  });

  it("a payment beyond a limit is 422 limit_exceeded and moves nothing, whichever way it is sent", async () => {
    const [a, b] = [await createAccount("l"), await createAccount("l")];
    await fund(a, 1_000_000);
    await setLevel(a, 0); // send 100,000, intraledger 100,000, withdrawal 50,000 sat per 24 h
    expect((await payLn(a, (await outsideInvoice(30_000)).payment_request)).json.status).toBe("succeeded");
    expect((await pay(a, b.username, 60_000)).json.status).toBe("succeeded");
    expect(await usedOf(a)).toEqual({ send: 90_000, intraledger: 60_000, withdrawal: 30_000 });
    const chatId = await conversation(a, b); // (its creation is an event of the wallet)
    const before = await auditOf(a.wallet_id);
    const balance = await balanceOf(a);

    // Over send (intraledger itself would fit: 60,000 + 20,000 ≤ 100,000).
    const over = await pay(a, b.username, 20_000);
    expect([over.status, over.json.error.code]).toEqual([422, "limit_exceeded"]);
    expect(over.json.error.message).toMatch(/send limit/);
    // Over withdrawal (30,000 + 25,000 > 50,000), with the money for it.
    const outside = await outsideInvoice(25_000);
    const overOut = await payLn(a, outside.payment_request);
    expect([overOut.status, overOut.json.error?.code]).toEqual([422, "limit_exceeded"]);
    expect(overOut.json.error.message).toMatch(/withdrawal limit/);
    // A chat payment, a hub invoice and an LNURL payment are refused the same way (and the chat writes no message).
    const chat = await chatPay(a, chatId, 20_000);
    expect([chat.status, chat.json.error?.code]).toEqual([422, "limit_exceeded"]);
    const invoice = await api("POST", "/v1/invoices", { body: { amount_sat: 20_000 }, token: b.access_token });
    const inside = await payLn(a, invoice.json.payment_request);
    expect([inside.status, inside.json.error?.code]).toEqual([422, "limit_exceeded"]);
    const lnurl = await api("POST", "/v1/payments/lnurl", { body: { destination: `${b.username.toLowerCase()}@hub.test`, amount_sat: 20_000 }, token: a.access_token, key: newKey() });
    expect([lnurl.status, lnurl.json.error?.code]).toEqual([422, "limit_exceeded"]);

    // Nothing moved: the books are as they were, nothing more counted.
    expect(await balanceOf(a)).toBe(balance);
    const after = await auditOf(a.wallet_id);
    expect(storedBooks(after)).toEqual(storedBooks(before));
    expectConsistentBooks(after);
    expect(await usedOf(a)).toEqual({ send: 90_000, intraledger: 60_000, withdrawal: 30_000 });
    // What fits still goes: exactly the rest of the send limit.
    expect((await pay(a, b.username, 10_000)).json.status).toBe("succeeded");
    expect((await limitsOf(a)).limits.map((l) => l.remaining_sat)).toEqual([0, 30_000, 20_000]);
    // The outside invoice refused by the limit can be paid once the limit allows it.
    await setLevel(a, 1);
    expect((await payLn(a, outside.payment_request)).json.status).toBe("succeeded");
    await conserved(a, b);
  });

  it("50 concurrent sends that together exceed the limit: exactly as many succeed as fit, the rest are 422", async () => {
    const [a, b, c] = [await createAccount("l"), await createAccount("l"), await createAccount("l")];
    await fund(a, 1_000_000);
    await setLevel(a, 0);
    // 50 × 3,000 sat = 150,000 > 100,000: 33 fit (99,000).
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pay(a, (i % 2 ? b : c).username, 3000)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBe(33);
    expect(ok.every((r) => r.json.status === "succeeded")).toBe(true);
    const refused = results.filter((r) => r.status !== 200);
    expect(refused.map((r) => [r.status, r.json.error.code])).toEqual(Array(17).fill([422, "limit_exceeded"]));
    const limits = await limitsOf(a);
    expect(limits.limits[0]).toMatchObject({ kind: "send", used_sat: 99_000, remaining_sat: 1000 });
    expect(await balanceOf(a)).toBe(1_000_000_000 - 99_000_000);
    expect((await balanceOf(b)) + (await balanceOf(c))).toBe(99_000_000);
    const books = await auditOf(a.wallet_id);
    expectConsistentBooks(books);
    await conserved(a, b, c);
  });

  it("a Lightning payment that fails gives its amount back to the window", async () => {
    const a = await createAccount("l");
    await fund(a, 200_000);
    await setLevel(a, 0);
    const failed = await payLn(a, (await outsideInvoice(40_000, { no_route: true })).payment_request);
    expect(failed.json, JSON.stringify(failed.json)).toMatchObject({ status: "failed" });
    expect(await usedOf(a)).toEqual({ send: 0, intraledger: 0, withdrawal: 0 });
    // Had the failed one counted, 40,000 + 45,000 would be over the withdrawal limit of 50,000.
    const paid = await payLn(a, (await outsideInvoice(45_000)).payment_request);
    expect(paid.json, JSON.stringify(paid.json)).toMatchObject({ status: "succeeded" });
    expect(await usedOf(a)).toEqual({ send: 45_000, intraledger: 0, withdrawal: 45_000 });
    await conserved(a);
  });

  it("a transfer, or a hub invoice's payment, that comes back gives its amount back to the window", async () => {
    const a = await createAccount("l");
    await fund(a, 10_000);
    const nobody = `wal_${crypto.randomUUID().replaceAll("-", "")}`;
    const used = await onWallet(a, async (actor) => {
      // A plain transfer to a wallet that was never opened: a final refusal, the money comes back.
      const debited = actor.transfers.debit({ idempotency: { key: newKey(), fingerprint: "t" }, to: { wallet_id: nobody, username: "nobody" }, amount_msat: 3_000_000, memo: null });
      if (!debited.ok) throw new Error(debited.message);
      const counted = actor.spendLimits.report(Date.now()).limits[1]!.used_sat;
      expect(await actor.transfers.outbox.deliverById(debited.transfer_id)).toMatchObject({ outcome: "returned", settled: { status: "failed" } });
      // A hub invoice's payment to a wallet that does not know the invoice: returned the same way.
      const held = actor.lightning.hold(
        { idempotency: { key: newKey(), fingerprint: "p" }, payment_request: "lnbcrt1", payment_hash: "ab".repeat(32), amount_msat: 2_000_000, amountless: false, max_fee_msat: 0, memo: null },
        "pay_test",
        "internal",
        { wallet_id: nobody, username: "nobody" },
      );
      if (!held.ok) throw new Error(held.message);
      const countedToo = actor.spendLimits.report(Date.now()).limits[1]!.used_sat;
      expect(await actor.transfers.outbox.deliverById(held.transfer_id!)).toMatchObject({ outcome: "returned", settled: { status: "failed" } });
      return { counted, countedToo, after: actor.spendLimits.report(Date.now()).limits[1]!.used_sat };
    });
    expect(used).toEqual({ counted: 3000, countedToo: 2000, after: 0 });
    expect(await balanceOf(a)).toBe(10_000_000);
    // Read again from the table (a new instance): the same.
    await evictDurableObject(walletStub(a.wallet_id));
    expect(await usedOf(a)).toEqual({ send: 0, intraledger: 0, withdrawal: 0 });
    await conserved(a);
  });

  it("setLevel changes the limits at once, keeps what was used, survives a restart, and takes only 0, 1 or 2", async () => {
    const [a, b] = [await createAccount("l"), await createAccount("l")];
    await fund(a, 200_000);
    expect((await pay(a, b.username, 60_000)).json.status).toBe("succeeded");
    const zero = await walletStub(a.wallet_id).setLevel(0);
    expect(zero).toMatchObject({ level: 0, limits: [{ kind: "send", limit_sat: 100_000, used_sat: 60_000, remaining_sat: 40_000 }, { kind: "intraledger", limit_sat: 100_000 }, { kind: "withdrawal", limit_sat: 50_000 }] });
    expect((await pay(a, b.username, 50_000)).json.error.code).toBe("limit_exceeded");
    await setLevel(a, 2);
    expect((await limitsOf(a)).limits.map((l) => [l.kind, l.limit_sat, l.used_sat])).toEqual([
      ["send", 100_000_000, 60_000],
      ["intraledger", 100_000_000, 60_000],
      ["withdrawal", 50_000_000, 0],
    ]);
    expect((await pay(a, b.username, 50_000)).json.status).toBe("succeeded");
    for (const bad of [3, -1, 1.5, Number.NaN]) expect(await walletStub(a.wallet_id).setLevel(bad)).toMatchObject({ ok: false, code: "invalid_request" });
    await evictDurableObject(walletStub(a.wallet_id));
    const restarted = await limitsOf(a);
    expect([restarted.level, restarted.limits[0]]).toMatchObject([2, { kind: "send", used_sat: 110_000 }]);
  });

  it("the window rolls: usage older than 24 h no longer counts, and the expiry task deletes it", async () => {
    const a = await createAccount("l");
    await fund(a, 10_000);
    const now = Date.now();
    await onWallet(a, (_actor, state) => {
      const insert = (at_ms: number, id: string, kind: string, amount_msat: number) =>
        state.storage.sql.exec("INSERT INTO limits_usage (at_ms, transaction_id, kind, amount_msat) VALUES (?, ?, ?, ?)", at_ms, id, kind, amount_msat);
      insert(now - LIMIT_WINDOW_MS - 1000, "tx_old", "withdrawal", 4_000_000_000); // 24 h and a second ago
      insert(now - LIMIT_WINDOW_MS + 60_000, "tx_nearly", "intraledger", 7_000_000); // leaves the window in a minute
    });
    await evictDurableObject(walletStub(a.wallet_id)); // what the wallet holds in memory is read again
    expect(await usedOf(a)).toEqual({ send: 7000, intraledger: 7000, withdrawal: 0 });
    const later = await onWallet(a, (actor) => {
      const soon = actor.spendLimits.report(now + 30_000).limits.map((l) => l.used_sat);
      const minuteOn = actor.spendLimits.report(now + 61_000).limits.map((l) => l.used_sat);
      return { soon, minuteOn };
    });
    expect(later).toEqual({ soon: [7000, 7000, 0], minuteOn: [0, 0, 0] });
    // Back to the real time (the clock going back reads the window again).
    expect(await usedOf(a)).toEqual({ send: 7000, intraledger: 7000, withdrawal: 0 });

    // The task: due an hour after the oldest row left the window; deletes only what has.
    const rows = await onWallet(a, async (actor, state) => {
      const task = actor.spendLimits.tasks[0]!;
      expect(task.name).toBe("limits:expiry");
      expect(task.nextDueAt()).toBe(now - 1000 + 3_600_000);
      await task.run(Date.now());
      expect(task.nextDueAt()).toBe(now + 60_000 + 3_600_000);
      return state.storage.sql.exec<{ transaction_id: string }>("SELECT transaction_id FROM limits_usage").toArray().map((r) => r.transaction_id);
    });
    expect(rows).toEqual(["tx_nearly"]);
    expect(await usedOf(a)).toEqual({ send: 7000, intraledger: 7000, withdrawal: 0 });
  });
});

describe("the limits part", () => {
  it("check, record and release inside units of work; a rolled-back record is forgotten", async () => {
    const a = await createAccount("l");
    const result = await onWallet(a, (actor) => {
      const limits = actor.spendLimits;
      const now = Date.now();
      const at = new Date(now).toISOString();
      const withdrawalMsat = LEVEL_LIMITS_SAT[1].withdrawal * 1000;
      const checks: unknown[] = [limits.check("withdrawal", withdrawalMsat, now), limits.check("withdrawal", withdrawalMsat + 1, now)?.code];
      actor.kit.unitOfWork.run(() => limits.record("withdrawal", 1_000_000_000, { id: "tx_a", created_at: at }));
      checks.push(limits.check("withdrawal", withdrawalMsat - 1_000_000_000, now), limits.check("withdrawal", withdrawalMsat - 999_999_999, now)?.code);
      // Intraledger has its own limit but shares send's.
      checks.push(limits.check("intraledger", LEVEL_LIMITS_SAT[1].send * 1000 - 1_000_000_000, now), limits.check("intraledger", LEVEL_LIMITS_SAT[1].send * 1000 - 999_999_999, now)?.code);
      actor.kit.unitOfWork.run(() => {
        limits.record("intraledger", 5_000_000, { id: "tx_b", created_at: at });
        throw new RollBack(null);
      });
      const afterRollback = limits.report(now).limits.map((l) => l.used_sat);
      actor.kit.unitOfWork.run(() => limits.release({ id: "tx_a", created_at: at }));
      actor.kit.unitOfWork.run(() => limits.release({ id: "tx_a", created_at: at })); // twice: nothing more
      const afterRelease = limits.report(now).limits.map((l) => l.used_sat);
      return { checks, afterRollback, afterRelease };
    });
    expect(result).toEqual({
      checks: [null, "limit_exceeded", null, "limit_exceeded", null, "limit_exceeded"],
      afterRollback: [1_000_000, 0, 1_000_000],
      afterRelease: [0, 0, 0],
    });
  });

  it("many rows: the window in memory agrees with the table as it rolls, over batches, releases and a reload", async () => {
    const a = await createAccount("l");
    const base = Date.now() - LIMIT_WINDOW_MS;
    const tableSum = (state: DurableObjectState, now: number) =>
      state.storage.sql
        .exec<{ kind: string; s: number }>("SELECT kind, SUM(amount_msat) AS s FROM limits_usage WHERE at_ms > ? GROUP BY kind", now - LIMIT_WINDOW_MS)
        .toArray()
        .reduce((sum, r) => ({ ...sum, [r.kind]: r.s }), { intraledger: 0, withdrawal: 0 } as Record<string, number>);
    const inMemory = (actor: WalletActor, now: number) => {
      const [send, intraledger, withdrawal] = actor.spendLimits.report(now).limits.map((l) => l.used_sat);
      return { send, intraledger, withdrawal };
    };
    const fromTable = (state: DurableObjectState, now: number) => {
      const t = tableSum(state, now);
      return { send: Math.ceil((t.intraledger! + t.withdrawal!) / 1000), intraledger: Math.ceil(t.intraledger! / 1000), withdrawal: Math.ceil(t.withdrawal! / 1000) };
    };
    // 3,000 rows over the next 30 s of the window's edge, three to a millisecond now and then.
    const rows = Array.from({ length: 3000 }, (_, i) => ({ at_ms: base + 1000 + Math.floor(i / 3) * 30 + (i % 3 === 0 ? 0 : i % 7), id: `tx_${i}`, kind: i % 2 ? "withdrawal" : "intraledger", amount: 1000 + i } as const));
    const steps = [0, 500, 1000, 1001, 2500, 7777, 10_000, 15_003, 22_222, 29_000, 31_000, 40_000];
    const compare = (actor: WalletActor, state: DurableObjectState) => {
      const now = Date.now(); // once: the clock may move while this runs
      return steps.map((dt) => [inMemory(actor, now + dt), fromTable(state, now + dt)]);
    };
    const first = await onWallet(a, (actor, state) => {
      actor.spendLimits.report(Date.now()); // the window is read first: rows are then recorded into memory
      actor.kit.unitOfWork.run(() => {
        for (const r of rows) actor.spendLimits.record(r.kind, r.amount, { id: r.id, created_at: new Date(r.at_ms).toISOString() });
      });
      actor.kit.unitOfWork.run(() => {
        for (const r of rows.filter((_, i) => i % 11 === 0)) actor.spendLimits.release({ id: r.id, created_at: new Date(r.at_ms).toISOString() });
      });
      return compare(actor, state);
    });
    first.forEach(([memory, table], i) => expect(memory, `first, step ${i}`).toEqual(table));
    expect(first[0]![0]!.send).toBeGreaterThan(0);
    expect(first[first.length - 1]![0]).toEqual({ send: 0, intraledger: 0, withdrawal: 0 });
    // A new instance reads more than a batch back from the table.
    await evictDurableObject(walletStub(a.wallet_id));
    const second = await onWallet(a, (actor, state) => {
      actor.kit.unitOfWork.run(() => {
        for (const r of rows.filter((_, i) => i % 11 === 1)) actor.spendLimits.release({ id: r.id, created_at: new Date(r.at_ms).toISOString() });
      });
      return compare(actor, state);
    });
    second.forEach(([memory, table], i) => expect(memory, `after a reload, step ${i}`).toEqual(table));
  });
});

describe("the limits answer shows the account's TOTP threshold", () => {
  it("as set in the account's settings", async () => {
    const a = await createAccount("t");
    expect((await api("GET", "/v1/account/limits", { token: a.access_token })).json.totp_threshold_sat).toBe(100_000);
    const set = await api("PUT", "/v1/account/settings", { body: { totp_threshold_sat: 2_500 }, token: a.access_token });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    expect((await api("GET", "/v1/account/limits", { token: a.access_token })).json.totp_threshold_sat).toBe(2_500);
  });
});
