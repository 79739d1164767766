// The hub end to end against real lnd (regtest): through its HTTP API (the Worker's fetch
// handler, as test/helpers.ts calls it), with the hub Worker's LND client pointed at the hub
// node's REST API (vitest.regtest.config.ts). alice and bob are the outside world:
//
//   hub ─ alice ─ bob        (and bob ─ hub, with no hub-side liquidity: hub → bob goes via alice)
//
// After every test, two sets of books must agree:
// - conservation over every wallet this file created (test/helpers.ts expectConservation);
// - the node's own: the hub node's channel balance moved by exactly what the wallets say went
//   through it (received − sent − routing fees), and what the hub owes its users is covered by
//   what the node holds (local channel balance + confirmed on-chain funds). The faucet credits
//   wallets with money the node never received, so the wallets are funded modestly (tens of
//   thousands of sat against millions on the node), and "covered" is checked against balances
//   lnd really reports.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LightningNodeActor } from "../../durable/lightning-node-actor";
import { createLndClient, GrpcCode, LndError, LndUnreachableError, type LndRestClient } from "../../src/lightning";
import { hexToBase64Url } from "../../src/lightning/bytes";
import { randomHex32, sha256Hex } from "../contract/lnd-suite";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, openStream, testEnv, waitFor, walletStub, type TestAccount } from "../helpers";
import { Control, Rest, regtestContext } from "./regtest";

const ctx = regtestContext();

describe.skipIf(!ctx)("the hub against real lnd", () => {
  const hubLnd: LndRestClient = createLndClient({
    baseUrl: ctx?.hub.restUrl ?? "http://unused",
    fetch: (input, init) => fetch(input, init),
    macaroonHex: ctx?.hub.macaroonHex,
  });
  const alice = ctx && new Rest(ctx.alice);
  const bob = ctx && new Rest(ctx.bob);
  const control = ctx && new Control(ctx.controlUrl);
  const node = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));
  /** Runs `fn` on the node actor's live instance (its private methods included). */
  /** The node actor's instance (its namespace typed by the class, not the port: the test reaches its parts). */
  const onNodeActor = (fn: (instance: LightningNodeActor) => void) =>
    runInDurableObject(node() as unknown as DurableObjectStub<LightningNodeActor>, (instance: LightningNodeActor) => fn(instance));

  /** Every wallet this file creates: the books are checked over all of them. */
  const wallets: TestAccount[] = [];
  const account = async (prefix: string) => {
    const a = await createAccount(prefix);
    wallets.push(a);
    return a;
  };

  const payLn = (a: TestAccount, payment_request: string, extra: Record<string, unknown> = {}, key = newKey()) =>
    api("POST", "/v1/payments/lightning", { body: { payment_request, ...extra }, token: a.access_token, key });
  const walletOf = async (a: TestAccount) => (await api("GET", "/v1/wallet", { token: a.access_token })).json;
  const lastTransaction = async (a: TestAccount) => (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions[0];
  const eventTypes = async (a: TestAccount) =>
    (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.map((e: { type: string }) => e.type);

  /** The hub node's channel balance once no HTLC is in flight on any of its channels. */
  async function settledLocalMsat(): Promise<number> {
    let local = 0;
    await waitFor(async () => {
      const channels = await hubLnd.listChannels();
      if (channels.some((c) => c.pending_htlcs.length > 0)) return false;
      local = (await hubLnd.channelBalance()).local_balance.msat;
      return true;
    }, "no HTLC in flight on the hub node", 30_000);
    return local;
  }

  let startLocalMsat = 0;
  beforeAll(async () => {
    startLocalMsat = await settledLocalMsat();
  });

  afterEach(async () => {
    const audits = await Promise.all(wallets.map((a) => auditOf(a.wallet_id)));
    expectConservation(audits);
    const sum = (f: (a: (typeof audits)[number]) => number) => audits.reduce((s, a) => s + f(a), 0);
    // What went through the node, as the wallets booked it: received − sent − fees.
    const throughNode = 0 - sum((a) => a.lnd_msat) - sum((a) => a.fees_msat); // (0 - …: never -0)
    const localMsat = await settledLocalMsat();
    expect(localMsat - startLocalMsat).toBe(throughNode);
    // Solvency: what the hub owes (balances, and funds held for payments) against what lnd holds.
    const owed = sum((a) => a.balance_msat + a.holds_msat + a.in_flight_msat);
    const onChain = (await hubLnd.walletBalance()).confirmed_balance;
    expect(owed).toBeLessThanOrEqual(localMsat + onChain * 1000);
  });

  it("receives from an outside node: a hold invoice alice pays, credited to the wallet, then settled", async () => {
    const a = await account("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 2100, memo: "coffee" }, token: a.access_token });
    expect(inv.status, JSON.stringify(inv.json)).toBe(201);
    expect(inv.json).toMatchObject({ amount_msat: 2_100_000, status: "open", memo: "coffee" });
    const lnd = await hubLnd.lookupInvoice(inv.json.payment_hash);
    expect(lnd).toMatchObject({ state: "OPEN", value_msat: 2_100_000, payment_request: inv.json.payment_request });

    const paid = await alice!.pay(inv.json.payment_request).outcome;
    expect(paid.status, JSON.stringify(paid)).toBe("succeeded");
    expect(sha256Hex(paid.preimage!)).toBe(inv.json.payment_hash);
    expect(await balanceOf(a)).toBe(2_100_000);
    const after = await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: a.access_token });
    expect(after.json).toMatchObject({ status: "paid", paid_msat: 2_100_000 });
    expect(await hubLnd.lookupInvoice(inv.json.payment_hash)).toMatchObject({ state: "SETTLED", amt_paid_msat: 2_100_000 });
    expect(await eventTypes(a)).toEqual(["invoice.paid"]);

    // Paying it again is refused by lnd (the invoice is settled): nothing more is credited.
    const again = await alice!.pay(inv.json.payment_request).outcome;
    expect(again.status).not.toBe("succeeded");
    expect(await balanceOf(a)).toBe(2_100_000);
  });

  it("credits before it settles: with the settle lost once, the wallet is credited while lnd holds the HTLC; the sweep settles", async () => {
    const a = await account("rx");
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 3000 }, token: a.access_token });
    expect(inv.status).toBe(201);
    const hash: string = inv.json.payment_hash;
    const states: string[] = [];
    const watching = (async () => {
      for await (const i of hubLnd.subscribeSingleInvoice(hash)) states.push(i.state);
    })();

    // The node actor's next settle call is lost (as if the tunnel dropped it).
    let unwrapped: LightningNodeActor["invoices"]["lnd"] | null = null;
    await onNodeActor((instance) => {
      const lnd = (unwrapped = instance.invoices.lnd);
      let failures = 1;
      instance.invoices.lnd = (timeoutMs?: number) => {
        const client = lnd(timeoutMs);
        return new Proxy(client, {
          get(target, prop) {
            if (prop === "settleInvoice" && failures > 0) {
              return async () => {
                failures--;
                throw new LndUnreachableError("network", "test: settle lost");
              };
            }
            const value: unknown = Reflect.get(target, prop);
            return typeof value === "function" ? value.bind(target) : value;
          },
        });
      };
    });
    try {
      const payment = alice!.pay(inv.json.payment_request);
      // Credited...
      await waitFor(async () => (await balanceOf(a)) === 3_000_000, "the wallet credited", 20_000);
      expect(await eventTypes(a)).toEqual(["invoice.paid"]);
      expect((await api("GET", `/v1/invoices/${hash}`, { token: a.access_token })).json.status).toBe("paid");
      // ...while lnd still holds the HTLC, and alice's payment is in flight.
      await new Promise((r) => setTimeout(r, 500));
      expect(await hubLnd.lookupInvoice(hash)).toMatchObject({ state: "ACCEPTED", amt_paid_msat: 3_000_000 });
      expect(payment.updates.at(-1)?.status).toBe("IN_FLIGHT");

      // The sweep retries the settlement with the preimage the wallet gives again.
      expect(await runDurableObjectAlarm(node())).toBe(true);
      expect(await payment.outcome).toMatchObject({ status: "succeeded" });
      expect(await hubLnd.lookupInvoice(hash)).toMatchObject({ state: "SETTLED" });
      await watching;
      expect(states).toEqual(["OPEN", "ACCEPTED", "SETTLED"]);
      expect(await balanceOf(a)).toBe(3_000_000); // credited once
      expect(await eventTypes(a)).toEqual(["invoice.paid"]);
    } finally {
      await onNodeActor((instance) => void (instance.invoices.lnd = unwrapped!));
    }
  });

  it("an outside payer's HTLC is held until the wallet is credited; the payment.paid event arrives before lnd settles", async () => {
    const a = await account("rx");
    const stream = await openStream("/v1/events/stream?after=0", { Authorization: `Bearer ${a.access_token}` });
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 1234 }, token: a.access_token });
    const seen: string[] = [];
    const watching = (async () => {
      for await (const i of hubLnd.subscribeSingleInvoice(inv.json.payment_hash)) {
        seen.push(`lnd:${i.state}`);
        if (i.state === "SETTLED") seen.push(...stream.events().map((e) => `wallet:${e.type}`));
      }
    })();
    await waitFor(() => seen.length > 0, "the invoice's subscription");
    expect(await alice!.pay(inv.json.payment_request).outcome).toMatchObject({ status: "succeeded" });
    await watching;
    // When lnd reports SETTLED, the wallet had already booked (and pushed) the credit.
    expect(seen).toEqual(["lnd:OPEN", "lnd:ACCEPTED", "lnd:SETTLED", "wallet:invoice.paid"]);
    stream.ws.close();
  });

  it("pays an outside invoice through a second hop (hub → alice → bob): fee > 0 and within the maximum, the rest of the hold refunded", async () => {
    const a = await account("tx");
    await fund(a, 100_000);
    const out = await bob!.addInvoice(20_000, "two hops");
    const p = await payLn(a, out.payment_request);
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json).toMatchObject({ status: "succeeded", payment_hash: out.payment_hash, amount_msat: 20_000_000 });
    expect(p.json.fee_msat).toBeGreaterThan(0);
    expect(p.json.fee_msat).toBeLessThanOrEqual(100_000); // max(10 sat, 0.5 %) of 20,000 sat
    expect(sha256Hex(p.json.preimage)).toBe(out.payment_hash);
    // The hold was amount + maximum fee; the unused fee came back.
    expect(await walletOf(a)).toMatchObject({ balance_msat: 100_000_000 - 20_000_000 - p.json.fee_msat, pending_out_msat: 0 });
    expect(await lastTransaction(a)).toMatchObject({ kind: "lightning", direction: "out", status: "succeeded", fee_msat: p.json.fee_msat });
    expect(await eventTypes(a)).toEqual(["faucet.credited", "payment.pending", "payment.succeeded"]);

    const { payment } = await hubLnd.waitForPayment(out.payment_hash, { waitMs: 5000 });
    const route = payment!.htlcs.find((h) => h.status === "SUCCEEDED")!.route!;
    expect(route.hops.map((h) => h.pub_key)).toEqual([ctx!.alice.pubkey, ctx!.bob.pubkey]);
    expect(payment!.fee_msat).toBe(p.json.fee_msat);
    expect((await bob!.ok("GET", `/v2/invoices/lookup?payment_hash=${hexToBase64Url(out.payment_hash)}`)).state).toBe("SETTLED");
  });

  it("estimates the fee of an outside invoice from lnd's graph (what paying it then costs); a hub invoice is internal", async () => {
    const a = await account("tx");
    await fund(a, 50_000);
    const out = await bob!.addInvoice(30_000, "estimate");
    const estimate = await api("POST", "/v1/payments/lightning/estimate", { body: { payment_request: out.payment_request }, token: a.access_token });
    expect(estimate.status, JSON.stringify(estimate.json)).toBe(200);
    expect(estimate.json).toMatchObject({ internal: false, max_fee_msat: 150_000 });
    expect(estimate.json.fee_msat).toBeGreaterThan(0);
    const paid = await payLn(a, out.payment_request);
    expect(paid.json).toMatchObject({ status: "succeeded", fee_msat: estimate.json.fee_msat });

    const b = await account("rx");
    const own = await api("POST", "/v1/invoices", { body: { amount_sat: 10 }, token: b.access_token });
    const internal = await api("POST", "/v1/payments/lightning/estimate", { body: { payment_request: own.json.payment_request }, token: a.access_token });
    expect(internal.json).toEqual({ fee_msat: 0, internal: true, max_fee_msat: 0 });
  });

  it("no route: an invoice of a node the hub has no path to, and an amount beyond its channels, fail and release the hold", async () => {
    const a = await account("tx");
    await fund(a, 10_000);
    const { encodeInvoice } = await import("../../src/bolt11");
    const key = crypto.getRandomValues(new Uint8Array(32));
    key[0] = 1;
    const nowhere = encodeInvoice(
      {
        network: "regtest",
        amount_msat: 1_000_000,
        timestamp: Math.floor(Date.now() / 1000),
        payment_hash: sha256Hex(randomHex32()),
        payment_secret: "22".repeat(32),
        description: "nowhere",
        expiry_s: 600,
      },
      key,
    );
    const p = await payLn(a, nowhere);
    expect(p.json, JSON.stringify(p.json)).toMatchObject({ status: "failed", failure_reason: "FAILURE_REASON_NO_ROUTE" });
    expect(await walletOf(a)).toMatchObject({ balance_msat: 10_000_000, pending_out_msat: 0 });

    // 12M sat: more than the hub node can send over all its channels (~11M sat outbound).
    const b = await account("tx");
    // Level 2: the 24 h withdrawal limit (50M sat) must not be what refuses it (level 1 allows 5M).
    expect(await walletStub(b.wallet_id).setLevel(2)).toMatchObject({ level: 2 });
    await fund(b, 10_000_000);
    await fund(b, 2_100_000);
    const big = await bob!.addInvoice(12_000_000, "too big");
    const q = await payLn(b, big.payment_request);
    expect(q.json.status, JSON.stringify(q.json)).toBe("failed");
    expect(q.json.failure_reason).toBe("FAILURE_REASON_INSUFFICIENT_BALANCE");
    expect(await walletOf(b)).toMatchObject({ balance_msat: 12_100_000_000, pending_out_msat: 0 });
    expect(await eventTypes(b)).toEqual(["faucet.credited", "faucet.credited", "payment.pending", "payment.failed"]);
  });

  it("lnd restarted while a payment is in flight: the hold stays while lnd is down, the alarm reconciles it once bob settles", async () => {
    const a = await account("tx");
    await fund(a, 50_000);
    const held = await bob!.addHoldInvoice(10_000);
    const p = await payLn(a, held.payment_request);
    expect(p.json, JSON.stringify(p.json)).toMatchObject({ status: "pending" });
    await waitFor(async () => (await held.state()) === "ACCEPTED", "bob holding the HTLC", 20_000);
    const holding = { balance_msat: 50_000_000 - 10_050_000, pending_out_msat: 10_050_000 }; // amount + max(10 sat, 0.5 %)
    expect(await walletOf(a)).toMatchObject(holding);

    await control!.stop("hub");
    // lnd unreachable: the outcome is unknown, so nothing is released.
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    expect(await walletOf(a)).toMatchObject(holding);
    expect((await lastTransaction(a)).status).toBe("pending");

    await control!.start("hub");
    await held.settle(); // bob takes the money; alice and the hub settle once their link is back
    await waitFor(
      async () => {
        await runDurableObjectAlarm(walletStub(a.wallet_id));
        return (await lastTransaction(a)).status === "succeeded";
      },
      "the payment reconciled as succeeded",
      60_000,
    );
    const done = await payLn(a, held.payment_request, {}, newKey());
    expect(done.status).toBe(409); // the hash is paid: a new request is refused
    const tx = await lastTransaction(a);
    expect(tx.fee_msat).toBeGreaterThan(0);
    expect(tx.fee_msat).toBeLessThanOrEqual(50_000);
    expect(await walletOf(a)).toMatchObject({ balance_msat: 50_000_000 - 10_000_000 - tx.fee_msat, pending_out_msat: 0 });
    expect(await eventTypes(a)).toEqual(["faucet.credited", "payment.pending", "payment.succeeded"]);
    const { payment } = await hubLnd.waitForPayment(held.payment_hash, { waitMs: 5000 });
    expect(payment).toMatchObject({ status: "SUCCEEDED", payment_preimage: held.preimage, fee_msat: tx.fee_msat });
  });

  it("two hub users paying each other by invoice: settled inside the hub, no fee, no lnd payment", async () => {
    const [a, b] = [await account("tx"), await account("rx")];
    await fund(a, 10_000);
    const inv = await api("POST", "/v1/invoices", { body: { amount_sat: 4000, memo: "internal" }, token: b.access_token });
    const p = await payLn(a, inv.json.payment_request);
    expect(p.json).toMatchObject({ status: "succeeded", fee_msat: 0, amount_msat: 4_000_000 });
    expect(sha256Hex(p.json.preimage)).toBe(inv.json.payment_hash);
    expect(await balanceOf(a)).toBe(6_000_000);
    expect(await balanceOf(b)).toBe(4_000_000);
    expect((await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: b.access_token })).json.status).toBe("paid");
    // lnd never saw a payment for this hash, and its hold invoice is canceled so no outside HTLC can pay it.
    const tracked = await hubLnd.waitForPayment(inv.json.payment_hash, { waitMs: 2000 }).catch((e: unknown) => e);
    expect(tracked).toBeInstanceOf(LndError);
    expect(tracked).toMatchObject({ code: GrpcCode.NOT_FOUND, message: "payment isn't initiated" });
    await waitFor(async () => (await hubLnd.lookupInvoice(inv.json.payment_hash)).state === "CANCELED", "the lnd hold invoice canceled", 10_000);
    const outside = await alice!.pay(inv.json.payment_request).outcome;
    expect(outside.status).not.toBe("succeeded");
    expect(await balanceOf(b)).toBe(4_000_000);
    expect(await eventTypes(b)).toEqual(["invoice.paid"]);
  });
});
