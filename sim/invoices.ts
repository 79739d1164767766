// The hub node's hold invoices, with LND's state machine and error texts:
// OPEN → ACCEPTED (an HTLC set arrives) → SETTLED (preimage) or CANCELED;
// OPEN invoices past their expiry are canceled (LND's expiry watcher).

import { sha256 } from "@noble/hashes/sha2.js";
import { encodeInvoice } from "../src/bolt11";
import { failChain, settleChain } from "./channels";
import { randomHex32, type SimContext } from "./context";
import { ALL } from "./events";
import { AMP_INVOICE_FEATURE_BITS, HUB_INVOICE_FEATURE_BITS, invoiceJson } from "./lnd-json";
import type { HubInvoice } from "./store";
import { NdjsonStream } from "./streams";
import { HUB, HUB_CLTV_DELTA } from "./topology";
import { Code, GrpcError, bytesToHex, hash32, hexToBytes, int64, lndError, b64, type JsonObject } from "./wire";
import type { Fields } from "./request";

const DEFAULT_EXPIRY_S = 86_400;
const MAX_MEMO_BYTES = 1024;
/** routing.MinCLTVDelta in LND 0.21. */
const MIN_CLTV_DELTA = 24;
const MAX_EXPIRY_S = 365 * 24 * 3600;
const MAX_INVOICE_SAT = 100_000 * 100_000_000;
const MAX_CLTV_DELTA = 0xffff;
const DEFAULT_LIST_MAX = 100;

export interface HtlcArrival {
  amountMsat: number;
  chain: string;
  chanId: string;
  htlcIndex: number;
  expiryHeight: number;
  /** the ACCEPTED change is not reported to single-invoice subscribers. */
  dropAccepted: boolean;
}

export class InvoiceBook {
  constructor(
    private readonly ctx: SimContext,
    /** told when an HTLC chain that paid an invoice settles (with the preimage) or fails. */
    private readonly onChainResolved: (chain: string, preimage: string | null) => void,
  ) {}

  /** AddHoldInvoice: a real BOLT 11 invoice signed by the hub node's key. */
  addHold(f: Fields): JsonObject {
    const hash = hash32(f.bytes("hash"));
    const terms = this.terms(f);
    if (this.ctx.store.invoice(hash)) throw lndError("invoice with payment hash already exists");
    const inv = this.issue(hash, terms, false, f.bool("private"));
    return { payment_request: inv.paymentRequest, add_index: int64(inv.addIndex), payment_addr: b64(inv.paymentAddr) };
  }

  /**
   * AddInvoice with is_amp: an AMP invoice. LND draws a random payment hash (only an index key: each
   * payment brings its own hashes and preimages) and settles every HTLC set paying it itself; the
   * invoice stays OPEN (payable again) until it expires. Plain invoices are not simulated (the hub
   * receives with hold invoices).
   */
  addInvoice(f: Fields): JsonObject {
    if (!f.bool("is_amp")) throw lndError("sim: AddInvoice is simulated for AMP invoices (is_amp) only; the hub receives with AddHoldInvoice");
    if (f.bytes("r_preimage") !== "") throw lndError("preimage set on AMP invoice");
    const terms = this.terms(f);
    const inv = this.issue(randomHex32(), terms, true, f.bool("private"));
    return { r_hash: b64(inv.hash), payment_request: inv.paymentRequest, add_index: int64(inv.addIndex), payment_addr: b64(inv.paymentAddr) };
  }

  /** The invoice terms of an AddInvoice/AddHoldInvoice request, checked as LND checks them. */
  private terms(f: Fields): { memo: string; descriptionHash: string; valueMsat: number; expiry: number; cltvExpiry: number } {
    const memo = f.str("memo");
    if (new TextEncoder().encode(memo).length > MAX_MEMO_BYTES) {
      throw lndError(`memo too large: ${new TextEncoder().encode(memo).length} bytes (maxsize=${MAX_MEMO_BYTES})`);
    }
    const descriptionHash = f.bytes("description_hash");
    if (descriptionHash !== "" && descriptionHash.length !== 64) {
      throw lndError(`description hash is ${descriptionHash.length / 2} bytes, must be 32`);
    }
    const valueSat = f.int("value");
    const valueMsatField = f.int("value_msat");
    if (valueSat !== 0 && valueMsatField !== 0) throw lndError("sat and msat arguments are mutually exclusive");
    const valueMsat = valueMsatField || valueSat * 1000;
    if (valueMsat < 0) throw lndError(`payments of negative value are not allowed, value is ${valueMsat}`);
    if (valueMsat / 1000 > MAX_INVOICE_SAT) {
      throw lndError(`invoice amount ${Math.floor(valueMsat / 1000) / 1e8} BTC is too large, max is 100000 BTC`);
    }
    const expiryField = f.int("expiry");
    if (expiryField > MAX_EXPIRY_S) {
      throw lndError(`expiry of ${expiryField} seconds greater than max expiry of ${MAX_EXPIRY_S} seconds`);
    }
    const expiry = expiryField > 0 ? expiryField : DEFAULT_EXPIRY_S;
    const cltvField = f.int("cltv_expiry");
    if (cltvField > MAX_CLTV_DELTA) throw lndError(`CLTV delta of ${cltvField} is too large, max accepted is: ${MAX_CLTV_DELTA}`);
    if (cltvField !== 0 && cltvField < MIN_CLTV_DELTA) {
      throw lndError(`CLTV delta of ${cltvField} must be greater than minimum of ${MIN_CLTV_DELTA}`);
    }
    return { memo, descriptionHash, valueMsat, expiry, cltvExpiry: cltvField || HUB_CLTV_DELTA };
  }

  /** A new invoice of the hub node, signed, stored OPEN, announced. */
  private issue(hash: string, t: ReturnType<InvoiceBook["terms"]>, amp: boolean, isPrivate: boolean): HubInvoice {
    const creationDate = this.ctx.nowSeconds();
    const paymentAddr = randomHex32();
    const paymentRequest = encodeInvoice(
      {
        network: "regtest",
        amount_msat: t.valueMsat === 0 ? null : t.valueMsat,
        timestamp: creationDate,
        payment_hash: hash,
        payment_secret: paymentAddr,
        ...(t.descriptionHash ? { description_hash: t.descriptionHash } : { description: t.memo }),
        expiry_s: t.expiry,
        min_final_cltv_expiry: t.cltvExpiry,
        features: amp ? AMP_INVOICE_FEATURE_BITS : HUB_INVOICE_FEATURE_BITS,
      },
      HUB.privateKey,
    );
    const inv: HubInvoice = {
      hash,
      preimage: null,
      memo: t.memo,
      descriptionHash: t.descriptionHash || null,
      valueMsat: t.valueMsat,
      paymentRequest,
      paymentAddr,
      expiry: t.expiry,
      cltvExpiry: t.cltvExpiry,
      private: isPrivate,
      creationDate,
      settleDate: 0,
      addIndex: this.ctx.store.next("add_index"),
      settleIndex: 0,
      state: "OPEN",
      amtPaidMsat: 0,
      htlcs: [],
      ...(amp ? { isAmp: true, ampSets: [] } : {}),
    };
    this.ctx.store.putInvoice(inv);
    this.ctx.reschedule();
    this.ctx.events.invoiceChanged(inv);
    return inv;
  }

  /** SettleInvoice: idempotent once settled, refused while OPEN or after CANCELED. */
  settle(preimageHex: string): void {
    const preimage = hash32(preimageHex, "preimage");
    const hash = bytesToHex(sha256(hexToBytes(preimage)));
    const inv = this.ctx.store.invoice(hash);
    if (!inv) throw lndError("unable to locate invoice");
    if (inv.state === "SETTLED") return;
    if (inv.state === "OPEN") throw lndError("invoice still open");
    if (inv.state === "CANCELED") throw lndError("invoice already canceled");
    const now = this.ctx.nowSeconds();
    inv.state = "SETTLED";
    inv.preimage = preimage;
    inv.settleDate = now;
    inv.settleIndex = this.ctx.store.next("settle_index");
    for (const h of inv.htlcs) {
      if (h.state !== "ACCEPTED") continue;
      h.state = "SETTLED";
      h.resolveTime = now;
      settleChain(this.ctx.store, h.chain);
    }
    this.ctx.store.putInvoice(inv);
    this.ctx.events.invoiceChanged(inv);
    for (const h of inv.htlcs) this.onChainResolved(h.chain, preimage);
  }

  /** CancelInvoice: idempotent once canceled, refused after SETTLED. */
  cancel(hashHex: string): void {
    const inv = this.ctx.store.invoice(hash32(hashHex));
    if (!inv) throw lndError("unable to locate invoice");
    if (inv.state === "SETTLED") throw lndError("invoice already settled");
    if (inv.state === "CANCELED") return;
    this.cancelInvoice(inv);
  }

  private cancelInvoice(inv: HubInvoice): void {
    const now = this.ctx.nowSeconds();
    // LND keeps amt_paid of a canceled (non-AMP) invoice as it was.
    inv.state = "CANCELED";
    const failed: string[] = [];
    for (const h of inv.htlcs) {
      if (h.state !== "ACCEPTED") continue;
      h.state = "CANCELED";
      h.resolveTime = now;
      failChain(this.ctx.store, h.chain);
      failed.push(h.chain);
    }
    this.ctx.store.putInvoice(inv);
    this.ctx.events.invoiceChanged(inv);
    for (const chain of failed) this.onChainResolved(chain, null);
  }

  /** LookupInvoiceV2 by payment hash (or payment address): an unknown invoice is NOT_FOUND. */
  lookup(hashHex: string, paymentAddrHex: string): JsonObject {
    let inv: HubInvoice | null;
    if (hashHex !== "") {
      if (hashHex.length !== 64) {
        throw new GrpcError(Code.INVALID_ARGUMENT, `unable to parse pay hash: invalid hash length of ${hashHex.length / 2}, want 32`);
      }
      inv = this.ctx.store.invoice(hashHex);
    } else if (paymentAddrHex !== "") {
      inv = this.ctx.store.invoicesWhere("1 = 1").find((i) => i.paymentAddr === paymentAddrHex) ?? null;
    } else {
      throw new GrpcError(Code.INVALID_ARGUMENT, "invoice ref must be set");
    }
    if (!inv) throw new GrpcError(Code.NOT_FOUND, "unable to locate invoice");
    return invoiceJson(inv);
  }

  /** ListInvoices: pages by add_index, always in ascending order. */
  list(q: { indexOffset: number; numMax: number; pendingOnly: boolean; reversed: boolean; start: number; end: number }): JsonObject {
    if (q.start !== 0 && q.end !== 0 && q.start >= q.end) {
      throw lndError(`start date(${q.start}) must be before end date(${q.end})`);
    }
    const conditions = ["1 = 1"];
    if (q.pendingOnly) conditions.push("state IN ('OPEN', 'ACCEPTED')");
    if (q.start > 0) conditions.push(`creation_date >= ${q.start}`);
    if (q.end > 0) conditions.push(`creation_date <= ${q.end}`);
    const all = this.ctx.store.invoicesWhere(conditions.join(" AND "));
    const max = q.numMax || DEFAULT_LIST_MAX;
    const page = q.reversed
      ? all.filter((i) => q.indexOffset === 0 || i.addIndex < q.indexOffset).slice(-max)
      : all.filter((i) => i.addIndex > q.indexOffset).slice(0, max);
    return {
      invoices: page.map(invoiceJson),
      last_index_offset: int64(page.at(-1)?.addIndex ?? 0),
      first_index_offset: int64(page[0]?.addIndex ?? 0),
    };
  }

  /** SubscribeInvoices: replays additions after add_index and settlements after settle_index, then live. */
  subscribeAll(addIndex: number, settleIndex: number, signal: AbortSignal): Promise<Response> {
    const stream = new NdjsonStream(signal);
    if (addIndex > 0) {
      for (const inv of this.ctx.store.invoicesWhere("add_index > ?", addIndex)) stream.send(invoiceJson(inv));
    }
    if (settleIndex > 0) {
      const settled = this.ctx.store.invoicesWhere("state = 'SETTLED' AND settle_index > ?", settleIndex);
      for (const inv of settled.sort((a, b) => a.settleIndex - b.settleIndex)) stream.send(invoiceJson(inv));
    }
    this.ctx.events.allInvoices.add(ALL, stream, null);
    return stream.response;
  }

  /** SubscribeSingleInvoice: current state first (if the invoice exists yet), every change, ends when final. */
  subscribeSingle(hashHex: string, dropAccepted: boolean, signal: AbortSignal): Promise<Response> {
    const hash = hash32(hashHex);
    const stream = new NdjsonStream(signal);
    const inv = this.ctx.store.invoice(hash);
    if (inv) {
      stream.send(invoiceJson(inv));
      if (inv.state === "SETTLED" || inv.state === "CANCELED") stream.close();
    }
    if (stream.isOpen) this.ctx.events.singleInvoice.add(hash, stream, { dropAccepted });
    return stream.response;
  }

  /**
   * An HTLC set arrives for a hub invoice. Returns why the hub node rejects
   * it, or null when the invoice is now ACCEPTED (held until settled or canceled).
   */
  accept(hash: string, paymentAddr: string, htlc: HtlcArrival): string | null {
    const refused = this.rejection(hash, paymentAddr, htlc.amountMsat);
    const inv = this.ctx.store.invoice(hash);
    if (refused || !inv) return refused ?? "unknown invoice";
    if (inv.isAmp) return "invoice is AMP: pay it with an AMP set";
    const tip = this.ctx.tip();
    inv.state = "ACCEPTED";
    inv.amtPaidMsat = htlc.amountMsat;
    inv.htlcs.push({
      chanId: htlc.chanId,
      htlcIndex: htlc.htlcIndex,
      amtMsat: htlc.amountMsat,
      acceptHeight: tip.height,
      acceptTime: this.ctx.nowSeconds(),
      resolveTime: 0,
      expiryHeight: htlc.expiryHeight,
      state: "ACCEPTED",
      chain: htlc.chain,
    });
    this.ctx.store.putInvoice(inv);
    this.ctx.reschedule();
    this.ctx.events.invoiceChanged(inv, htlc.dropAccepted);
    return null;
  }

  /**
   * An AMP HTLC set arrives for a hub AMP invoice: LND settles it at once (the preimages come from the
   * payer's shares) under its set id; the invoice stays OPEN, payable again. Returns why it is refused, or null.
   * `dropEvent`: the change is not reported to single-invoice subscribers (a missed event, for the sweep).
   */
  acceptAmp(hash: string, paymentAddr: string, setId: string, htlc: HtlcArrival, dropEvent: boolean): string | null {
    const refused = this.rejection(hash, paymentAddr, htlc.amountMsat);
    const inv = this.ctx.store.invoice(hash);
    if (refused || !inv) return refused ?? "unknown invoice";
    if (!inv.isAmp) return "invoice is not AMP";
    const sets = inv.ampSets ?? [];
    if (sets.some((a) => a.setId === setId)) return "set already paid";
    const now = this.ctx.nowSeconds();
    settleChain(this.ctx.store, htlc.chain);
    inv.htlcs.push({
      chanId: htlc.chanId,
      htlcIndex: htlc.htlcIndex,
      amtMsat: htlc.amountMsat,
      acceptHeight: this.ctx.tip().height,
      acceptTime: now,
      resolveTime: now,
      expiryHeight: htlc.expiryHeight,
      state: "SETTLED",
      chain: htlc.chain,
      setId,
    });
    const settleIndex = this.ctx.store.next("settle_index");
    inv.ampSets = [...sets, { setId, settleIndex, settleTime: now, amtPaidMsat: htlc.amountMsat }];
    inv.amtPaidMsat += htlc.amountMsat;
    inv.settleIndex = settleIndex;
    inv.settleDate = now;
    this.ctx.store.putInvoice(inv);
    this.ctx.events.invoiceChanged(inv, dropEvent);
    return null;
  }

  /** Why the hub node would refuse an HTLC set of `amountMsat` for this invoice, or null. */
  rejection(hash: string, paymentAddr: string, amountMsat: number): string | null {
    this.expireDue();
    const inv = this.ctx.store.invoice(hash);
    if (!inv || inv.paymentAddr !== paymentAddr) return "unknown invoice";
    if (inv.state === "CANCELED") return inv.creationDate + inv.expiry <= this.ctx.nowSeconds() ? "invoice expired" : "invoice canceled";
    if (inv.state !== "OPEN") return "invoice already paid";
    // An AMP invoice stays OPEN: each set is checked against its amount, as a payment of its own.
    if (inv.valueMsat > 0 && amountMsat < inv.valueMsat) return "amount too low";
    if (inv.valueMsat > 0 && amountMsat > 2 * inv.valueMsat) return "amount too high";
    return null;
  }

  /** Cancels OPEN invoices whose expiry has passed, as LND's invoice expiry watcher does. */
  expireDue(): void {
    const due = this.ctx.store.invoicesWhere("state = 'OPEN' AND expires_at_ms <= ?", this.ctx.nowMs());
    for (const inv of due) this.cancelInvoice(inv);
  }

  invoice(hash: string): HubInvoice | null {
    return this.ctx.store.invoice(hash);
  }
}
