// The hub node's outgoing payments (routerrpc SendPaymentV2 / TrackPaymentV2
// / EstimateRouteFee). A payment tries routes cheapest first; an attempt that
// hits a remote channel without liquidity fails with
// TEMPORARY_CHANNEL_FAILURE and the next route is tried. An attempt that
// reaches an outside node is held for payment_in_flight_ms, then settled
// (preimage revealed) or failed by the payee; one that reaches the hub node
// itself (allow_self_payment) is held by the hub's own invoice.

import { sha256 } from "@noble/hashes/sha2.js";
import { InvalidInvoiceError, decodeInvoice, type DecodedInvoice } from "../src/bolt11";
import { failChain, lockChain, settleChain } from "./channels";
import { randomHex32, type SimContext } from "./context";
import type { InvoiceBook } from "./invoices";
import type { Knobs } from "./knobs";
import { paymentJson } from "./lnd-json";
import { attemptFailure, findRoutes, totalOutbound } from "./routing";
import type { Attempt, HubPayment, Route } from "./store";
import { NdjsonStream } from "./streams";
import { HUB, HUB_CLTV_DELTA, OUTSIDE_FINAL_CLTV, nodeByPubkey, type NodeName } from "./topology";
import { Code, GrpcError, bytesToHex, goTimeString, hash32, hexToBytes, int64, lndError, type JsonObject } from "./wire";
import { bodyBytesToHex, type Fields } from "./request";

/** The keysend record's TLV type (bLIP-3). */
const KEYSEND_TYPE = "5482373484";

/** routerrpc's fee limit for fee estimates (routeFeeLimitSat: 100M sat). */
const ESTIMATE_FEE_LIMIT_MSAT = 100_000_000_000;

interface SendOptions {
  feeLimitMsat: number;
  outgoingChanIds: string[];
  lastHopPubkey: string;
}

/** The bech32 alphabet: zpay32 names the first character outside it by its byte value. */
const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** Decodes a payment request as LND's zpay32.Decode does for a regtest node. */
export function decodeForRegtest(paymentRequest: string): DecodedInvoice {
  // zpay32's bech32 step: the data part (after the last '1') must be in the charset.
  const separator = paymentRequest.toLowerCase().lastIndexOf("1");
  if (separator >= 1 && separator + 7 <= paymentRequest.length && /^[\x21-\x7e]+$/.test(paymentRequest)) {
    const data = paymentRequest.toLowerCase().slice(separator + 1);
    const bad = [...data].find((c) => !BECH32_CHARSET.includes(c));
    if (bad) throw lndError(`failed converting data to bytes: invalid character not part of charset: ${bad.charCodeAt(0)}`);
  }
  let decoded: DecodedInvoice;
  try {
    decoded = decodeInvoice(paymentRequest);
  } catch (e) {
    throw lndError(e instanceof InvalidInvoiceError ? e.message : String(e));
  }
  if (decoded.network !== "regtest") throw lndError("invoice not for current active network 'regtest'");
  return decoded;
}

export class PaymentBook {
  constructor(
    private readonly ctx: SimContext,
    private readonly invoices: InvoiceBook,
  ) {}

  /** SendPaymentV2: validation errors come before the stream's first message. */
  send(f: Fields, knobs: Knobs, signal: AbortSignal): Promise<Response> {
    // Checked in the order of LND's extractIntentFromSendRequest.
    const feeLimitSat = f.int("fee_limit_sat");
    const feeLimitMsatField = f.int("fee_limit_msat");
    if (feeLimitSat !== 0 && feeLimitMsatField !== 0) throw lndError("sat and msat arguments are mutually exclusive");
    const amtSat = f.int("amt");
    const amtMsatField = f.int("amt_msat");
    if (amtSat !== 0 && amtMsatField !== 0) throw lndError("sat and msat arguments are mutually exclusive");
    const requested = amtMsatField || amtSat * 1000;
    const paymentRequest = f.str("payment_request");
    if (paymentRequest === "") return this.sendKeysend(f, knobs, signal, requested, feeLimitMsatField || feeLimitSat * 1000);
    if (f.bytes("dest") !== "") throw lndError("dest and payment_request cannot appear together");
    if (f.bytes("payment_hash") !== "") throw lndError("payment_hash and payment_request cannot appear together");
    if (f.int("final_cltv_delta") !== 0) throw lndError("final_cltv_delta and payment_request cannot appear together");
    const decoded = decodeForRegtest(paymentRequest);
    const validUntil = decoded.timestamp + decoded.expiry_s;
    if (this.ctx.nowSeconds() > validUntil) throw lndError(`invoice expired. Valid until ${goTimeString(validUntil)}`);

    let amountMsat: number;
    if (decoded.amount_msat === null) {
      if (requested === 0) throw lndError("amount must be specified when paying a zero amount invoice");
      amountMsat = requested;
    } else {
      if (requested !== 0) throw lndError("amount must not be specified when paying a non-zero amount invoice");
      amountMsat = decoded.amount_msat;
    }
    const options: SendOptions = {
      feeLimitMsat: feeLimitMsatField || feeLimitSat * 1000,
      outgoingChanIds: f.list("outgoing_chan_ids").map(String),
      lastHopPubkey: f.bytes("last_hop_pubkey"),
    };
    if (!f.bool("allow_self_payment") && decoded.payee === HUB.pubkey) throw lndError("self-payments not allowed");

    const outside = this.ctx.store.outsideInvoice(decoded.payment_hash);
    const effective: Knobs = { ...knobs, ...(outside?.knobs ?? {}) };
    if (decoded.features.includes(30) || decoded.features.includes(31)) {
      if (!f.bool("amp")) throw lndError("the AMP flag (--amp or SendPaymentRequest.Amp) must be set to pay an AMP invoice");
      return this.sendAmpInvoice(f, signal, decoded, paymentRequest, amountMsat, options, effective);
    }

    const hash = decoded.payment_hash;
    const existing = this.ctx.store.payment(hash);
    if (existing?.status === "SUCCEEDED") throw new GrpcError(Code.ALREADY_EXISTS, "invoice is already paid");
    if (existing?.status === "IN_FLIGHT") throw new GrpcError(Code.ALREADY_EXISTS, "payment is in transition");

    const { payment, stream } = this.begin(f, signal, hash, paymentRequest, decoded.payment_secret, amountMsat);
    this.pay(payment, decoded, options, effective);
    return stream.response;
  }

  /**
   * Paying an AMP invoice (SendPaymentV2 with amp): LND draws a set id, the payment's identifier (its
   * payment_hash), and pays the invoice's payment address (or the caller's, which only a payee accepting
   * spontaneous AMP takes). As for spontaneous AMP, the simulator's set id is the SHA-256 of a preimage it
   * draws, paid in one part; the outside payee settles any set paying its open AMP invoice.
   */
  private sendAmpInvoice(f: Fields, signal: AbortSignal, decoded: DecodedInvoice, paymentRequest: string, amountMsat: number, options: SendOptions, knobs: Knobs): Promise<Response> {
    const preimage = randomHex32();
    const setId = bytesToHex(sha256(hexToBytes(preimage)));
    const paymentAddr = f.bytes("payment_addr") || decoded.payment_secret;
    const invoice = this.ctx.store.outsideInvoice(decoded.payment_hash);
    const node = nodeByPubkey(decoded.payee);
    if (invoice?.amp && node && node.name !== "hub" && invoice.node === node.name) {
      // What the payee derives from the set's shares: a preimage for this set, under the invoice's terms.
      this.ctx.store.putOutsideInvoice({
        hash: setId, preimage, node: invoice.node, paymentRequest: "", paymentAddr: invoice.paymentAddr, amountMsat: invoice.amountMsat,
        expiresAtMs: invoice.expiresAtMs, knobs: {}, paid: false, state: invoice.state === "canceled" ? "canceled" : "open",
      });
    }
    const { payment, stream } = this.begin(f, signal, setId, paymentRequest, paymentAddr, amountMsat);
    this.pay(payment, { ...decoded, payment_hash: setId, payment_secret: paymentAddr }, options, knobs);
    return stream.response;
  }

  /** A new payment IN_FLIGHT, recorded, with the stream its updates go to (an invoice's or a keysend's). */
  private begin(f: Fields, signal: AbortSignal, hash: string, paymentRequest: string, paymentAddr: string, valueMsat: number): { payment: HubPayment; stream: NdjsonStream } {
    const payment: HubPayment = {
      hash,
      paymentIndex: this.ctx.store.next("payment_index"),
      paymentRequest,
      paymentAddr,
      valueMsat,
      feeMsat: 0,
      status: "IN_FLIGHT",
      failureReason: "FAILURE_REASON_NONE",
      preimage: null,
      creationTimeNs: this.ctx.nowNs(),
      attempts: [],
      resolveAtMs: null,
      outcome: "succeed",
    };
    const stream = new NdjsonStream(signal);
    this.ctx.events.payments.add(hash, stream, { noInflightUpdates: f.bool("no_inflight_updates") });
    this.update(payment);
    return { payment, stream };
  }

  /**
   * SendPaymentV2 to a node's public key with the preimage in the keysend record (5482373484): the
   * destination (an outside node) accepts it when the preimage hashes to payment_hash. One part.
   */
  private sendKeysend(f: Fields, knobs: Knobs, signal: AbortSignal, amountMsat: number, feeLimitMsat: number): Promise<Response> {
    const dest = f.bytes("dest");
    if (dest === "") throw lndError("sim: a payment needs a payment_request or a dest");
    if (dest.length !== 66) throw lndError(`invalid vertex length of ${dest.length / 2}, want 33`);
    if (amountMsat === 0) throw lndError("amount must be specified when paying to a node");
    const amp = f.bool("amp");
    // AMP: LND draws the set id, which is the payment's identifier (its payment_hash) and ignores payment_hash.
    // The simulator draws a preimage and uses its SHA-256 as the set id (in LND each part has its own
    // hash and preimage, derived from a root share); the payment address is the caller's, or random.
    const ampPreimage = amp ? randomHex32() : "";
    const hash = amp ? bytesToHex(sha256(hexToBytes(ampPreimage))) : f.bytes("payment_hash");
    if (hash.length !== 64) throw lndError("payment hash must be given when paying to a node");
    const paymentAddr = amp ? f.bytes("payment_addr") || randomHex32() : "";
    const records = f.object("dest_custom_records");
    const record = records[KEYSEND_TYPE];
    const preimage = amp ? ampPreimage : typeof record === "string" ? (bodyBytesToHex(record) ?? "") : "";
    if (!f.bool("allow_self_payment") && dest === HUB.pubkey) throw lndError("self-payments not allowed");
    const existing = this.ctx.store.payment(hash);
    if (existing?.status === "SUCCEEDED") throw new GrpcError(Code.ALREADY_EXISTS, "invoice is already paid");
    if (existing?.status === "IN_FLIGHT") throw new GrpcError(Code.ALREADY_EXISTS, "payment is in transition");
    const node = nodeByPubkey(dest);
    // The destination keeps what the onion carried: a preimage of the hash is a payment it can settle.
    if (node && node.name !== "hub" && preimage.length === 64 && bytesToHex(sha256(hexToBytes(preimage))) === hash) {
      this.ctx.store.putOutsideInvoice({
        hash, preimage, node: node.name, paymentRequest: "", paymentAddr, amountMsat: null,
        expiresAtMs: this.ctx.nowMs() + 24 * 3600_000, knobs: {}, paid: false,
      });
    }
    const { payment, stream } = this.begin(f, signal, hash, "", paymentAddr, amountMsat);
    const decoded = { payee: dest, payment_hash: hash, payment_secret: paymentAddr, min_final_cltv_expiry: OUTSIDE_FINAL_CLTV } as unknown as DecodedInvoice;
    const options: SendOptions = { feeLimitMsat, outgoingChanIds: f.list("outgoing_chan_ids").map(String), lastHopPubkey: f.bytes("last_hop_pubkey") };
    this.pay(payment, decoded, options, knobs);
    return stream.response;
  }

  /** TrackPaymentV2: current state first (unless no_inflight_updates hides it), then changes. */
  track(hashHex: string, noInflightUpdates: boolean, signal: AbortSignal): Promise<Response> {
    const stream = new NdjsonStream(signal);
    const payment = this.ctx.store.payment(hash32(hashHex));
    if (!payment) {
      stream.fail(new GrpcError(Code.NOT_FOUND, "payment isn't initiated"));
      return stream.response;
    }
    if (payment.status !== "IN_FLIGHT") {
      stream.send(paymentJson(payment));
      stream.close();
      return stream.response;
    }
    if (!noInflightUpdates) stream.send(paymentJson(payment));
    this.ctx.events.payments.add(payment.hash, stream, { noInflightUpdates });
    return stream.response;
  }

  /** ListPayments: payments created at or after creation_date_start (unix seconds), in-flight ones only if include_incomplete. */
  list(includeIncomplete: boolean, creationDateStart: number): JsonObject {
    const payments = this.ctx.store
      .allPayments()
      .filter((p) => (includeIncomplete || p.status !== "IN_FLIGHT") && Number(BigInt(p.creationTimeNs) / 1_000_000_000n) >= creationDateStart)
      .map(paymentJson);
    return { payments, first_index_offset: "0", last_index_offset: "0", total_num_payments: "0" };
  }

  /** EstimateRouteFee: a graph estimate for {dest, amt_sat}, a probe for {payment_request}. */
  estimateFee(f: Fields): JsonObject {
    const dest = f.bytes("dest");
    const paymentRequest = f.str("payment_request");
    if ((dest !== "") === (paymentRequest !== "")) throw lndError("specify either a destination or an invoice");
    const balances = this.ctx.store.balances();
    const height = this.ctx.tip().height;
    if (dest !== "") {
      if (dest.length !== 66) throw lndError("invalid length destination key");
      const amtSat = f.int("amt_sat");
      if (amtSat <= 0) throw lndError("amount must be greater than 0");
      const node = nodeByPubkey(dest);
      const routes =
        node && node.name !== "hub"
          ? findRoutes({ from: "hub", to: node.name, amountMsat: amtSat * 1000, finalCltvDelta: HUB_CLTV_DELTA, height, balances, feeLimitMsat: ESTIMATE_FEE_LIMIT_MSAT })
          : [];
      const best = routes[0];
      if (!best) throw lndError("unable to find a path to destination");
      // The route's absolute time lock, block padding included (once: buildRoute adds it).
      return { routing_fee_msat: int64(best.totalFeesMsat), time_lock_delay: int64(best.totalTimeLock), failure_reason: "FAILURE_REASON_NONE" };
    }
    const decoded = decodeForRegtest(paymentRequest);
    if (decoded.amount_msat === null || decoded.amount_msat <= 0) throw lndError("payment request amount must be greater than 0");
    const node = nodeByPubkey(decoded.payee);
    const probe =
      node && node.name !== "hub"
        ? findRoutes({
            from: "hub",
            to: node.name,
            amountMsat: decoded.amount_msat,
            finalCltvDelta: decoded.min_final_cltv_expiry,
            height,
            balances,
            feeLimitMsat: ESTIMATE_FEE_LIMIT_MSAT,
          }).find((r) => attemptFailure(r, balances) === null)
        : undefined;
    if (!probe) return { routing_fee_msat: "0", time_lock_delay: "0", failure_reason: "FAILURE_REASON_NO_ROUTE" };
    return { routing_fee_msat: int64(probe.totalFeesMsat), time_lock_delay: int64(probe.totalTimeLock), failure_reason: "FAILURE_REASON_NONE" };
  }

  /** Resolves held attempts whose time has come (alarm and request sweeps). */
  resolveDue(): void {
    for (const payment of this.ctx.store.duePayments(this.ctx.nowMs())) {
      const deferred = payment.deferred;
      if (deferred) {
        delete payment.deferred;
        payment.resolveAtMs = null;
        const { decoded, knobs, ...options } = deferred;
        this.pay(payment, decoded as DecodedInvoice, options, knobs as unknown as Knobs);
        continue;
      }
      const attempt = payment.attempts.find((a) => a.status === "IN_FLIGHT");
      if (!attempt) continue;
      const outside = this.ctx.store.outsideInvoice(payment.hash);
      if (payment.outcome === "succeed" && outside) this.succeed(payment, attempt, outside.preimage);
      else this.failAtPayee(payment, attempt);
    }
  }

  /** An HTLC chain held by a hub invoice (a self-payment) was settled or failed there. */
  chainResolved(chain: string, preimage: string | null): void {
    const match = /^pay:([0-9a-f]{64}):(\d+)$/.exec(chain);
    if (!match) return;
    const payment = this.ctx.store.payment(match[1] as string);
    const attempt = payment?.attempts.find((a) => a.chain === chain && a.status === "IN_FLIGHT");
    if (!payment || !attempt) return;
    if (preimage) this.succeed(payment, attempt, preimage);
    else this.failAtPayee(payment, attempt);
  }

  // ---- the payment lifecycle ----

  private pay(payment: HubPayment, decoded: DecodedInvoice, options: SendOptions, knobs: Knobs): void {
    if (knobs.payment_pathfinding_ms > 0) {
      // Listed IN_FLIGHT with no attempt until its pathfinding ends (resolveDue starts it then).
      payment.deferred = {
        decoded: { payee: decoded.payee, payment_hash: decoded.payment_hash, payment_secret: decoded.payment_secret, min_final_cltv_expiry: decoded.min_final_cltv_expiry },
        feeLimitMsat: options.feeLimitMsat,
        outgoingChanIds: options.outgoingChanIds,
        lastHopPubkey: options.lastHopPubkey,
        knobs: { ...knobs, payment_pathfinding_ms: 0 },
      };
      payment.resolveAtMs = this.ctx.nowMs() + knobs.payment_pathfinding_ms;
      this.ctx.store.putPayment(payment);
      this.ctx.reschedule();
      return;
    }
    const dest = nodeByPubkey(decoded.payee);
    if (knobs.no_route || !dest) {
      return this.finish(payment, "FAILURE_REASON_NO_ROUTE");
    }
    const balances = this.ctx.store.balances();
    if (totalOutbound(balances, "hub") < payment.valueMsat) return this.finish(payment, "FAILURE_REASON_INSUFFICIENT_BALANCE");
    const routes = findRoutes({
      from: "hub",
      to: dest.name,
      amountMsat: payment.valueMsat,
      finalCltvDelta: decoded.min_final_cltv_expiry,
      height: this.ctx.tip().height,
      balances,
      feeLimitMsat: options.feeLimitMsat,
      outgoingChanIds: options.outgoingChanIds,
      lastHopPubkey: options.lastHopPubkey,
    });
    for (const route of routes) {
      const attempt = this.startAttempt(payment, route);
      const failedAt = attemptFailure(route, this.ctx.store.balances());
      if (failedAt === null) lockChain(this.ctx.store, attempt.chain, route, payment.hash);
      this.update(payment); // the attempt is registered, in flight
      if (failedAt !== null) {
        this.failAttempt(payment, attempt, "TEMPORARY_CHANNEL_FAILURE", failedAt, 0);
        continue;
      }
      this.deliver(payment, attempt, dest.name, decoded, knobs);
      return;
    }
    this.finish(payment, "FAILURE_REASON_NO_ROUTE");
  }

  /** The final node receives the HTLC. */
  private deliver(payment: HubPayment, attempt: Attempt, dest: NodeName, decoded: DecodedInvoice, knobs: Knobs): void {
    const route = attempt.route;
    const finalHop = route.hops[route.hops.length - 1]!;
    if (dest === "hub") {
      const htlcIndex = this.ctx.store.pendingHtlcs(attempt.chain).at(-1)?.htlcIndex ?? 0;
      const rejected = this.invoices.accept(payment.hash, decoded.payment_secret, {
        amountMsat: finalHop.amtToForwardMsat,
        chain: attempt.chain,
        chanId: finalHop.chanId,
        htlcIndex,
        expiryHeight: finalHop.expiry,
        dropAccepted: knobs.drop_invoice_events,
      });
      if (rejected) this.failAtPayee(payment, attempt);
      return;
    }
    const outside = this.ctx.store.outsideInvoice(payment.hash);
    const acceptable =
      outside !== null &&
      outside.node === dest &&
      outside.paymentAddr === decoded.payment_secret &&
      outside.expiresAtMs > this.ctx.nowMs() &&
      (outside.state ?? "open") === "open" &&
      (outside.amountMsat === null || finalHop.amtToForwardMsat >= outside.amountMsat);
    if (!acceptable) return this.failAtPayee(payment, attempt);
    if (outside.hold) {
      // Held by the payee until /sim/invoices/settle or /cancel.
      this.ctx.store.putOutsideInvoice({ ...outside, state: "accepted" });
      return;
    }
    if (knobs.payment_in_flight_ms > 0) {
      payment.resolveAtMs = this.ctx.nowMs() + knobs.payment_in_flight_ms;
      payment.outcome = knobs.payment_outcome;
      this.ctx.store.putPayment(payment);
      this.ctx.reschedule();
      return;
    }
    if (knobs.payment_outcome === "fail") return this.failAtPayee(payment, attempt);
    this.succeed(payment, attempt, outside.preimage);
  }

  private startAttempt(payment: HubPayment, route: Route): Attempt {
    const attemptId = this.ctx.store.next("attempt_id");
    const attempt: Attempt = {
      attemptId,
      status: "IN_FLIGHT",
      route,
      attemptTimeNs: this.ctx.nowNs(),
      resolveTimeNs: "0",
      failure: null,
      preimage: null,
      chain: `pay:${payment.hash}:${attemptId}`,
    };
    payment.attempts.push(attempt);
    return attempt;
  }

  private failAttempt(payment: HubPayment, attempt: Attempt, code: string, sourceIndex: number, htlcMsat: number): void {
    failChain(this.ctx.store, attempt.chain);
    attempt.status = "FAILED";
    attempt.resolveTimeNs = this.ctx.nowNs();
    attempt.failure = { code, failureSourceIndex: sourceIndex, htlcMsat, height: code === "TEMPORARY_CHANNEL_FAILURE" ? 0 : this.ctx.tip().height };
    this.update(payment);
  }

  /** The payee refuses the HTLC: a terminal failure (LND reports no htlc_msat for this code). */
  private failAtPayee(payment: HubPayment, attempt: Attempt): void {
    this.failAttempt(payment, attempt, "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS", attempt.route.hops.length, 0);
    this.finish(payment, "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS");
  }

  private succeed(payment: HubPayment, attempt: Attempt, preimage: string): void {
    if (bytesToHex(sha256(hexToBytes(preimage))) !== payment.hash) return this.failAtPayee(payment, attempt);
    settleChain(this.ctx.store, attempt.chain);
    attempt.status = "SUCCEEDED";
    attempt.resolveTimeNs = this.ctx.nowNs();
    attempt.preimage = preimage;
    payment.status = "SUCCEEDED";
    payment.preimage = preimage;
    payment.resolveAtMs = null;
    const outside = this.ctx.store.outsideInvoice(payment.hash);
    if (outside) this.ctx.store.putOutsideInvoice({ ...outside, paid: true });
    this.update(payment);
  }

  private finish(payment: HubPayment, reason: string): void {
    payment.status = "FAILED";
    payment.failureReason = reason;
    payment.resolveAtMs = null;
    this.update(payment);
  }

  /**
   * Persists and reports the payment; as in LND, its fee counts settled attempts only. Once the
   * payment is final, LND deletes its failed attempts (keep-failed-payment-attempts=false): the
   * last live update still shows them, a later TrackPaymentV2 does not.
   */
  private update(payment: HubPayment): void {
    payment.feeMsat = payment.attempts.filter((a) => a.status === "SUCCEEDED").reduce((s, a) => s + a.route.totalFeesMsat, 0);
    this.ctx.store.putPayment(payment);
    this.ctx.events.paymentChanged(payment);
    if (payment.status !== "IN_FLIGHT" && payment.attempts.some((a) => a.status === "FAILED")) {
      this.ctx.store.putPayment({ ...payment, attempts: payment.attempts.filter((a) => a.status !== "FAILED") });
    }
  }

  /** An outside node settles its hold invoice: the payment holding it succeeds. False if none is held. */
  settleHeld(hash: string): boolean {
    const held = this.heldAttempt(hash);
    const outside = this.ctx.store.outsideInvoice(hash);
    if (!held || !outside) return false;
    this.ctx.store.putOutsideInvoice({ ...outside, state: "settled" });
    this.succeed(held.payment, held.attempt, outside.preimage);
    return true;
  }

  /** An outside node cancels its hold invoice: a payment holding it fails, later ones too. */
  cancelHeld(hash: string): void {
    const outside = this.ctx.store.outsideInvoice(hash);
    if (outside) this.ctx.store.putOutsideInvoice({ ...outside, state: "canceled" });
    const held = this.heldAttempt(hash);
    if (held) this.failAtPayee(held.payment, held.attempt);
  }

  private heldAttempt(hash: string): { payment: HubPayment; attempt: Attempt } | null {
    const payment = this.ctx.store.payment(hash);
    const attempt = payment?.status === "IN_FLIGHT" ? payment.attempts.find((a) => a.status === "IN_FLIGHT") : undefined;
    return payment && attempt ? { payment, attempt } : null;
  }
}
