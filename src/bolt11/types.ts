/** Bitcoin network an invoice is payable on, from its human-readable prefix. */
export type Network = "bitcoin" | "testnet" | "signet" | "regtest";

/** One hop of a private route (an `r` field entry), as in a BOLT 7 channel_update. */
export interface RouteHintHop {
  /** 33-byte compressed node id of the channel's start, lowercase hex. */
  pubkey: string;
  /** "BLOCKxTXxOUT". */
  short_channel_id: string;
  fee_base_msat: number;
  fee_proportional_millionths: number;
  cltv_expiry_delta: number;
}

/** A private route: hops in forward order, from a public node to the payee. */
export type RouteHint = RouteHintHop[];

/**
 * An on-chain fallback (`f` field), kept raw: `version` 0-16 is a segwit witness version and
 * `program` the witness program; 17 is P2PKH and 18 is P2SH with `program` the 20-byte hash.
 */
export interface FallbackAddress {
  version: number;
  /** Lowercase hex. */
  program: string;
}

export interface DecodedInvoice {
  network: Network;
  /** Null when the invoice leaves the amount to the payer. */
  amount_msat: number | null;
  payment_hash: string;
  description: string | null;
  description_hash: string | null;
  /** 33-byte compressed public key of the payee node, lowercase hex. */
  payee: string;
  /** ISO 8601 form of `timestamp`. */
  created_at: string;
  /** Unix seconds. */
  timestamp: number;
  expiry_s: number;
  expires_at: string;
  min_final_cltv_expiry: number;
  /** Always present: invoices without an `s` field are rejected (BOLT 11 now requires it). */
  payment_secret: string;
  /** Set feature bit numbers, ascending (unknown odd bits included; unknown even bits are rejected). */
  features: number[];
  route_hints: RouteHint[];
  fallback_addresses: FallbackAddress[];
  /** The `m` field, to be echoed in the onion as payment_metadata; lowercase hex. */
  payment_metadata: string | null;
  /** 64-byte compact signature (r || s), lowercase hex. */
  signature: string;
  /** Public-key recovery id (0-3) that follows the signature. */
  recovery_flag: number;
}

/** What encodeInvoice writes. Hex strings may be either case; byte lengths are checked. */
export interface InvoiceFields {
  network: Network;
  /** Omit or null for an any-amount invoice. */
  amount_msat?: number | null;
  /** Unix seconds. */
  timestamp: number;
  payment_hash: string;
  payment_secret: string;
  /** Exactly one of description and description_hash must be given. */
  description?: string | null;
  description_hash?: string | null;
  /** Omitted: no `x` field, which readers take as 3600. */
  expiry_s?: number;
  /** Default 18. Always written, because early readers assumed 9 when `c` was absent. */
  min_final_cltv_expiry?: number;
  /** Default DEFAULT_INVOICE_FEATURES. An empty list omits the `9` field. */
  features?: number[];
  route_hints?: RouteHint[];
  fallback_addresses?: FallbackAddress[];
  payment_metadata?: string | null;
  /** Also write the `n` field (payee node id) so readers can skip public-key recovery. */
  include_payee?: boolean;
}
