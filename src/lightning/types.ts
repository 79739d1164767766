// Public shapes of the LND REST client. Field names follow LND's proto
// (snake_case, as in its REST JSON) so they can be matched against LND's
// documentation; values are converted: amounts and counters are numbers,
// nanosecond timestamps are bigint, uint64 identifiers are decimal strings,
// hashes/preimages/keys are lowercase hex (null when LND sends them empty).

// ---- enums (proto number → name, in LND's spelling) ----

export const WALLET_STATES = {
  0: "NON_EXISTING",
  1: "LOCKED",
  2: "UNLOCKED",
  3: "RPC_ACTIVE",
  4: "SERVER_ACTIVE",
  255: "WAITING_TO_START",
} as const;
export type WalletState = (typeof WALLET_STATES)[keyof typeof WALLET_STATES];

export const INVOICE_STATES = { 0: "OPEN", 1: "SETTLED", 2: "CANCELED", 3: "ACCEPTED" } as const;
export type InvoiceState = (typeof INVOICE_STATES)[keyof typeof INVOICE_STATES];

export const INVOICE_HTLC_STATES = { 0: "ACCEPTED", 1: "SETTLED", 2: "CANCELED" } as const;
export type InvoiceHtlcState = (typeof INVOICE_HTLC_STATES)[keyof typeof INVOICE_HTLC_STATES];

/** UNKNOWN is deprecated and never sent; INITIATED only with routerrpc.usestatusinitiated. */
export const PAYMENT_STATUSES = { 0: "UNKNOWN", 1: "IN_FLIGHT", 2: "SUCCEEDED", 3: "FAILED", 4: "INITIATED" } as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[keyof typeof PAYMENT_STATUSES];

export const HTLC_ATTEMPT_STATUSES = { 0: "IN_FLIGHT", 1: "SUCCEEDED", 2: "FAILED" } as const;
export type HtlcAttemptStatus = (typeof HTLC_ATTEMPT_STATUSES)[keyof typeof HTLC_ATTEMPT_STATUSES];

export const PAYMENT_FAILURE_REASONS = {
  0: "FAILURE_REASON_NONE",
  1: "FAILURE_REASON_TIMEOUT",
  2: "FAILURE_REASON_NO_ROUTE",
  3: "FAILURE_REASON_ERROR",
  4: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS",
  5: "FAILURE_REASON_INSUFFICIENT_BALANCE",
  6: "FAILURE_REASON_CANCELED",
} as const;
/** Open-ended: newer LND versions may add reasons. */
export type PaymentFailureReason = (typeof PAYMENT_FAILURE_REASONS)[keyof typeof PAYMENT_FAILURE_REASONS] | (string & {});

// ---- node ----

export interface NodeInfo {
  version: string;
  commit_hash: string;
  identity_pubkey: string;
  alias: string;
  color: string;
  num_pending_channels: number;
  num_active_channels: number;
  num_inactive_channels: number;
  num_peers: number;
  block_height: number;
  block_hash: string;
  best_header_timestamp: number;
  synced_to_chain: boolean;
  synced_to_graph: boolean;
  chains: { chain: string; network: string }[];
  uris: string[];
}

// ---- invoices ----

export interface AddHoldInvoiceRequest {
  /** sha256 of the preimage, hex. */
  hash: string;
  value_msat: number;
  memo?: string;
  /** seconds; LND's default is 86400. */
  expiry?: number;
  /** final CLTV delta in blocks. */
  cltv_expiry?: number;
  private?: boolean;
  /** sha256 of the description, hex (used instead of memo in the BOLT 11 string). */
  description_hash?: string;
}

/** AddInvoice for an AMP invoice (is_amp): LND draws the payment hash and settles each payment (HTLC set) itself. */
export interface AddAmpInvoiceRequest {
  /** 0: any amount. */
  value_msat: number;
  memo?: string;
  /** seconds; LND's default is 86400. */
  expiry?: number;
  /** sha256 of the description, hex. */
  description_hash?: string;
}

export interface AddInvoiceResult {
  /** the payment hash LND drew, hex. */
  r_hash: string;
  payment_request: string;
  add_index: number;
  /** payment secret (the address every payment of the invoice carries), hex. */
  payment_addr: string;
}

/** One paid set of an AMP invoice (lnrpc.AMPInvoiceState). */
export interface AmpInvoiceState {
  state: InvoiceHtlcState;
  settle_index: number;
  /** unix seconds */
  settle_time: number;
  amt_paid_msat: number;
}

export interface AddHoldInvoiceResult {
  payment_request: string;
  add_index: number;
  /** payment secret, hex. */
  payment_addr: string | null;
}

export interface InvoiceHtlc {
  chan_id: string;
  htlc_index: string;
  amt_msat: number;
  accept_height: number;
  accept_time: number;
  resolve_time: number;
  expiry_height: number;
  state: InvoiceHtlcState;
  mpp_total_amt_msat: number;
  /** TLV type (decimal) → value hex. */
  custom_records: Record<string, string>;
}

export interface Invoice {
  memo: string;
  r_hash: string;
  /** null until a hold invoice is settled. */
  r_preimage: string | null;
  value: number;
  value_msat: number;
  state: InvoiceState;
  creation_date: number;
  settle_date: number;
  payment_request: string;
  description_hash: string | null;
  expiry: number;
  cltv_expiry: number;
  private: boolean;
  add_index: number;
  settle_index: number;
  amt_paid_sat: number;
  amt_paid_msat: number;
  payment_addr: string | null;
  is_keysend: boolean;
  is_amp: boolean;
  /** AMP invoices: set id (hex) → that payment's state; LND reports the invoice SETTLED once one set is. */
  amp_invoice_state: Record<string, AmpInvoiceState>;
  htlcs: InvoiceHtlc[];
}

export interface ListInvoicesRequest {
  index_offset?: number;
  num_max_invoices?: number;
  pending_only?: boolean;
  reversed?: boolean;
  /** unix seconds */
  creation_date_start?: number;
  creation_date_end?: number;
}

export interface ListInvoicesResult {
  invoices: Invoice[];
  first_index_offset: number;
  last_index_offset: number;
}

export interface SubscribeInvoicesRequest {
  /** replay invoices added after this add_index first (0 = no replay). */
  add_index?: number;
  /** replay invoices settled after this settle_index first (0 = no replay). */
  settle_index?: number;
}

// ---- payments ----

export interface SendPaymentRequest {
  /** the invoice; "" for a payment to `dest` (keysend). */
  payment_request: string;
  /** keysend: the destination's public key (hex), with `payment_hash`, `amt_msat` and the preimage in `dest_custom_records`. */
  dest?: string;
  /** keysend: sha256 of the preimage carried in dest_custom_records[5482373484], hex. */
  payment_hash?: string;
  /** TLV records for the final hop: type (decimal) → value (hex). */
  dest_custom_records?: Record<string, string>;
  /** AMP (with `dest`, no payment_hash): LND draws the set id, which becomes the payment's payment_hash. */
  amp?: boolean;
  /** the payment address (hex) carried in every part's MPP record; with `amp` and `dest`, the hub's own, to find the payment again. */
  payment_addr?: string;
  /** only for zero-amount invoices. */
  amt_msat?: number;
  /** required on purpose: LND's default of 0 allows only fee-free routes. */
  fee_limit_msat: number;
  /** time allowed before the first HTLC is sent; HTLCs already out are never aborted. */
  timeout_seconds: number;
  max_parts?: number;
  no_inflight_updates?: boolean;
  allow_self_payment?: boolean;
  /** short channel ids allowed for the first hop. */
  outgoing_chan_ids?: string[];
  /** pubkey hex of the last hop before the destination. */
  last_hop_pubkey?: string;
}

export interface RouteHop {
  chan_id: string;
  pub_key: string;
  amt_to_forward_msat: number;
  fee_msat: number;
  expiry: number;
  /** the last hop's MPP record: the payment address (hex), null if none. */
  mpp_payment_addr: string | null;
}

export interface Route {
  total_time_lock: number;
  total_fees_msat: number;
  total_amt_msat: number;
  hops: RouteHop[];
}

export interface HtlcFailure {
  /** BOLT 4 failure code name, e.g. TEMPORARY_CHANNEL_FAILURE. */
  code: string;
  failure_source_index: number;
  height: number;
}

export interface HtlcAttempt {
  attempt_id: string;
  status: HtlcAttemptStatus;
  route: Route | null;
  attempt_time_ns: bigint;
  resolve_time_ns: bigint;
  failure: HtlcFailure | null;
  preimage: string | null;
}

export interface Payment {
  payment_hash: string;
  /** null unless SUCCEEDED (LND sends 32 zero bytes before that). */
  payment_preimage: string | null;
  value_sat: number;
  value_msat: number;
  fee_sat: number;
  fee_msat: number;
  status: PaymentStatus;
  failure_reason: PaymentFailureReason;
  payment_request: string;
  payment_index: number;
  creation_date: number;
  creation_time_ns: bigint;
  htlcs: HtlcAttempt[];
}

export interface ListPaymentsRequest {
  include_incomplete?: boolean;
  /** unix seconds: payments created at or after. */
  creation_date_start?: number;
  max_payments?: number;
  index_offset?: number;
}

/**
 * Result of waiting for a payment: either LND reported a final state, or the
 * wait ended first and `payment` is the latest update seen (null if none) —
 * the payment may still complete and must be tracked by hash.
 */
export type PaymentOutcome =
  | { final: true; payment: Payment }
  | { final: false; payment: Payment | null; streamError?: Error };

export interface EstimateRouteFeeRequest {
  /** graph-based estimate: destination pubkey hex, requires amt_sat. */
  dest?: string;
  amt_sat?: number;
  /** probe-based estimate: sends a probe payment to the invoice's destination. */
  payment_request?: string;
  /** seconds the probe may take. */
  timeout?: number;
}

export interface RouteFeeEstimate {
  routing_fee_msat: number;
  time_lock_delay: number;
  /** FAILURE_REASON_NONE means the estimate is valid. */
  failure_reason: PaymentFailureReason;
}

export interface PayReqFeature {
  name: string;
  is_required: boolean;
  is_known: boolean;
}

export interface PayReq {
  destination: string;
  payment_hash: string;
  num_satoshis: number;
  num_msat: number;
  timestamp: number;
  expiry: number;
  description: string;
  description_hash: string | null;
  fallback_addr: string;
  cltv_expiry: number;
  payment_addr: string | null;
  /** feature bit (decimal) → feature. */
  features: Record<string, PayReqFeature>;
}

// ---- channels and balances ----

export interface ListChannelsRequest {
  active_only?: boolean;
  inactive_only?: boolean;
  public_only?: boolean;
  private_only?: boolean;
  /** remote pubkey hex. */
  peer?: string;
}

export interface ChannelHtlc {
  incoming: boolean;
  amount: number;
  hash_lock: string | null;
  expiration_height: number;
  htlc_index: string;
}

export interface Channel {
  active: boolean;
  remote_pubkey: string;
  channel_point: string;
  chan_id: string;
  capacity: number;
  local_balance: number;
  remote_balance: number;
  commit_fee: number;
  unsettled_balance: number;
  total_satoshis_sent: number;
  total_satoshis_received: number;
  num_updates: number;
  pending_htlcs: ChannelHtlc[];
  private: boolean;
  initiator: boolean;
  chan_status_flags: string;
  commitment_type: string;
  peer_alias: string;
}

/** One of PendingChannels' pending_open_channels: a channel whose funding transaction is not yet confirmed. */
export interface PendingOpenChannel {
  remote_node_pub: string;
  channel_point: string;
  capacity: number;
  local_balance: number;
  remote_balance: number;
  initiator: boolean;
}

export interface PendingChannels {
  total_limbo_balance: number;
  pending_open_channels: PendingOpenChannel[];
}

export interface OpenChannelRequest {
  /** the peer's public key, hex. */
  node_pubkey: string;
  local_funding_amount: number;
  sat_per_vbyte?: number;
  target_conf?: number;
  private?: boolean;
  spend_unconfirmed?: boolean;
}

/** The funding outpoint of a channel being opened (txid in the usual, displayed byte order). */
export interface ChannelPoint {
  funding_txid: string;
  output_index: number;
}

export interface Amount {
  sat: number;
  msat: number;
}

export interface ChannelBalance {
  local_balance: Amount;
  remote_balance: Amount;
  unsettled_local_balance: Amount;
  unsettled_remote_balance: Amount;
  pending_open_local_balance: Amount;
  pending_open_remote_balance: Amount;
}

export interface WalletBalance {
  total_balance: number;
  confirmed_balance: number;
  unconfirmed_balance: number;
  locked_balance: number;
  reserved_balance_anchor_chan: number;
}

// ---- on-chain wallet (lnrpc.Lightning: NewAddress, GetTransactions, EstimateFee, SendCoins) ----

/** NewAddress's address types (lnrpc.AddressType), by name. */
export type AddressType =
  | "WITNESS_PUBKEY_HASH"
  | "NESTED_PUBKEY_HASH"
  | "UNUSED_WITNESS_PUBKEY_HASH"
  | "UNUSED_NESTED_PUBKEY_HASH"
  | "TAPROOT_PUBKEY"
  | "UNUSED_TAPROOT_PUBKEY";

/** One output of a wallet transaction (lnrpc.OutputDetail). */
export interface OutputDetail {
  output_type: string;
  address: string;
  /** hex */
  pk_script: string;
  output_index: number;
  /** sat */
  amount: number;
  is_our_address: boolean;
}

/** A transaction of LND's wallet (lnrpc.Transaction). */
export interface OnchainTransaction {
  /** hex, as LND writes it (the txid) */
  tx_hash: string;
  /** sat the wallet gained (negative: spent), fees included */
  amount: number;
  num_confirmations: number;
  block_hash: string;
  /** 0 while unconfirmed */
  block_height: number;
  time_stamp: number;
  /** sat, for transactions this wallet funded */
  total_fees: number;
  output_details: OutputDetail[];
  raw_tx_hex: string;
  label: string;
}

export interface GetTransactionsRequest {
  start_height?: number;
  /** -1: up to the tip, unconfirmed included (also LND's default when 0). */
  end_height?: number;
  index_offset?: number;
  max_transactions?: number;
}

export interface TransactionDetails {
  transactions: OnchainTransaction[];
  last_index: number;
  first_index: number;
}

export interface EstimateFeeRequest {
  /** address → sat */
  addr_to_amount: Record<string, number>;
  target_conf?: number;
  min_confs?: number;
  spend_unconfirmed?: boolean;
}

export interface FeeEstimate {
  fee_sat: number;
  sat_per_vbyte: number;
}

export interface SendCoinsRequest {
  addr: string;
  /** sat */
  amount: number;
  target_conf?: number;
  sat_per_vbyte?: number;
  /** at most 500 characters; GetTransactions reports it with the transaction */
  label?: string;
  min_confs?: number;
  spend_unconfirmed?: boolean;
}
