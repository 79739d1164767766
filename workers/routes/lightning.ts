import { ApiError } from "../../src/errors";
import { MSAT_PER_SAT, satToMsat } from "../../src/money";
import { defaultMaxFeeMsat } from "../../src/payment-rules";
import { sha256HexOfBytes } from "../../src/hash";
import { randomHex } from "../../src/ids";
import { hexToBytes } from "../../src/lightning/bytes";
import * as s from "../../src/schemas";
import { lndClient } from "../../durable/lnd";
import { LndError } from "../../src/lightning";
import { lightningNode, walletActor } from "../env";
import { createInvoice, decodeOrRefuse, payable, payableOrStored, payInvoice, satOrUndefined } from "../services/lightning";
import { answer } from "../errors";
import { requireTotpForSend } from "../services/totp";
import { authedRoute, errorResponses, idempotencyTag, jsonBody, jsonResponse, newRouter, requiredIdempotencyKey } from "../openapi";

export const lightning = newRouter();

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/invoices",
    operationId: "createInvoice",
    summary: "Create a Lightning invoice (a hold invoice: credited before it is settled; with `amp`, an AMP invoice paid any number of times)",
    scope: "receive",
    request: jsonBody(s.CreateInvoiceBody),
    responses: { 201: jsonResponse(s.Invoice, "created"), ...errorResponses(400, 401, 403, 409, 413, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const result = await createInvoice(c.env, c.get("principal").walletId, {
      amount_msat: body.amount_sat === undefined ? null : satToMsat(body.amount_sat),
      memo: body.memo ?? null,
      expiry_s: body.expiry_s,
      metadata: body.metadata ?? null,
      external_id: body.external_id ?? null,
      ...(body.amp ? { amp: true } : {}),
    });
    return answer(c, result) as never;
  },
);

lightning.openapi(
  authedRoute({
    method: "get",
    path: "/v1/invoices",
    operationId: "listInvoices",
    summary: "The caller's invoices, newest first; `external_id` finds the one with that id",
    scope: "read",
    request: { query: s.InvoicesQuery },
    responses: { 200: jsonResponse(s.InvoicePage, "a page"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const q = c.req.valid("query");
    return c.json(await walletActor(c.env, c.get("principal").walletId).listInvoices({ external_id: q.external_id ?? null, limit: q.limit, cursor: q.cursor ?? null }), 200);
  },
);

lightning.openapi(
  authedRoute({
    method: "get",
    path: "/v1/invoices/{payment_hash}",
    operationId: "getInvoice",
    summary: "One of the caller's invoices",
    scope: "read",
    request: { params: s.PaymentHashParam },
    responses: { 200: jsonResponse(s.Invoice, "the invoice"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => answer(c, await walletActor(c.env, c.get("principal").walletId).getInvoice(c.req.valid("param").payment_hash)) as never,
);

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/lightning/decode",
    operationId: "decodePaymentRequest",
    summary: "Decode and verify a BOLT 11 invoice",
    scope: "read",
    request: jsonBody(s.DecodeBody),
    responses: { 200: jsonResponse(s.DecodedInvoice, "decoded"), ...errorResponses(400, 401, 403, 413) },
  }),
  async (c) => {
    const d = decodeOrRefuse(c.req.valid("json").payment_request);
    return c.json(
      {
        network: d.network,
        amount_msat: d.amount_msat,
        payment_hash: d.payment_hash,
        description: d.description,
        description_hash: d.description_hash,
        payee: d.payee,
        created_at: d.created_at,
        expires_at: d.expires_at,
        min_final_cltv_expiry: d.min_final_cltv_expiry,
        payment_secret: d.payment_secret,
        features: d.features,
        route_hints: d.route_hints,
      },
      200,
    );
  },
);

/** How long the fee estimate's probe may take (seconds). */
const PROBE_TIMEOUT_S = 10;

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/lightning/estimate",
    operationId: "estimateLightningFee",
    summary: "Estimate the routing fee of paying an invoice (zero for hub invoices): probed along the route for an invoice with an amount, from the graph for an amountless one",
    scope: "read",
    request: jsonBody(s.EstimateBody),
    responses: { 200: jsonResponse(s.FeeEstimate, "estimate"), ...errorResponses(400, 401, 403, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { invoice, amount_msat } = payable(c.env, body.payment_request, satOrUndefined(body.amount_sat));
    if (await lightningNode(c.env).isHubInvoice(invoice.payment_hash)) return c.json({ fee_msat: 0, internal: true, max_fee_msat: 0 }, 200);
    let estimate;
    try {
      // An invoice with an amount is probed (LND sends an HTLC no one can settle along the route it would
      // take: the fee of a route with the liquidity today); an amountless one is estimated from the graph.
      estimate =
        invoice.amount_msat !== null
          ? await lndClient(c.env, (PROBE_TIMEOUT_S + 5) * 1000).estimateRouteFee({ payment_request: body.payment_request, timeout: PROBE_TIMEOUT_S })
          : await lndClient(c.env).estimateRouteFee({ dest: invoice.payee, amt_sat: Math.ceil(amount_msat / MSAT_PER_SAT) });
    } catch (error) {
      // LND answered (e.g. "unable to find a path to destination"): a fact about the route.
      if (error instanceof LndError) throw new ApiError("no_route", `no route: ${error.message}`);
      throw new ApiError("lightning_unavailable", "the Lightning node could not be reached to estimate a route");
    }
    if (estimate.failure_reason !== "FAILURE_REASON_NONE") throw new ApiError("no_route", `no route: ${estimate.failure_reason}`);
    return c.json({ fee_msat: estimate.routing_fee_msat, internal: false, max_fee_msat: defaultMaxFeeMsat(amount_msat) }, 200);
  },
);

lightning.openapi(
  authedRoute({
    method: "get",
    path: "/v1/payments/lightning/{payment_hash}",
    operationId: "getLightningPayment",
    summary: "One of the caller's Lightning payments, by payment hash: the live attempt (pending or succeeded), else the latest failed one",
    scope: "read",
    request: { params: s.PaymentHashParam },
    responses: { 200: jsonResponse(s.LightningPayment, "the payment as it stands"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => answer(c, await walletActor(c.env, c.get("principal").walletId).getLightningPayment(c.req.valid("param").payment_hash)) as never,
);

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/lightning",
    operationId: "payLightning",
    summary: "Pay a BOLT 11 invoice (hub invoices are paid internally, with no fee; AMP invoices by AMP)",
    scope: "send",
    request: { headers: requiredIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(s.LightningPayBody) },
    responses: { 200: jsonResponse(s.LightningPayment, "succeeded, failed, or pending (followed up by the hub)"), ...errorResponses(400, 401, 403, 409, 413, 422) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const walletId = c.get("principal").walletId;
    const idempotency = await idempotencyTag(c, "POST /v1/payments/lightning", body);
    const request = { payment_request: body.payment_request, amount_msat: satOrUndefined(body.amount_sat), max_fee_msat: satOrUndefined(body.max_fee_sat), max_parts: body.max_parts, amp: body.amp };
    const checked = await payableOrStored(c.env, walletId, request, idempotency);
    if ("stored" in checked) return answer(c, checked.stored) as never;
    // The amount is the invoice's (or the caller's for an amountless one): TOTP is checked on it before paying.
    await requireTotpForSend(c, checked.amount_msat, idempotency);
    return answer(c, await payInvoice(c.env, walletId, request, idempotency, checked)) as never;
  },
);

/** The node's own public key, once per isolate (it never changes for a node). */
let hubPubkey: Promise<string> | null = null;
const nodePubkey = (env: Parameters<typeof lndClient>[0]) =>
  (hubPubkey ??= lndClient(env)
    .getInfo()
    .then((i) => i.identity_pubkey)
    .catch((error) => {
      hubPubkey = null;
      throw error;
    }));

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/keysend",
    operationId: "payKeysend",
    summary: "Pay a node by its public key (keysend): no invoice; the hub makes the preimage and sends it in the onion",
    description:
      "Held like an outgoing Lightning payment (amount + maximum fee), settled at the real fee, followed until final. " +
      "The preimage is made by the hub and carried in the keysend record (5482373484); the payment hash is its SHA-256. " +
      "The hub's own node is refused (pay its users by username instead). The destination must accept keysend. " +
      "With `amp: true` the payment is spontaneous AMP (docs/decisions/0025): LND draws the set id, answered as `amp_set_id`.",
    scope: "send",
    request: { headers: requiredIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(s.KeysendBody) },
    responses: { 200: jsonResponse(s.LightningPayment, "succeeded, failed, or pending (followed up by the hub)"), ...errorResponses(400, 401, 403, 409, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const walletId = c.get("principal").walletId;
    const idempotency = await idempotencyTag(c, "POST /v1/payments/keysend", body);
    const stored = await walletActor(c.env, walletId).storedAnswer(idempotency);
    if (stored) return answer(c, stored) as never;
    let own: string;
    try {
      own = await nodePubkey(c.env);
    } catch (error) {
      throw new ApiError("lightning_unavailable", `the Lightning node could not be reached: ${(error as Error).message}`);
    }
    if (body.destination === own) throw new ApiError("invalid_request", "that is this hub's own node: pay its users by username (POST /v1/payments/intraledger)");
    const amount_msat = satToMsat(body.amount_sat);
    await requireTotpForSend(c, amount_msat, idempotency);
    const preimage = randomHex(32);
    const max_fee_msat = body.max_fee_sat === undefined ? defaultMaxFeeMsat(amount_msat) : satToMsat(body.max_fee_sat);
    if (body.amp) {
      // AMP: no hash in advance (LND draws the set id); the payment address the hub chooses identifies it until then.
      return answer(
        c,
        await walletActor(c.env, walletId).payLightning({
          idempotency,
          payment_request: "",
          payment_hash: randomHex(32),
          amount_msat,
          amountless: false,
          max_fee_msat,
          memo: body.memo ?? null,
          amp: { destination: body.destination },
        }),
      ) as never;
    }
    return answer(
      c,
      await walletActor(c.env, walletId).payLightning({
        idempotency,
        payment_request: "",
        payment_hash: await sha256HexOfBytes(hexToBytes(preimage)),
        amount_msat,
        amountless: false,
        max_fee_msat,
        memo: body.memo ?? null,
        keysend: { destination: body.destination, preimage },
      }),
    ) as never;
  },
);
