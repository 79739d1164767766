// The simulator's own endpoints (not LND's), under /sim/: the outside world
// issues invoices and pays the hub node's invoices, tests set knobs.
// Errors: 4xx {error: {code, message}}.

import { sha256 } from "@noble/hashes/sha2.js";
import { InvalidInvoiceError, decodeInvoice, encodeInvoice, type DecodedInvoice } from "../src/bolt11";
import type { Chain } from "./chain";
import { failChain, lockChain, networkView } from "./channels";
import { randomHex32, type SimContext } from "./context";
import type { InvoiceBook } from "./invoices";
import type { PaymentBook } from "./payments";
import type { OutsideInvoice } from "./store";
import { DEFAULT_KNOBS, PAYMENT_KNOBS, parseKnobs, type Knobs } from "./knobs";
import { AMP_INVOICE_FEATURE_BITS, OUTSIDE_INVOICE_FEATURE_BITS } from "./lnd-json";
import { attemptFailure, findRoutes } from "./routing";
import { HUB, NODES, OUTSIDE_FINAL_CLTV, OUTSIDE_NODES, type NodeName } from "./topology";
import { bytesToHex, hexToBytes, jsonResponse, type JsonObject } from "./wire";

const DEFAULT_OUTSIDE_EXPIRY_S = 3600;
const DEFAULT_PAY_WAIT_MS = 5000;
const MAX_PAY_WAIT_MS = 60_000;
const DEFAULT_PAYER: NodeName = "dave";

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (code: string, message: string) => new ControlError(400, code, message);

/** Knob storage per scope; the DO owns the cache. */
export interface KnobAccess {
  effective(scope: string): Knobs;
  /** replaces the scope's knobs: what is not given is back to its default. */
  set(scope: string, knobs: Partial<Knobs>): Knobs;
  reset(scope: string): void;
  /** the whole simulator back to its opening state. */
  resetNetwork(): void;
}

export class Control {
  constructor(
    private readonly ctx: SimContext,
    private readonly invoices: InvoiceBook,
    private readonly payments: PaymentBook,
    private readonly knobs: KnobAccess,
    private readonly chain: Chain,
  ) {}

  async handle(request: Request, path: string, scope: string): Promise<Response> {
    try {
      const route = `${request.method} ${path}`;
      switch (route) {
        case "POST /sim/invoices":
          return jsonResponse(this.createInvoice(await body(request)));
        case "POST /sim/invoices/settle":
          return jsonResponse(this.settleOutside(await body(request)));
        case "POST /sim/invoices/cancel":
          return jsonResponse(this.cancelOutside(await body(request)));
        case "POST /sim/pay":
          return jsonResponse(await this.pay(await body(request), scope));
        case "GET /sim/knobs":
          return jsonResponse({ scope, knobs: this.knobs.effective(scope) });
        case "POST /sim/knobs": {
          const parsed = parseKnobs(await body(request));
          if (typeof parsed === "string") throw badRequest("invalid_knobs", parsed);
          return jsonResponse({ scope, knobs: this.knobs.set(scope, parsed) });
        }
        case "POST /sim/reset": {
          const b = await body(request);
          if (b.network === true) this.knobs.resetNetwork();
          else this.knobs.reset(scope);
          return jsonResponse({ scope, knobs: this.knobs.effective(scope), network_reset: b.network === true });
        }
        case "GET /sim/info":
          return jsonResponse(this.info());
        case "GET /sim/streams":
          return jsonResponse(this.ctx.events.counts());
        case "POST /sim/onchain/address":
          return jsonResponse({ address: this.chain.outsideAddress() });
        case "POST /sim/onchain/send":
          return jsonResponse(this.sendOnchain(await body(request)));
        case "POST /sim/mine":
          return jsonResponse(this.mine(await body(request)));
        case "POST /sim/onchain/reorg":
          return jsonResponse(this.reorg(await body(request)));
        case "POST /sim/onchain/tx": {
          const b = await body(request);
          const tx = typeof b.txid === "string" ? this.chain.lookup(b.txid) : null;
          if (!tx) throw new ControlError(404, "not_found", "no transaction with this txid");
          return jsonResponse(tx);
        }
        default:
          throw new ControlError(404, "not_found", `no simulator endpoint ${route}`);
      }
    } catch (e) {
      if (e instanceof ControlError) return jsonResponse({ error: { code: e.code, message: e.message } }, e.status);
      throw e;
    }
  }

  /** The outside world pays one address (`address`, `amount_sat`) or several (`outputs`): one transaction in the mempool. */
  private sendOnchain(b: JsonObject): JsonObject {
    const raw = Array.isArray(b.outputs) ? b.outputs : [{ address: b.address, amount_sat: b.amount_sat }];
    if (raw.length === 0 || raw.length > 20) throw badRequest("invalid_request", "give address and amount_sat, or 1 to 20 outputs");
    const outputs = raw.map((o) => {
      const out = (typeof o === "object" && o !== null ? o : {}) as JsonObject;
      if (typeof out.address !== "string") throw badRequest("invalid_request", "address is required");
      const amount = optionalInt(out, "amount_sat");
      if (!amount) throw badRequest("invalid_request", "amount_sat (a positive integer) is required");
      return { address: out.address, amount_sat: amount };
    });
    if (b.drop_events !== undefined && typeof b.drop_events !== "boolean") throw badRequest("invalid_request", "drop_events must be a boolean");
    try {
      const tx = this.chain.send(outputs, b.drop_events === true);
      return { txid: tx.txid, outputs: tx.outputs.map((o, vout) => ({ vout, address: o.address, amount_sat: o.amount_sat })) };
    } catch (e) {
      throw badRequest("invalid_address", (e as Error).message);
    }
  }

  private mine(b: JsonObject): JsonObject {
    const blocks = optionalInt(b, "blocks") ?? 1;
    if (blocks < 1 || blocks > 1000) throw badRequest("invalid_request", "blocks must be from 1 to 1000");
    return this.chain.mine(blocks);
  }

  private reorg(b: JsonObject): JsonObject {
    if (typeof b.txid === "string") return this.chain.reorg({ txid: b.txid });
    const blocks = optionalInt(b, "blocks");
    if (!blocks || blocks > this.chain.mined()) throw badRequest("invalid_request", "give txid, or blocks (1 to the blocks mined)");
    return this.chain.reorg({ blocks });
  }

  /** An outside node's invoice the hub can pay; the simulator keeps the preimage until it is paid. */
  private createInvoice(b: JsonObject): JsonObject {
    const amountSat = optionalInt(b, "amount_sat") ?? 0;
    const amountMsat = optionalInt(b, "amount_msat") ?? amountSat * 1000;
    const expiry = optionalInt(b, "expiry_s") ?? DEFAULT_OUTSIDE_EXPIRY_S;
    const memo = b.memo === undefined ? "" : b.memo;
    if (typeof memo !== "string") throw badRequest("invalid_request", "memo must be a string");
    const payee = (b.payee ?? "dave") as NodeName;
    if (!OUTSIDE_NODES.includes(payee)) throw badRequest("invalid_request", `payee must be one of ${OUTSIDE_NODES.join(", ")}`);
    const knobs = parseKnobs(b.knobs ?? {}, PAYMENT_KNOBS);
    if (typeof knobs === "string") throw badRequest("invalid_knobs", knobs);
    if (b.hold !== undefined && typeof b.hold !== "boolean") throw badRequest("invalid_request", "hold must be a boolean");
    if (b.amp !== undefined && typeof b.amp !== "boolean") throw badRequest("invalid_request", "amp must be a boolean");
    if (b.amp === true && b.hold === true) throw badRequest("invalid_request", "an AMP invoice cannot be a hold invoice");

    const preimage = randomHex32();
    const hash = bytesToHex(sha256(hexToBytes(preimage)));
    const paymentAddr = randomHex32();
    const now = this.ctx.nowSeconds();
    const paymentRequest = encodeInvoice(
      {
        network: "regtest",
        amount_msat: amountMsat === 0 ? null : amountMsat,
        timestamp: now,
        payment_hash: hash,
        payment_secret: paymentAddr,
        description: memo,
        expiry_s: expiry,
        min_final_cltv_expiry: OUTSIDE_FINAL_CLTV,
        features: b.amp === true ? AMP_INVOICE_FEATURE_BITS : OUTSIDE_INVOICE_FEATURE_BITS,
      },
      NODES[payee].privateKey,
    );
    this.ctx.store.putOutsideInvoice({
      hash,
      preimage,
      node: payee,
      paymentRequest,
      paymentAddr,
      amountMsat: amountMsat === 0 ? null : amountMsat,
      expiresAtMs: (now + expiry) * 1000,
      knobs,
      paid: false,
      hold: b.hold === true,
      amp: b.amp === true,
      state: "open",
    });
    return { payment_request: paymentRequest, payment_hash: hash, payee: NODES[payee].pubkey };
  }

  /** The outside node settles its hold invoice: the hub's payment holding it succeeds. */
  private settleOutside(b: JsonObject): JsonObject {
    const inv = this.outsideHold(b);
    if (inv.state === "settled") return { payment_hash: inv.hash, state: "settled" };
    if (inv.state === "canceled") throw badRequest("invoice_canceled", "the invoice was canceled");
    if (!this.payments.settleHeld(inv.hash)) throw badRequest("invoice_open", "no payment holds this invoice yet");
    return { payment_hash: inv.hash, state: "settled" };
  }

  /** The outside node cancels its hold invoice: a payment holding it fails back, later ones fail too. */
  private cancelOutside(b: JsonObject): JsonObject {
    const inv = this.outsideHold(b);
    if (inv.state === "settled") throw badRequest("invoice_already_paid", "the invoice was settled");
    this.payments.cancelHeld(inv.hash);
    return { payment_hash: inv.hash, state: "canceled" };
  }

  private outsideHold(b: JsonObject): OutsideInvoice {
    if (typeof b.payment_hash !== "string" || !/^[0-9a-f]{64}$/.test(b.payment_hash)) {
      throw badRequest("invalid_request", "payment_hash (hex) is required");
    }
    const inv = this.ctx.store.outsideInvoice(b.payment_hash);
    if (!inv?.hold) throw new ControlError(404, "not_found", "no outside hold invoice with this payment_hash");
    return inv;
  }

  /** The outside world pays a hub invoice: the HTLC is held (ACCEPTED) until the hub settles or cancels. */
  private async pay(b: JsonObject, scope: string): Promise<JsonObject> {
    if (typeof b.payment_request !== "string") throw badRequest("invalid_request", "payment_request is required");
    let decoded: DecodedInvoice;
    try {
      decoded = decodeInvoice(b.payment_request);
    } catch (e) {
      throw badRequest("invalid_payment_request", e instanceof InvalidInvoiceError ? e.message : String(e));
    }
    if (decoded.network !== "regtest") throw badRequest("invalid_payment_request", "not a regtest invoice");
    if (decoded.payee !== HUB.pubkey) throw badRequest("invalid_payment_request", "not an invoice of the hub node");
    const waitMs = optionalInt(b, "wait_ms") ?? DEFAULT_PAY_WAIT_MS;
    if (waitMs > MAX_PAY_WAIT_MS) throw badRequest("invalid_request", `wait_ms must be at most ${MAX_PAY_WAIT_MS}`);
    const payer = (b.payer ?? DEFAULT_PAYER) as NodeName;
    if (!OUTSIDE_NODES.includes(payer)) throw badRequest("invalid_request", `payer must be one of ${OUTSIDE_NODES.join(", ")}`);
    if (b.drop_invoice_events !== undefined && typeof b.drop_invoice_events !== "boolean") {
      throw badRequest("invalid_request", "drop_invoice_events must be a boolean");
    }

    const amountSat = optionalInt(b, "amount_sat");
    let amountMsat: number;
    if (decoded.amount_msat === null) {
      if (!amountSat) throw badRequest("amount_required", "the invoice has no amount: give amount_sat");
      amountMsat = amountSat * 1000;
    } else {
      amountMsat = amountSat ? amountSat * 1000 : decoded.amount_msat;
    }

    const hash = decoded.payment_hash;
    const amp = this.invoices.invoice(hash)?.isAmp === true;
    if (b.set_id !== undefined && (!amp || typeof b.set_id !== "string" || !/^[0-9a-f]{64}$/.test(b.set_id))) {
      throw badRequest("invalid_request", "set_id (hex, 32 bytes) is only for an AMP invoice");
    }
    const refused = this.invoices.rejection(hash, decoded.payment_secret, amountMsat);
    if (refused) throw badRequest(REJECTION_CODES[refused] ?? "invalid_payment_request", refused);

    const balances = this.ctx.store.balances();
    const route = findRoutes({
      from: payer,
      to: "hub",
      amountMsat,
      finalCltvDelta: decoded.min_final_cltv_expiry,
      height: this.ctx.tip().height,
      balances,
    }).find((r) => attemptFailure(r, balances) === null);
    if (!route) throw badRequest("no_route", `no route from ${payer} to the hub node can carry ${amountMsat} msat`);

    const chain = `ext:${this.ctx.store.next("external_payment")}`;
    lockChain(this.ctx.store, chain, route, hash);
    const finalHop = route.hops[route.hops.length - 1]!;
    const dropEvents = b.drop_invoice_events === true || this.knobs.effective(scope).drop_invoice_events;
    if (amp) {
      // An AMP payment: a new set (or the caller's set id), settled by the hub node at once.
      const setId = typeof b.set_id === "string" ? b.set_id : randomHex32();
      const ampRejected = this.invoices.acceptAmp(
        hash,
        decoded.payment_secret,
        setId,
        { amountMsat, chain, chanId: finalHop.chanId, htlcIndex: this.ctx.store.pendingHtlcs(chain).at(-1)?.htlcIndex ?? 0, expiryHeight: finalHop.expiry, dropAccepted: dropEvents },
        dropEvents,
      );
      if (ampRejected) {
        failChain(this.ctx.store, chain);
        throw badRequest(REJECTION_CODES[ampRejected] ?? "invalid_payment_request", ampRejected);
      }
      return { status: "succeeded", payment_hash: hash, amount_msat: amountMsat, set_id: setId };
    }
    const rejected = this.invoices.accept(hash, decoded.payment_secret, {
      amountMsat,
      chain,
      chanId: finalHop.chanId,
      htlcIndex: this.ctx.store.pendingHtlcs(chain).at(-1)?.htlcIndex ?? 0,
      expiryHeight: finalHop.expiry,
      dropAccepted: dropEvents,
    });
    if (rejected) {
      failChain(this.ctx.store, chain);
      throw badRequest(REJECTION_CODES[rejected] ?? "invalid_payment_request", rejected);
    }

    const done = await this.ctx.events.waitForInvoice(hash, (inv) => inv.state === "SETTLED" || inv.state === "CANCELED", waitMs);
    const inv = done ?? this.invoices.invoice(hash);
    if (inv?.state === "SETTLED") return { status: "succeeded", payment_hash: hash, amount_msat: amountMsat, preimage: inv.preimage };
    if (inv?.state === "CANCELED") return { status: "failed", payment_hash: hash, amount_msat: amountMsat };
    return { status: "pending", payment_hash: hash, amount_msat: amountMsat };
  }

  private info(): JsonObject {
    const tip = this.ctx.tip();
    return {
      network: "regtest",
      block_height: tip.height,
      nodes: (Object.keys(NODES) as NodeName[]).map((name) => ({ name, pubkey: NODES[name].pubkey, alias: NODES[name].alias })),
      channels: networkView(this.ctx.store),
      default_knobs: DEFAULT_KNOBS,
    };
  }
}

/** Why the hub node refused the HTLC → /sim/pay error code. */
const REJECTION_CODES: Record<string, string> = {
  "unknown invoice": "invalid_payment_request",
  "invoice expired": "invoice_expired",
  "invoice canceled": "invoice_canceled",
  "invoice already paid": "invoice_already_paid",
  "amount too low": "amount_too_low",
  "amount too high": "amount_too_high",
  "set already paid": "invoice_already_paid",
};

async function body(request: Request): Promise<JsonObject> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as JsonObject;
  } catch {
    // fall through
  }
  throw badRequest("invalid_request", "the body must be a JSON object");
}

function optionalInt(b: JsonObject, key: string): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw badRequest("invalid_request", `${key} must be a non-negative integer`);
  return v as number;
}
