import { decodeInvoice, InvalidInvoiceError, type DecodedInvoice } from "../../src/bolt11";
import { ApiError } from "../../src/errors";
import { isPaymentAmount, MSAT_PER_SAT, satToMsat } from "../../src/money";
import { defaultMaxFeeMsat, INVOICE_EXPIRY } from "../../src/payment-rules";
import * as s from "../../src/schemas";
import { lndClient } from "../../durable/lnd";
import { LndError } from "../../src/lightning";
import { lightningNode, walletActor, type Env } from "../env";
import { answer } from "../errors";
import { authedRoute, errors, idempotencyTag, jsonBody, jsonResponse, newRouter, requiredIdempotencyKey } from "../openapi";

export const lightning = newRouter();

function decodeOrRefuse(payment_request: string): DecodedInvoice {
  try {
    return decodeInvoice(payment_request);
  } catch (error) {
    if (error instanceof InvalidInvoiceError) throw new ApiError("invalid_payment_request", error.message);
    throw error;
  }
}

/** An invoice the hub can pay: right network, not expired, a definite amount within bounds. */
function payable(env: Env, payment_request: string, amount_sat: number | undefined) {
  const invoice = decodeOrRefuse(payment_request);
  if (invoice.network !== (env.BITCOIN_NETWORK || "bitcoin")) {
    throw new ApiError("invalid_payment_request", `invoice is for ${invoice.network}, the hub runs on ${env.BITCOIN_NETWORK || "bitcoin"}`);
  }
  if (Date.parse(invoice.expires_at) <= Date.now()) throw new ApiError("invoice_expired", "this invoice has expired");
  if (invoice.amount_msat !== null && amount_sat !== undefined && satToMsat(amount_sat) !== invoice.amount_msat) {
    throw new ApiError("invalid_request", "amount_sat must be omitted or equal the invoice's amount");
  }
  const amount_msat = invoice.amount_msat ?? (amount_sat === undefined ? null : satToMsat(amount_sat));
  if (amount_msat === null) throw new ApiError("invalid_request", "this invoice has no amount: give amount_sat");
  if (!isPaymentAmount(amount_msat)) throw new ApiError("invalid_request", "amount out of range");
  return { invoice, amount_msat };
}

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/invoices",
    summary: "Create a Lightning invoice (a hold invoice: credited before it is settled)",
    scope: "receive",
    request: jsonBody(s.CreateInvoiceBody),
    responses: { 201: jsonResponse(s.Invoice, "created"), ...errors },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const result = await walletActor(c.env, c.get("principal").walletId).createInvoice({
      amount_msat: body.amount_sat === undefined ? null : satToMsat(body.amount_sat),
      memo: body.memo ?? null,
      expiry_s: body.expiry_s ?? INVOICE_EXPIRY.default_s,
    });
    return answer(c, result) as never;
  },
);

lightning.openapi(
  authedRoute({
    method: "get",
    path: "/v1/invoices/{payment_hash}",
    summary: "One of the caller's invoices",
    scope: "read",
    request: { params: s.PaymentHashParam },
    responses: { 200: jsonResponse(s.Invoice, "the invoice"), ...errors },
  }),
  async (c) => answer(c, await walletActor(c.env, c.get("principal").walletId).getInvoice(c.req.valid("param").payment_hash)) as never,
);

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/lightning/decode",
    summary: "Decode and verify a BOLT 11 invoice",
    scope: "read",
    request: jsonBody(s.DecodeBody),
    responses: { 200: jsonResponse(s.DecodedInvoice, "decoded"), ...errors },
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

lightning.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/lightning/estimate",
    summary: "Estimate the routing fee of paying an invoice (zero for hub invoices)",
    scope: "read",
    request: jsonBody(s.EstimateBody),
    responses: { 200: jsonResponse(s.FeeEstimate, "estimate"), ...errors },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { invoice, amount_msat } = payable(c.env, body.payment_request, body.amount_sat);
    if (await lightningNode(c.env).isHubInvoice(invoice.payment_hash)) return c.json({ fee_msat: 0, internal: true, max_fee_msat: 0 }, 200);
    let estimate;
    try {
      estimate = await lndClient(c.env).estimateRouteFee({ dest: invoice.payee, amt_sat: Math.ceil(amount_msat / MSAT_PER_SAT) });
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
    method: "post",
    path: "/v1/payments/lightning",
    summary: "Pay a BOLT 11 invoice (hub invoices are paid internally, with no fee)",
    scope: "send",
    request: { headers: requiredIdempotencyKey, ...jsonBody(s.LightningPayBody) },
    responses: { 200: jsonResponse(s.LightningPayment, "succeeded, failed, or pending (followed up by the hub)"), ...errors },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { invoice, amount_msat } = payable(c.env, body.payment_request, body.amount_sat);
    const result = await walletActor(c.env, c.get("principal").walletId).payLightning({
      idempotency: await idempotencyTag(c, "POST /v1/payments/lightning", body),
      payment_request: body.payment_request,
      payment_hash: invoice.payment_hash,
      amount_msat,
      amountless: invoice.amount_msat === null,
      max_fee_msat: body.max_fee_sat === undefined ? defaultMaxFeeMsat(amount_msat) : satToMsat(body.max_fee_sat),
      memo: invoice.description,
    });
    return answer(c, result) as never;
  },
);
