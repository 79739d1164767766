// The LND contract suite: what the hub relies on LND's REST API to do, checked through the
// production client (src/lightning), plus the wire conventions seen raw. One suite body, two
// runs of it:
//
// - test/lnd-contract.test.ts: against the simulator (sim/), in `npm test`;
// - test/regtest/lnd-contract.test.ts: against real lnd 0.21.3 on regtest (`npm run test:regtest`).
//
// Whatever LND's API cannot do (an outside node issues an invoice, pays a hub invoice, holds a
// payment, faults) goes through the `Harness`. Every test the harness can support runs both
// ways, so any difference between the simulator and LND fails one of the two runs. Tests that
// need fault injection run only where `session.faults` exists (the simulator).
//
// Outside nodes are named by role: "far" is two hops away (the hub pays it through a peer, for
// a fee), "near" is a direct peer (no fee). The simulator's far is dave, near erin; on regtest
// far is bob (hub -> alice -> bob), near alice.
//
// The node is shared with the other tests of the run, so assertions look only at this test's
// own invoices and payments, and at balances of the channels to "near" (no other route crosses
// them while this file runs).

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { decodeInvoice as decodeBolt11 } from "../../src/bolt11";
import {
  GrpcCode,
  LndError,
  LndUnreachableError,
  type Channel,
  type Invoice,
  type LndClientConfig,
  type LndRestClient,
  type Payment,
} from "../../src/lightning";

// ------------------------------------------------------------------ harness

export type OutsideNode = "far" | "near";

export interface PayOutcome {
  /** refused: the payer never sent an HTLC (its own node, or the simulator, said no first). */
  status: "succeeded" | "pending" | "failed" | "refused";
  preimage?: string;
  /** why it failed or was refused, in the harness's words (simulator: its error code; lnd: the payer's). */
  reason?: string;
}

export interface OutsideHoldInvoice {
  payment_request: string;
  payment_hash: string;
  /** the outside node reveals the preimage: the hub's payment succeeds. */
  settle(): Promise<void>;
  /** the outside node fails the HTLC back: the hub's payment fails (INCORRECT_PAYMENT_DETAILS). */
  cancel(): Promise<void>;
}

/** A raw LND answer: the body as text, as JSON when it is one, and as NDJSON lines for streams. */
export async function rawReply(res: Response): Promise<RawReply> {
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const lines = text.split("\n").filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
  return { status: res.status, headers: res.headers, text, json, lines };
}

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
  /** the body as JSON, or null. */
  json: any;
  /** the body's NDJSON lines (streams), parsed. */
  lines: any[];
}

export interface RawCall {
  body?: unknown;
  /** the body verbatim (for malformed JSON). */
  text?: string;
  /** the Grpc-Metadata-macaroon header: the session's own when undefined, none when "". */
  macaroonHex?: string;
}

export interface Faults {
  /** Sets knobs for this session only (see sim/knobs.ts). */
  set(knobs: Record<string, unknown>): Promise<void>;
}

export interface Session {
  /** The production client, configured to reach the node under test (with its macaroon, if it needs one). */
  client(extra?: Partial<LndClientConfig>): LndRestClient;
  /** A raw REST call to the node under test. */
  raw(method: "GET" | "POST", path: string, call?: RawCall): Promise<RawReply>;
  /** An invoice of an outside node that the hub node can pay. */
  outsideInvoice(req: { amountSat: number; memo?: string; expirySeconds?: number; payee?: OutsideNode; amp?: boolean }): Promise<{
    payment_request: string;
    payment_hash: string;
  }>;
  /** A hold invoice of the far node: the hub's payment stays IN_FLIGHT until it settles or cancels. */
  outsideHoldInvoice(req: { amountSat: number }): Promise<OutsideHoldInvoice>;
  /**
   * An outside node pays a hub invoice. Resolves once the hub node holds the HTLC (or the payment
   * ended or was refused), then waits up to `waitMs` more for it to end.
   */
  payHubInvoice(paymentRequest: string, opts: { waitMs: number; amountSat?: number; payer?: OutsideNode; amp?: boolean }): Promise<PayOutcome>;
  outsidePubkey(node: OutsideNode): Promise<string>;
  /** null where the node cannot be made to misbehave (real lnd). */
  faults: Faults | null;
}

export interface Harness {
  /** for test names and skip reasons. */
  name: string;
  session(): Session;
  /**
   * A macaroon the node requires from this session on, and a well-formed one it refuses.
   * (The simulator sets its macaroon knob; real lnd already requires its admin macaroon.)
   */
  macaroons(session: Session): Promise<{ valid: string; foreign: string }>;
  /**
   * The outside payer's own report (not the hub node's API, so not part of the contract) when
   * the invoice already holds another payer's HTLC set, and when it expired.
   */
  payerSees: { invoiceHeld: Partial<PayOutcome>; invoiceExpired: Partial<PayOutcome> };
}

// ------------------------------------------------------------------ helpers

export const sha256Hex = (hex: string) => bytesToHex(sha256(hexToBytes(hex)));
export const randomHex32 = () => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (hex: string) => btoa(String.fromCharCode(...hexToBytes(hex)));
const base64ToHex = (b64text: string) => bytesToHex(Uint8Array.from(atob(b64text), (c) => c.charCodeAt(0)));
const b64url = (hex: string) => b64(hex).replace(/\+/g, "-").replace(/\//g, "_"); // padded

/** Polls `probe` until it answers something truthy. */
export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
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

/** LND's anchor outputs: 330 sat each, one per side that has an output. */
const ANCHOR_SAT = 330;

/** The hub's channels to one peer, summed (a peer may have several channels with the hub). */
function totals(channels: Channel[]) {
  const sum = (f: (c: Channel) => number) => channels.reduce((s, c) => s + f(c), 0);
  return {
    local: sum((c) => c.local_balance),
    remote: sum((c) => c.remote_balance),
    sent: sum((c) => c.total_satoshis_sent),
    received: sum((c) => c.total_satoshis_received),
    pending: channels.flatMap((c) => c.pending_htlcs),
  };
}

/** Field names of a JSON object, sorted. */
const keys = (o: unknown) => Object.keys(o as object).sort();

// LND 0.21.3's REST messages, field by field (EmitUnpopulated: every field is always present).
const INVOICE_FIELDS = [
  "add_index", "amp_invoice_state", "amt_paid", "amt_paid_msat", "amt_paid_sat", "blinded_path_config", "cltv_expiry",
  "creation_date", "description_hash", "expiry", "fallback_addr", "features", "htlcs", "is_amp", "is_blinded", "is_keysend",
  "memo", "payment_addr", "payment_request", "private", "r_hash", "r_preimage", "route_hints", "settle_date", "settle_index",
  "settled", "state", "value", "value_msat",
];
const INVOICE_HTLC_FIELDS = [
  "accept_height", "accept_time", "amp", "amt_msat", "chan_id", "custom_channel_data", "custom_records", "expiry_height",
  "htlc_index", "mpp_total_amt_msat", "resolve_time", "state",
];
const PAYMENT_FIELDS = [
  "creation_date", "creation_time_ns", "fee", "fee_msat", "fee_sat", "failure_reason", "first_hop_custom_records", "htlcs",
  "payment_hash", "payment_index", "payment_preimage", "payment_request", "status", "value", "value_msat", "value_sat",
];
const ATTEMPT_FIELDS = ["attempt_id", "attempt_time_ns", "failure", "preimage", "resolve_time_ns", "route", "status"];
const ROUTE_FIELDS = ["custom_channel_data", "first_hop_amount_msat", "hops", "total_amt", "total_amt_msat", "total_fees", "total_fees_msat", "total_time_lock"];
const HOP_FIELDS = [
  "amp_record", "amt_to_forward", "amt_to_forward_msat", "blinding_point", "chan_capacity", "chan_id", "custom_records",
  "encrypted_data", "expiry", "fee", "fee_msat", "metadata", "mpp_record", "pub_key", "tlv_payload", "total_amt_msat",
];
const FAILURE_FIELDS = ["channel_update", "code", "cltv_expiry", "failure_source_index", "flags", "height", "htlc_msat", "onion_sha_256"];
const CHANNEL_FIELDS = [
  "active", "alias_scids", "chan_id", "chan_status_flags", "channel_point", "close_address", "commit_fee", "commit_weight",
  "commitment_type", "capacity", "csv_delay", "custom_channel_data", "fee_per_kw", "initiator", "lifetime", "local_balance",
  "local_chan_reserve_sat", "local_constraints", "memo", "num_updates", "peer_alias", "peer_scid_alias", "pending_htlcs",
  "private", "push_amount_sat", "remote_balance", "remote_chan_reserve_sat", "remote_constraints", "remote_pubkey",
  "static_remote_key", "thaw_height", "total_satoshis_received", "total_satoshis_sent", "unsettled_balance", "uptime",
  "zero_conf", "zero_conf_confirmed_scid",
];
const GETINFO_FIELDS = [
  "alias", "best_header_timestamp", "block_hash", "block_height", "chains", "color", "commit_hash", "features",
  "graph_cache_status", "identity_pubkey", "num_active_channels", "num_inactive_channels", "num_peers", "num_pending_channels",
  "require_htlc_interceptor", "store_final_htlc_resolutions", "synced_to_chain", "synced_to_graph", "testnet", "uris",
  "version", "wallet_synced",
];
const CHANNEL_BALANCE_FIELDS = [
  "balance", "custom_channel_data", "local_balance", "pending_open_balance", "pending_open_local_balance",
  "pending_open_remote_balance", "remote_balance", "unsettled_local_balance", "unsettled_remote_balance",
];
const PAYREQ_FIELDS = [
  "blinded_paths", "cltv_expiry", "description", "description_hash", "destination", "expiry", "fallback_addr", "features",
  "num_msat", "num_satoshis", "payment_addr", "payment_hash", "route_hints", "timestamp",
];
/** LND 0.21 marks every HTLC it sends with the (zero) endorsement signal, TLV type 106823. */
const ENDORSEMENT_RECORDS = { "106823": "AA==" };

// ------------------------------------------------------------------ suite

export function lndContractSuite(harness: Harness): void {
  describe("node", () => {
    it("reports its identity on regtest, and its state without a macaroon", async () => {
      const session = harness.session();
      const client = session.client();
      const info = await client.getInfo();
      expect(info.identity_pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
      expect(info.chains).toEqual([{ chain: "bitcoin", network: "regtest" }]);
      expect(info).toMatchObject({ synced_to_chain: true, synced_to_graph: true });
      expect(info.num_active_channels).toBeGreaterThan(0);
      expect(info.block_height).toBeGreaterThan(0);
      expect(info.version).toMatch(/^0\.21\.\d+-beta/);
      expect(await session.client({ macaroonHex: "" }).getState()).toBe("SERVER_ACTIVE");
    });

    it("answers getinfo with LND 0.21's fields and features", async () => {
      const r = await harness.session().raw("GET", "/v1/getinfo");
      expect(r.status).toBe(200);
      expect(keys(r.json)).toEqual([...GETINFO_FIELDS].sort());
      expect(r.json).toMatchObject({ testnet: false, uris: [], wallet_synced: true, graph_cache_status: "GRAPH_CACHE_STATUS_LOADED" });
      expect(r.json.best_header_timestamp).toMatch(/^\d+$/);
      // A default lnd 0.21 node's feature bits.
      expect(keys(r.json.features)).toEqual(["0", "12", "14", "17", "2023", "23", "25", "261", "27", "30", "31", "35", "39", "44", "5", "7", "8"]);
      expect(r.json.features["35"]).toEqual({ name: "quiescence", is_required: false, is_known: true });
      expect(r.json.features["261"]).toEqual({ name: "accountable-x", is_required: false, is_known: true });
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
        min_final_cltv_expiry: 80,
        features: [8, 14, 17, 25], // var-onion and payment secret required; MPP and route blinding optional
        route_hints: [],
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
      const payer = session.payHubInvoice(inv.payment_request, { waitMs: 20_000 });

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

    it("answers invoices with LND 0.21's fields; a held HTLC carries the payer's endorsement record", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 7_000, { memo: "fields" });
      const open = await session.raw("GET", `/v2/invoices/lookup?payment_hash=${b64url(inv.hash)}`);
      expect(keys(open.json)).toEqual([...INVOICE_FIELDS].sort());
      expect(open.json).toMatchObject({
        r_preimage: "",
        r_hash: b64(inv.hash),
        value: "7",
        value_msat: "7000",
        settled: false,
        settle_date: "0",
        description_hash: "",
        expiry: "86400",
        cltv_expiry: "80",
        route_hints: [],
        private: false,
        state: "OPEN",
        htlcs: [],
        is_keysend: false,
        is_amp: false,
        amp_invoice_state: {},
        is_blinded: false,
        blinded_path_config: null,
      });
      expect(keys(open.json.features)).toEqual(["14", "17", "25", "8"]);

      await session.payHubInvoice(inv.payment_request, { waitMs: 0 });
      const held = await session.raw("GET", `/v2/invoices/lookup?payment_hash=${b64url(inv.hash)}`);
      expect(held.json).toMatchObject({ state: "ACCEPTED", amt_paid: "7000", amt_paid_sat: "7", amt_paid_msat: "7000" });
      const htlc = held.json.htlcs[0];
      expect(keys(htlc)).toEqual([...INVOICE_HTLC_FIELDS].sort());
      expect(htlc).toMatchObject({
        amt_msat: "7000",
        mpp_total_amt_msat: "7000",
        resolve_time: "0",
        state: "ACCEPTED",
        amp: null,
        custom_records: ENDORSEMENT_RECORDS,
        // The same record as the channel's TLV stream: type 106823 (fe 0001a147), length 1, value 0.
        custom_channel_data: "/gABoUcBAA==",
      });
      expect(htlc.chan_id).toMatch(/^\d+$/);
      expect(typeof htlc.accept_height).toBe("number");
      expect(typeof htlc.expiry_height).toBe("number");
      await client.cancelInvoice(inv.hash);
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
      await client.cancelInvoice(hash);
    });

    it("cancels a held invoice: the HTLC is failed back to the payer; canceling again is fine", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 20_000);
      const watch = watchInvoice(client, inv.hash);
      expect(await session.payHubInvoice(inv.payment_request, { waitMs: 0 })).toMatchObject({ status: "pending" });
      await until(async () => (await client.lookupInvoice(inv.hash)).state === "ACCEPTED", "ACCEPTED");

      // One HTLC set per invoice: a second payer gets nothing through.
      const second = await session.payHubInvoice(inv.payment_request, { waitMs: 10_000, payer: "far" });
      expect(second).toMatchObject(harness.payerSees.invoiceHeld);
      expect((await client.lookupInvoice(inv.hash)).htlcs.filter((h) => h.state === "ACCEPTED")).toHaveLength(1);

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
      expect(await caught(client.settleInvoice(randomHex32()))).toMatchObject({ code: GrpcCode.UNKNOWN, httpStatus: 500, message: "unable to locate invoice" });
      expect(await caught(client.cancelInvoice(randomHex32()))).toMatchObject({ code: GrpcCode.UNKNOWN, httpStatus: 500, message: "unable to locate invoice" });
      const dup = await caught(client.addHoldInvoice({ hash: inv.hash, value_msat: 1_000 }));
      expect(dup).toBeInstanceOf(LndError);
      expect(dup).toMatchObject({ code: GrpcCode.UNKNOWN, httpStatus: 500, message: "invoice with payment hash already exists" });
      expect(await caught(client.lookupInvoice(randomHex32()))).toMatchObject({ code: GrpcCode.NOT_FOUND, httpStatus: 404, message: "unable to locate invoice" });
      await client.cancelInvoice(inv.hash);
    });

    it("cancels an open invoice when it expires", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 5_000, { expiry: 1 });
      const watch = watchInvoice(client, inv.hash);
      await watch.done; // ends with CANCELED
      expect(watch.states.map((s) => s.state)).toEqual(["OPEN", "CANCELED"]);
      expect((await client.lookupInvoice(inv.hash)).state).toBe("CANCELED");
      expect(await session.payHubInvoice(inv.payment_request, { waitMs: 0 })).toMatchObject(harness.payerSees.invoiceExpired);
    });

    it("an amountless hold invoice is held for what the payer sent", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 0);
      expect(decodeBolt11(inv.payment_request).amount_msat).toBeNull();
      await session.payHubInvoice(inv.payment_request, { waitMs: 0, amountSat: 321 });
      expect(await client.lookupInvoice(inv.hash)).toMatchObject({ state: "ACCEPTED", value_msat: 0, amt_paid_msat: 321_000 });
      await client.settleInvoice(inv.preimage);
      expect(await client.lookupInvoice(inv.hash)).toMatchObject({ state: "SETTLED", amt_paid_msat: 321_000 });
    });

    it("keeps an invoice accepted before its expiry held past it: it can still be settled", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 2_000, { expiry: 2 });
      await session.payHubInvoice(inv.payment_request, { waitMs: 0 });
      await sleep(3000);
      expect((await client.lookupInvoice(inv.hash)).state).toBe("ACCEPTED");
      await client.settleInvoice(inv.preimage);
      expect((await client.lookupInvoice(inv.hash)).state).toBe("SETTLED");
    });

    it("SubscribeSingleInvoice on a hash not yet known sends nothing until the invoice exists", async () => {
      const client = harness.session().client();
      const hash = randomHex32();
      const watch = watchInvoice(client, hash);
      watch.done.catch(() => undefined);
      await sleep(300);
      expect(watch.states).toEqual([]);
      await client.addHoldInvoice({ hash, value_msat: 10_000 });
      await until(() => watch.states.length > 0, "the invoice's first state");
      await client.cancelInvoice(hash);
      await watch.done;
      expect(watch.states.map((s) => s.state)).toEqual(["OPEN", "CANCELED"]);
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

      // The newest first page, as the hub's sweep asks for it: reversed without an offset.
      const newest = await client.listInvoices({ pending_only: true, num_max_invoices: 1000, reversed: true });
      expect(newest.invoices.map((i) => i.r_hash)).toEqual(expect.arrayContaining(mine.map((m) => m.hash)));
      expect(newest.invoices.at(-1)!.add_index).toBeGreaterThanOrEqual(mine[2]!.add_index);

      await session.payHubInvoice(mine[1]!.payment_request, { waitMs: 0 });
      await client.settleInvoice(mine[1]!.preimage);
      const pending = await client.listInvoices({ index_offset: offset, pending_only: true, num_max_invoices: 1000 });
      const pendingHashes = pending.invoices.map((i) => i.r_hash);
      expect(pendingHashes).toContain(mine[0]!.hash);
      expect(pendingHashes).not.toContain(mine[1]!.hash);
      expect(pending.invoices.every((i) => i.state === "OPEN" || i.state === "ACCEPTED")).toBe(true);
      for (const m of [mine[0]!, mine[2]!]) await client.cancelInvoice(m.hash);
    });
  });

  describe("AMP invoices", () => {
    it("AddInvoice is_amp: a drawn hash, AMP required; each AMP payment settled by the node under its own set id, the invoice payable again", async () => {
      const session = harness.session();
      const client = session.client();
      const added = await session.raw("POST", "/v1/invoices", { body: { value: "1500", memo: "amp", is_amp: true } });
      expect(added.status, added.text).toBe(200);
      const hash = base64ToHex(added.json.r_hash);
      const decoded = decodeBolt11(added.json.payment_request);
      expect(decoded.payment_hash).toBe(hash);
      expect(decoded.payment_secret).toBe(base64ToHex(added.json.payment_addr));
      expect(decoded.features).toEqual(expect.arrayContaining([8, 14, 30]));
      const fresh = await client.lookupInvoice(hash);
      expect(fresh).toMatchObject({ is_amp: true, state: "OPEN", amp_invoice_state: {}, amt_paid_msat: 0 });
      for (let i = 0; i < 2; i++) {
        const paid = await session.payHubInvoice(added.json.payment_request, { waitMs: 10_000, amp: true });
        expect(paid.status, JSON.stringify(paid)).toBe("succeeded");
      }
      const after = await until(async () => {
        const inv = await client.lookupInvoice(hash);
        return Object.keys(inv.amp_invoice_state).length === 2 ? inv : null;
      }, "both sets settled");
      // lnd reports the invoice SETTLED once a set is, though it stays payable; each set is its own payment.
      expect(after).toMatchObject({ is_amp: true, state: "SETTLED", amt_paid_msat: 3_000_000 });
      for (const [setId, set] of Object.entries(after.amp_invoice_state)) {
        expect(setId).toMatch(/^[0-9a-f]{64}$/);
        expect(set).toMatchObject({ state: "SETTLED", amt_paid_msat: 1_500_000 });
        expect(set.settle_index).toBeGreaterThan(0);
        expect(set.settle_time).toBeGreaterThan(0);
      }
      const listed = (await client.listInvoices({ pending_only: true, reversed: true, num_max_invoices: 100 })).invoices.find((i) => i.r_hash === hash);
      expect(listed?.amp_invoice_state).toEqual(after.amp_invoice_state); // still pending (open) for lnd
    });

    it("pays an outside AMP invoice only with amp: the set id lnd drew is the payment's hash, the invoice's payment address on its parts", async () => {
      const session = harness.session();
      const client = session.client();
      const invoice = await session.outsideInvoice({ amountSat: 2_000, payee: "near", amp: true });
      const decoded = decodeBolt11(invoice.payment_request);
      expect(decoded.features).toContain(30);
      await expect(client.payInvoice(send(invoice.payment_request), { waitMs: 5_000 })).rejects.toMatchObject({
        message: expect.stringContaining("the AMP flag (--amp or SendPaymentRequest.Amp) must be set to pay an AMP invoice"),
      });
      const sets: string[] = [];
      for (let i = 0; i < 2; i++) {
        const outcome = await client.payInvoice({ ...send(invoice.payment_request), amp: true }, { waitMs: 10_000 });
        expect(outcome.final && outcome.payment.status, JSON.stringify(outcome.payment?.failure_reason)).toBe("SUCCEEDED");
        const p = outcome.payment!;
        expect(p.payment_hash).not.toBe(invoice.payment_hash);
        expect(p.payment_request).toBe(invoice.payment_request);
        for (const h of p.htlcs.filter((x) => x.status === "SUCCEEDED")) expect(h.route!.hops.at(-1)!.mpp_payment_addr).toBe(decoded.payment_secret);
        sets.push(p.payment_hash);
      }
      expect(sets[0]).not.toBe(sets[1]);
      const listed = (await client.listPayments({ include_incomplete: true })).filter((p) => p.payment_request === invoice.payment_request);
      expect(listed.map((p) => p.payment_hash).sort()).toEqual([...sets].sort());
    });
  });

  describe("payments", () => {
    it("pays an outside invoice: IN_FLIGHT (no HTLCs yet), IN_FLIGHT (attempt), SUCCEEDED; fee within the limit", async () => {
      const session = harness.session();
      const client = session.client();
      const far = await session.outsidePubkey("far");
      const invoice = await session.outsideInvoice({ amountSat: 12_345, memo: "outside" });

      const updates: Payment[] = [];
      for await (const p of client.sendPayment(send(invoice.payment_request, 20_000))) updates.push(p);
      const final = updates.at(-1)!;
      expect(updates.slice(0, -1).every((p) => p.status === "IN_FLIGHT")).toBe(true);
      expect(updates.length).toBeGreaterThan(2);
      expect(updates[0]!.htlcs).toEqual([]); // registered, before any attempt
      expect(updates[1]!.htlcs.at(-1)).toMatchObject({ status: "IN_FLIGHT", resolve_time_ns: 0n, preimage: null });
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
      expect(htlc.route!.hops).toHaveLength(2);
      expect(htlc.route!.hops.at(-1)).toMatchObject({ pub_key: far, amt_to_forward_msat: 12_345_000, fee_msat: 0 });
      // The fee the middle node charges is on its own hop.
      expect(htlc.route!.hops[0]!.fee_msat).toBe(final.fee_msat);
      expect(htlc.route!.total_fees_msat).toBe(final.fee_msat);
      expect(htlc.route!.total_amt_msat).toBe(12_345_000 + final.fee_msat);
    });

    it("answers payments with LND 0.21's fields: hex hashes, endorsement record, hop amounts", async () => {
      const session = harness.session();
      const invoice = await session.outsideInvoice({ amountSat: 3_210 });
      const r = await session.raw("POST", "/v2/router/send", { body: { payment_request: invoice.payment_request, fee_limit_msat: "50000", timeout_seconds: 30 } });
      expect(r.status).toBe(200);
      expect(r.headers.get("grpc-metadata-content-type")).toBe("application/grpc");
      const final = r.lines.at(-1).result;
      expect(keys(final)).toEqual([...PAYMENT_FIELDS].sort());
      expect(final).toMatchObject({
        payment_hash: invoice.payment_hash, // hex, not base64
        status: "SUCCEEDED",
        value: "3210",
        value_sat: "3210",
        value_msat: "3210000",
        failure_reason: "FAILURE_REASON_NONE",
        first_hop_custom_records: ENDORSEMENT_RECORDS,
      });
      expect(final.payment_preimage).toMatch(/^[0-9a-f]{64}$/);
      expect(r.lines[0].result).toMatchObject({ status: "IN_FLIGHT", htlcs: [], payment_preimage: "0".repeat(64), fee_msat: "0" });
      const attempt = final.htlcs[0];
      expect(keys(attempt)).toEqual([...ATTEMPT_FIELDS].sort());
      expect(attempt.preimage).toBe(b64(final.payment_preimage)); // bytes: base64
      expect(keys(attempt.route)).toEqual([...ROUTE_FIELDS].sort());
      const [first, last] = attempt.route.hops;
      expect(keys(first)).toEqual([...HOP_FIELDS].sort());
      expect(attempt.route).toMatchObject({ first_hop_amount_msat: attempt.route.total_amt_msat, custom_channel_data: "" });
      // chan_capacity in a route is what the hop carries (sat, rounded down), not the channel's capacity.
      expect(first.chan_capacity).toBe(String(Math.floor(Number(attempt.route.total_amt_msat) / 1000)));
      expect(last.chan_capacity).toBe("3210");
      expect(first).toMatchObject({ mpp_record: null, tlv_payload: true, total_amt_msat: "0", custom_records: {} });
      expect(last.mpp_record).toEqual({ payment_addr: b64(decodeBolt11(invoice.payment_request).payment_secret), total_amt_msat: "3210000" });
    });

    it("payInvoice and waitForPayment return the final state", async () => {
      const session = harness.session();
      const client = session.client();
      const invoice = await session.outsideInvoice({ amountSat: 1_000 });
      const outcome = await client.payInvoice(send(invoice.payment_request), { waitMs: 10_000 });
      expect(outcome).toMatchObject({ final: true, payment: { status: "SUCCEEDED" } });
      const tracked = await client.waitForPayment(invoice.payment_hash, { waitMs: 5000 });
      expect(tracked).toMatchObject({ final: true, payment: { status: "SUCCEEDED", payment_preimage: outcome.payment!.payment_preimage } });
    });

    it("pays an amountless invoice with amt_msat, and refuses amounts that contradict the invoice", async () => {
      const session = harness.session();
      const client = session.client();
      const open = await session.outsideInvoice({ amountSat: 0 });
      expect(await caught(client.payInvoice(send(open.payment_request), { waitMs: 5000 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        httpStatus: 500,
        message: "amount must be specified when paying a zero amount invoice",
      });
      const fixed = await session.outsideInvoice({ amountSat: 100 });
      expect(await caught(client.payInvoice({ ...send(fixed.payment_request), amt_msat: 5_000 }, { waitMs: 5000 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        message: "amount must not be specified when paying a non-zero amount invoice",
      });
      // no_inflight_updates: the final state is the stream's only message.
      const updates: Payment[] = [];
      for await (const p of client.sendPayment({ ...send(open.payment_request), amt_msat: 5_000, no_inflight_updates: true })) updates.push(p);
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({ status: "SUCCEEDED", value_msat: 5_000 });
      const both = await session.raw("POST", "/v2/router/send", { body: { payment_request: fixed.payment_request, fee_limit_sat: "1", fee_limit_msat: "5", timeout_seconds: 30 } });
      expect(both).toMatchObject({ status: 500, lines: [{ error: { code: 2, message: "sat and msat arguments are mutually exclusive", details: [] } }] });
    });

    it("fails with NO_ROUTE when the fee limit is below every route's fee, and pays a direct peer with no fee", async () => {
      const session = harness.session();
      const client = session.client();
      const far = await session.outsideInvoice({ amountSat: 5_000 });
      const failed = await client.payInvoice(send(far.payment_request, 0), { waitMs: 10_000 });
      expect(failed).toMatchObject({
        final: true,
        payment: { status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE", payment_preimage: null, fee_msat: 0, htlcs: [] },
      });

      const near = await session.outsideInvoice({ amountSat: 5_000, payee: "near" });
      const paid = await client.payInvoice(send(near.payment_request, 0), { waitMs: 10_000 });
      expect(paid).toMatchObject({ final: true, payment: { status: "SUCCEEDED", fee_msat: 0 } });
      expect(paid.payment!.htlcs.find((h) => h.status === "SUCCEEDED")!.route!.hops).toHaveLength(1);
    });

    it("fails with NO_ROUTE to a node it has no path to", async () => {
      const session = harness.session();
      const key = crypto.getRandomValues(new Uint8Array(32));
      key[0] = 1;
      const { encodeInvoice } = await import("../../src/bolt11");
      const nowhere = encodeInvoice(
        {
          network: "regtest",
          amount_msat: 1_000_000,
          timestamp: Math.floor(Date.now() / 1000),
          payment_hash: randomHex32(),
          payment_secret: randomHex32(),
          description: "nowhere",
          expiry_s: 600,
          min_final_cltv_expiry: 40,
          features: [8, 14, 17],
        },
        key,
      );
      const outcome = await session.client().payInvoice(send(nowhere), { waitMs: 10_000 });
      expect(outcome).toMatchObject({ final: true, payment: { status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE", htlcs: [] } });
    });

    it("refuses a hash that is already paid with ALREADY_EXISTS (409)", async () => {
      const session = harness.session();
      const client = session.client();
      const invoice = await session.outsideInvoice({ amountSat: 2_000 });
      expect((await client.payInvoice(send(invoice.payment_request), { waitMs: 10_000 })).final).toBe(true);
      const err = await caught(client.payInvoice(send(invoice.payment_request), { waitMs: 5000 }));
      expect(err).toBeInstanceOf(LndError);
      expect(err).toMatchObject({ code: GrpcCode.ALREADY_EXISTS, httpStatus: 409, message: "invoice is already paid" });
      // On the wire: an error line, the status mapped, no result before it.
      const raw = await session.raw("POST", "/v2/router/send", { body: send(invoice.payment_request) });
      expect(raw.status).toBe(409);
      expect(raw.lines).toEqual([{ error: { code: 6, message: "invoice is already paid", details: [] } }]);
      expect(raw.headers.get("grpc-metadata-content-type")).toBeNull();
    });

    it("keeps a payment to a held invoice IN_FLIGHT: ALREADY_EXISTS meanwhile, tracked until it succeeds", async () => {
      const session = harness.session();
      const client = session.client();
      const held = await session.outsideHoldInvoice({ amountSat: 3_000 });
      const first = await client.payInvoice(send(held.payment_request), { waitMs: 1500 });
      expect(first).toMatchObject({ final: false, payment: { status: "IN_FLIGHT", payment_hash: held.payment_hash } });
      expect(first.payment!.htlcs.at(-1)).toMatchObject({ status: "IN_FLIGHT" });

      const again = await caught(client.payInvoice(send(held.payment_request), { waitMs: 1000 }));
      expect(again).toMatchObject({ code: GrpcCode.ALREADY_EXISTS, httpStatus: 409, message: "payment is in transition" });
      // An outgoing HTLC in flight is unsettled *remote* balance in LND's ChannelBalance.
      expect((await client.channelBalance()).unsettled_remote_balance.sat).toBeGreaterThanOrEqual(3_000);

      const states: string[] = [];
      const tracking = (async () => {
        for await (const p of client.trackPayment(held.payment_hash)) states.push(p.status);
      })();
      const finalOnly: string[] = [];
      const trackingFinal = (async () => {
        for await (const p of client.trackPayment(held.payment_hash, { no_inflight_updates: true })) finalOnly.push(p.status);
      })();
      await until(() => states.length > 0, "the current state");
      expect(states).toEqual(["IN_FLIGHT"]); // the current state first
      await sleep(200);
      expect(finalOnly).toEqual([]); // no_inflight_updates: nothing while in flight
      await held.settle();
      await Promise.all([tracking, trackingFinal]);
      expect(states.at(-1)).toBe("SUCCEEDED");
      expect(finalOnly).toEqual(["SUCCEEDED"]);
      const done = await client.waitForPayment(held.payment_hash, { waitMs: 5000 });
      expect(sha256Hex(done.payment!.payment_preimage!)).toBe(held.payment_hash);
    });

    it("fails a payment the payee fails back: INCORRECT_PAYMENT_DETAILS; failed attempts are dropped once final; a new try is allowed", async () => {
      const session = harness.session();
      const client = session.client();
      const held = await session.outsideHoldInvoice({ amountSat: 4_000 });
      const pending = await client.payInvoice(send(held.payment_request), { waitMs: 1000 });
      expect(pending.final).toBe(false);
      const live: Payment[] = [];
      const tracking = (async () => {
        for await (const p of client.trackPayment(held.payment_hash)) live.push(p);
      })();
      await until(() => live.length > 0, "the current state");
      await held.cancel();
      await tracking;
      // Live, the final update still shows the failed attempt...
      expect(live.at(-1)).toMatchObject({
        status: "FAILED",
        failure_reason: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS",
        payment_preimage: null,
        fee_msat: 0,
      });
      expect(live.at(-1)!.htlcs.at(-1)!.failure).toMatchObject({ code: "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS", failure_source_index: 2 });
      // ...but LND deletes failed attempts once a payment is final (keep-failed-payment-attempts=false), shortly
      // after that final update (a lookup right away may still see them).
      const later = await until(async () => {
        const outcome = await client.waitForPayment(held.payment_hash, { waitMs: 5000 });
        return outcome.final && outcome.payment.htlcs.length === 0 ? outcome : null;
      }, "LND to drop the failed attempts of a final payment");
      expect(later).toMatchObject({ final: true, payment: { status: "FAILED", failure_reason: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS", htlcs: [] } });

      // The invoice is canceled at the payee: the new try is accepted (no ALREADY_EXISTS) and fails the same way.
      const retry = await session.raw("POST", "/v2/router/send", { body: { payment_request: held.payment_request, fee_limit_msat: "50000", timeout_seconds: 30 } });
      expect(retry.status).toBe(200);
      const final = retry.lines.at(-1).result;
      expect(final).toMatchObject({ status: "FAILED", failure_reason: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS", fee_msat: "0" });
      expect(final.htlcs).toHaveLength(1); // the new payment's attempt only
      const failure = final.htlcs[0].failure;
      expect(keys(failure)).toEqual([...FAILURE_FIELDS].sort());
      expect(failure).toMatchObject({ code: "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS", htlc_msat: "0", channel_update: null, onion_sha_256: "", cltv_expiry: 0, flags: 0, failure_source_index: 2 });
      expect(failure.height).toBeGreaterThan(0);
    });

    it("refuses to pay its own invoice", async () => {
      const client = harness.session().client();
      const own = await newHoldInvoice(client, 1_000);
      expect(await caught(client.payInvoice(send(own.payment_request), { waitMs: 5000 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        httpStatus: 500,
        message: "self-payments not allowed",
      });
      await client.cancelInvoice(own.hash);
    });

    it("reports an unknown payment hash as NOT_FOUND when tracking", async () => {
      const session = harness.session();
      expect(await caught(session.client().waitForPayment(randomHex32(), { waitMs: 2000 }))).toMatchObject({
        name: "LndError",
        code: GrpcCode.NOT_FOUND,
        httpStatus: 404,
        message: "payment isn't initiated",
      });
      const raw = await session.raw("GET", `/v2/router/track/${b64url(randomHex32())}`);
      expect(raw.status).toBe(404);
      expect(raw.lines).toEqual([{ error: { code: 5, message: "payment isn't initiated", details: [] } }]);
    });

    it("rejects an expired invoice before trying to pay it", async () => {
      const session = harness.session();
      const client = session.client();
      const invoice = await session.outsideInvoice({ amountSat: 1_000, expirySeconds: 1 });
      await sleep(2100);
      const err = await caught(client.payInvoice(send(invoice.payment_request), { waitMs: 2000 }));
      expect(err).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN, httpStatus: 500 });
      expect(err.message).toMatch(/^invoice expired\. Valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    });

    it("estimates the fee of a route from the graph and by probing an invoice", async () => {
      const session = harness.session();
      const client = session.client();
      const far = await session.outsidePubkey("far");
      const info = await client.getInfo();
      const graph = await client.estimateRouteFee({ dest: far, amt_sat: 30_000 });
      expect(graph.failure_reason).toBe("FAILURE_REASON_NONE");
      expect(graph.routing_fee_msat).toBeGreaterThan(0);
      expect(graph.time_lock_delay).toBeGreaterThan(info.block_height); // LND returns the absolute time lock

      const invoice = await session.outsideInvoice({ amountSat: 30_000 });
      const probe = await client.estimateRouteFee({ payment_request: invoice.payment_request, timeout: 10 });
      expect(probe).toMatchObject({ failure_reason: "FAILURE_REASON_NONE", routing_fee_msat: graph.routing_fee_msat });
      const paid = await client.payInvoice(send(invoice.payment_request, graph.routing_fee_msat), { waitMs: 10_000 });
      expect(paid.payment).toMatchObject({ status: "SUCCEEDED", fee_msat: graph.routing_fee_msat });
      // Both estimates are the route's absolute time lock (block padding included once); the graph
      // estimate assumes a final CLTV delta of 80, the probe uses the invoice's.
      const route = paid.payment!.htlcs.find((h) => h.status === "SUCCEEDED")!.route!;
      expect(probe.time_lock_delay).toBe(route.total_time_lock);
      expect(graph.time_lock_delay).toBe(route.total_time_lock + 80 - decodeBolt11(invoice.payment_request).min_final_cltv_expiry);

      const nowhere = "02" + "11".repeat(32);
      expect(await caught(client.estimateRouteFee({ dest: nowhere, amt_sat: 1_000 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        message: "unable to find a path to destination",
      });
      expect(await caught(client.estimateRouteFee({}))).toMatchObject({ code: GrpcCode.UNKNOWN, message: "specify either a destination or an invoice" });
      expect(await caught(client.estimateRouteFee({ dest: far, amt_sat: 0 }))).toMatchObject({ code: GrpcCode.UNKNOWN, message: "amount must be greater than 0" });
      const amountless = await session.outsideInvoice({ amountSat: 0 });
      expect(await caught(client.estimateRouteFee({ payment_request: amountless.payment_request, timeout: 10 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        message: "payment request amount must be greater than 0",
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
      const raw = await session.raw("GET", `/v1/payreq/${invoice.payment_request}`);
      expect(keys(raw.json)).toEqual([...PAYREQ_FIELDS].sort());
      expect(raw.json).toMatchObject({ payment_hash: invoice.payment_hash, description_hash: "", fallback_addr: "", route_hints: [], blinded_paths: [] });
      expect(await caught(client.decodePayReq("lnbcrt1garbage"))).toMatchObject({
        name: "LndError",
        code: GrpcCode.UNKNOWN,
        httpStatus: 500,
        message: "failed converting data to bytes: invalid character not part of charset: 98",
      });
    });
  });

  describe("channels and balances", () => {
    it("moves the hub's channel balances when it pays and is paid; the initiator pays for HTLC outputs", async () => {
      const session = harness.session();
      const client = session.client();
      const near = await session.outsidePubkey("near");
      const nearChannels = async () => {
        const channels = await client.listChannels({ peer: near });
        expect(channels.length).toBeGreaterThan(0);
        for (const c of channels) expect(c.remote_pubkey).toBe(near);
        return channels;
      };
      const settledChannels = () => until(async () => {
        const channels = await nearChannels();
        return channels.every((c) => c.pending_htlcs.length === 0) ? channels : null;
      }, "no HTLC in flight on the channels to near");
      const opening = await settledChannels();
      for (const c of opening) expect(c).toMatchObject({ active: true, pending_htlcs: [], commitment_type: "ANCHORS" });
      const before = totals(opening);
      expect(before.local).toBeGreaterThan(100_000);

      // Pay near (a direct peer: no fee) 40,000 sat.
      const out = await session.outsideInvoice({ amountSat: 40_000, payee: "near" });
      const paid = await client.payInvoice(send(out.payment_request, 0), { waitMs: 10_000 });
      expect(paid.payment).toMatchObject({ status: "SUCCEEDED", fee_msat: 0 });
      // SUCCEEDED comes with the preimage; the HTLC leaves the commitments a moment later.
      const afterSendChannels = await settledChannels();
      const afterSend = totals(afterSendChannels);
      expect(afterSend.local).toBe(before.local - 40_000);
      expect(afterSend.remote).toBe(before.remote + 40_000);
      expect(afterSend.sent).toBe(before.sent + 40_000);

      // Near pays a 25,000 sat hub invoice: held as a pending incoming HTLC until settled.
      const inv = await newHoldInvoice(client, 25_000_000);
      await session.payHubInvoice(inv.payment_request, { waitMs: 0, payer: "near" });
      const heldChannels = await nearChannels();
      const held = totals(heldChannels);
      expect(held.pending).toEqual([expect.objectContaining({ incoming: true, amount: 25_000, hash_lock: inv.hash })]);
      const carrier = heldChannels.find((c) => c.pending_htlcs.length > 0)!;
      const was = afterSendChannels.find((c) => c.chan_id === carrier.chan_id)!;
      expect(carrier.unsettled_balance).toBe(25_000);
      // The HTLC's output makes the commitment heavier; whoever opened the channel pays the fee.
      expect(carrier.commit_fee).toBeGreaterThan(was.commit_fee);
      const extraFee = carrier.commit_fee - was.commit_fee;
      if (carrier.initiator) {
        expect(carrier.local_balance).toBe(was.local_balance - extraFee);
        expect(carrier.remote_balance).toBe(was.remote_balance - 25_000);
      } else {
        expect(carrier.local_balance).toBe(was.local_balance);
        expect(carrier.remote_balance).toBe(was.remote_balance - 25_000 - extraFee);
      }
      const balance = await client.channelBalance();
      // LND counts incoming HTLCs as unsettled *local* balance (outgoing ones as remote).
      expect(balance.unsettled_local_balance.sat).toBeGreaterThanOrEqual(25_000);

      await client.settleInvoice(inv.preimage);
      const afterSettle = totals(await settledChannels());
      expect(afterSettle.pending).toEqual([]);
      expect(afterSettle.local).toBe(afterSend.local + 25_000);
      expect(afterSettle.remote).toBe(afterSend.remote - 25_000);
      expect(afterSettle.received).toBe(before.received + 25_000);
    });

    it("reports channel and on-chain balances that add up", async () => {
      const session = harness.session();
      const client = session.client();
      const channels = await client.listChannels();
      expect(channels.length).toBeGreaterThan(1);
      for (const c of channels) {
        expect(c.chan_id).toMatch(/^\d+$/);
        // capacity = both balances + the commitment fee + HTLCs in flight + anchor outputs (330 sat per side with an output).
        const anchors = c.capacity - c.local_balance - c.remote_balance - c.commit_fee - c.unsettled_balance;
        expect([ANCHOR_SAT, 2 * ANCHOR_SAT]).toContain(anchors);
      }
      const raw = await session.raw("GET", "/v1/channels");
      for (const c of raw.json.channels) {
        expect(keys(c)).toEqual([...CHANNEL_FIELDS].sort());
        expect(c).toMatchObject({ peer_alias: "", custom_channel_data: "", static_remote_key: false, private: false });
        expect(c.local_constraints.max_pending_amt_msat).toBe(String(Number(c.capacity) * 990));
        expect(c.local_constraints.chan_reserve_sat).toBe(String(Number(c.capacity) / 100));
      }
      const balance = await client.channelBalance();
      expect(balance.local_balance.sat).toBeGreaterThan(1_000_000);
      expect(balance.local_balance.msat).toBeGreaterThanOrEqual(balance.local_balance.sat * 1000);
      expect(balance.remote_balance.sat).toBeGreaterThan(1_000_000);
      const rawBalance = await session.raw("GET", "/v1/balance/channels");
      expect(keys(rawBalance.json)).toEqual([...CHANNEL_BALANCE_FIELDS].sort());
      expect(rawBalance.json.custom_channel_data).toBe("AwAAAAA=");
      const wallet = await client.walletBalance();
      expect(wallet.confirmed_balance).toBeGreaterThan(0);
      expect(wallet.total_balance).toBe(wallet.confirmed_balance + wallet.unconfirmed_balance);
    });
  });

  describe("wire conventions (grpc-gateway)", () => {
    it("answers unknown routes 404 and known routes with another method 501", async () => {
      const session = harness.session();
      expect(await session.raw("GET", "/v1/nothing")).toMatchObject({ status: 404, json: { code: 5, message: "Not Found", details: [] } });
      expect(await session.raw("POST", "/v1/getinfo", { body: {} })).toMatchObject({ status: 501, json: { code: 12, message: "Method Not Allowed", details: [] } });
      expect(await session.raw("GET", "/v2/invoices/hodl")).toMatchObject({ status: 501, json: { code: 12, message: "Method Not Allowed" } });
    });

    it("settle and cancel answer {}", async () => {
      const session = harness.session();
      const client = session.client();
      const inv = await newHoldInvoice(client, 1_000);
      expect(await session.raw("POST", "/v2/invoices/cancel", { body: { payment_hash: b64(inv.hash) } })).toMatchObject({ status: 200, json: {} });
      const paid = await newHoldInvoice(client, 1_000);
      await session.payHubInvoice(paid.payment_request, { waitMs: 0 });
      expect(await session.raw("POST", "/v2/invoices/settle", { body: { preimage: b64(paid.preimage) } })).toMatchObject({ status: 200, json: {} });
    });

    it("parses bodies strictly, as protojson: unknown fields, wrong types and bad JSON are 400 code 3", async () => {
      const session = harness.session();
      const hash = b64(randomHex32());
      // Columns are 1-based offsets of the offending token in the (one-line) body.
      const unknown = await session.raw("POST", "/v2/invoices/hodl", { text: `{"hash":"${hash}","value":"1","bogus":1}` });
      expect(unknown).toMatchObject({ status: 400, json: { code: 3, message: 'proto: (line 1:68): unknown field "bogus"', details: [] } });
      const badInt = await session.raw("POST", "/v2/invoices/hodl", { text: `{"hash":"${hash}","value":"x"}` });
      expect(badInt).toMatchObject({ status: 400, json: { code: 3, message: 'proto: (line 1:64): invalid value for int64 type: "x"' } });
      const fraction = await session.raw("POST", "/v2/invoices/hodl", { text: `{"hash":"${hash}","value":1.5}` });
      expect(fraction.json).toMatchObject({ code: 3, message: "proto: (line 1:64): invalid value for int64 type: 1.5" });
      const badBytes = await session.raw("POST", "/v2/invoices/hodl", { text: `{"hash":"!!","value":"1"}` });
      expect(badBytes.json).toMatchObject({ code: 3, message: 'proto: (line 1:9): invalid value for bytes type: "!!"' });
      const badBool = await session.raw("POST", "/v2/invoices/hodl", { text: `{"hash":"${hash}","private":"yes"}` });
      expect(badBool.json).toMatchObject({ code: 3, message: 'proto: (line 1:66): invalid value for bool type: "yes"' });
      const array = await session.raw("POST", "/v2/invoices/hodl", { text: "[]" });
      expect(array).toMatchObject({ status: 400, json: { code: 3, message: "proto: syntax error (line 1:1): unexpected token [" } });
      const broken = await session.raw("POST", "/v2/invoices/hodl", { text: "{bad" });
      expect(broken).toMatchObject({ status: 400, json: { code: 3, message: "invalid character 'b' looking for beginning of object key string" } });
      const empty = await session.raw("POST", "/v2/invoices/hodl", { text: "" });
      expect(empty).toMatchObject({ status: 500, json: { code: 2, message: "invalid hash length of 0, want 32" } });
      const camel = await session.raw("POST", "/v2/invoices/hodl", { body: { hash: b64(randomHex32()), valueMsat: "4000", cltvExpiry: "30" } });
      expect(camel.status).toBe(200);
    });

    it("parses query parameters and path bytes as grpc-gateway does", async () => {
      const session = harness.session();
      const hash = randomHex32();
      const unpadded = b64url(hash).replace(/=+$/, "");
      expect(await session.raw("GET", `/v2/invoices/lookup?payment_hash=${unpadded}`)).toMatchObject({
        status: 400,
        json: { code: 3, message: 'parsing field "payment_hash": illegal base64 data at input byte 40', details: [] },
      });
      // Hex is valid base64 too: 48 bytes, then LND's own length check.
      expect(await session.raw("GET", `/v2/invoices/lookup?payment_hash=${hash}`)).toMatchObject({
        status: 400,
        json: { code: 3, message: "unable to parse pay hash: invalid hash length of 48, want 32" },
      });
      expect(await session.raw("GET", "/v2/invoices/lookup")).toMatchObject({ status: 400, json: { code: 3, message: "invoice ref must be set" } });
      expect(await session.raw("GET", "/v1/invoices?num_max_invoices=abc")).toMatchObject({
        status: 400,
        json: { code: 3, message: 'parsing field "num_max_invoices": strconv.ParseUint: parsing "abc": invalid syntax' },
      });
      expect(await session.raw("GET", "/v1/invoices?pending_only=yes")).toMatchObject({
        status: 400,
        json: { code: 3, message: 'parsing field "pending_only": strconv.ParseBool: parsing "yes": invalid syntax' },
      });
      expect(await session.raw("GET", "/v1/channels?peer=abc")).toMatchObject({
        status: 400,
        json: { code: 3, message: 'parsing field "peer": illegal base64 data at input byte 0' },
      });
      // A stream's request that the gateway cannot parse fails before the call: a unary error
      // body (the status at the top level), not a stream's {"error": …} line.
      const sub = await session.raw("GET", `/v2/invoices/subscribe/${unpadded}`);
      expect(sub).toMatchObject({ status: 400, json: { code: 3, message: "type mismatch, parameter: r_hash, error: illegal base64 data at input byte 40", details: [] } });
      const track = await session.raw("GET", `/v2/router/track/${unpadded}`);
      expect(track).toMatchObject({ status: 400, json: { code: 3, message: "type mismatch, parameter: payment_hash, error: illegal base64 data at input byte 40" } });
      expect(await session.raw("GET", `/v2/router/track/${b64url(hash)}?no_inflight_updates=maybe`)).toMatchObject({
        status: 400,
        json: { code: 3, message: 'parsing field "no_inflight_updates": strconv.ParseBool: parsing "maybe": invalid syntax' },
      });
      const sendUnknown = await session.raw("POST", "/v2/router/send", { body: { payment_request: "x", bogus: true } });
      expect(sendUnknown).toMatchObject({ status: 400, json: { code: 3, message: 'proto: (line 1:24): unknown field "bogus"' } });
      // An error of the call itself, before its first message: an {"error": …} line, the status mapped.
      const garbage = await session.raw("POST", "/v2/router/send", { body: { payment_request: "lnbcrt1garbage" } });
      expect(garbage.status).toBe(500);
      expect(garbage.lines).toEqual([{ error: { code: 2, message: "failed converting data to bytes: invalid character not part of charset: 98", details: [] } }]);
      // Standard base64's '/' splits the path, even percent-encoded: no such route.
      const slash = "ff".repeat(32);
      expect(await session.raw("GET", `/v2/router/track/${encodeURIComponent(b64(slash))}`)).toMatchObject({ status: 404, json: { code: 5, message: "Not Found" } });
    });
  });

  describe("macaroons", () => {
    it("requires the macaroon on every route but /v1/state, with LND's error texts", async () => {
      const session = harness.session();
      const { valid, foreign } = await harness.macaroons(session);
      const none = session.client({ macaroonHex: "" });
      expect(await caught(none.getInfo())).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN, httpStatus: 500, message: "expected 1 macaroon, got 0" });
      expect(await caught(session.client({ macaroonHex: foreign }).getInfo())).toMatchObject({
        code: GrpcCode.UNKNOWN,
        httpStatus: 500,
        message: "verification failed: signature mismatch after caveat verification",
      });
      // Streams fail before their first message: the status under "error", HTTP 500.
      expect(await caught(none.waitForPayment(randomHex32(), { waitMs: 2000 }))).toMatchObject({
        code: GrpcCode.UNKNOWN,
        httpStatus: 500,
        message: "expected 1 macaroon, got 0",
      });
      expect(await session.raw("GET", "/v1/getinfo", { macaroonHex: "zz" })).toMatchObject({
        status: 500,
        json: { code: 2, message: "encoding/hex: invalid byte: U+007A 'z'" },
      });
      expect(await session.raw("GET", "/v1/getinfo", { macaroonHex: "020" })).toMatchObject({
        status: 500,
        json: { code: 2, message: "encoding/hex: odd length hex string" },
      });
      expect((await session.client({ macaroonHex: valid }).getInfo()).identity_pubkey).toMatch(/^0[23]/);
      expect(await none.getState()).toBe("SERVER_ACTIVE");
    });
  });

  describe(`faults (fault injection${harness.session().faults ? "" : `: not possible against ${harness.name}, skipped`})`, () => {
    const faulty = harness.session().faults !== null;

    it.runIf(faulty)("fails every send with NO_ROUTE under no_route", async () => {
      const session = harness.session();
      await session.faults!.set({ no_route: true });
      const invoice = await session.outsideInvoice({ amountSat: 1_000, payee: "near" });
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
      expect(again).toMatchObject({ code: GrpcCode.ALREADY_EXISTS, message: "payment is in transition" });

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
  });
}

/**
 * A structurally valid macaroon (v2 binary: location "lnd", a random identifier, no caveats, a
 * random signature), hex: what a node that did not mint it refuses with "signature mismatch".
 */
export function fakeMacaroonHex(): string {
  const id = "03" + randomHex32().slice(0, 40); // LND's identifiers start with their version, 3
  const len = (hex: string) => (hex.length / 2).toString(16).padStart(2, "0");
  return "02" + "01" + "03" + bytesToHex(utf8ToBytes("lnd")) + "02" + len(id) + id + "00" + "00" + "06" + "20" + randomHex32();
}
