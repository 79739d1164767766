// LND's REST routes served by the simulator, and the gateway behaviour around
// them: 404/405 for unknown routes, the macaroon check (every route but
// /v1/state), and error bodies (unary: the status at the top level; streams,
// before their first message: {"error": status} with the mapped HTTP status).

import { HUB_CHANNELS, HUB } from "./topology";
import type { InvoiceBook } from "./invoices";
import type { Knobs } from "./knobs";
import { NODE_FEATURE_BITS, featureMap, payReqJson } from "./lnd-json";
import { channelBalance, listChannels, walletBalance } from "./channels";
import { decodeForRegtest, type PaymentBook } from "./payments";
import type { SimContext } from "./context";
import {
  Code,
  Fields,
  GrpcError,
  Query,
  errorResponse,
  jsonResponse,
  streamErrorResponse,
  lndError,
  pathBytes,
  readJsonBody,
  type JsonObject,
} from "./wire";

/** The LND release whose REST behaviour the simulator follows. */
const LND_VERSION = "0.21.3-beta commit=v0.21.3-beta";
const LND_COMMIT = "b8b6cd2b9a4c9f0e3d8f1a2b3c4d5e6f7a8b9c0d";

/** Request messages' fields (proto names): anything else in a body is refused, as LND does. */
const ADD_HOLD_INVOICE = ["memo", "hash", "value", "value_msat", "description_hash", "expiry", "fallback_addr", "cltv_expiry", "route_hints", "private"];
const SETTLE_INVOICE = ["preimage"];
const CANCEL_INVOICE = ["payment_hash"];
const SEND_PAYMENT = [
  "dest", "amt", "payment_hash", "final_cltv_delta", "payment_request", "timeout_seconds", "fee_limit_sat", "cltv_limit",
  "route_hints", "dest_custom_records", "amt_msat", "fee_limit_msat", "last_hop_pubkey", "allow_self_payment",
  "dest_features", "max_parts", "no_inflight_updates", "outgoing_chan_ids", "payment_addr", "max_shard_size_msat", "amp",
  "time_pref", "cancelable", "first_hop_custom_records",
];
const ROUTE_FEE = ["dest", "amt_sat", "payment_request", "timeout"];

interface Call {
  request: Request;
  query: Query;
  /** the `{…}` path segment, if the route has one. */
  param: string;
  knobs: Knobs;
}

interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  stream?: boolean;
  noMacaroon?: boolean;
  handle: (call: Call) => JsonObject | Promise<JsonObject> | Promise<Response>;
}

export class LndApi {
  private readonly routes: Route[];

  constructor(
    private readonly ctx: SimContext,
    invoices: InvoiceBook,
    payments: PaymentBook,
  ) {
    const body = async (call: Call, known: readonly string[]) => new Fields(await readJsonBody(call.request), known);
    this.routes = [
      { method: "GET", pattern: /^\/v1\/getinfo$/, handle: () => this.getInfo() },
      { method: "GET", pattern: /^\/v1\/state$/, noMacaroon: true, handle: () => ({ state: "SERVER_ACTIVE" }) },
      { method: "POST", pattern: /^\/v2\/invoices\/hodl$/, handle: async (c) => invoices.addHold(await body(c, ADD_HOLD_INVOICE)) },
      {
        method: "POST",
        pattern: /^\/v2\/invoices\/settle$/,
        handle: async (c) => (invoices.settle((await body(c, SETTLE_INVOICE)).bytes("preimage")), {}),
      },
      {
        method: "POST",
        pattern: /^\/v2\/invoices\/cancel$/,
        handle: async (c) => (invoices.cancel((await body(c, CANCEL_INVOICE)).bytes("payment_hash")), {}),
      },
      { method: "GET", pattern: /^\/v2\/invoices\/lookup$/, handle: (c) => invoices.lookup(c.query.bytes("payment_hash"), c.query.bytes("payment_addr")) },
      {
        method: "GET",
        pattern: /^\/v1\/invoices$/,
        handle: (c) =>
          invoices.list({
            indexOffset: c.query.int("index_offset"),
            numMax: c.query.int("num_max_invoices"),
            pendingOnly: c.query.bool("pending_only"),
            reversed: c.query.bool("reversed"),
            start: c.query.int("creation_date_start"),
            end: c.query.int("creation_date_end"),
          }),
      },
      {
        method: "GET",
        pattern: /^\/v1\/invoices\/subscribe$/,
        stream: true,
        handle: (c) => invoices.subscribeAll(c.query.int("add_index"), c.query.int("settle_index"), c.request.signal),
      },
      {
        method: "GET",
        pattern: /^\/v2\/invoices\/subscribe\/([^/]+)$/,
        stream: true,
        handle: (c) =>
          invoices.subscribeSingle(pathBytes(c.param, "r_hash"), c.knobs.drop_invoice_events, c.request.signal),
      },
      {
        method: "POST",
        pattern: /^\/v2\/router\/send$/,
        stream: true,
        handle: async (c) => payments.send(await body(c, SEND_PAYMENT), c.knobs, c.request.signal),
      },
      {
        method: "GET",
        pattern: /^\/v2\/router\/track\/([^/]+)$/,
        stream: true,
        handle: (c) =>
          payments.track(pathBytes(c.param, "payment_hash"), c.query.bool("no_inflight_updates"), c.request.signal),
      },
      { method: "POST", pattern: /^\/v2\/router\/route\/estimatefee$/, handle: async (c) => payments.estimateFee(await body(c, ROUTE_FEE)) },
      {
        method: "GET",
        pattern: /^\/v1\/payreq\/([^/]+)$/,
        handle: (c) => payReqJson(decodeForRegtest(decodeURIComponent(c.param))),
      },
      {
        method: "GET",
        pattern: /^\/v1\/channels$/,
        handle: (c) =>
          listChannels(this.ctx.store, {
            peer: c.query.bytes("peer"),
            inactiveOnly: c.query.bool("inactive_only"),
            privateOnly: c.query.bool("private_only"),
          }),
      },
      { method: "GET", pattern: /^\/v1\/balance\/channels$/, handle: () => channelBalance(this.ctx.store) },
      { method: "GET", pattern: /^\/v1\/balance\/blockchain$/, handle: () => walletBalance() },
    ];
  }

  /** Answers one LND REST call (knobs for faults and delays are applied by the caller). */
  async handle(request: Request, path: string, knobs: Knobs, configuredMacaroon: string | undefined): Promise<Response> {
    const matches = this.routes.filter((r) => r.pattern.test(path));
    const route = matches.find((r) => r.method === request.method);
    if (!route) {
      return errorResponse(
        matches.length > 0
          ? new GrpcError(Code.UNIMPLEMENTED, "Method Not Allowed", 405)
          : new GrpcError(Code.NOT_FOUND, "Not Found", 404),
      );
    }
    try {
      if (!route.noMacaroon) checkMacaroon(request, knobs.macaroon_hex ?? configuredMacaroon ?? "");
      const call: Call = {
        request,
        query: new Query(new URL(request.url).searchParams),
        param: route.pattern.exec(path)?.[1] ?? "",
        knobs,
      };
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

/** LND's macaroon check, by its error texts (a plain error: code 2, HTTP 500). */
function checkMacaroon(request: Request, required: string): void {
  if (required === "") return;
  const given = request.headers.get("Grpc-Metadata-macaroon");
  if (given === null || given === "") throw lndError("expected 1 macaroon, got 0");
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(given)) throw lndError("unable to decode macaroon: encoding/hex: invalid byte");
  if (given.toLowerCase() !== required) throw lndError("verification failed: signature mismatch after caveat verification");
}
