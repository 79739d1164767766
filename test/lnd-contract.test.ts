// Contract suite: the hub's LND client (src/lightning) against an LND.
//
// Everything goes through the production client. What LND's API cannot do
// (pay a hub invoice from outside, issue an outside invoice, inject faults)
// goes through the small `Harness` below. Here the harness is the simulator
// (sim/), reached through the LND_SIM service binding; each test gets its own
// knob scope (base URL http://lnd/scope/<id>), so knobs never leak. Pointed at
// real LND on regtest, a harness would drive a second node for the outside
// world and set `faults` to null, skipping the fault-injection tests.
//
// The simulated network is shared with every other test file running at the
// same time, so assertions only look at this test's own invoices, payments
// and (for exact balance changes) the hub's channel to erin, a leaf no other
// route crosses.

import { env } from "cloudflare:workers";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { decodeInvoice as decodeBolt11 } from "../src/bolt11";
import {
  GrpcCode,
  LndError,
  LndUnreachableError,
  createLndClient,
  type Invoice,
  type LndClientConfig,
  type LndRestClient,
  type Payment,
} from "../src/lightning";

// ------------------------------------------------------------------ harness

type OutsideNode = "dave" | "erin";

interface PayOutcome {
  status: "succeeded" | "pending" | "failed";
  preimage?: string;
}

interface Faults {
  /** Sets knobs for this session only (see sim/knobs.ts). */
  set(knobs: Record<string, unknown>): Promise<void>;
}

interface Session {
  client(extra?: Partial<LndClientConfig>): LndRestClient;
  /** An invoice of an outside node that the hub node can pay. */
  outsideInvoice(req: { amountSat: number; memo?: string; expirySeconds?: number; payee?: OutsideNode }): Promise<{
    payment_request: string;
    payment_hash: string;
  }>;
  /** The outside world pays a hub invoice; resolves once it settles, fails, or `waitMs` passes. */
  payHubInvoice(paymentRequest: string, opts: { waitMs: number; amountSat?: number; payer?: OutsideNode }): Promise<PayOutcome>;
  outsidePubkey(node: OutsideNode): Promise<string>;
  faults: Faults | null;
}

interface Harness {
  session(): Session;
}

const simBinding = (env as unknown as { LND_SIM: Fetcher }).LND_SIM;

async function simCall(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await simBinding.fetch(`http://lnd${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const simulator: Harness = {
  session(): Session {
    const scope = `/scope/contract-${crypto.randomUUID()}`;
    const ok = async (path: string, body?: unknown) => {
      const r = await simCall(scope + path, body);
      if (r.status !== 200) throw new Error(`sim ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    return {
      client: (extra = {}) =>
        createLndClient({ baseUrl: `http://lnd${scope}`, fetch: (input, init) => simBinding.fetch(input, init), ...extra }),
      outsideInvoice: ({ amountSat, memo, expirySeconds, payee }) =>
        ok("/sim/invoices", { amount_sat: amountSat, memo, expiry_s: expirySeconds, payee }),
      payHubInvoice: (pr, { waitMs, amountSat, payer }) =>
        ok("/sim/pay", { payment_request: pr, wait_ms: waitMs, amount_sat: amountSat, payer }),
      outsidePubkey: async (node) => ((await ok("/sim/info")).nodes as { name: string; pubkey: string }[]).find((n) => n.name === node)!.pubkey,
      faults: { set: async (knobs) => void (await ok("/sim/knobs", knobs)) },
    };
  },
};

const harness: Harness = simulator;

// ------------------------------------------------------------------ helpers

const sha256Hex = (hex: string) => bytesToHex(sha256(hexToBytes(hex)));
const randomHex32 = () => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Collects a single-invoice subscription in the background until LND ends it. */
function watchInvoice(client: LndRestClient, hash: string): { states: Invoice[]; done: Promise<void> } {
  const states: Invoice[] = [];
  const done = (async () => {
    for await (const inv of client.subscribeSingleInvoice(hash)) states.push(inv);
  })();
  return { states, done };
}

async function newHoldInvoice(client: LndRestClient, valueMsat: number, extra: { memo?: string; expiry?: number } = {}) {
  const preimage = randomHex32();
  const hash = sha256Hex(preimage);
  const added = await client.addHoldInvoice({ hash, value_msat: valueMsat, ...extra });
  return { preimage, hash, ...added };
}

const send = (paymentRequest: string, feeLimitMsat = 50_000) => ({
  payment_request: paymentRequest,
  fee_limit_msat: feeLimitMsat,
  timeout_seconds: 30,
});

// ------------------------------------------------------------------ suite

describe("node", () => {
  it("reports its identity on regtest, and its state without a macaroon", async () => {
    const client = harness.session().client();
    const info = await client.getInfo();
    expect(info.identity_pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(info.chains).toEqual([{ chain: "bitcoin", network: "regtest" }]);
    expect(info).toMatchObject({ synced_to_chain: true, synced_to_graph: true });
    expect(info.num_active_channels).toBeGreaterThan(0);
    expect(info.block_height).toBeGreaterThan(0);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+-beta/);
    expect(await client.getState()).toBe("SERVER_ACTIVE");
  });
});

describe("hold invoices", () => {
  it("issues a signed BOLT 11 invoice, is paid, held as ACCEPTED, settled; the payer learns the preimage", async () => {
    const session = harness.session();
    const client = session.client();
    const info = await client.getInfo();
    const inv = await newHoldInvoice(client, 150_000, { memo: "coffee", expiry: 600 });
    expect(inv.add_index).toBeGreaterThan(0);

    const decoded = decodeBolt11(inv.payment_request);
    expect(decoded).toMatchObject({
      network: "regtest",
      payee: info.identity_pubkey,
      amount_msat: 150_000,
      payment_hash: inv.hash,
      description: "coffee",
      description_hash: null,
      expiry_s: 600,
      payment_secret: inv.payment_addr,
    });
    expect(await client.lookupInvoice(inv.hash)).toMatchObject({
      state: "OPEN",
      r_hash: inv.hash,
      r_preimage: null,
      value_msat: 150_000,
      value: 150,
      memo: "coffee",
      payment_request: inv.payment_request,
      add_index: inv.add_index,
      settle_index: 0,
      amt_paid_msat: 0,
      htlcs: [],
    });

    const watch = watchInvoice(client, inv.hash);
    await until(() => watch.states.length > 0, "the current state");
    const payer = session.payHubInvoice(inv.payment_request, { waitMs: 10_000 });

    await until(() => watch.states.some((s) => s.state === "ACCEPTED"), "ACCEPTED on the subscription");
    const accepted = await client.lookupInvoice(inv.hash);
    expect(accepted).toMatchObject({ state: "ACCEPTED", amt_paid_msat: 150_000, r_preimage: null });
    expect(accepted.htlcs).toHaveLength(1);
    expect(accepted.htlcs[0]).toMatchObject({ state: "ACCEPTED", amt_msat: 150_000, resolve_time: 0 });
    expect(accepted.htlcs[0]!.expiry_height).toBeGreaterThan(info.block_height);

    await client.settleInvoice(inv.preimage);
    await watch.done; // LND ends the subscription after SETTLED
    expect(watch.states.map((s) => s.state)).toEqual(["OPEN", "ACCEPTED", "SETTLED"]);
    expect(watch.states[2]).toMatchObject({ r_preimage: inv.preimage, amt_paid_msat: 150_000 });
    expect(watch.states[2]!.settle_index).toBeGreaterThan(0);
    expect(watch.states[2]!.htlcs[0]).toMatchObject({ state: "SETTLED" });

    expect(await payer).toEqual(expect.objectContaining({ status: "succeeded", preimage: inv.preimage }));
    await client.settleInvoice(inv.preimage); // settling again succeeds
    expect((await client.lookupInvoice(inv.hash)).state).toBe("SETTLED");
    expect(await caught(client.cancelInvoice(inv.hash))).toMatchObject({
      name: "LndError",
      code: GrpcCode.UNKNOWN,
      message: "invoice already settled",
    });
  });

  it("puts a description hash in the invoice instead of the memo", async () => {
    const client = harness.session().client();
    const descriptionHash = sha256Hex(bytesToHex(utf8ToBytes('[["text/plain","lnurl"]]')));
    const hash = randomHex32();
    const added = await client.addHoldInvoice({ hash, value_msat: 2_000, memo: "ignored", description_hash: descriptionHash, cltv_expiry: 144 });
    expect(decodeBolt11(added.payment_request)).toMatchObject({
      description: null,
      description_hash: descriptionHash,
      min_final_cltv_expiry: 144,
    });
    expect(await client.lookupInvoice(hash)).toMatchObject({ description_hash: descriptionHash, cltv_expiry: 144 });
  });

  it("cancels a held invoice: the HTLC is failed back to the payer; canceling again is fine", async () => {
    const session = harness.session();
    const client = session.client();
    const inv = await newHoldInvoice(client, 20_000);
    const watch = watchInvoice(client, inv.hash);
    expect(await session.payHubInvoice(inv.payment_request, { waitMs: 0 })).toMatchObject({ status: "pending" });
    await until(async () => (await client.lookupInvoice(inv.hash)).state === "ACCEPTED", "ACCEPTED");

    const payer = session.payHubInvoice(inv.payment_request, { waitMs: 0 }).catch((e: Error) => e.message);
    expect(await payer).toMatch(/invoice_already_paid/); // one HTLC set per invoice

    await client.cancelInvoice(inv.hash);
    await watch.done;
    expect(watch.states.map((s) => s.state)).toEqual(["OPEN", "ACCEPTED", "CANCELED"]);
    const canceled = await client.lookupInvoice(inv.hash);
    expect(canceled).toMatchObject({ state: "CANCELED", settle_index: 0 });
    expect(canceled.htlcs[0]).toMatchObject({ state: "CANCELED" });
    await client.cancelInvoice(inv.hash);
    expect(await caught(client.settleInvoice(inv.preimage))).toMatchObject({ code: GrpcCode.UNKNOWN, message: "invoice already canceled" });
  });

  it("refuses to settle an open invoice, an unknown preimage, and a duplicate hash", async () => {
    const client = harness.session().client();
    const inv = await newHoldInvoice(client, 1_000);
    expect(await caught(client.settleInvoice(inv.preimage))).toMatchObject({ code: GrpcCode.UNKNOWN, httpStatus: 500, message: "invoice still open" });
    expect(await caught(client.settleInvoice(randomHex32()))).toMatchObject({ code: GrpcCode.UNKNOWN, message: "unable to locate invoice" });
    const dup = await caught(client.addHoldInvoice({ hash: inv.hash, value_msat: 1_000 }));
    expect(dup).toBeInstanceOf(LndError);
    expect(dup.message).toBe("invoice with payment hash already exists");
    expect(await caught(client.lookupInvoice(randomHex32()))).toMatchObject({ code: GrpcCode.NOT_FOUND, httpStatus: 404 });
  });

  it("cancels an open invoice when it expires", async () => {
    const session = harness.session();
    const client = session.client();
    const inv = await newHoldInvoice(client, 5_000, { expiry: 1 });
    const watch = watchInvoice(client, inv.hash);
    await watch.done; // ends with CANCELED
    expect(watch.states.map((s) => s.state)).toEqual(["OPEN", "CANCELED"]);
    expect((await client.lookupInvoice(inv.hash)).state).toBe("CANCELED");
    await expect(session.payHubInvoice(inv.payment_request, { waitMs: 0 })).rejects.toThrow(/invoice_expired/);
  });

  it("SubscribeInvoices reports additions and settlements only", async () => {
    const session = harness.session();
    const client = session.client();
    const canceled = randomHex32();
    const preimage = randomHex32();
    const paid = sha256Hex(preimage);
    const ours = new Set([canceled, paid]);
    const events: [string, string][] = [];
    const controller = new AbortController();
    const sub = (async () => {
      for await (const inv of client.subscribeInvoices({}, { signal: controller.signal })) {
        if (ours.has(inv.r_hash)) events.push([inv.r_hash, inv.state]);
      }
    })().catch(() => undefined);
    // Nothing is sent until an event: once a probe's addition arrives, the subscription is live.
    await until(async () => {
      const probe = randomHex32();
      ours.add(probe);
      await client.addHoldInvoice({ hash: probe, value_msat: 1_000 });
      await sleep(50);
      return events.length > 0;
    }, "a probe's addition");
    events.length = 0;

    const toSettle = await client.addHoldInvoice({ hash: paid, value_msat: 3_000 });
    await client.addHoldInvoice({ hash: canceled, value_msat: 4_000 });
    await session.payHubInvoice(toSettle.payment_request, { waitMs: 0 });
    await client.cancelInvoice(canceled);
    await client.settleInvoice(preimage);
    await until(() => events.length >= 3, "three events");
    await sleep(200); // nothing else arrives for these invoices
    controller.abort();
    await sub;
    expect(events).toEqual([
      [paid, "OPEN"],
      [canceled, "OPEN"],
      [paid, "SETTLED"],
    ]);
  });

  it("SubscribeInvoices replays additions after add_index", async () => {
    const client = harness.session().client();
    const first = await newHoldInvoice(client, 1_000);
    const later = [await newHoldInvoice(client, 1_000), await newHoldInvoice(client, 1_000)];
    const seen: string[] = [];
    const controller = new AbortController();
    for await (const inv of client.subscribeInvoices({ add_index: first.add_index }, { signal: controller.signal })) {
      seen.push(inv.r_hash);
      if (later.every((l) => seen.includes(l.hash))) break;
    }
    expect(seen).not.toContain(first.hash);
    expect(seen.indexOf(later[0]!.hash)).toBeLessThan(seen.indexOf(later[1]!.hash));
  });

  it("lists invoices by add_index, forwards and reversed, and pending only", async () => {
    const session = harness.session();
    const client = session.client();
    const mine = [await newHoldInvoice(client, 1_000), await newHoldInvoice(client, 2_000), await newHoldInvoice(client, 3_000)];
    const offset = mine[0]!.add_index - 1;

    const page = await client.listInvoices({ index_offset: offset, num_max_invoices: 2 });
    expect(page.invoices).toHaveLength(2);
    expect(page.invoices[0]!.r_hash).toBe(mine[0]!.hash);
    expect(page.first_index_offset).toBe(page.invoices[0]!.add_index);
    expect(page.last_index_offset).toBe(page.invoices[1]!.add_index);
    const rest = await client.listInvoices({ index_offset: page.last_index_offset, num_max_invoices: 100 });
    expect(rest.invoices[0]!.add_index).toBeGreaterThan(page.last_index_offset);
    expect(rest.invoices.map((i) => i.r_hash)).toContain(mine[2]!.hash);

    const back = await client.listInvoices({ index_offset: mine[2]!.add_index, num_max_invoices: 2, reversed: true });
    expect(back.invoices.map((i) => i.add_index)).toEqual([...back.invoices.map((i) => i.add_index)].sort((x, y) => x - y));
    expect(back.last_index_offset).toBeLessThan(mine[2]!.add_index);

    await session.payHubInvoice(mine[1]!.payment_request, { waitMs: 0 });
    await client.settleInvoice(mine[1]!.preimage);
    const pending = await client.listInvoices({ index_offset: offset, pending_only: true, num_max_invoices: 1000 });
    const pendingHashes = pending.invoices.map((i) => i.r_hash);
    expect(pendingHashes).toContain(mine[0]!.hash);
    expect(pendingHashes).not.toContain(mine[1]!.hash);
    expect(pending.invoices.every((i) => i.state === "OPEN" || i.state === "ACCEPTED")).toBe(true);
  });
});

describe("payments", () => {
  it("pays an outside invoice: IN_FLIGHT then SUCCEEDED, fee within the limit, a preimage matching the hash", async () => {
    const session = harness.session();
    const client = session.client();
    const dave = await session.outsidePubkey("dave");
    const invoice = await session.outsideInvoice({ amountSat: 12_345, memo: "outside" });

    const updates: Payment[] = [];
    for await (const p of client.sendPayment(send(invoice.payment_request, 20_000))) updates.push(p);
    const final = updates.at(-1)!;
    expect(updates.slice(0, -1).every((p) => p.status === "IN_FLIGHT")).toBe(true);
    expect(updates.length).toBeGreaterThan(1);
    expect(final).toMatchObject({
      status: "SUCCEEDED",
      payment_hash: invoice.payment_hash,
      value_msat: 12_345_000,
      value_sat: 12_345,
      failure_reason: "FAILURE_REASON_NONE",
      payment_request: invoice.payment_request,
    });
    expect(sha256Hex(final.payment_preimage!)).toBe(invoice.payment_hash);
    expect(final.fee_msat).toBeGreaterThan(0);
    expect(final.fee_msat).toBeLessThanOrEqual(20_000);
    const htlc = final.htlcs.find((h) => h.status === "SUCCEEDED")!;
    expect(htlc.preimage).toBe(final.payment_preimage);
    expect(htlc.route!.hops.at(-1)).toMatchObject({ pub_key: dave, amt_to_forward_msat: 12_345_000 });
    expect(htlc.route!.total_fees_msat).toBe(final.fee_msat);
    expect(htlc.route!.total_amt_msat).toBe(12_345_000 + final.fee_msat);
  });

  it("payInvoice and waitForPayment return the final state", async () => {
    const session = harness.session();
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 1_000 });
    const outcome = await client.payInvoice(send(invoice.payment_request), { waitMs: 5000 });
    expect(outcome).toMatchObject({ final: true, payment: { status: "SUCCEEDED" } });
    const tracked = await client.waitForPayment(invoice.payment_hash, { waitMs: 5000 });
    expect(tracked).toMatchObject({ final: true, payment: { status: "SUCCEEDED", payment_preimage: outcome.payment!.payment_preimage } });
  });

  it("fails with NO_ROUTE when the fee limit is below every route's fee, and pays a direct peer with no fee", async () => {
    const session = harness.session();
    const client = session.client();
    const far = await session.outsideInvoice({ amountSat: 5_000 });
    const failed = await client.payInvoice(send(far.payment_request, 0), { waitMs: 5000 });
    expect(failed).toMatchObject({
      final: true,
      payment: { status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE", payment_preimage: null, fee_msat: 0 },
    });

    const near = await session.outsideInvoice({ amountSat: 5_000, payee: "erin" });
    const paid = await client.payInvoice(send(near.payment_request, 0), { waitMs: 5000 });
    expect(paid).toMatchObject({ final: true, payment: { status: "SUCCEEDED", fee_msat: 0 } });
  });

  it("refuses a hash that is already paid or in flight with ALREADY_EXISTS", async () => {
    const session = harness.session();
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 2_000 });
    expect((await client.payInvoice(send(invoice.payment_request), { waitMs: 5000 })).final).toBe(true);
    const err = await caught(client.payInvoice(send(invoice.payment_request), { waitMs: 5000 }));
    expect(err).toBeInstanceOf(LndError);
    expect(err).toMatchObject({ code: GrpcCode.ALREADY_EXISTS, httpStatus: 409, message: "invoice is already paid" });
  });

  it("reports an unknown payment hash as NOT_FOUND when tracking", async () => {
    const client = harness.session().client();
    expect(await caught(client.waitForPayment(randomHex32(), { waitMs: 2000 }))).toMatchObject({
      name: "LndError",
      code: GrpcCode.NOT_FOUND,
      httpStatus: 404,
    });
  });

  it("rejects an expired invoice before trying to pay it", async () => {
    const session = harness.session();
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 1_000, expirySeconds: 1 });
    await sleep(2100);
    const err = await caught(client.payInvoice(send(invoice.payment_request), { waitMs: 2000 }));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN });
    expect(err.message).toMatch(/^invoice expired\. Valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
  });

  it("estimates the fee of a route from the graph and by probing an invoice", async () => {
    const session = harness.session();
    const client = session.client();
    const dave = await session.outsidePubkey("dave");
    const info = await client.getInfo();
    const graph = await client.estimateRouteFee({ dest: dave, amt_sat: 30_000 });
    expect(graph.failure_reason).toBe("FAILURE_REASON_NONE");
    expect(graph.routing_fee_msat).toBeGreaterThan(0);
    expect(graph.time_lock_delay).toBeGreaterThan(info.block_height); // LND returns the absolute time lock

    const invoice = await session.outsideInvoice({ amountSat: 30_000 });
    const probe = await client.estimateRouteFee({ payment_request: invoice.payment_request, timeout: 10 });
    expect(probe).toMatchObject({ failure_reason: "FAILURE_REASON_NONE", routing_fee_msat: graph.routing_fee_msat });
    const paid = await client.payInvoice(send(invoice.payment_request, graph.routing_fee_msat), { waitMs: 5000 });
    expect(paid.payment).toMatchObject({ status: "SUCCEEDED", fee_msat: graph.routing_fee_msat });

    const nowhere = "02" + "11".repeat(32);
    expect(await caught(client.estimateRouteFee({ dest: nowhere, amt_sat: 1_000 }))).toMatchObject({
      code: GrpcCode.UNKNOWN,
      message: "unable to find a path to destination",
    });
  });

  it("decodes payment requests", async () => {
    const session = harness.session();
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 777, memo: "decode me", expirySeconds: 1200 });
    const decoded = decodeBolt11(invoice.payment_request);
    const payReq = await client.decodePayReq(invoice.payment_request);
    expect(payReq).toMatchObject({
      destination: decoded.payee,
      payment_hash: invoice.payment_hash,
      num_satoshis: 777,
      num_msat: 777_000,
      description: "decode me",
      description_hash: null,
      expiry: 1200,
      timestamp: decoded.timestamp,
      cltv_expiry: decoded.min_final_cltv_expiry,
      payment_addr: decoded.payment_secret,
    });
    expect(payReq.features["14"]).toEqual({ name: "payment-addr", is_required: true, is_known: true });
    expect(await caught(client.decodePayReq("lnbcrt1garbage"))).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN });
  });
});

describe("channels and balances", () => {
  it("moves the hub's channel balances when it pays and is paid", async () => {
    const session = harness.session();
    const client = session.client();
    const erin = await session.outsidePubkey("erin");
    const erinChannel = async () => {
      const channels = await client.listChannels({ peer: erin });
      expect(channels).toHaveLength(1);
      return channels[0]!;
    };
    const before = await erinChannel();
    expect(before).toMatchObject({ active: true, remote_pubkey: erin, pending_htlcs: [], commitment_type: "ANCHORS" });
    expect(before.local_balance).toBeGreaterThan(100_000);

    // Pay erin (a direct peer: no fee) 40,000 sat.
    const out = await session.outsideInvoice({ amountSat: 40_000, payee: "erin" });
    const paid = await client.payInvoice(send(out.payment_request, 0), { waitMs: 5000 });
    expect(paid.payment).toMatchObject({ status: "SUCCEEDED", fee_msat: 0 });
    const afterSend = await erinChannel();
    expect(afterSend.local_balance).toBe(before.local_balance - 40_000);
    expect(afterSend.remote_balance).toBe(before.remote_balance + 40_000);
    expect(afterSend.total_satoshis_sent).toBe(before.total_satoshis_sent + 40_000);

    // Erin pays a 25,000 sat hub invoice: held as a pending incoming HTLC until settled.
    const inv = await newHoldInvoice(client, 25_000_000);
    await session.payHubInvoice(inv.payment_request, { waitMs: 0, payer: "erin" });
    const held = await erinChannel();
    expect(held.pending_htlcs).toEqual([expect.objectContaining({ incoming: true, amount: 25_000, hash_lock: inv.hash })]);
    expect(held.unsettled_balance).toBe(25_000);
    expect(held.remote_balance).toBe(afterSend.remote_balance - 25_000);
    expect(held.local_balance).toBe(afterSend.local_balance);
    const balance = await client.channelBalance();
    expect(balance.unsettled_remote_balance.sat).toBeGreaterThanOrEqual(25_000);

    await client.settleInvoice(inv.preimage);
    const afterSettle = await erinChannel();
    expect(afterSettle.pending_htlcs).toEqual([]);
    expect(afterSettle.local_balance).toBe(afterSend.local_balance + 25_000);
    expect(afterSettle.total_satoshis_received).toBe(before.total_satoshis_received + 25_000);
  });

  it("reports channel and on-chain balances", async () => {
    const client = harness.session().client();
    const channels = await client.listChannels();
    expect(channels.length).toBeGreaterThan(1);
    for (const c of channels) {
      expect(c.chan_id).toMatch(/^\d+$/);
      expect(c.capacity).toBeGreaterThanOrEqual(c.local_balance + c.remote_balance);
    }
    const balance = await client.channelBalance();
    expect(balance.local_balance.sat).toBeGreaterThan(1_000_000);
    expect(balance.local_balance.msat).toBeGreaterThanOrEqual(balance.local_balance.sat * 1000);
    expect(balance.remote_balance.sat).toBeGreaterThan(1_000_000);
    const wallet = await client.walletBalance();
    expect(wallet.confirmed_balance).toBeGreaterThan(0);
    expect(wallet.total_balance).toBe(wallet.confirmed_balance + wallet.unconfirmed_balance);
  });
});

describe("faults (fault injection: skipped where the harness cannot do it)", () => {
  const faulty = harness.session().faults !== null;

  it.runIf(faulty)("fails every send with NO_ROUTE under no_route", async () => {
    const session = harness.session();
    await session.faults!.set({ no_route: true });
    const invoice = await session.outsideInvoice({ amountSat: 1_000, payee: "erin" });
    const outcome = await session.client().payInvoice(send(invoice.payment_request), { waitMs: 5000 });
    expect(outcome).toMatchObject({ final: true, payment: { status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE", htlcs: [] } });
  });

  it.runIf(faulty)("keeps a payment in flight, then succeeds: seen through trackPayment", async () => {
    const session = harness.session();
    await session.faults!.set({ payment_in_flight_ms: 1500 });
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 3_000 });
    const first = await client.payInvoice(send(invoice.payment_request), { waitMs: 300 });
    expect(first).toMatchObject({ final: false, payment: { status: "IN_FLIGHT", payment_hash: invoice.payment_hash } });
    expect(first.payment!.htlcs.at(-1)).toMatchObject({ status: "IN_FLIGHT" });

    const again = await caught(client.payInvoice(send(invoice.payment_request), { waitMs: 1000 }));
    expect(err(again)).toMatchObject({ code: GrpcCode.ALREADY_EXISTS, message: "payment is in transition" });

    const states: string[] = [];
    for await (const p of client.trackPayment(invoice.payment_hash)) states.push(p.status);
    expect(states[0]).toBe("IN_FLIGHT"); // the current state first
    expect(states.at(-1)).toBe("SUCCEEDED");
    const done = await client.waitForPayment(invoice.payment_hash, { waitMs: 2000 });
    expect(sha256Hex(done.payment!.payment_preimage!)).toBe(invoice.payment_hash);
  });

  it.runIf(faulty)("keeps a payment in flight, then fails it; the hash can be paid again after the failure", async () => {
    const session = harness.session();
    await session.faults!.set({ payment_in_flight_ms: 500, payment_outcome: "fail" });
    const client = session.client();
    const invoice = await session.outsideInvoice({ amountSat: 4_000 });
    const pending = await client.payInvoice(send(invoice.payment_request), { waitMs: 100 });
    expect(pending.final).toBe(false);
    const done = await client.waitForPayment(invoice.payment_hash, { waitMs: 5000 });
    expect(done).toMatchObject({
      final: true,
      payment: { status: "FAILED", failure_reason: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS", payment_preimage: null },
    });
    expect(done.payment!.htlcs.at(-1)!.failure).toMatchObject({ code: "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS" });

    await session.faults!.set({ payment_in_flight_ms: 0, payment_outcome: "succeed" });
    const retry = await client.payInvoice(send(invoice.payment_request), { waitMs: 5000 });
    expect(retry).toMatchObject({ final: true, payment: { status: "SUCCEEDED" } });
  });

  it.runIf(faulty)("reports an unreachable node as LndUnreachableError", async () => {
    const session = harness.session();
    const client = session.client();
    await session.faults!.set({ unreachable: "503" });
    expect(await caught(client.getInfo())).toMatchObject({ name: "LndUnreachableError", reason: "bad_gateway", httpStatus: 503 });
    expect(await caught(client.lookupInvoice(randomHex32()))).toBeInstanceOf(LndUnreachableError);
    const stream = await caught(client.waitForPayment(randomHex32(), { waitMs: 2000 }));
    expect(stream).toMatchObject({ name: "LndUnreachableError", reason: "bad_gateway" });

    await session.faults!.set({ unreachable: "drop" });
    expect(await caught(client.getInfo())).toMatchObject({ name: "LndUnreachableError", reason: "network" });

    await session.faults!.set({ unreachable: false });
    expect((await client.getInfo()).identity_pubkey).toMatch(/^0[23]/);
  });

  it.runIf(faulty)("times out slow answers", async () => {
    const session = harness.session();
    await session.faults!.set({ slow_ms: 1500 });
    const started = Date.now();
    const err = await caught(session.client({ timeoutMs: 200 }).getInfo());
    expect(err).toMatchObject({ name: "LndUnreachableError", reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(1400);
    expect((await session.client({ timeoutMs: 5000 }).getInfo()).identity_pubkey).toMatch(/^0[23]/);
  });

  it.runIf(faulty)("checks the macaroon when one is configured", async () => {
    const session = harness.session();
    const macaroon = "0201036c6e6402f801030a10" + randomHex32().slice(0, 16);
    await session.faults!.set({ macaroon_hex: macaroon });
    expect(await caught(session.client().getInfo())).toMatchObject({
      name: "LndError",
      code: GrpcCode.UNKNOWN,
      httpStatus: 500,
      message: "expected 1 macaroon, got 0",
    });
    expect(await caught(session.client({ macaroonHex: "0201" }).getInfo())).toMatchObject({
      message: "verification failed: signature mismatch after caveat verification",
    });
    expect(await caught(session.client().waitForPayment(randomHex32(), { waitMs: 2000 }))).toMatchObject({
      code: GrpcCode.UNKNOWN,
      message: "expected 1 macaroon, got 0",
    });
    expect((await session.client({ macaroonHex: macaroon }).getInfo()).identity_pubkey).toMatch(/^0[23]/);
    expect(await session.client().getState()).toBe("SERVER_ACTIVE"); // no macaroon needed
  });
});

const err = (e: unknown) => e as LndError;
