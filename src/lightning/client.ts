// Typed methods over LND's REST endpoints. Converts arguments to the wire
// form LND documents (int64 as strings, bytes as base64, base64url in URLs)
// and responses back through the decode-* modules.

import { hex32, hexToBase64, hexToBase64Url } from "./bytes";
import { decodeAddHoldInvoice, decodeAddInvoice, decodeInvoice, decodeListInvoices } from "./decode-invoices";
import {
  decodeChannelBalance,
  decodeChannelPoint,
  decodeFeeEstimate,
  decodeGetInfo,
  decodeListChannels,
  decodeNewAddress,
  decodeOnchainTransaction,
  decodePendingChannels,
  decodePayReq,
  decodeSendCoins,
  decodeTransactionDetails,
  decodeWalletBalance,
  decodeWalletState,
} from "./decode-node";
import { decodeListPayments, decodePayment, decodeRouteFee } from "./decode-payments";
import { waitForFinalPayment } from "./payment-outcome";
import { LndTransport, type CallOptions, type LndTransportConfig, type StreamOptions } from "./transport";
import type {
  AddHoldInvoiceRequest,
  AddHoldInvoiceResult,
  AddressType,
  Channel,
  ChannelBalance,
  ChannelPoint,
  EstimateFeeRequest,
  EstimateRouteFeeRequest,
  FeeEstimate,
  GetTransactionsRequest,
  Invoice,
  ListChannelsRequest,
  ListInvoicesRequest,
  ListPaymentsRequest,
  ListInvoicesResult,
  NodeInfo,
  OnchainTransaction,
  OpenChannelRequest,
  PayReq,
  Payment,
  PaymentOutcome,
  PendingChannels,
  RouteFeeEstimate,
  SendCoinsRequest,
  SendPaymentRequest,
  SubscribeInvoicesRequest,
  TransactionDetails,
  WalletBalance,
  WalletState,
  AddAmpInvoiceRequest,
  AddInvoiceResult,
} from "./types";

export type LndClientConfig = LndTransportConfig;

export interface WaitOptions {
  /** how long to wait for a final state before answering "still pending". */
  waitMs: number;
  signal?: AbortSignal;
}

export class LndRestClient {
  private readonly http: LndTransport;

  constructor(config: LndClientConfig) {
    this.http = new LndTransport(config);
  }

  // ---- node ----

  async getInfo(options?: CallOptions): Promise<NodeInfo> {
    return decodeGetInfo(await this.http.call("GET", "/v1/getinfo", {}, options));
  }

  /** Served even while the wallet is locked (no macaroon needed). */
  async getState(options?: CallOptions): Promise<WalletState> {
    return decodeWalletState(await this.http.call("GET", "/v1/state", {}, options));
  }

  // ---- hold invoices ----

  async addHoldInvoice(req: AddHoldInvoiceRequest, options?: CallOptions): Promise<AddHoldInvoiceResult> {
    const body: Record<string, unknown> = {
      hash: hexToBase64(hex32(req.hash, "hash")),
      value_msat: int64Text(req.value_msat, "value_msat"),
    };
    if (req.memo !== undefined) body.memo = req.memo;
    if (req.expiry !== undefined) body.expiry = int64Text(req.expiry, "expiry");
    if (req.cltv_expiry !== undefined) body.cltv_expiry = int64Text(req.cltv_expiry, "cltv_expiry");
    if (req.private !== undefined) body.private = req.private;
    if (req.description_hash !== undefined) {
      body.description_hash = hexToBase64(hex32(req.description_hash, "description_hash"));
    }
    return decodeAddHoldInvoice(await this.http.call("POST", "/v2/invoices/hodl", { body }, options));
  }

  /** AddInvoice with is_amp: an AMP invoice, paid any number of times (each payment a set id LND settles itself). */
  async addAmpInvoice(req: AddAmpInvoiceRequest, options?: CallOptions): Promise<AddInvoiceResult> {
    const body: Record<string, unknown> = { value_msat: int64Text(req.value_msat, "value_msat"), is_amp: true };
    if (req.memo !== undefined) body.memo = req.memo;
    if (req.expiry !== undefined) body.expiry = int64Text(req.expiry, "expiry");
    if (req.description_hash !== undefined) body.description_hash = hexToBase64(hex32(req.description_hash, "description_hash"));
    return decodeAddInvoice(await this.http.call("POST", "/v1/invoices", { body }, options));
  }

  /** Succeeds again if already settled; fails ("invoice still open") before an HTLC is accepted. */
  async settleInvoice(preimageHex: string, options?: CallOptions): Promise<void> {
    const body = { preimage: hexToBase64(hex32(preimageHex, "preimage")) };
    await this.http.call("POST", "/v2/invoices/settle", { body }, options);
  }

  /** Succeeds again if already canceled; fails if settled. */
  async cancelInvoice(paymentHashHex: string, options?: CallOptions): Promise<void> {
    const body = { payment_hash: hexToBase64(hex32(paymentHashHex, "payment_hash")) };
    await this.http.call("POST", "/v2/invoices/cancel", { body }, options);
  }

  /** LookupInvoiceV2; unknown hash → LndError code 5 (NOT_FOUND), HTTP 404. */
  async lookupInvoice(paymentHashHex: string, options?: CallOptions): Promise<Invoice> {
    const query = { payment_hash: hexToBase64Url(hex32(paymentHashHex, "payment_hash")) };
    return decodeInvoice(await this.http.call("GET", "/v2/invoices/lookup", { query }, options));
  }

  async listInvoices(req: ListInvoicesRequest = {}, options?: CallOptions): Promise<ListInvoicesResult> {
    const query = {
      index_offset: optInt(req.index_offset, "index_offset"),
      num_max_invoices: optInt(req.num_max_invoices, "num_max_invoices"),
      pending_only: req.pending_only,
      reversed: req.reversed,
      creation_date_start: optInt(req.creation_date_start, "creation_date_start"),
      creation_date_end: optInt(req.creation_date_end, "creation_date_end"),
    };
    return decodeListInvoices(await this.http.call("GET", "/v1/invoices", { query }, options));
  }

  /**
   * All invoices: LND only reports additions (OPEN) and settlements (SETTLED)
   * here — ACCEPTED and CANCELED come only from subscribeSingleInvoice.
   * Nothing is sent until an event occurs, so there is no default time limit.
   */
  async *subscribeInvoices(req: SubscribeInvoicesRequest = {}, options: StreamOptions = {}): AsyncGenerator<Invoice> {
    const query = { add_index: optInt(req.add_index, "add_index"), settle_index: optInt(req.settle_index, "settle_index") };
    for await (const result of this.http.stream("GET", "/v1/invoices/subscribe", { query }, options)) {
      yield decodeInvoice(result);
    }
  }

  /** Current state first, then every transition; LND closes it after SETTLED or CANCELED. */
  async *subscribeSingleInvoice(paymentHashHex: string, options: StreamOptions = {}): AsyncGenerator<Invoice> {
    const path = `/v2/invoices/subscribe/${hexToBase64Url(hex32(paymentHashHex, "payment_hash"))}`;
    const opts = { firstMessageTimeoutMs: this.http.timeoutMs, ...options };
    for await (const result of this.http.stream("GET", path, {}, opts)) yield decodeInvoice(result);
  }

  // ---- payments ----

  /**
   * SendPaymentV2. Closing the stream does not cancel the payment (the
   * request never sets `cancelable`). Already paid / in flight → LndError
   * code 6 (ALREADY_EXISTS) before any update.
   */
  async *sendPayment(req: SendPaymentRequest, options: StreamOptions = {}): AsyncGenerator<Payment> {
    const body: Record<string, unknown> = {
      fee_limit_msat: int64Text(req.fee_limit_msat, "fee_limit_msat"),
      timeout_seconds: int32(req.timeout_seconds, "timeout_seconds"),
    };
    if (req.payment_request !== "") body.payment_request = req.payment_request;
    if (req.dest !== undefined) body.dest = hexToBase64(req.dest);
    if (req.payment_hash !== undefined) body.payment_hash = hexToBase64(hex32(req.payment_hash, "payment_hash"));
    if (req.dest_custom_records !== undefined) {
      body.dest_custom_records = Object.fromEntries(Object.entries(req.dest_custom_records).map(([type, value]) => [uint64IdText(type), hexToBase64(value)]));
    }
    if (req.amp) body.amp = true;
    if (req.payment_addr !== undefined) body.payment_addr = hexToBase64(hex32(req.payment_addr, "payment_addr"));
    if (req.amt_msat !== undefined) body.amt_msat = int64Text(req.amt_msat, "amt_msat");
    if (req.max_parts !== undefined) body.max_parts = int32(req.max_parts, "max_parts");
    if (req.no_inflight_updates !== undefined) body.no_inflight_updates = req.no_inflight_updates;
    if (req.allow_self_payment !== undefined) body.allow_self_payment = req.allow_self_payment;
    if (req.outgoing_chan_ids !== undefined) body.outgoing_chan_ids = req.outgoing_chan_ids.map(uint64IdText);
    if (req.last_hop_pubkey !== undefined) body.last_hop_pubkey = hexToBase64(req.last_hop_pubkey);
    // The first update comes as soon as LND registers the payment, unless in-flight updates are off.
    const opts = { firstMessageTimeoutMs: req.no_inflight_updates ? undefined : this.http.timeoutMs, ...options };
    for await (const result of this.http.stream("POST", "/v2/router/send", { body }, opts)) {
      yield decodePayment(result);
    }
  }

  /** TrackPaymentV2: current state first. Unknown hash → LndError code 5 (NOT_FOUND). */
  async *trackPayment(
    paymentHashHex: string,
    req: { no_inflight_updates?: boolean } = {},
    options: StreamOptions = {},
  ): AsyncGenerator<Payment> {
    const path = `/v2/router/track/${hexToBase64Url(hex32(paymentHashHex, "payment_hash"))}`;
    const query = { no_inflight_updates: req.no_inflight_updates };
    const opts = { firstMessageTimeoutMs: req.no_inflight_updates ? undefined : this.http.timeoutMs, ...options };
    for await (const result of this.http.stream("GET", path, { query }, opts)) yield decodePayment(result);
  }

  /** Sends and waits up to `waitMs` for SUCCEEDED/FAILED; see PaymentOutcome. */
  payInvoice(req: SendPaymentRequest, wait: WaitOptions): Promise<PaymentOutcome> {
    // Only the wait bounds the call: a hang ends as "pending", not as an error.
    const open = (signal: AbortSignal) => this.sendPayment(req, { signal, firstMessageTimeoutMs: undefined });
    return waitForFinalPayment(open, wait.waitMs, wait.signal);
  }

  /** Tracks and waits up to `waitMs` for SUCCEEDED/FAILED; see PaymentOutcome. */
  waitForPayment(paymentHashHex: string, wait: WaitOptions): Promise<PaymentOutcome> {
    const open = (signal: AbortSignal) =>
      this.trackPayment(paymentHashHex, {}, { signal, firstMessageTimeoutMs: undefined });
    return waitForFinalPayment(open, wait.waitMs, wait.signal);
  }

  /** ListPayments: the node's payments (incomplete ones too if asked), from `creation_date_start` (unix seconds). */
  async listPayments(req: ListPaymentsRequest = {}, options?: CallOptions): Promise<Payment[]> {
    const query = {
      include_incomplete: req.include_incomplete,
      creation_date_start: optInt(req.creation_date_start, "creation_date_start"),
      max_payments: optInt(req.max_payments, "max_payments"),
      index_offset: optInt(req.index_offset, "index_offset"),
    };
    return decodeListPayments(await this.http.call("GET", "/v1/payments", { query }, options));
  }

  /** Graph estimate with {dest, amt_sat}, or probe with {payment_request, timeout}. */
  async estimateRouteFee(req: EstimateRouteFeeRequest, options?: CallOptions): Promise<RouteFeeEstimate> {
    const body: Record<string, unknown> = {};
    if (req.dest !== undefined) body.dest = hexToBase64(req.dest);
    if (req.amt_sat !== undefined) body.amt_sat = int64Text(req.amt_sat, "amt_sat");
    if (req.payment_request !== undefined) body.payment_request = req.payment_request;
    if (req.timeout !== undefined) body.timeout = int32(req.timeout, "timeout");
    return decodeRouteFee(await this.http.call("POST", "/v2/router/route/estimatefee", { body }, options));
  }

  async decodePayReq(paymentRequest: string, options?: CallOptions): Promise<PayReq> {
    const path = `/v1/payreq/${encodeURIComponent(paymentRequest)}`;
    return decodePayReq(await this.http.call("GET", path, {}, options));
  }

  // ---- channels and balances ----

  async listChannels(req: ListChannelsRequest = {}, options?: CallOptions): Promise<Channel[]> {
    const query = {
      active_only: req.active_only,
      inactive_only: req.inactive_only,
      public_only: req.public_only,
      private_only: req.private_only,
      peer: req.peer === undefined ? undefined : hexToBase64Url(req.peer),
    };
    return decodeListChannels(await this.http.call("GET", "/v1/channels", { query }, options));
  }

  /** PendingChannels: channels being opened (and closed); the hub reads the opening ones. */
  async pendingChannels(options?: CallOptions): Promise<PendingChannels> {
    return decodePendingChannels(await this.http.call("GET", "/v1/channels/pending", {}, options));
  }

  /**
   * OpenChannelSync: funds a channel to a connected peer from LND's wallet and answers its funding
   * outpoint once the funding transaction is published (the channel is pending until it confirms).
   */
  async openChannel(req: OpenChannelRequest, options?: CallOptions): Promise<ChannelPoint> {
    const body: Record<string, unknown> = {
      node_pubkey: hexToBase64(req.node_pubkey),
      local_funding_amount: int64Text(req.local_funding_amount, "local_funding_amount"),
    };
    if (req.sat_per_vbyte !== undefined) body.sat_per_vbyte = int64Text(req.sat_per_vbyte, "sat_per_vbyte");
    if (req.target_conf !== undefined) body.target_conf = int32(req.target_conf, "target_conf");
    if (req.private !== undefined) body.private = req.private;
    if (req.spend_unconfirmed !== undefined) body.spend_unconfirmed = req.spend_unconfirmed;
    return decodeChannelPoint(await this.http.call("POST", "/v1/channels", { body }, options));
  }

  /** ConnectPeer to pubkey@host; LND refuses a peer it is already connected to ("already connected to peer"). */
  async connectPeer(pubkey: string, host: string, options?: CallOptions): Promise<void> {
    await this.http.call("POST", "/v1/peers", { body: { addr: { pubkey, host }, perm: false } }, options);
  }

  async channelBalance(options?: CallOptions): Promise<ChannelBalance> {
    return decodeChannelBalance(await this.http.call("GET", "/v1/balance/channels", {}, options));
  }

  async walletBalance(options?: CallOptions): Promise<WalletBalance> {
    return decodeWalletBalance(await this.http.call("GET", "/v1/balance/blockchain", {}, options));
  }

  // ---- on-chain wallet ----

  /** NewAddress: a fresh receive address of LND's wallet (P2WPKH unless told). */
  async newAddress(type: AddressType = "WITNESS_PUBKEY_HASH", options?: CallOptions): Promise<{ address: string }> {
    return decodeNewAddress(await this.http.call("GET", "/v1/newaddress", { query: { type } }, options));
  }

  /** GetTransactions: the wallet's transactions between two heights (end -1: to the tip, unconfirmed included). */
  async getTransactions(req: GetTransactionsRequest = {}, options?: CallOptions): Promise<TransactionDetails> {
    const query = {
      start_height: optSignedInt(req.start_height, "start_height"),
      end_height: optSignedInt(req.end_height, "end_height"),
      index_offset: optInt(req.index_offset, "index_offset"),
      max_transactions: optInt(req.max_transactions, "max_transactions"),
    };
    return decodeTransactionDetails(await this.http.call("GET", "/v1/transactions", { query }, options));
  }

  /**
   * SubscribeTransactions: a wallet transaction when it is first seen (unconfirmed) and when it first
   * confirms; nothing about later confirmations or re-orgs (GetTransactions tells those).
   */
  async *subscribeTransactions(options: StreamOptions = {}): AsyncGenerator<OnchainTransaction> {
    for await (const result of this.http.stream("GET", "/v1/transactions/subscribe", {}, options)) yield decodeOnchainTransaction(result);
  }

  /** EstimateFee: the fee of a transaction paying these outputs (sat), at a target in blocks. */
  async estimateFee(req: EstimateFeeRequest, options?: CallOptions): Promise<FeeEstimate> {
    const query: Record<string, string | number | boolean | undefined> = {
      target_conf: req.target_conf === undefined ? undefined : int32(req.target_conf, "target_conf"),
      min_confs: req.min_confs === undefined ? undefined : int32(req.min_confs, "min_confs"),
      spend_unconfirmed: req.spend_unconfirmed,
    };
    // grpc-gateway's map query parameters: AddrToAmount[<address>]=<sat>.
    for (const [addr, sat] of Object.entries(req.addr_to_amount)) query[`AddrToAmount[${addr}]`] = int64Text(sat, "amount");
    return decodeFeeEstimate(await this.http.call("GET", "/v1/transactions/fee", { query }, options));
  }

  /** SendCoins: pays an address from the wallet; the txid once LND has published the transaction. */
  async sendCoins(req: SendCoinsRequest, options?: CallOptions): Promise<{ txid: string }> {
    const body: Record<string, unknown> = { addr: req.addr, amount: int64Text(req.amount, "amount") };
    if (req.target_conf !== undefined) body.target_conf = int32(req.target_conf, "target_conf");
    if (req.sat_per_vbyte !== undefined) body.sat_per_vbyte = int64Text(req.sat_per_vbyte, "sat_per_vbyte");
    if (req.label !== undefined) body.label = req.label;
    if (req.min_confs !== undefined) body.min_confs = int32(req.min_confs, "min_confs");
    if (req.spend_unconfirmed !== undefined) body.spend_unconfirmed = req.spend_unconfirmed;
    return decodeSendCoins(await this.http.call("POST", "/v1/transactions", { body }, options));
  }
}

export function createLndClient(config: LndClientConfig): LndRestClient {
  return new LndRestClient(config);
}

// ---- argument encoding (programming errors throw TypeError) ----

function int64Text(value: number, name: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a non-negative safe integer`);
  return String(value);
}

function int32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new TypeError(`${name} must fit an int32`);
  return value;
}

function optSignedInt(value: number | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || Math.abs(value) > 0x7fffffff) throw new TypeError(`${name} must fit an int32`);
  return String(value);
}

function optInt(value: number | undefined, name: string): string | undefined {
  return value === undefined ? undefined : int64Text(value, name);
}

function uint64IdText(value: string): string {
  if (!/^\d+$/.test(value)) throw new TypeError(`channel id must be a decimal string, got ${JSON.stringify(value)}`);
  return value;
}
