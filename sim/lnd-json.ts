// The simulator's records as LND's REST JSON messages (lnrpc.Invoice,
// lnrpc.Payment, lnrpc.PayReq, lnrpc.GetInfoResponse): every field present,
// in proto order, with LND's encodings (see wire.ts).

import type { DecodedInvoice } from "../src/bolt11";
import type { Attempt, HubInvoice, HubPayment, Route } from "./store";
import { b64, int64, type JsonObject } from "./wire";

/** LND's names for feature bits (lnwire.Features), by pair. */
const FEATURE_NAMES: Record<number, string> = {
  0: "data-loss-protect",
  4: "upfront-shutdown-script",
  6: "gossip-queries",
  8: "tlv-onion",
  10: "gossip-queries-ex",
  12: "static-remote-key",
  14: "payment-addr",
  16: "multi-path-payments",
  18: "wumbo-channels",
  20: "anchor-commitments",
  22: "anchors-zero-fee-htlc-tx",
  24: "route-blinding",
  26: "shutdown-any-segwit",
  30: "amp",
  34: "quiescence",
  38: "onion-messages",
  44: "explicit-commitment-type",
  46: "scid-alias",
  48: "payment-metadata",
  50: "zero-conf",
  260: "accountable-x",
  2022: "script-enforced-lease",
};

/** The features of LND 0.21's invoices: tlv-onion and payment-addr required, MPP and route blinding optional. */
export const HUB_INVOICE_FEATURE_BITS = [8, 14, 17, 25];

/** LND 0.21's AMP invoices (feature.SetInvoiceAmp): tlv-onion, payment-addr and AMP required. */
export const AMP_INVOICE_FEATURE_BITS = [8, 14, 30];

/** The outside nodes' invoices (not LND: no route blinding). */
export const OUTSIDE_INVOICE_FEATURE_BITS = [8, 14, 17];

/** The hub node's advertised features: a default lnd 0.21 node's (amp both required and optional, as lnd reports it). */
export const NODE_FEATURE_BITS = [0, 5, 7, 8, 12, 14, 17, 23, 25, 27, 30, 31, 35, 39, 44, 261, 2023];

/**
 * LND 0.21 marks every HTLC it sends with the endorsement signal (TLV type 106823, value 0):
 * in the payment's first_hop_custom_records, and in the custom records of the HTLC the payee
 * accepts (also as the channel's TLV stream: fe0001a147 01 00).
 */
export const ENDORSEMENT_RECORDS = { "106823": "AA==" };
const ENDORSEMENT_CHANNEL_DATA = "/gABoUcBAA==";

/** map<uint32, lnrpc.Feature>. */
export function featureMap(bits: readonly number[]): JsonObject {
  const out: JsonObject = {};
  for (const bit of bits) {
    const name = FEATURE_NAMES[bit - (bit % 2)];
    out[String(bit)] = { name: name ?? "unknown", is_required: bit % 2 === 0, is_known: name !== undefined };
  }
  return out;
}

const sat = (msat: number) => Math.floor(msat / 1000);

export function invoiceJson(inv: HubInvoice): JsonObject {
  const sets = inv.ampSets ?? [];
  // LND reports an AMP invoice SETTLED (settled: true) once one of its sets is settled; it stays payable (OPEN inside).
  const state = inv.isAmp && sets.length > 0 && inv.state === "OPEN" ? "SETTLED" : inv.state;
  return {
    memo: inv.memo,
    r_preimage: b64(inv.preimage),
    r_hash: b64(inv.hash),
    value: int64(sat(inv.valueMsat)),
    value_msat: int64(inv.valueMsat),
    settled: state === "SETTLED",
    creation_date: int64(inv.creationDate),
    settle_date: int64(inv.settleDate),
    payment_request: inv.paymentRequest,
    description_hash: b64(inv.descriptionHash),
    expiry: int64(inv.expiry),
    fallback_addr: "",
    cltv_expiry: int64(inv.cltvExpiry),
    route_hints: [],
    // LND reports private = "has route hints": the hub's channels are public, so never.
    private: false,
    add_index: int64(inv.addIndex),
    settle_index: int64(inv.settleIndex),
    amt_paid: int64(inv.amtPaidMsat),
    amt_paid_sat: int64(sat(inv.amtPaidMsat)),
    amt_paid_msat: int64(inv.amtPaidMsat),
    state,
    htlcs: inv.htlcs.map((h) => ({
      chan_id: h.chanId,
      htlc_index: int64(h.htlcIndex),
      amt_msat: int64(h.amtMsat),
      accept_height: h.acceptHeight,
      accept_time: int64(h.acceptTime),
      resolve_time: int64(h.resolveTime),
      expiry_height: h.expiryHeight,
      state: h.state,
      custom_records: ENDORSEMENT_RECORDS,
      mpp_total_amt_msat: int64(h.amtMsat),
      // AMP: the set's id (the simulator pays a set in one part: child index 0; no root share kept).
      amp: h.setId ? { root_share: "", set_id: b64(h.setId), child_index: 0, hash: "", preimage: "" } : null,
      custom_channel_data: ENDORSEMENT_CHANNEL_DATA,
    })),
    features: featureMap(inv.isAmp ? AMP_INVOICE_FEATURE_BITS : HUB_INVOICE_FEATURE_BITS),
    is_keysend: false,
    payment_addr: b64(inv.paymentAddr),
    is_amp: inv.isAmp === true,
    // set id (hex) → its state, as lnrpc.AMPInvoiceState.
    amp_invoice_state: Object.fromEntries(
      sets.map((a) => [a.setId, { state: "SETTLED", settle_index: int64(a.settleIndex), settle_time: int64(a.settleTime), amt_paid_msat: int64(a.amtPaidMsat) }]),
    ),
    is_blinded: false,
    blinded_path_config: null,
  };
}

export const ZERO_PREIMAGE = "0".repeat(64);

function routeJson(route: Route, paymentAddr: string, finalMsat: number): JsonObject {
  return {
    total_time_lock: route.totalTimeLock,
    total_fees: int64(sat(route.totalFeesMsat)),
    total_amt: int64(sat(route.totalAmtMsat)),
    hops: route.hops.map((hop, k) => {
      const last = k === route.hops.length - 1;
      const carried = k === 0 ? route.totalAmtMsat : route.hops[k - 1]!.amtToForwardMsat;
      return {
        chan_id: hop.chanId,
        // LND 0.21 reports what the hop carries here (sat, rounded down), not the channel's capacity.
        chan_capacity: int64(sat(carried)),
        amt_to_forward: int64(sat(hop.amtToForwardMsat)),
        fee: int64(sat(hop.feeMsat)),
        expiry: hop.expiry,
        amt_to_forward_msat: int64(hop.amtToForwardMsat),
        fee_msat: int64(hop.feeMsat),
        pub_key: hop.pubkey,
        tlv_payload: true,
        mpp_record: last ? { payment_addr: b64(paymentAddr), total_amt_msat: int64(finalMsat) } : null,
        amp_record: null,
        custom_records: {},
        metadata: "",
        blinding_point: "",
        encrypted_data: "",
        total_amt_msat: "0",
      };
    }),
    total_fees_msat: int64(route.totalFeesMsat),
    total_amt_msat: int64(route.totalAmtMsat),
    first_hop_amount_msat: int64(route.totalAmtMsat),
    custom_channel_data: "",
  };
}

function attemptJson(a: Attempt, paymentAddr: string, finalMsat: number): JsonObject {
  return {
    attempt_id: int64(a.attemptId),
    status: a.status,
    route: routeJson(a.route, paymentAddr, finalMsat),
    attempt_time_ns: a.attemptTimeNs,
    resolve_time_ns: a.resolveTimeNs,
    failure: a.failure && {
      code: a.failure.code,
      channel_update: null,
      htlc_msat: int64(a.failure.htlcMsat),
      onion_sha_256: "",
      cltv_expiry: 0,
      flags: 0,
      failure_source_index: a.failure.failureSourceIndex,
      height: a.failure.height,
    },
    preimage: b64(a.preimage),
  };
}

/** lnrpc.Payment; payment_hash and payment_preimage are hex strings here, not bytes. */
export function paymentJson(p: HubPayment): JsonObject {
  const creationSeconds = Number(BigInt(p.creationTimeNs) / 1_000_000_000n);
  return {
    payment_hash: p.hash,
    value: int64(sat(p.valueMsat)),
    creation_date: int64(creationSeconds),
    fee: int64(sat(p.feeMsat)),
    payment_preimage: p.preimage ?? ZERO_PREIMAGE,
    value_sat: int64(sat(p.valueMsat)),
    value_msat: int64(p.valueMsat),
    payment_request: p.paymentRequest,
    status: p.status,
    fee_sat: int64(sat(p.feeMsat)),
    fee_msat: int64(p.feeMsat),
    creation_time_ns: p.creationTimeNs,
    htlcs: p.attempts.map((a) => attemptJson(a, p.paymentAddr, p.valueMsat)),
    payment_index: int64(p.paymentIndex),
    failure_reason: p.failureReason,
    first_hop_custom_records: ENDORSEMENT_RECORDS,
  };
}

/** lnrpc.PayReq; payment_hash and description_hash are hex strings, payment_addr is bytes. */
export function payReqJson(d: DecodedInvoice): JsonObject {
  const msat = d.amount_msat ?? 0;
  return {
    destination: d.payee,
    payment_hash: d.payment_hash,
    num_satoshis: int64(sat(msat)),
    timestamp: int64(d.timestamp),
    expiry: int64(d.expiry_s),
    description: d.description ?? "",
    description_hash: d.description_hash ?? "",
    fallback_addr: "",
    cltv_expiry: int64(d.min_final_cltv_expiry),
    route_hints: d.route_hints.map((hint) => ({
      hop_hints: hint.map((hop) => ({
        node_id: hop.pubkey,
        chan_id: scidToUint64(hop.short_channel_id),
        fee_base_msat: hop.fee_base_msat,
        fee_proportional_millionths: hop.fee_proportional_millionths,
        cltv_expiry_delta: hop.cltv_expiry_delta,
      })),
    })),
    payment_addr: b64(d.payment_secret),
    num_msat: int64(msat),
    features: featureMap(d.features),
    blinded_paths: [],
  };
}

function scidToUint64(scid: string): string {
  const [block, tx, out] = scid.split("x").map((p) => BigInt(p));
  return (((block ?? 0n) << 40n) | ((tx ?? 0n) << 16n) | (out ?? 0n)).toString();
}
