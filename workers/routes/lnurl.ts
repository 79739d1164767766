import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../../src/errors";
import { CallbackQuery, LnurlError, lnurlError, LnurlPayBody, LnurlVerification, PaymentHashPath, PayRequest, PayRequestInvoice } from "../../src/lnurl";
import * as s from "../../src/schemas";
import { isDevelopment, type AppEnv } from "../env";
import { answer } from "../errors";
import { authedRoute, errorResponses, errors, idempotencyTag, jsonBody, jsonResponse, newRouter, requiredIdempotencyKey } from "../openapi";
import { hubPayee, issueInvoice, payLnurl, payRequestOf, verification, verifyUrl } from "../services/lnurl";
import { requireTotpForSend } from "../services/totp";
import { satToMsat } from "../../src/money";

/**
 * Lightning Address and LNURL-pay (decision 0008). The public routes speak the LUDs' language:
 * no credential, errors as `{status: "ERROR", reason}` with a 4xx status, any origin may read them.
 * Paying an address or LNURL is an ordinary authenticated payment route.
 */

/** The public LNURL routes: their validation failures and errors answer in the LUDs' shape. */
export const lnurlPublic = new OpenAPIHono<AppEnv>({
  defaultHook: (result, c) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    return c.json(lnurlError(`${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message ?? "invalid request"}`), 400);
  },
});

lnurlPublic.onError((err, c) => {
  if (err instanceof ApiError && err.status < 500) return c.json(lnurlError(err.message), err.status as ContentfulStatusCode);
  if (err instanceof HTTPException && err.status < 500) return c.json(lnurlError(err.message || "bad request"), err.status);
  if (err instanceof ApiError) return c.json(lnurlError(err.message), err.status as ContentfulStatusCode);
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err.stack ?? err.message);
  return c.json(lnurlError("internal error"), 500);
});

// Wallets in browsers read these from other origins (LUD-01 services are public).
lnurlPublic.use("/.well-known/lnurlp/*", async (c, next) => {
  await next();
  c.header("access-control-allow-origin", "*");
});
lnurlPublic.use("/lnurlp/*", async (c, next) => {
  await next();
  c.header("access-control-allow-origin", "*");
});

const origin = (c: Context) => new URL(c.req.url).origin;
const host = (c: Context) => new URL(c.req.url).host;
const ludError = (description: string) => jsonResponse(LnurlError, description);

lnurlPublic.openapi(
  createRoute({
    method: "get",
    path: "/.well-known/lnurlp/{username}",
    operationId: "lnurlPayRequest",
    summary: "A user's Lightning Address: the LNURL-pay request (LUD-06, LUD-16)",
    request: { params: s.UsernameParam },
    responses: { 200: jsonResponse(PayRequest, "the payRequest"), 404: ludError("no such user") },
  }),
  async (c) => {
    const payee = await hubPayee(c.env, c.req.valid("param").username, host(c));
    return c.json(payRequestOf(payee, origin(c)), 200);
  },
);

lnurlPublic.openapi(
  createRoute({
    method: "get",
    path: "/lnurlp/{username}/callback",
    operationId: "lnurlPayCallback",
    summary: "LNURL-pay callback: an invoice of exactly `amount` msat, committed to the payRequest's metadata (LUD-06, LUD-12, LUD-21)",
    request: { params: s.UsernameParam, query: CallbackQuery },
    responses: {
      200: jsonResponse(PayRequestInvoice, "the invoice"),
      400: ludError("amount out of range, comment too long"),
      404: ludError("no such user"),
      503: ludError("the Lightning node could not be reached"),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const payee = await hubPayee(c.env, c.req.valid("param").username, host(c));
    const invoice = await issueInvoice(c.env, payee, Number(query.amount), query.comment);
    return c.json({ pr: invoice.payment_request, routes: [], verify: verifyUrl(payee, origin(c), invoice.payment_hash) }, 200);
  },
);

lnurlPublic.openapi(
  createRoute({
    method: "get",
    path: "/lnurlp/{username}/verify/{payment_hash}",
    operationId: "lnurlVerify",
    summary: "LUD-21: whether an LNURL-pay invoice was paid, with its preimage once it was",
    request: { params: PaymentHashPath },
    responses: { 200: jsonResponse(LnurlVerification, "the invoice's state"), 400: ludError("not a payment hash"), 404: ludError("no such user or invoice") },
  }),
  async (c) => {
    const { username, payment_hash } = c.req.valid("param");
    const payee = await hubPayee(c.env, username, host(c));
    const found = await verification(c.env, payee, payment_hash);
    if (!found) return c.json(lnurlError("no such invoice"), 404);
    return c.json({ status: "OK" as const, settled: found.settled, preimage: found.preimage, pr: found.pr }, 200);
  },
);

/** Paying a Lightning Address or LNURL: errors in the hub's own shape, like every /v1 route. */
export const lnurlPayments = newRouter();

lnurlPayments.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/lnurl",
    operationId: "payLnurl",
    summary: "Pay a Lightning Address or LNURL-pay (an address of this hub is paid inside the hub, with no fee)",
    scope: "send",
    request: { headers: requiredIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(LnurlPayBody) },
    responses: { 200: jsonResponse(s.LightningPayment, "as POST /v1/payments/lightning: succeeded, failed, or pending"), ...errors, ...errorResponses(503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const idempotency = await idempotencyTag(c, "POST /v1/payments/lnurl", body);
    // Before the destination is asked for an invoice: nothing leaves the hub without the code.
    await requireTotpForSend(c, satToMsat(body.amount_sat), idempotency);
    const result = await payLnurl(
      c.env,
      { host: host(c), development: isDevelopment(c.env) },
      c.get("principal").walletId,
      body,
      idempotency,
    );
    return answer(c, result) as never;
  },
);
