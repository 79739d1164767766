// AMP invoices (docs/decisions/0025) against the simulator. Receiving: POST /v1/invoices with amp: true makes
// an AMP invoice in LND (AddInvoice is_amp); LND settles each payment (set) itself and the invoice stays
// payable; the node actor writes one receipt row per (invoice, set id) and its outbox credits the wallet once
// per row, however often LND reports the set. Paying: an invoice with the AMP feature is paid with
// SendPaymentV2 amp; one unresolved send per invoice across the hub, so a lost answer is found again in
// ListPayments unambiguously and never sent twice. Conservation after every test.

import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { decodeInvoice } from "../src/bolt11";
import { AMP_UNSEEN_GRACE_MS } from "../durable/wallet/lightning-payments";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, waitFor, walletStub, type TestAccount, lightningNode as node, lightningNodeActor as nodeActor, simLnd as lnd, simRequest as sim } from "./helpers";

const hex32 = /^[0-9a-f]{64}$/;

const wallets: TestAccount[] = [];
const account = async (prefix = "ampinv") => {
  const a = await createAccount(prefix);
  wallets.push(a);
  return a;
};

afterEach(async () => {
  await sim("/sim/knobs", {});
  const audits = await Promise.all(wallets.splice(0).map((a) => auditOf(a.wallet_id)));
  expectConservation(audits);
  for (const a of audits) expect(a.problems).toEqual([]);
});

const ampInvoice = (a: TestAccount, body: Record<string, unknown>) => api("POST", "/v1/invoices", { body: { amp: true, ...body }, token: a.access_token });
const payLn = (a: TestAccount, body: Record<string, unknown>, key = newKey()) => api("POST", "/v1/payments/lightning", { body, token: a.access_token, key });
const lightningTransactions = async (a: TestAccount) =>
  (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions.filter((t: { kind: string }) => t.kind === "lightning");
const paidEvents = async (a: TestAccount) => (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.filter((e: any) => e.type === "invoice.paid");
/** LND's payments of one invoice (the hub node's, incomplete ones too). */
const lndPaymentsOf = async (payment_request: string) => (await lnd.listPayments({ include_incomplete: true })).filter((p) => p.payment_request === payment_request);

describe("receiving with an AMP invoice", () => {
  it("paid twice from outside: credited twice, once per set id; the invoice stays open and lists both; an event per set", async () => {
    const a = await account();
    const inv = await ampInvoice(a, { amount_sat: 1_000, memo: "tips" });
    expect(inv.status, JSON.stringify(inv.json)).toBe(201);
    expect(inv.json).toMatchObject({ amp: true, status: "open", amount_msat: 1_000_000, memo: "tips", amp_payments: [], paid_msat: null });
    const decoded = decodeInvoice(inv.json.payment_request);
    expect(decoded.payment_hash).toBe(inv.json.payment_hash);
    expect(decoded.features).toContain(30); // AMP required: only an AMP payer can pay it
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).is_amp).toBe(true);

    const one = await sim("/sim/pay", { payment_request: inv.json.payment_request });
    const two = await sim("/sim/pay", { payment_request: inv.json.payment_request, payer: "bob" });
    expect([one.json.status, two.json.status], JSON.stringify([one.json, two.json])).toEqual(["succeeded", "succeeded"]);
    expect(one.json.set_id).toMatch(hex32);
    expect(two.json.set_id).not.toBe(one.json.set_id);
    await waitFor(async () => (await balanceOf(a)) === 2_000_000, "both sets credited");

    const after = (await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: a.access_token })).json;
    expect(after).toMatchObject({ status: "open", paid_msat: 2_000_000 });
    expect(after.amp_payments.map((p: any) => [p.set_id, p.amount_msat]).sort()).toEqual([[one.json.set_id, 1_000_000], [two.json.set_id, 1_000_000]].sort());
    const txs = await lightningTransactions(a);
    expect(txs).toHaveLength(2);
    expect(txs.every((t: any) => t.direction === "in" && t.status === "succeeded" && t.amount_msat === 1_000_000 && t.memo === "tips")).toBe(true);
    expect(new Set(after.amp_payments.map((p: any) => p.transaction_id))).toEqual(new Set(txs.map((t: any) => t.id)));
    const events = await paidEvents(a);
    expect(events.map((e: any) => e.data.amp_set_id).sort()).toEqual([one.json.set_id, two.json.set_id].sort());
    // Listed too, as an AMP invoice.
    const page = (await api("GET", "/v1/invoices", { token: a.access_token })).json;
    expect(page.invoices[0]).toMatchObject({ payment_hash: inv.json.payment_hash, amp: true });
  });

  it("the same set reported again — applied twice, the sweep, after every actor restarted — is credited once", async () => {
    const a = await account();
    const inv = await ampInvoice(a, { amount_sat: 700 });
    // The stream misses the set: only what looks it up credits it.
    const paid = await sim("/sim/pay", { payment_request: inv.json.payment_request, drop_invoice_events: true });
    expect(paid.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(0);
    const view = await lnd.lookupInvoice(inv.json.payment_hash);
    expect(view.amp_invoice_state[paid.json.set_id]).toMatchObject({ state: "SETTLED", amt_paid_msat: 700_000 });
    expect(view.state).toBe("SETTLED"); // as LND reports an AMP invoice with a settled set, though it stays payable
    expect(await nodeActor().applyAmpInvoice(view)).toBe(1);
    expect(await nodeActor().applyAmpInvoice(view)).toBe(0);
    expect(await balanceOf(a)).toBe(700_000);
    await abortAllDurableObjects();
    await runDurableObjectAlarm(node());
    expect(await nodeActor().applyAmpInvoice(await lnd.lookupInvoice(inv.json.payment_hash))).toBe(0);
    expect(await balanceOf(a)).toBe(700_000);
    expect(await lightningTransactions(a)).toHaveLength(1);
    expect(await paidEvents(a)).toHaveLength(1);
  });

  it("a set whose event was missed is found by the sweep", async () => {
    const a = await account();
    const inv = await ampInvoice(a, { amount_sat: 300 });
    const paid = await sim("/sim/pay", { payment_request: inv.json.payment_request, drop_invoice_events: true });
    expect(paid.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(0);
    await runDurableObjectAlarm(node());
    expect(await balanceOf(a)).toBe(300_000);
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: a.access_token })).json.amp_payments).toMatchObject([{ set_id: paid.json.set_id, amount_msat: 300_000 }]);
  });

  it("the node dies between its receipt row and the delivery, or the wallet's acknowledgement is lost: delivered by the alarm, credited once", async () => {
    const a = await account();
    const inv = await ampInvoice(a, { amount_sat: 400 });
    const setA = "a1".repeat(32);
    const setB = "b2".repeat(32);
    // Two receipt rows written (a unit of work that committed), neither delivered: the node was evicted right after.
    await runInDurableObject(nodeActor(), (_instance, state) => {
      for (const set_id of [setA, setB]) {
        state.storage.sql.exec(
          "INSERT INTO amp_receipts (payment_hash, set_id, wallet_id, amount_msat, settled_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
          inv.json.payment_hash, set_id, a.wallet_id, 400_000, Date.now(), Date.now(),
        );
      }
    });
    // One was credited already (the wallet's acknowledgement never reached the node).
    const first = await walletStub(a.wallet_id).receiveAmpPayment({ payment_hash: inv.json.payment_hash, set_id: setA, amount_msat: 400_000, settled_at: new Date().toISOString() });
    expect(first).toMatchObject({ ok: true, duplicate: false });
    await abortAllDurableObjects(); // the node goes away (its streams keep it from a plain eviction)
    expect(await runDurableObjectAlarm(node())).toBe(true);
    expect(await balanceOf(a)).toBe(800_000);
    const left = await runInDurableObject(nodeActor(), (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM amp_receipts WHERE payment_hash = ? AND delivered = 0", inv.json.payment_hash).one().n);
    expect(left).toBe(0);
    // Delivered once more by hand: acknowledged, nothing moved.
    expect(await walletStub(a.wallet_id).receiveAmpPayment({ payment_hash: inv.json.payment_hash, set_id: setB, amount_msat: 400_000, settled_at: new Date().toISOString() })).toMatchObject({ ok: true, duplicate: true });
    expect(await balanceOf(a)).toBe(800_000);
    expect(await paidEvents(a)).toHaveLength(2);
  });

  it("paid by another hub wallet inside the hub, twice: credited per payment, no fee, no set id; the invoice stays open", async () => {
    const payee = await account();
    const payer = await account();
    await fund(payer, 5_000);
    const inv = await ampInvoice(payee, { amount_sat: 1_000 });
    const one = await payLn(payer, { payment_request: inv.json.payment_request });
    const two = await payLn(payer, { payment_request: inv.json.payment_request });
    expect([one.status, one.json.status, one.json.fee_msat], JSON.stringify(one.json)).toEqual([200, "succeeded", 0]);
    expect([two.status, two.json.status], JSON.stringify(two.json)).toEqual([200, "succeeded"]);
    await waitFor(async () => (await balanceOf(payee)) === 2_000_000, "both payments credited");
    expect(await balanceOf(payer)).toBe(3_000_000);
    const after = (await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: payee.access_token })).json;
    expect(after).toMatchObject({ status: "open", paid_msat: 2_000_000 });
    expect(after.amp_payments.map((p: any) => p.set_id)).toEqual([null, null]);
  });

  it("bad input is a 400 and makes nothing: amp not a boolean", async () => {
    const a = await account();
    for (const amp of ["yes", 1, null]) {
      const r = await ampInvoice(a, { amount_sat: 100, amp });
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.error.code).toBeTruthy();
    }
    expect((await api("GET", "/v1/invoices", { token: a.access_token })).json.invoices).toEqual([]);
  });
});

/** An outside node's AMP invoice (erin by default). */
async function outsideAmpInvoice(amount_sat: number, extra: Record<string, unknown> = {}) {
  const r = await sim("/sim/invoices", { amount_sat, amp: true, payee: "erin", ...extra });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(decodeInvoice(r.json.payment_request).features).toContain(30);
  return r.json as { payment_request: string; payment_hash: string };
}

/** Claims the invoice at the node and holds the payment in the wallet without sending it (the wallet died right after). */
async function claimAndHold(a: TestAccount, payment_request: string, amount_msat: number): Promise<string> {
  const decoded = decodeInvoice(payment_request);
  const payment_id = `pay_${newKey().replace(/-/g, "").slice(0, 32)}`;
  expect(await nodeActor().routeAmpPayment(decoded.payment_hash, decoded.payment_secret, a.wallet_id, payment_id)).toEqual({ route: "external" });
  const held = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) =>
    actor.lightning.hold(
      {
        idempotency: { key: newKey(), fingerprint: "x" },
        payment_request,
        payment_hash: decoded.payment_hash,
        amount_msat,
        amountless: false,
        max_fee_msat: 10_000,
        memo: null,
        amp_invoice: { payment_addr: decoded.payment_secret },
      },
      payment_id,
      "external",
      null,
    ),
  );
  expect(held).toMatchObject({ ok: true });
  return payment_id;
}

const ageWalletPayment = (a: TestAccount, payment_id: string, ms: number) =>
  runInDurableObject(walletStub(a.wallet_id), (_actor, state) => {
    state.storage.sql.exec("UPDATE lightning_payments SET created_at = ? WHERE payment_id = ?", new Date(Date.now() - ms).toISOString(), payment_id);
  });

describe("paying an AMP invoice", () => {
  it("settled at the real fee with the set id LND drew; paid again by the same wallet: a second set", async () => {
    const a = await account();
    await fund(a, 10_000);
    const inv = await outsideAmpInvoice(1_000);
    const key = newKey();
    const r = await payLn(a, { payment_request: inv.payment_request }, key);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "succeeded", payment_hash: inv.payment_hash, amount_msat: 1_000_000 });
    expect(r.json.amp_set_id).toMatch(hex32);
    expect(await balanceOf(a)).toBe(9_000_000 - r.json.fee_msat);
    const [sent, ...more] = await lndPaymentsOf(inv.payment_request);
    expect(more).toEqual([]);
    expect([sent!.payment_hash, sent!.status]).toEqual([r.json.amp_set_id, "SUCCEEDED"]);
    // The same key: the same payment, nothing sent again.
    const replay = await payLn(a, { payment_request: inv.payment_request }, key);
    expect([replay.json.status, replay.json.amp_set_id]).toEqual(["succeeded", r.json.amp_set_id]);
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(1);
    // A new key: the invoice is paid again, a new set.
    const again = await payLn(a, { payment_request: inv.payment_request, amp: true });
    expect(again.json).toMatchObject({ status: "succeeded" });
    expect(again.json.amp_set_id).not.toBe(r.json.amp_set_id);
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(2);
    expect(await balanceOf(a)).toBe(8_000_000 - r.json.fee_msat - again.json.fee_msat);
    expect((await api("GET", `/v1/payments/lightning/${again.json.amp_set_id}`, { token: a.access_token })).json).toMatchObject({ status: "succeeded", amp_set_id: again.json.amp_set_id });
  });

  it("two hops away (dave): settled at the fee the route took", async () => {
    const a = await account();
    await fund(a, 200_000);
    const inv = await outsideAmpInvoice(100_000, { payee: "dave" });
    const r = await payLn(a, { payment_request: inv.payment_request });
    expect(r.json.status, JSON.stringify(r.json)).toBe("succeeded");
    expect(r.json.fee_msat).toBeGreaterThan(0);
    expect(await balanceOf(a)).toBe(200_000_000 - 100_000_000 - r.json.fee_msat);
  });

  it("no route: failed, the hold released whole; the invoice is free for the next send", async () => {
    const a = await account();
    await fund(a, 10_000);
    const inv = await outsideAmpInvoice(1_000);
    await sim("/sim/knobs", { no_route: true });
    const r = await payLn(a, { payment_request: inv.payment_request });
    expect(r.json.status, JSON.stringify(r.json)).toBe("failed");
    expect(await balanceOf(a)).toBe(10_000_000);
    await sim("/sim/knobs", {});
    const b = await account();
    await fund(b, 10_000);
    const next = await payLn(b, { payment_request: inv.payment_request });
    expect(next.json.status, JSON.stringify(next.json)).toBe("succeeded");
  });

  it("LND got the send but its answer was lost: found again in ListPayments (among another wallet's payment of the invoice), not sent twice", async () => {
    const other = await account();
    const a = await account();
    await fund(other, 10_000);
    await fund(a, 10_000);
    const inv = await outsideAmpInvoice(2_000);
    const theirs = await payLn(other, { payment_request: inv.payment_request });
    expect(theirs.json.status).toBe("succeeded");
    const payment_id = await claimAndHold(a, inv.payment_request, 2_000_000);
    // LND received the send; the wallet never heard back.
    const outcome = await lnd.payInvoice({ payment_request: inv.payment_request, amp: true, fee_limit_msat: 10_000, timeout_seconds: 60 }, { waitMs: 2_000 });
    expect(outcome.final && outcome.payment.status).toBe("SUCCEEDED");
    // Meanwhile no other send of the invoice starts.
    const b = await account();
    await fund(b, 10_000);
    const blocked = await payLn(b, { payment_request: inv.payment_request });
    expect([blocked.status, blocked.json.error?.code]).toEqual([409, "conflict"]);
    expect(await balanceOf(b)).toBe(10_000_000);
    // Even past the grace it is found, not sent again.
    await ageWalletPayment(a, payment_id, AMP_UNSEEN_GRACE_MS + 1_000);
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    const done = (await api("GET", `/v1/payments/lightning/${outcome.payment!.payment_hash}`, { token: a.access_token })).json;
    expect(done).toMatchObject({ status: "succeeded", amp_set_id: outcome.payment!.payment_hash });
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(2);
    expect(await balanceOf(a)).toBe(8_000_000 - done.fee_msat);
    // Resolved: the next send starts.
    expect((await payLn(b, { payment_request: inv.payment_request })).json.status).toBe("succeeded");
  });

  it("LND lists the send with no HTLC yet (still pathfinding) after the grace: matched by its invoice, not sent twice", async () => {
    const a = await account();
    await fund(a, 10_000);
    const inv = await outsideAmpInvoice(1_000);
    const payment_id = await claimAndHold(a, inv.payment_request, 1_000_000);
    await sim("/sim/knobs", { payment_pathfinding_ms: 2_000 });
    const outcome = await lnd.payInvoice({ payment_request: inv.payment_request, amp: true, fee_limit_msat: 10_000, timeout_seconds: 60 }, { waitMs: 200 });
    expect(outcome.final).toBe(false);
    expect(outcome.payment?.htlcs).toEqual([]);
    await ageWalletPayment(a, payment_id, AMP_UNSEEN_GRACE_MS + 1_000);
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(1);
    const pending = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => actor.lightning.byId(payment_id));
    expect(pending).toMatchObject({ status: "pending", amp_set_id: outcome.payment!.payment_hash });
    await new Promise((r) => setTimeout(r, 2_100));
    await sim("/sim/knobs", {});
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    expect(await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => actor.lightning.byId(payment_id))).toMatchObject({ status: "succeeded" });
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(1);
  });

  it("two wallets pay the same AMP invoice at once: the second send waits for the first's set id (409, nothing moved), then goes; never a double send", async () => {
    const a = await account();
    const b = await account();
    await fund(a, 10_000);
    await fund(b, 10_000);
    const inv = await outsideAmpInvoice(1_000);
    // LND answers slowly: a's send is unresolved (no set id yet) while b asks.
    await sim("/sim/knobs", { slow_ms: 1_000 });
    const first = payLn(a, { payment_request: inv.payment_request });
    const addr = decodeInvoice(inv.payment_request).payment_secret;
    const claimed = () =>
      runInDurableObject(nodeActor(), (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM amp_sends WHERE payment_addr = ? AND resolved = 0", addr).one().n === 1);
    await waitFor(claimed, "a's claim");
    const second = await payLn(b, { payment_request: inv.payment_request });
    expect([second.status, second.json.error?.code], JSON.stringify(second.json)).toEqual([409, "conflict"]);
    expect(await balanceOf(b)).toBe(10_000_000);
    expect((await first).json.status).toBe("succeeded");
    await sim("/sim/knobs", {});
    const retried = await payLn(b, { payment_request: inv.payment_request });
    expect(retried.json.status, JSON.stringify(retried.json)).toBe("succeeded");
    expect(await lndPaymentsOf(inv.payment_request)).toHaveLength(2);
    // Truly at once: each either succeeded or was refused with nothing moved, and LND saw one send per success.
    const before = (await lndPaymentsOf(inv.payment_request)).length;
    const both = await Promise.all([a, b].map((w) => payLn(w, { payment_request: inv.payment_request })));
    for (const r of both) expect([200, 409]).toContain(r.status);
    const succeeded = both.filter((r) => r.status === 200 && r.json.status === "succeeded").length;
    expect(succeeded).toBeGreaterThanOrEqual(1);
    expect((await lndPaymentsOf(inv.payment_request)).length - before).toBe(succeeded);
    const spent = 10_000_000 * 2 - (await balanceOf(a)) - (await balanceOf(b));
    expect(spent).toBeGreaterThanOrEqual((2 + succeeded) * 1_000_000);
  });

  it("a claim left by a wallet that died before holding: after a minute its wallet is asked, and another wallet's send goes", async () => {
    const a = await account();
    const b = await account();
    await fund(b, 10_000);
    const inv = await outsideAmpInvoice(1_000);
    const decoded = decodeInvoice(inv.payment_request);
    expect(await nodeActor().routeAmpPayment(decoded.payment_hash, decoded.payment_secret, a.wallet_id, "pay_ghost")).toEqual({ route: "external" });
    expect((await payLn(b, { payment_request: inv.payment_request })).status).toBe(409);
    await runInDurableObject(nodeActor(), (_i, state) => {
      state.storage.sql.exec("UPDATE amp_sends SET claimed_at = ? WHERE payment_id = 'pay_ghost'", Date.now() - 61_000);
    });
    const r = await payLn(b, { payment_request: inv.payment_request });
    expect(r.json.status, JSON.stringify(r.json)).toBe("succeeded");
    expect(await balanceOf(b)).toBe(9_000_000 - r.json.fee_msat);
  });

  it("bad input is a 4xx and moves nothing: amp on a plain invoice, amp: false on an AMP invoice, amp not a boolean", async () => {
    const a = await account();
    await fund(a, 5_000);
    const amp = await outsideAmpInvoice(1_000);
    const plain = await sim("/sim/invoices", { amount_sat: 1_000, payee: "erin" });
    const cases: [Record<string, unknown>, number][] = [
      [{ payment_request: plain.json.payment_request, amp: true }, 400],
      [{ payment_request: amp.payment_request, amp: false }, 400],
      [{ payment_request: amp.payment_request, amp: "yes" }, 400],
      [{ payment_request: amp.payment_request, amount_sat: 2_000 }, 400],
      [{ payment_request: (await outsideAmpInvoice(10_000)).payment_request }, 422],
    ];
    for (const [body, status] of cases) {
      const r = await payLn(a, body);
      expect(r.status, `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`).toBe(status);
    }
    expect(await balanceOf(a)).toBe(5_000_000);
    expect(await lightningTransactions(a)).toEqual([]);
    expect(await lndPaymentsOf(amp.payment_request)).toEqual([]);
  });
});
