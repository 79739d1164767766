// Payment options against real lnd (docs/decisions/0025): keysend from a hub wallet to alice (lnd
// --accept-keysend), spontaneous AMP to alice (--accept-amp), AMP invoices both ways (alice pays the hub's twice;
// the hub pays alice's), and a payment too large for any one of the hub's channels to alice, split by
// lnd over both (MPP, max_parts). Conservation after each.

import { afterEach, describe, expect, it } from "vitest";
import { createLndClient } from "../../src/lightning";
import { sha256HexOfBytes } from "../../src/hash";
import { hexToBase64Url, hexToBytes } from "../../src/lightning/bytes";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, waitFor, walletStub, type TestAccount } from "../helpers";
import { Rest, regtestContext } from "./regtest";

const ctx = regtestContext();
const base64ToHex = (b64: string) => Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

describe.skipIf(!ctx)("payment options against real lnd", () => {
  const hubLnd = createLndClient({ baseUrl: ctx?.hub.restUrl ?? "http://unused", fetch: (input, init) => fetch(input, init), macaroonHex: ctx?.hub.macaroonHex });
  const alice = ctx && new Rest(ctx.alice);
  const wallets: TestAccount[] = [];
  const account = async (prefix: string) => {
    const a = await createAccount(prefix);
    wallets.push(a);
    return a;
  };

  afterEach(async () => {
    const audits = await Promise.all(wallets.map((a) => auditOf(a.wallet_id)));
    expectConservation(audits);
    for (const a of audits) expect(a.problems).toEqual([]);
  });

  it("keysend: a wallet pays alice by her public key; alice's lnd settles a keysend invoice with the hub's preimage", async () => {
    const a = await account("ksr");
    await fund(a, 20_000);
    const r = await api("POST", "/v1/payments/keysend", { token: a.access_token, key: newKey(), body: { destination: ctx!.alice.pubkey, amount_sat: 1_500, memo: "keysend" } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "succeeded", amount_msat: 1_500_000 });
    expect(await sha256HexOfBytes(hexToBytes(r.json.preimage))).toBe(r.json.payment_hash);
    expect(await balanceOf(a)).toBe(20_000_000 - 1_500_000 - r.json.fee_msat);
    const { invoices } = await alice!.ok("GET", "/v1/invoices?reversed=true&num_max_invoices=20");
    const received = invoices.find((i: { r_hash: string }) => base64ToHex(i.r_hash) === r.json.payment_hash);
    expect(received).toMatchObject({ is_keysend: true, state: "SETTLED", amt_paid_sat: "1500" });
    expect(base64ToHex(received.r_preimage)).toBe(r.json.preimage);
    // The hub's own node is refused, nothing moved.
    const own = await api("POST", "/v1/payments/keysend", { token: a.access_token, key: newKey(), body: { destination: ctx!.hub.pubkey, amount_sat: 1_000 } });
    expect(own.status).toBe(400);
    expect(await balanceOf(a)).toBe(20_000_000 - 1_500_000 - r.json.fee_msat);
  });

  it("AMP: a wallet pays alice by spontaneous AMP (lnd --accept-amp); the set id lnd drew is answered, the hub's payment address is on its parts", async () => {
    const a = await account("amp");
    await fund(a, 20_000);
    const key = newKey();
    const body = { destination: ctx!.alice.pubkey, amount_sat: 2_500, memo: "amp", amp: true };
    const r = await api("POST", "/v1/payments/keysend", { token: a.access_token, key, body });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "succeeded", amount_msat: 2_500_000 });
    expect(r.json.amp_set_id).toMatch(/^[0-9a-f]{64}$/);
    expect(await balanceOf(a)).toBe(20_000_000 - 2_500_000 - r.json.fee_msat);
    // The hub's lnd knows the payment by the set id; the hub's payment address is on its parts (how it is found after a crash).
    const outcome = await hubLnd.waitForPayment(r.json.amp_set_id, { waitMs: 5_000 });
    expect(outcome.final && outcome.payment.status).toBe("SUCCEEDED");
    const settled = outcome.payment!.htlcs.filter((h) => h.status === "SUCCEEDED");
    expect(settled.length).toBeGreaterThanOrEqual(1);
    for (const h of settled) expect(h.route!.hops.at(-1)!.mpp_payment_addr).toBe(r.json.payment_hash);
    const since = Math.floor(Date.now() / 1000) - 600;
    const listed = await hubLnd.listPayments({ include_incomplete: true, creation_date_start: since });
    expect(listed.filter((p) => p.htlcs.some((h) => h.route?.hops.at(-1)?.mpp_payment_addr === r.json.payment_hash)).map((p) => p.payment_hash)).toEqual([r.json.amp_set_id]);
    // Alice's lnd settled an AMP invoice for it.
    const { invoices } = await alice!.ok("GET", "/v1/invoices?reversed=true&num_max_invoices=20");
    const received = invoices.filter((i: { is_amp: boolean; state: string }) => i.is_amp && i.state === "SETTLED");
    expect(received.some((i: { amt_paid_sat: string }) => i.amt_paid_sat === "2500"), JSON.stringify(received)).toBe(true);
    // A retry with the key: the same payment, nothing more moved.
    const again = await api("POST", "/v1/payments/keysend", { token: a.access_token, key, body });
    expect([again.json.payment_hash, again.json.amp_set_id]).toEqual([r.json.payment_hash, r.json.amp_set_id]);
    expect(await balanceOf(a)).toBe(20_000_000 - 2_500_000 - r.json.fee_msat);
  });

  it("AMP invoice, received: alice pays the hub's AMP invoice twice (SendPaymentV2 amp) — credited twice, once per set id lnd drew", async () => {
    const a = await account("ampin");
    const inv = await api("POST", "/v1/invoices", { token: a.access_token, body: { amount_sat: 1_200, memo: "amp in", amp: true } });
    expect(inv.status, JSON.stringify(inv.json)).toBe(201);
    expect(inv.json).toMatchObject({ amp: true, status: "open" });
    const sets: string[] = [];
    for (let i = 0; i < 2; i++) {
      const payment = alice!.pay(inv.json.payment_request, { amp: true });
      const outcome = await payment.outcome;
      expect(outcome.status, JSON.stringify(outcome)).toBe("succeeded");
      sets.push(payment.updates.at(-1).payment_hash);
    }
    expect(sets[0]).not.toBe(sets[1]);
    await waitFor(async () => (await balanceOf(a)) === 2_400_000, "both AMP payments credited", 20_000);
    // The hub's lnd reports both sets on the one invoice, which stays payable.
    const lookedUp = await hubLnd.lookupInvoice(inv.json.payment_hash);
    expect(lookedUp.is_amp).toBe(true);
    expect(Object.keys(lookedUp.amp_invoice_state).sort()).toEqual([...sets].sort());
    const after = (await api("GET", `/v1/invoices/${inv.json.payment_hash}`, { token: a.access_token })).json;
    expect(after).toMatchObject({ status: "open", paid_msat: 2_400_000 });
    expect(after.amp_payments.map((p: { set_id: string }) => p.set_id).sort()).toEqual([...sets].sort());
    const events = (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events.filter((e: { type: string }) => e.type === "invoice.paid");
    expect(events.map((e: { data: { amp_set_id: string } }) => e.data.amp_set_id).sort()).toEqual([...sets].sort());
  });

  it("AMP invoice, paid: a wallet pays alice's AMP invoice (AddInvoice is_amp) — settled at lnd's fee under the set id lnd drew; paid again, a second set", async () => {
    const a = await account("ampout");
    await fund(a, 20_000);
    const added = await alice!.ok("POST", "/v1/invoices", { value: "1800", memo: "amp out", is_amp: true });
    const payment_request = added.payment_request as string;
    const paid: { set: string; fee: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await api("POST", "/v1/payments/lightning", { token: a.access_token, key: newKey(), body: { payment_request } });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json).toMatchObject({ status: "succeeded", amount_msat: 1_800_000, payment_hash: base64ToHex(added.r_hash) });
      expect(r.json.amp_set_id).toMatch(/^[0-9a-f]{64}$/);
      const outcome = await hubLnd.waitForPayment(r.json.amp_set_id, { waitMs: 5_000 });
      expect(outcome.final && outcome.payment.status).toBe("SUCCEEDED");
      expect(r.json.fee_msat).toBe(outcome.payment!.fee_msat);
      paid.push({ set: r.json.amp_set_id, fee: r.json.fee_msat });
    }
    expect(paid[0]!.set).not.toBe(paid[1]!.set);
    expect(await balanceOf(a)).toBe(20_000_000 - 2 * 1_800_000 - paid[0]!.fee - paid[1]!.fee);
    // Alice's lnd settled both sets on its one invoice.
    const theirs = await alice!.ok("GET", `/v2/invoices/lookup?payment_hash=${hexToBase64Url(base64ToHex(added.r_hash))}`);
    expect(Object.keys(theirs.amp_invoice_state ?? {}).sort()).toEqual(paid.map((p) => p.set).sort());
    // The hub's lnd lists both under the invoice's payment request (how a lost answer is found again).
    const listed = await hubLnd.listPayments({ include_incomplete: true, creation_date_start: Math.floor(Date.now() / 1000) - 600 });
    expect(listed.filter((p) => p.payment_request === payment_request).map((p) => p.payment_hash).sort()).toEqual(paid.map((p) => p.set).sort());
  });

  it("MPP: 6.5M sat to alice, more than any one of the hub's channels to her holds, arrives in several parts", async () => {
    const channels = (await hubLnd.listChannels({ active_only: true })).filter((c) => c.remote_pubkey === ctx!.alice.pubkey);
    expect(channels.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...channels.map((c) => c.local_balance))).toBeLessThan(6_500_000);
    const a = await account("mpp");
    expect(await walletStub(a.wallet_id).setLevel(2)).not.toHaveProperty("code");
    await fund(a, 7_000_000);
    const invoice = await alice!.addInvoice(6_500_000, "mpp");
    const r = await api("POST", "/v1/payments/lightning", { token: a.access_token, key: newKey(), body: { payment_request: invoice.payment_request } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(7_000_000_000 - 6_500_000_000 - r.json.fee_msat);
    const outcome = await hubLnd.waitForPayment(invoice.payment_hash, { waitMs: 5_000 });
    expect(outcome.final).toBe(true);
    const parts = outcome.payment!.htlcs.filter((h) => h.status === "SUCCEEDED");
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(parts.map((h) => h.route!.hops[0]!.chan_id)).size).toBeGreaterThanOrEqual(2);
    expect(parts.reduce((s, h) => s + h.route!.total_amt_msat - h.route!.total_fees_msat, 0)).toBe(6_500_000_000);
  });
});
