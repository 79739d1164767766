import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { encodeInvoice } from "../src/bolt11";
import { LndError, LndUnreachableError } from "../src/lightning";
import type { LightningNodeActor } from "../durable/lightning-node-actor";
import type { WalletActor } from "../durable/wallet-actor";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, waitFor, walletStub, type TestAccount, lightningNode as node, lightningNodeActor as nodeActor, simLnd as lnd, simRequest as sim } from "./helpers";


/** Every test leaves the simulator as it found it. */
afterEach(async () => {
  await sim("/sim/knobs", {});
});

/**
 * The node actor's next `times` calls of one LND method are lost (as if the tunnel dropped them);
 * returns how many were lost so far, and a restore.
 */
async function loseNodeLndCalls(method: "settleInvoice" | "cancelInvoice", times: number) {
  let lost = 0;
  let unwrapped: LightningNodeActor["invoices"]["lnd"] | null = null;
  await runInDurableObject(nodeActor(), (instance) => {
    const lnd = (unwrapped = instance.invoices.lnd);
    instance.invoices.lnd = (timeoutMs?: number) =>
      new Proxy(lnd(timeoutMs), {
        get(target, prop) {
          if (prop === method && lost < times) {
            return async () => {
              lost++;
              throw new LndUnreachableError("network", `test: ${method} lost`);
            };
          }
          const value: unknown = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
  });
  return {
    lost: () => lost,
    restore: () => runInDurableObject(nodeActor(), (instance) => void (instance.invoices.lnd = unwrapped!)),
  };
}

async function conserved(...accounts: TestAccount[]) {
  expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));
}

async function outsideInvoice(amount_sat: number, memo = "outside") {
  const r = await api("POST", "/dev/sim/invoices", { body: { amount_sat, memo } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { payment_request: string; payment_hash: string };
}

const payLn = (a: TestAccount, payment_request: string, extra: Record<string, unknown> = {}, key = newKey()) =>
  api("POST", "/v1/payments/lightning", { body: { payment_request, ...extra }, token: a.access_token, key });

describe("receiving", () => {
  it("creates a hold invoice the outside world pays: credited once, then settled", async () => {
    const a = await createAccount("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 2100, memo: "coffee" }, token: a.access_token });
    expect(inv.status, JSON.stringify(inv.json)).toBe(201);
    expect(inv.json).toMatchObject({ amount_msat: 2_100_000, status: "open", memo: "coffee" });
    const info = await lnd.getInfo();
    const decoded = await api("POST", "/v1/lightning/decode", { body: { payment_request: inv.json.payment_request }, token: a.access_token });
    expect(decoded.json).toMatchObject({ network: "regtest", amount_msat: 2_100_000, payment_hash: inv.json.payment_hash, description: "coffee", payee: info.identity_pubkey });

    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request } });
    expect(paid.json.status, JSON.stringify(paid.json)).toBe("succeeded");
    expect(await sha256(paid.json.preimage)).toBe(inv.json.payment_hash);
    expect(await balanceOf(a)).toBe(2_100_000);
    const after = await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: a.access_token });
    expect(after.json).toMatchObject({ status: "paid", paid_msat: 2_100_000 });
    expect(after.json.paid_at).toBeTruthy();
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("SETTLED");
    const events = await api("GET", "/v1/events?after=0", { token: a.access_token });
    expect(events.json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    // Paying it again from outside is refused by LND; nothing more is credited.
    await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request } });
    expect(await balanceOf(a)).toBe(2_100_000);
    await conserved(a);
  });

  it("a missed invoice event is found by the sweep", async () => {
    const a = await createAccount("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 500 }, token: a.access_token });
    await sim("/sim/knobs", { drop_invoice_events: true });
    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 300 } });
    expect(paid.json.status).toBe("pending");
    expect(await balanceOf(a)).toBe(0);
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("ACCEPTED");
    await runDurableObjectAlarm(node());
    expect(await balanceOf(a)).toBe(500_000);
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("SETTLED");
    await conserved(a);
  });

  it("an HTLC held in LND for an invoice the hub already marked expired (its event missed) is still found by the sweep and credited once", async () => {
    const a = await createAccount("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 700 }, token: a.access_token });
    await sim("/sim/knobs", { drop_invoice_events: true });
    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 300 } });
    expect(paid.json.status).toBe("pending");
    // The hub's clock expired the invoice before it saw the HTLC (accepted by LND at the last moment).
    await runInDurableObject(nodeActor(), (instance: LightningNodeActor) => {
      instance.kit.sql`UPDATE invoices SET state = 'expired' WHERE payment_hash = ${inv.json.payment_hash}`;
    });
    await runDurableObjectAlarm(node());
    expect(await balanceOf(a)).toBe(700_000);
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("SETTLED");
    await runDurableObjectAlarm(node());
    expect(await balanceOf(a)).toBe(700_000);
    await conserved(a);
  });

  it("credited, then the settle is lost: LND holds the HTLC until the sweep settles it with the same preimage, credited once", async () => {
    const a = await createAccount("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 800 }, token: a.access_token });
    const settle = await loseNodeLndCalls("settleInvoice", 1);
    try {
      const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 500 } });
      expect(paid.json.status).toBe("pending");
      expect(settle.lost()).toBe(1);
      expect(await balanceOf(a)).toBe(800_000);
      expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("ACCEPTED");
      await runDurableObjectAlarm(node());
      expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("SETTLED");
    } finally {
      await settle.restore();
    }
    expect(await balanceOf(a)).toBe(800_000);
    expect((await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    await conserved(a);
  });

  it("the same invoice event delivered twice credits once", async () => {
    const a = await createAccount("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 700 }, token: a.access_token });
    await sim("/sim/knobs", { drop_invoice_events: true });
    await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 100 } });
    const accepted = await lnd.lookupInvoice(inv.json.payment_hash);
    const results = await Promise.all([node().applyInvoiceUpdate(accepted), node().applyInvoiceUpdate(accepted)]);
    expect(results).toContain("settled");
    await node().applyInvoiceUpdate(accepted);
    expect(await balanceOf(a)).toBe(700_000);
    expect((await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events).toHaveLength(1);
    await conserved(a);
  });

  it("an amountless invoice credits what was paid; an expired one says so", async () => {
    const a = await createAccount("rx");
    const open = await api("POST", "/v1/invoices", { body: {}, token: a.access_token });
    expect(open.json.amount_msat).toBeNull();
    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: open.json.payment_request, amount_sat: 321 } });
    expect(paid.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(321_000);
    const short = await api("POST", "/v1/invoices", { body: { amount_sat: 1, expiry_s: 60 }, token: a.access_token });
    await runInDurableObject(walletStub(a.wallet_id), (_i, state) => {
      state.storage.sql.exec("UPDATE invoices SET expires_at = ? WHERE payment_hash = ?", new Date(Date.now() - 1000).toISOString(), short.json.payment_hash);
    });
    expect((await api("GET", `/v1/invoices/${short.json.payment_hash}`, { token: a.access_token })).json.status).toBe("expired");
    expect((await api("GET", `/v1/invoices/${"0".repeat(64)}`, { token: a.access_token })).status).toBe(404);
    await conserved(a);
  });
});

describe("sending", () => {
  it("pays an outside invoice: fee within the maximum, the rest of the hold refunded", async () => {
    const a = await createAccount("tx");
    await fund(a, 100_000);
    const out = await outsideInvoice(20_000);
    const p = await payLn(a, out.payment_request);
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json).toMatchObject({ status: "succeeded", payment_hash: out.payment_hash, amount_msat: 20_000_000 });
    expect(p.json.fee_msat).toBeGreaterThan(0);
    expect(p.json.fee_msat).toBeLessThanOrEqual(100_000); // max(10 sat, 0.5 %) = 100 sat
    expect(await sha256(p.json.preimage)).toBe(out.payment_hash);
    expect(await balanceOf(a)).toBe(100_000_000 - 20_000_000 - p.json.fee_msat);
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json.pending_out_msat).toBe(0);
    const events = await api("GET", "/v1/events?after=0", { token: a.access_token });
    expect(events.json.events.map((e: any) => e.type)).toEqual(["faucet.credited", "payment.pending", "payment.succeeded"]);
    const tx = (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions[0];
    expect(tx).toMatchObject({ kind: "lightning", direction: "out", status: "succeeded", fee_msat: p.json.fee_msat });
    await conserved(a);
  });

  it("no route: the hold is released", async () => {
    const a = await createAccount("tx");
    await fund(a, 10_000);
    await sim("/sim/knobs", { no_route: true });
    const p = await payLn(a, (await outsideInvoice(1000)).payment_request);
    expect(p.json.status).toBe("failed");
    expect(p.json.failure_reason).toMatch(/NO_ROUTE/);
    expect(await balanceOf(a)).toBe(10_000_000);
    await conserved(a);
  });

  it("a payment is looked up by its hash: pending then final, the live attempt over a failed one, only the payer's", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("tx")];
    await fund(a, 10_000);
    const lookup = (who: TestAccount, hash: string) => api("GET", `/v1/payments/lightning/${hash}`, { token: who.access_token });
    const out = await outsideInvoice(1000);
    expect((await lookup(a, out.payment_hash)).status).toBe(404);
    await sim("/sim/knobs", { no_route: true });
    expect((await payLn(a, out.payment_request)).json.status).toBe("failed");
    const failed = await lookup(a, out.payment_hash);
    expect([failed.status, failed.json.status, failed.json.payment_hash]).toEqual([200, "failed", out.payment_hash]);
    expect(failed.json.failure_reason).toMatch(/NO_ROUTE/);
    // Paid again (a failed attempt frees the hash), held in flight: the lookup shows the live attempt.
    await sim("/sim/knobs", { payment_in_flight_ms: 2500, payment_outcome: "succeed" });
    const paid = await payLn(a, out.payment_request);
    expect(paid.json.status).toBe("pending");
    const pending = await lookup(a, out.payment_hash);
    expect([pending.json.status, pending.json.transaction.id]).toEqual(["pending", paid.json.transaction.id]);
    await new Promise((r) => setTimeout(r, 2600));
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    const done = await lookup(a, out.payment_hash);
    expect(done.json).toMatchObject({ status: "succeeded", payment_hash: out.payment_hash, amount_msat: 1_000_000, transaction: { id: paid.json.transaction.id, status: "succeeded" } });
    expect(await sha256(done.json.preimage)).toBe(out.payment_hash);
    // Another wallet's payment is not found; a malformed hash is 400.
    expect((await lookup(b, out.payment_hash)).status).toBe(404);
    const malformed = await lookup(a, "zz");
    expect([malformed.status, malformed.json.error?.code]).toEqual([400, "invalid_request"]);
    await conserved(a);
  });

  it("a maximum fee too low to route fails and releases", async () => {
    const a = await createAccount("tx");
    await fund(a, 10_000);
    const p = await payLn(a, (await outsideInvoice(5000)).payment_request, { max_fee_sat: 0 });
    expect(p.json.status).toBe("failed");
    expect(await balanceOf(a)).toBe(10_000_000);
    await conserved(a);
  });

  for (const outcome of ["succeed", "fail"] as const) {
    it(`in flight past the wait: pending, then ${outcome === "succeed" ? "succeeded" : "failed"} through the alarm`, async () => {
      const a = await createAccount("tx");
      await fund(a, 10_000);
      await sim("/sim/knobs", { payment_in_flight_ms: 2500, payment_outcome: outcome });
      const out = await outsideInvoice(1000);
      const key = newKey();
      const p = await payLn(a, out.payment_request, {}, key);
      expect(p.json.status).toBe("pending");
      const held = await api("GET", "/v1/wallet", { token: a.access_token });
      expect(held.json.pending_out_msat).toBe(1_000_000 + 10_000);
      expect(held.json.balance_msat).toBe(10_000_000 - 1_010_000);
      await new Promise((r) => setTimeout(r, 2600));
      await runDurableObjectAlarm(walletStub(a.wallet_id));
      const replay = await payLn(a, out.payment_request, {}, key);
      expect(replay.json.status).toBe(outcome === "succeed" ? "succeeded" : "failed");
      expect((await api("GET", "/v1/wallet", { token: a.access_token })).json.pending_out_msat).toBe(0);
      expect(await balanceOf(a)).toBe(outcome === "succeed" ? 10_000_000 - 1_000_000 - replay.json.fee_msat : 10_000_000);
      await conserved(a);
    });
  }

  it("LND unreachable: stays pending, never released, reconciled once LND is back", async () => {
    const a = await createAccount("tx");
    await fund(a, 10_000);
    const out = await outsideInvoice(1000);
    await sim("/sim/knobs", { unreachable: true });
    const p = await payLn(a, out.payment_request);
    expect(p.json.status).toBe("pending");
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json.pending_out_msat).toBe(1_010_000);
    await sim("/sim/knobs", {});
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    const tx = (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions[0];
    expect(tx.status).toBe("succeeded");
    await conserved(a);
  });

  it("the wallet actor dies between the hold and the LND call: the alarm sends it, without loss", async () => {
    const a = await createAccount("tx");
    await fund(a, 10_000);
    const out = await outsideInvoice(2000);
    const payment_id = "pay_" + "ab".repeat(16);
    await node().routePayment(out.payment_hash, a.wallet_id, payment_id);
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) =>
      actor.lightning.hold(
        { idempotency: { key: newKey(), fingerprint: "x" }, payment_request: out.payment_request, payment_hash: out.payment_hash, amount_msat: 2_000_000, amountless: false, max_fee_msat: 10_000, memo: null },
        payment_id,
        "external",
        null,
      ),
    );
    await abortAllDurableObjects();
    await expect(lnd.lookupInvoice(out.payment_hash).catch((e) => e)).resolves.toBeTruthy();
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    const tx = (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions[0];
    expect(tx).toMatchObject({ status: "succeeded", amount_msat: 2_000_000 });
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).json.pending_out_msat).toBe(0);
    await conserved(a);
  });

  it("the wallet actor dies between the hold of a hub invoice's payment and its delivery: the alarm delivers it, credited once", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("rx")];
    await fund(a, 10_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 1500 }, token: b.access_token });
    const key = newKey();
    const route = await node().routePayment(inv.json.payment_hash, a.wallet_id, "pay_" + "12".repeat(16));
    expect(route).toEqual({ route: "internal", wallet_id: b.wallet_id });
    const held = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) =>
      actor.lightning.hold(
        { idempotency: { key, fingerprint: "x" }, payment_request: inv.json.payment_request, payment_hash: inv.json.payment_hash, amount_msat: 1_500_000, amountless: false, max_fee_msat: 0, memo: null },
        "pay_" + "12".repeat(16),
        "internal",
        { wallet_id: b.wallet_id, username: b.username },
      ),
    );
    expect(held).toMatchObject({ ok: true });
    await abortAllDurableObjects();
    expect(await balanceOf(b)).toBe(0);
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    const replay = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => actor.idempotency.stored({ key, fingerprint: "x" }));
    expect(replay).toMatchObject({ ok: true, body: { status: "succeeded", fee_msat: 0, amount_msat: 1_500_000 } });
    expect(await sha256((replay as any).body.preimage)).toBe(inv.json.payment_hash);
    expect(await balanceOf(a)).toBe(8_500_000);
    expect(await balanceOf(b)).toBe(1_500_000);
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: b.access_token })).json.status).toBe("paid");
    expect((await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.map((e: any) => e.type)).toEqual(["faucet.credited", "payment.pending", "payment.succeeded"]);
    await conserved(a, b);
  });

  it("the same invoice paid twice at once, by one wallet or two: one payment", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("tx")];
    await Promise.all([fund(a, 10_000), fund(b, 10_000)]);
    const out = await outsideInvoice(3000);
    const replies = await Promise.all([payLn(a, out.payment_request), payLn(a, out.payment_request), payLn(b, out.payment_request)]);
    const ok = replies.filter((r) => r.status === 200 && r.json.status === "succeeded");
    expect(ok).toHaveLength(1);
    for (const r of replies.filter((r) => r !== ok[0])) expect([r.status, r.json.error?.code]).toEqual([409, "already_paid"]);
    expect((await balanceOf(a)) + (await balanceOf(b))).toBe(20_000_000 - 3_000_000 - ok[0]!.json.fee_msat);
    await conserved(a, b);
  });

  it("a hub invoice paid twice at once: one payment", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("rx")];
    await fund(a, 10_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 1000 }, token: b.access_token });
    const replies = await Promise.all([payLn(a, inv.json.payment_request), payLn(a, inv.json.payment_request)]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await balanceOf(a)).toBe(9_000_000);
    expect(await balanceOf(b)).toBe(1_000_000);
    await conserved(a, b);
  });

  it("a hub invoice is paid internally: no LND payment, no fee, the payee's invoice is paid", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("rx")];
    await fund(a, 10_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 4000, memo: "internal" }, token: b.access_token });
    const estimate = await api("POST", "/v1/payments/lightning/estimate", { body: { payment_request: inv.json.payment_request }, token: a.access_token });
    expect(estimate.json).toMatchObject({ fee_msat: 0, internal: true });
    const p = await payLn(a, inv.json.payment_request);
    expect(p.json).toMatchObject({ status: "succeeded", fee_msat: 0, amount_msat: 4_000_000 });
    expect(await sha256(p.json.preimage)).toBe(inv.json.payment_hash);
    expect(await balanceOf(a)).toBe(6_000_000);
    expect(await balanceOf(b)).toBe(4_000_000);
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: b.access_token })).json.status).toBe("paid");
    const tracked = await lnd.trackPayment(inv.json.payment_hash).next().catch((e) => e);
    expect(tracked).toBeInstanceOf(LndError); // LND never saw a payment for this hash
    await waitFor(async () => (await lnd.lookupInvoice(inv.json.payment_hash)).state === "CANCELED", "LND hold invoice canceled");
    // Paying it again, internally or from outside, moves nothing.
    expect((await payLn(a, inv.json.payment_request)).status).toBe(409);
    const outside = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 300 } });
    expect(outside.json.status).not.toBe("succeeded");
    expect(await balanceOf(b)).toBe(4_000_000);
    const events = await api("GET", "/v1/events?after=0", { token: b.access_token });
    expect(events.json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    await conserved(a, b);
  });

  it("a hub invoice paid internally whose LND cancel was lost: an outside HTLC for it later is refused and canceled, not held", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("rx")];
    await fund(a, 10_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 600 }, token: b.access_token });
    const cancel = await loseNodeLndCalls("cancelInvoice", 1);
    try {
      expect((await payLn(a, inv.json.payment_request)).json).toMatchObject({ status: "succeeded", fee_msat: 0 });
      await waitFor(() => cancel.lost() === 1, "the node tried to cancel the LND invoice");
    } finally {
      await cancel.restore();
    }
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("OPEN");
    const outside = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.json.payment_request, wait_ms: 2000 } });
    expect(outside.json.status).toBe("failed");
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("CANCELED");
    expect(await balanceOf(b)).toBe(600_000);
    expect((await api("GET", "/v1/events?after=0", { token: b.access_token })).json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    await conserved(a, b);
  });

  it("an outside HTLC held unseen (its invoice events lost) when another wallet pays the amountless invoice inside the hub: the HTLC goes back, credited once (simulation, seed 5)", async () => {
    // Found by the deterministic simulation (test/simulation.test.ts, seed 5 of 400 operations, before its invariant
    // compared the hub with LND): the outside world was told `pending` for 2,270 sat, the hub says paid for 7.
    const [owner, payer] = [await createAccount("rx"), await createAccount("tx")];
    await fund(payer, 100);
    const inv = await api("POST", "/v1/invoices", { body: {}, token: owner.access_token });
    const outside = await sim("/sim/pay", { payment_request: inv.json.payment_request, amount_sat: 2270, wait_ms: 100, drop_invoice_events: true });
    expect(outside.json.status).toBe("pending");
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("ACCEPTED");
    const inside = await payLn(payer, inv.json.payment_request, { amount_sat: 7 });
    expect(inside.json).toMatchObject({ status: "succeeded", amount_msat: 7_000, fee_msat: 0 });
    await runDurableObjectAlarm(node());
    await waitFor(async () => (await lnd.lookupInvoice(inv.json.payment_hash)).state === "CANCELED", "the outside HTLC given back");
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: owner.access_token })).json).toMatchObject({ status: "paid", paid_msat: 7_000 });
    expect([await balanceOf(owner), await balanceOf(payer)]).toEqual([7_000, 93_000]);
    expect((await api("GET", "/v1/events?after=0", { token: owner.access_token })).json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    await conserved(owner, payer);
  });

  it("paid inside the hub while LND was unreachable, then an outside HTLC for it: given back once LND is back, not held (simulation, seed 3187473666)", async () => {
    // Found by the deterministic simulation (a ten-minute soak; seed 3187473666, shrunk from 500 operations to 13):
    // the HTLC arrived on the invoice's stream, the wallet refused it (paid inside the hub), the cancel failed
    // (LND unreachable) and the node marked the invoice canceled anyway, so no sweep looked at it again and
    // LND held the outside payer's HTLC (ACCEPTED) until it would time out.
    const [owner, payer] = [await createAccount("rx"), await createAccount("tx")];
    await fund(payer, 60_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 4956 }, token: owner.access_token });
    await sim("/sim/knobs", { unreachable: "drop" });
    expect((await payLn(payer, inv.json.payment_request)).json).toMatchObject({ status: "succeeded", fee_msat: 0 });
    const outside = await sim("/sim/pay", { payment_request: inv.json.payment_request, wait_ms: 800 });
    expect(outside.json.status).toBe("pending");
    await sim("/sim/knobs", {});
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("ACCEPTED");
    expect(await runDurableObjectAlarm(node())).toBe(true);
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("CANCELED");
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: owner.access_token })).json).toMatchObject({ status: "paid", paid_msat: 4_956_000 });
    expect([await balanceOf(owner), await balanceOf(payer)]).toEqual([4_956_000, 60_000_000 - 4_956_000]);
    expect((await api("GET", "/v1/events?after=0", { token: owner.access_token })).json.events.map((e: any) => e.type)).toEqual(["invoice.paid"]);
    await conserved(owner, payer);
  });

  it("an invoice LND does not know (its creation cut short by a crash) does not stop the sweep for the ones after it (simulation, seed 332588026)", async () => {
    // Found by the deterministic simulation (a ten-minute soak, seed 332588026): after an abort cut an invoice's
    // creation short, its row stayed open while LND never had it; the sweep looked it up first (oldest first),
    // LND answered NOT_FOUND, and that ended the sweep, so every invoice after it whose event was missed stayed
    // ACCEPTED in LND, neither credited nor settled (the shrunk replay passed alone: the row was left by an
    // earlier run in the same node actor).
    const a = await createAccount("rx");
    const ghost = "ab".repeat(32);
    await runInDurableObject(nodeActor(), (_i, state) => {
      state.storage.sql.exec("INSERT INTO invoices (payment_hash, wallet_id, state, expires_at, created_at) VALUES (?, ?, 'open', ?, ?)", ghost, a.wallet_id, Date.now() + 3_600_000, Date.now() - 120_000);
    });
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 500 }, token: a.access_token });
    const paid = await sim("/sim/pay", { payment_request: inv.json.payment_request, wait_ms: 200, drop_invoice_events: true });
    expect(paid.json.status).toBe("pending");
    await runDurableObjectAlarm(node());
    expect((await lnd.lookupInvoice(inv.json.payment_hash)).state).toBe("SETTLED");
    expect(await balanceOf(a)).toBe(500_000);
    // The invoice LND does not know is given up (it can never be paid), so it costs no lookup again.
    const ghostState = await runInDurableObject(nodeActor(), (_i, state) => state.storage.sql.exec<{ state: string }>("SELECT state FROM invoices WHERE payment_hash = ?", ghost).one().state);
    expect(ghostState).toBe("canceled");
    await conserved(a);
  });

  it("refuses expired, foreign-network, malformed invoices and insufficient balance, changing nothing", async () => {
    const a = await createAccount("tx");
    await fund(a, 1000);
    const key = crypto.getRandomValues(new Uint8Array(32));
    key[0] = 1;
    const base = { payment_hash: "11".repeat(32), payment_secret: "22".repeat(32), description: "x", amount_msat: 1000 };
    const expired = encodeInvoice({ ...base, network: "regtest", timestamp: Math.floor(Date.now() / 1000) - 7200, expiry_s: 3600 }, key);
    const mainnet = encodeInvoice({ ...base, network: "bitcoin", timestamp: Math.floor(Date.now() / 1000) }, key);
    expect((await payLn(a, expired)).json.error.code).toBe("invoice_expired");
    expect((await payLn(a, mainnet)).json.error.code).toBe("invalid_payment_request");
    const garbage = await payLn(a, "lnbcrt1garbage");
    expect([garbage.status, garbage.json.error.code]).toEqual([400, "invalid_payment_request"]);
    const poor = await payLn(a, (await outsideInvoice(5000)).payment_request);
    expect([poor.status, poor.json.error.code]).toEqual([422, "insufficient_balance"]);
    const noKey = await api("POST", "/v1/payments/lightning", { body: { payment_request: expired }, token: a.access_token });
    expect(noKey.status).toBe(400);
    expect(await balanceOf(a)).toBe(1_000_000);
    expect((await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events).toHaveLength(1);
    await conserved(a);
  });
});

async function sha256(hex: string): Promise<string> {
  const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("payment claims", () => {
  it("a claim a crashed wallet left behind does not block the invoice forever", async () => {
    const [a, b] = [await createAccount("tx"), await createAccount("tx")];
    await fund(b, 10_000);
    const out = await outsideInvoice(1000);
    // A claimed the hash, then died before holding any funds.
    expect(await node().routePayment(out.payment_hash, a.wallet_id, "pay_" + "cd".repeat(16))).toEqual({ route: "external" });
    expect((await payLn(b, out.payment_request)).json.error.code).toBe("already_paid");
    await runInDurableObject(node(), (_n, state) => {
      state.storage.sql.exec("UPDATE payments SET updated_at = updated_at - 120000 WHERE payment_hash = ?", out.payment_hash);
    });
    const p = await payLn(b, out.payment_request);
    expect(p.json.status).toBe("succeeded");
    await conserved(a, b);
  });

  it("two payments freeing the same stale claim at once: only one of them gets the hash", async () => {
    const [a, b, c] = [await createAccount("tx"), await createAccount("tx"), await createAccount("tx")];
    const out = await outsideInvoice(1000);
    expect(await node().routePayment(out.payment_hash, a.wallet_id, "pay_" + "ef".repeat(16))).toEqual({ route: "external" });
    await runInDurableObject(node(), (_n, state) => {
      state.storage.sql.exec("UPDATE payments SET updated_at = updated_at - 120000 WHERE payment_hash = ?", out.payment_hash);
    });
    // Both ask A's wallet about the stale claim; while one waits for the answer, the other must not slip in.
    const routes = await Promise.all([
      node().routePayment(out.payment_hash, b.wallet_id, "pay_" + "b1".repeat(16)),
      node().routePayment(out.payment_hash, c.wallet_id, "pay_" + "c1".repeat(16)),
    ]);
    expect(routes.filter((r) => "route" in r)).toEqual([{ route: "external" }]);
    expect(routes.filter((r) => !("route" in r))).toMatchObject([{ ok: false, code: "already_paid" }]);
  });
});
