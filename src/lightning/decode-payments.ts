// LND REST JSON → payment types.

import { LndUnreachableError } from "./errors";
import {
  asObject,
  bigInt,
  bytesHex,
  enumOf,
  hexString,
  int,
  list,
  openEnumOf,
  optObject,
  str,
  uint64Id,
  type JsonObject,
} from "./wire-values";
import {
  HTLC_ATTEMPT_STATUSES,
  PAYMENT_FAILURE_REASONS,
  PAYMENT_STATUSES,
  type HtlcAttempt,
  type Payment,
  type Route,
  type RouteFeeEstimate,
} from "./types";

const ZERO_PREIMAGE = "0".repeat(64);

/** Payment.payment_hash and payment_preimage are hex *strings* in LND's proto, not bytes. */
export function decodePayment(json: unknown): Payment {
  const o = asObject(json, "Payment");
  const hash = hexString(o, "payment_hash");
  if (hash === null) throw new LndUnreachableError("bad_response", "Payment.payment_hash is empty");
  const preimage = hexString(o, "payment_preimage");
  return {
    payment_hash: hash,
    // LND fills 32 zero bytes until an HTLC settles.
    payment_preimage: preimage === ZERO_PREIMAGE ? null : preimage,
    value_sat: int(o, "value_sat"),
    value_msat: int(o, "value_msat"),
    fee_sat: int(o, "fee_sat"),
    fee_msat: int(o, "fee_msat"),
    status: enumOf(o, "status", PAYMENT_STATUSES),
    failure_reason: openEnumOf(o, "failure_reason", PAYMENT_FAILURE_REASONS),
    payment_request: str(o, "payment_request"),
    payment_index: int(o, "payment_index"),
    creation_date: int(o, "creation_date"),
    creation_time_ns: bigInt(o, "creation_time_ns"),
    htlcs: list(o, "htlcs").map(decodeHtlcAttempt),
  };
}

function decodeHtlcAttempt(json: unknown): HtlcAttempt {
  const o = asObject(json, "HTLCAttempt");
  const route = optObject(o, "route");
  const failure = optObject(o, "failure");
  return {
    attempt_id: uint64Id(o, "attempt_id"),
    status: enumOf(o, "status", HTLC_ATTEMPT_STATUSES),
    route: route && decodeRoute(route),
    attempt_time_ns: bigInt(o, "attempt_time_ns"),
    resolve_time_ns: bigInt(o, "resolve_time_ns"),
    failure: failure && {
      code: openEnumOf(failure, "code", { 0: "RESERVED" }),
      failure_source_index: int(failure, "failure_source_index"),
      height: int(failure, "height"),
    },
    preimage: bytesHex(o, "preimage"),
  };
}

function decodeRoute(o: JsonObject): Route {
  return {
    total_time_lock: int(o, "total_time_lock"),
    total_fees_msat: int(o, "total_fees_msat"),
    total_amt_msat: int(o, "total_amt_msat"),
    hops: list(o, "hops").map((h) => {
      const hop = asObject(h, "Hop");
      return {
        chan_id: uint64Id(hop, "chan_id"),
        pub_key: str(hop, "pub_key"),
        amt_to_forward_msat: int(hop, "amt_to_forward_msat"),
        fee_msat: int(hop, "fee_msat"),
        expiry: int(hop, "expiry"),
        mpp_payment_addr: (() => {
          const mpp = optObject(hop, "mpp_record");
          return mpp ? bytesHex(mpp, "payment_addr") : null;
        })(),
      };
    }),
  };
}

export function decodeRouteFee(json: unknown): RouteFeeEstimate {
  const o = asObject(json, "RouteFeeResponse");
  return {
    routing_fee_msat: int(o, "routing_fee_msat"),
    time_lock_delay: int(o, "time_lock_delay"),
    failure_reason: openEnumOf(o, "failure_reason", PAYMENT_FAILURE_REASONS),
  };
}

/** ListPayments: the payments, oldest first. */
export function decodeListPayments(json: unknown): Payment[] {
  return list(asObject(json, "ListPaymentsResponse"), "payments").map(decodePayment);
}
