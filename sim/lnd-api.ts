// LND's REST routes served by the simulator, and the gateway behaviour around
// them: 404 for unknown routes and 501 for another method, request parsing
// (sim/request.ts: its errors are unary, even on streams), then the macaroon
// check (every route but /v1/state), and LND's errors (unary: the status at the
// top level; streams, before their first message: {"error": status} with the
// mapped HTTP status).

import { HUB_CHANNELS, HUB } from "./topology";
import type { InvoiceBook } from "./invoices";
import type { Knobs } from "./knobs";
import { NODE_FEATURE_BITS, featureMap, payReqJson } from "./lnd-json";
import { channelBalance, listChannels } from "./channels";
import type { Chain } from "./chain";
import type { ChannelOpens } from "./channel-opens";
import { decodeForRegtest, type PaymentBook } from "./payments";
import type { SimContext } from "./context";
import { Code, GrpcError, errorResponse, jsonResponse, streamErrorResponse, lndError, type JsonObject } from "./wire";
import { Fields, GatewayError, Query, pathBytes, readJsonBody, type Schema } from "./request";

/** The LND release whose REST behaviour the simulator follows. */
const LND_VERSION = "0.21.3-beta commit=v0.21.3-beta";
const LND_COMMIT = "b8b6cd2b9a4c9f0e3d8f1a2b3c4d5e6f7a8b9c0d";

/** Request messages (proto names and types, LND 0.21): anything else in a body is refused, as LND does. */
const ADD_HOLD_INVOICE: Schema = {
  memo: "string", hash: "bytes", value: "int64", value_msat: "int64", description_hash: "bytes", expiry: "int64",
  fallback_addr: "string", cltv_expiry: "uint64", route_hints: "repeated", private: "bool",
};
/** lnrpc.Invoice as AddInvoice reads it (the fields a request may set). */
const ADD_INVOICE: Schema = {
  memo: "string", r_preimage: "bytes", r_hash: "bytes", value: "int64", value_msat: "int64", description_hash: "bytes", expiry: "int64",
  fallback_addr: "string", cltv_expiry: "uint64", route_hints: "repeated", private: "bool", is_amp: "bool", is_blinded: "bool",
  blinded_path_config: "message",
};
const SETTLE_INVOICE: Schema = { preimage: "bytes" };
const CANCEL_INVOICE: Schema = { payment_hash: "bytes" };
const SEND_PAYMENT: Schema = {
  dest: "bytes", amt: "int64", payment_hash: "bytes", final_cltv_delta: "int32", payment_request: "string",
  timeout_seconds: "int32", fee_limit_sat: "int64", outgoing_chan_id: "uint64", cltv_limit: "uint32", route_hints: "repeated",
  dest_custom_records: "map", amt_msat: "int64", fee_limit_msat: "int64", last_hop_pubkey: "bytes", allow_self_payment: "bool",
  dest_features: "repeated", max_parts: "uint32", no_inflight_updates: "bool", outgoing_chan_ids: "repeated",
  payment_addr: "bytes", max_shard_size_msat: "uint64", amp: "bool", time_pref: "double", cancelable: "bool",
  first_hop_custom_records: "map",
};
const ROUTE_FEE: Schema = { dest: "bytes", amt_sat: "int64", payment_request: "string", timeout: "uint32" };
const SEND_COINS: Schema = {
  addr: "string", amount: "int64", target_conf: "int32", sat_per_vbyte: "uint64", sat_per_byte: "int64", send_all: "bool",
  label: "string", min_confs: "int32", spend_unconfirmed: "bool", coin_selection_strategy: "string", outpoints: "repeated",
};

const OPEN_CHANNEL: Schema = {
  sat_per_vbyte: "uint64", node_pubkey: "bytes", node_pubkey_string: "string", local_funding_amount: "int64", push_sat: "int64",
  target_conf: "int32", sat_per_byte: "int64", private: "bool", min_htlc_msat: "int64", remote_csv_delay: "uint32", min_confs: "int32",
  spend_unconfirmed: "bool", close_address: "string", funding_shim: "message", remote_max_value_in_flight_msat: "uint64",
  remote_max_htlcs: "uint32", max_local_csv: "uint32", commitment_type: "string", zero_conf: "bool", scid_alias: "bool", base_fee: "uint64",
  fee_rate: "uint64", use_base_fee: "bool", use_fee_rate: "bool", remote_chan_reserve_sat: "uint64", fund_max: "bool", memo: "string",
  outpoints: "repeated",
};
const CONNECT_PEER: Schema = { addr: "message", perm: "bool", timeout: "uint64" };

/** Query parameters the gateway maps onto request fields (unknown ones are ignored). */
const LOOKUP_QUERY: Schema = { payment_hash: "bytes", payment_addr: "bytes", set_id: "bytes" };
const LIST_INVOICES_QUERY: Schema = {
  pending_only: "bool", index_offset: "uint64", num_max_invoices: "uint64", reversed: "bool",
  creation_date_start: "uint64", creation_date_end: "uint64",
};
const SUBSCRIBE_QUERY: Schema = { add_index: "uint64", settle_index: "uint64" };
const LIST_PAYMENTS_QUERY: Schema = {
  include_incomplete: "bool", index_offset: "uint64", max_payments: "uint64", reversed: "bool", count_total_payments: "bool",
  creation_date_start: "uint64", creation_date_end: "uint64",
};
const TRACK_QUERY: Schema = { no_inflight_updates: "bool" };
const NEW_ADDRESS_QUERY: Schema = { type: "string", account: "string" };
const GET_TRANSACTIONS_QUERY: Schema = { start_height: "int32", end_height: "int32", account: "string", index_offset: "uint32", max_transactions: "uint32" };
const ESTIMATE_FEE_QUERY: Schema = { target_conf: "int32", min_confs: "int32", spend_unconfirmed: "bool", coin_selection_strategy: "string" };
const CHANNELS_QUERY: Schema = {
  active_only: "bool", inactive_only: "bool", public_only: "bool", private_only: "bool", peer: "bytes", peer_alias_lookup: "bool",
};

interface Call {
  request: Request;
  query: Query;
  /** the request body, read by the gateway (routes with a body schema). */
  body: Fields;
  /** the `{…}` path segment: hex for `bytes` parameters, else as given. */
  param: string;
  knobs: Knobs;
}

interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  stream?: boolean;
  noMacaroon?: boolean;
  body?: Schema;
  query?: Schema;
  /** the path parameter's proto name, when it is a `bytes` field. */
  bytesParam?: string;
  handle: (call: Call) => JsonObject | Promise<JsonObject> | Promise<Response>;
}

export class LndApi {
  private readonly routes: Route[];

  constructor(
    private readonly ctx: SimContext,
    invoices: InvoiceBook,
    payments: PaymentBook,
    chain: Chain,
    opens: ChannelOpens,
  ) {
    this.routes = [
      { method: "GET", pattern: /^\/v1\/getinfo$/, handle: () => this.getInfo() },
      { method: "GET", pattern: /^\/v1\/state$/, noMacaroon: true, handle: () => ({ state: "SERVER_ACTIVE" }) },
      { method: "POST", pattern: /^\/v2\/invoices\/hodl$/, body: ADD_HOLD_INVOICE, handle: (c) => invoices.addHold(c.body) },
      { method: "POST", pattern: /^\/v1\/invoices$/, body: ADD_INVOICE, handle: (c) => invoices.addInvoice(c.body) },
      {
        method: "POST",
        pattern: /^\/v2\/invoices\/settle$/,
        body: SETTLE_INVOICE,
        handle: (c) => (invoices.settle(c.body.bytes("preimage")), {}),
      },
      {
        method: "POST",
        pattern: /^\/v2\/invoices\/cancel$/,
        body: CANCEL_INVOICE,
        handle: (c) => (invoices.cancel(c.body.bytes("payment_hash")), {}),
      },
      {
        method: "GET",
        pattern: /^\/v2\/invoices\/lookup$/,
        query: LOOKUP_QUERY,
        handle: (c) => invoices.lookup(c.query.bytes("payment_hash"), c.query.bytes("payment_addr")),
      },
      {
        method: "GET",
        pattern: /^\/v1\/invoices$/,
        query: LIST_INVOICES_QUERY,
        handle: (c) =>
          invoices.list({
            indexOffset: c.query.uint("index_offset"),
            numMax: c.query.uint("num_max_invoices"),
            pendingOnly: c.query.bool("pending_only"),
            reversed: c.query.bool("reversed"),
            start: c.query.uint("creation_date_start"),
            end: c.query.uint("creation_date_end"),
          }),
      },
      {
        method: "GET",
        pattern: /^\/v1\/invoices\/subscribe$/,
        stream: true,
        query: SUBSCRIBE_QUERY,
        handle: (c) => invoices.subscribeAll(c.query.uint("add_index"), c.query.uint("settle_index"), c.request.signal),
      },
      {
        method: "GET",
        pattern: /^\/v2\/invoices\/subscribe\/([^/]+)$/,
        stream: true,
        bytesParam: "r_hash",
        handle: (c) => invoices.subscribeSingle(c.param, c.knobs.drop_invoice_events, c.request.signal),
      },
      {
        method: "POST",
        pattern: /^\/v2\/router\/send$/,
        stream: true,
        body: SEND_PAYMENT,
        handle: (c) => payments.send(c.body, c.knobs, c.request.signal),
      },
      {
        method: "GET",
        pattern: /^\/v2\/router\/track\/([^/]+)$/,
        stream: true,
        bytesParam: "payment_hash",
        query: TRACK_QUERY,
        handle: (c) => payments.track(c.param, c.query.bool("no_inflight_updates"), c.request.signal),
      },
      {
        method: "GET",
        pattern: /^\/v1\/payments$/,
        query: LIST_PAYMENTS_QUERY,
        handle: (c) => payments.list(c.query.bool("include_incomplete"), c.query.uint("creation_date_start")),
      },
      { method: "POST", pattern: /^\/v2\/router\/route\/estimatefee$/, body: ROUTE_FEE, handle: (c) => payments.estimateFee(c.body) },
      {
        method: "GET",
        pattern: /^\/v1\/payreq\/([^/]+)$/,
        handle: (c) => payReqJson(decodeForRegtest(decodeURIComponent(c.param))),
      },
      {
        method: "GET",
        pattern: /^\/v1\/channels$/,
        query: CHANNELS_QUERY,
        handle: (c) =>
          listChannels(this.ctx.store, {
            peer: c.query.bytes("peer"),
            inactiveOnly: c.query.bool("inactive_only"),
            privateOnly: c.query.bool("private_only"),
            peerAliasLookup: c.query.bool("peer_alias_lookup"),
          }),
      },
      { method: "GET", pattern: /^\/v1\/balance\/channels$/, handle: () => channelBalance(this.ctx.store, opens.pendingLocalSat()) },
      { method: "GET", pattern: /^\/v1\/channels\/pending$/, handle: () => opens.pending() },
      {
        method: "POST",
        pattern: /^\/v1\/channels$/,
        body: OPEN_CHANNEL,
        handle: (c) => opens.open(c.body.bytes("node_pubkey"), c.body.int("local_funding_amount"), c.body.int("sat_per_vbyte"), c.body.int("target_conf")),
      },
      { method: "POST", pattern: /^\/v1\/peers$/, body: CONNECT_PEER, handle: (c) => opens.connectPeer(c.body.object("addr")) },
      { method: "GET", pattern: /^\/v1\/balance\/blockchain$/, handle: () => chain.walletBalance() },
      { method: "GET", pattern: /^\/v1\/newaddress$/, query: NEW_ADDRESS_QUERY, handle: (c) => chain.newAddress(c.query.raw("type")) },
      {
        method: "GET",
        pattern: /^\/v1\/transactions$/,
        query: GET_TRANSACTIONS_QUERY,
        handle: (c) => chain.getTransactions(c.query.int("start_height"), c.query.int("end_height"), c.query.uint("index_offset"), c.query.uint("max_transactions")),
      },
      {
        method: "POST",
        pattern: /^\/v1\/transactions$/,
        body: SEND_COINS,
        handle: (c) => chain.sendCoins(c.body.str("addr"), c.body.int("amount"), c.body.int("target_conf"), c.body.int("sat_per_vbyte"), c.body.str("label")),
      },
      { method: "GET", pattern: /^\/v1\/transactions\/subscribe$/, stream: true, handle: (c) => chain.subscribe(c.request.signal) },
      {
        method: "GET",
        pattern: /^\/v1\/transactions\/fee$/,
        query: ESTIMATE_FEE_QUERY,
        handle: (c) => chain.estimateFee(c.query.map("AddrToAmount"), c.query.int("target_conf")),
      },
    ];
  }

  /** Answers one LND REST call (knobs for faults and delays are applied by the caller). */
  async handle(request: Request, rawPath: string, knobs: Knobs, configuredMacaroon: string | undefined): Promise<Response> {
    // The gateway routes on the unescaped path: a percent-encoded '/' splits a segment too.
    const path = rawPath.replace(/%2f/gi, "/");
    const matches = this.routes.filter((r) => r.pattern.test(path));
    const route = matches.find((r) => r.method === request.method);
    if (!route) {
      await request.arrayBuffer().catch(() => undefined); // unread, the body would outlive the answer
      return errorResponse(matches.length > 0 ? new GrpcError(Code.UNIMPLEMENTED, "Method Not Allowed") : new GrpcError(Code.NOT_FOUND, "Not Found"));
    }
    // 1. The gateway reads the request (body, path, query); its errors are unary even on streams.
    let call: Call;
    try {
      const segment = route.pattern.exec(path)?.[1] ?? "";
      const query = new Query(new URL(request.url).searchParams);
      const body = new Fields(route.body ? await readJsonBody(request) : { text: "", value: {}, members: [], start: 0 }, route.body ?? {});
      const param = route.bytesParam ? pathBytes(segment, route.bytesParam) : segment;
      for (const [name, kind] of Object.entries(route.query ?? {})) {
        if (kind === "bool") query.bool(name);
        else if (kind === "bytes") query.bytes(name);
        else if (kind === "int32" || kind === "int64") query.int(name);
        else if (kind !== "string") query.uint(name);
      }
      call = { request, query, body, param, knobs };
    } catch (e) {
      if (e instanceof GatewayError) return errorResponse(e);
      throw e;
    }
    // 2. LND: the macaroon, then the call.
    try {
      if (!route.noMacaroon) checkMacaroon(request, knobs.macaroon_hex ?? configuredMacaroon ?? "");
      const result = await route.handle(call);
      return result instanceof Response ? result : jsonResponse(result);
    } catch (e) {
      if (!(e instanceof GrpcError)) throw e;
      // A stream that fails before its first message: mapped status, error under "error".
      return route.stream ? streamErrorResponse(e) : errorResponse(e);
    }
  }

  private getInfo(): JsonObject {
    const tip = this.ctx.tip();
    return {
      version: LND_VERSION,
      commit_hash: LND_COMMIT,
      identity_pubkey: HUB.pubkey,
      alias: HUB.alias,
      color: HUB.color,
      num_pending_channels: 0,
      num_active_channels: HUB_CHANNELS.length,
      num_inactive_channels: 0,
      num_peers: HUB_CHANNELS.length,
      block_height: tip.height,
      block_hash: tip.hash,
      best_header_timestamp: String(tip.timestamp),
      synced_to_chain: true,
      synced_to_graph: true,
      testnet: false,
      chains: [{ chain: "bitcoin", network: "regtest" }],
      uris: [],
      features: featureMap(NODE_FEATURE_BITS),
      require_htlc_interceptor: false,
      store_final_htlc_resolutions: false,
      wallet_synced: true,
      graph_cache_status: "GRAPH_CACHE_STATUS_LOADED",
    };
  }
}

/**
 * LND's macaroon check, by its error texts (a plain error: code 2, HTTP 500). The header is hex
 * decoded as Go's encoding/hex does; a well-formed macaroon other than the required one fails
 * verification. (The binary macaroon format itself is not parsed.)
 */
function checkMacaroon(request: Request, required: string): void {
  if (required === "") return;
  const given = request.headers.get("Grpc-Metadata-macaroon");
  if (given === null || given === "") throw lndError("expected 1 macaroon, got 0");
  const bad = /[^0-9a-fA-F]/.exec(given);
  if (bad) throw lndError(`encoding/hex: invalid byte: ${goRune(bad[0])}`);
  if (given.length % 2 === 1) throw lndError("encoding/hex: odd length hex string");
  if (given.toLowerCase() !== required) throw lndError("verification failed: signature mismatch after caveat verification");
}

/** Go's %#U of a character: U+007A 'z'. */
function goRune(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return code >= 0x20 && code !== 0x7f ? `${hex} '${c}'` : hex;
}
