// LND REST JSON → invoice types.

import { base64ToHex } from "./bytes";
import { LndUnreachableError } from "./errors";
import { asObject, bool, bytesHex, enumOf, int, list, str, uint64Id, type JsonObject } from "./wire-values";
import {
  INVOICE_HTLC_STATES,
  type AddInvoiceResult,
  type AmpInvoiceState,
  INVOICE_STATES,
  type AddHoldInvoiceResult,
  type Invoice,
  type InvoiceHtlc,
  type ListInvoicesResult,
} from "./types";

export function decodeAddHoldInvoice(json: unknown): AddHoldInvoiceResult {
  const o = asObject(json, "AddHoldInvoiceResp");
  return {
    payment_request: str(o, "payment_request"),
    add_index: int(o, "add_index"),
    payment_addr: bytesHex(o, "payment_addr"),
  };
}

export function decodeAddInvoice(json: unknown): AddInvoiceResult {
  const o = asObject(json, "AddInvoiceResponse");
  const r_hash = bytesHex(o, "r_hash");
  const payment_addr = bytesHex(o, "payment_addr");
  if (r_hash === null || payment_addr === null) throw new LndUnreachableError("bad_response", "AddInvoiceResponse without r_hash or payment_addr");
  return { r_hash, payment_request: str(o, "payment_request"), add_index: int(o, "add_index"), payment_addr };
}

/** map<string, AMPInvoiceState>: the set ids (hex keys) as LND wrote them, lower-cased. */
function decodeAmpInvoiceState(o: JsonObject): Record<string, AmpInvoiceState> {
  const v = o.amp_invoice_state;
  if (v === undefined || v === null) return {};
  const out: Record<string, AmpInvoiceState> = {};
  for (const [setId, entry] of Object.entries(asObject(v, "amp_invoice_state"))) {
    if (!/^[0-9a-fA-F]{64}$/.test(setId)) throw new LndUnreachableError("bad_response", `amp_invoice_state: set id ${JSON.stringify(setId.slice(0, 80))} is not 32 bytes of hex`);
    const e = asObject(entry, "AMPInvoiceState");
    out[setId.toLowerCase()] = {
      state: enumOf(e, "state", INVOICE_HTLC_STATES),
      settle_index: int(e, "settle_index"),
      settle_time: int(e, "settle_time"),
      amt_paid_msat: int(e, "amt_paid_msat"),
    };
  }
  return out;
}

export function decodeInvoice(json: unknown): Invoice {
  const o = asObject(json, "Invoice");
  const rHash = bytesHex(o, "r_hash");
  if (rHash === null) throw new LndUnreachableError("bad_response", "Invoice.r_hash is empty");
  return {
    memo: str(o, "memo"),
    r_hash: rHash,
    r_preimage: bytesHex(o, "r_preimage"),
    value: int(o, "value"),
    value_msat: int(o, "value_msat"),
    state: enumOf(o, "state", INVOICE_STATES),
    creation_date: int(o, "creation_date"),
    settle_date: int(o, "settle_date"),
    payment_request: str(o, "payment_request"),
    description_hash: bytesHex(o, "description_hash"),
    expiry: int(o, "expiry"),
    cltv_expiry: int(o, "cltv_expiry"),
    private: bool(o, "private"),
    add_index: int(o, "add_index"),
    settle_index: int(o, "settle_index"),
    amt_paid_sat: int(o, "amt_paid_sat"),
    amt_paid_msat: int(o, "amt_paid_msat"),
    payment_addr: bytesHex(o, "payment_addr"),
    is_keysend: bool(o, "is_keysend"),
    is_amp: bool(o, "is_amp"),
    amp_invoice_state: decodeAmpInvoiceState(o),
    htlcs: list(o, "htlcs").map(decodeInvoiceHtlc),
  };
}

function decodeInvoiceHtlc(json: unknown): InvoiceHtlc {
  const o = asObject(json, "InvoiceHTLC");
  return {
    chan_id: uint64Id(o, "chan_id"),
    htlc_index: uint64Id(o, "htlc_index"),
    amt_msat: int(o, "amt_msat"),
    accept_height: int(o, "accept_height"),
    accept_time: int(o, "accept_time"),
    resolve_time: int(o, "resolve_time"),
    expiry_height: int(o, "expiry_height"),
    state: enumOf(o, "state", INVOICE_HTLC_STATES),
    mpp_total_amt_msat: int(o, "mpp_total_amt_msat"),
    custom_records: decodeByteMap(o, "custom_records"),
  };
}

/** map<uint64, bytes>: keys stay decimal strings, values become hex. */
export function decodeByteMap(o: JsonObject, key: string): Record<string, string> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  const out: Record<string, string> = {};
  for (const [k, b64] of Object.entries(asObject(v, key))) {
    if (typeof b64 !== "string") throw new LndUnreachableError("bad_response", `${key}.${k}: expected base64`);
    out[k] = base64ToHex(b64);
  }
  return out;
}

export function decodeListInvoices(json: unknown): ListInvoicesResult {
  const o = asObject(json, "ListInvoiceResponse");
  return {
    invoices: list(o, "invoices").map(decodeInvoice),
    first_index_offset: int(o, "first_index_offset"),
    last_index_offset: int(o, "last_index_offset"),
  };
}
