import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../../src/errors";
import { satToMsat } from "../../src/money";
import * as s from "../../src/schemas";
import { SimMineBody, SimOnchainSendBody } from "../../src/onchain-schemas";
import { isDevelopment, lightningNode, walletActor, type AppEnv } from "../env";
import { answer } from "../errors";
import { authedRoute, errorResponses, idempotencyTag, jsonBody, jsonResponse, newRouter, optionalIdempotencyKey } from "../openapi";

export const dev = newRouter();

/** /dev/* exists only in development: in production it is indistinguishable from any unknown path. */
const developmentOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!isDevelopment(c.env)) throw new ApiError("not_found", "no such route");
  await next();
});

dev.openapi(
  authedRoute({
    method: "post",
    path: "/dev/faucet",
    operationId: "devFaucet",
    summary: "Development only: credit the caller from the faucet's ledger account",
    scope: "receive",
    before: [developmentOnly],
    request: { headers: optionalIdempotencyKey, ...jsonBody(s.FaucetBody) },
    responses: { 200: jsonResponse(s.FaucetResult, "credited"), ...errorResponses(400, 401, 403, 404, 409, 413) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const tag = await idempotencyTag(c, "POST /dev/faucet", body);
    return answer(c, await walletActor(c.env, c.get("principal").walletId).creditFromFaucet(satToMsat(body.amount_sat), tag)) as never;
  },
);

/** The simulated outside world (sim/), reached through the LND_SIM service binding. */
async function simulator(env: AppEnv["Bindings"], path: string, body: unknown): Promise<Response> {
  if (!env.LND_SIM) throw new ApiError("not_found", "no LND simulator is bound");
  const res = await env.LND_SIM.fetch(`http://lnd-sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
}

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/sim/pay",
    operationId: "devSimPay",
    summary: "Development only: an outside node pays a hub invoice",
    middleware: [developmentOnly] as const,
    request: jsonBody(s.SimPayBody),
    responses: { 200: { description: "`{status, preimage?}` as the outside payer saw it" }, ...errorResponses(400, 404, 413) },
  }),
  async (c) => simulator(c.env, "/sim/pay", c.req.valid("json")) as never,
);

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/sim/invoices",
    operationId: "devSimInvoice",
    summary: "Development only: an invoice of an outside node that the hub can pay",
    middleware: [developmentOnly] as const,
    request: jsonBody(s.SimInvoiceBody),
    responses: { 200: { description: "`{payment_request, payment_hash}`" }, ...errorResponses(400, 404, 413) },
  }),
  async (c) => simulator(c.env, "/sim/invoices", c.req.valid("json")) as never,
);

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/sim/onchain/send",
    operationId: "devSimOnchainSend",
    summary: "Development only: the outside world pays a Bitcoin address (a transaction in the simulator's mempool)",
    middleware: [developmentOnly] as const,
    request: jsonBody(SimOnchainSendBody),
    responses: { 200: { description: "`{txid, outputs: [{vout, address, amount_sat}]}`" }, ...errorResponses(400, 404, 413) },
  }),
  async (c) => {
    const res = await simulator(c.env, "/sim/onchain/send", c.req.valid("json"));
    // The hub's node learns of it at once (as LND's transaction stream would tell it).
    if (res.ok) await lightningNode(c.env).syncChain().catch(() => undefined);
    return res as never;
  },
);

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/sim/onchain/address",
    operationId: "devSimOnchainAddress",
    summary: "Development only: an address of the outside world to withdraw to",
    middleware: [developmentOnly] as const,
    responses: { 200: { description: "`{address}`" }, ...errorResponses(404) },
  }),
  async (c) => simulator(c.env, "/sim/onchain/address", {}) as never,
);

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/sim/mine",
    operationId: "devSimMine",
    summary: "Development only: mine blocks on the simulator's chain (the first takes the mempool); the hub's node looks at its wallet right after",
    middleware: [developmentOnly] as const,
    request: jsonBody(SimMineBody),
    responses: { 200: { description: "`{mined, height, txids}`" }, ...errorResponses(400, 404, 413) },
  }),
  async (c) => {
    const res = await simulator(c.env, "/sim/mine", c.req.valid("json"));
    if (res.ok) await lightningNode(c.env).syncChain().catch(() => undefined);
    return res as never;
  },
);
