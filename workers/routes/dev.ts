import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../../src/errors";
import { requestFingerprint } from "../../src/idempotency";
import { satToMsat } from "../../src/money";
import * as s from "../../src/schemas";
import { requireAuth } from "../middleware/auth";
import { isDevelopment, walletActor, type AppEnv } from "../env";
import { answer } from "../errors";
import { bearer, errors, optionalIdempotencyKey, jsonBody, jsonResponse, newRouter } from "../openapi";

export const dev = newRouter();

/** /dev/* exists only in development: in production it is indistinguishable from any unknown path. */
const developmentOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!isDevelopment(c.env)) throw new ApiError("not_found", "no such route");
  await next();
});

dev.openapi(
  createRoute({
    method: "post",
    path: "/dev/faucet",
    summary: "Development only: credit the caller from the faucet's ledger account",
    security: bearer,
    middleware: [developmentOnly, requireAuth("receive")] as const,
    request: { headers: optionalIdempotencyKey, ...jsonBody(s.FaucetBody) },
    responses: { 200: jsonResponse(s.FaucetResult, "credited"), ...errors },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const tag = key ? { key, fingerprint: await requestFingerprint("POST /dev/faucet", body) } : null;
    return answer(c, await walletActor(c.env, c.get("principal").walletId).creditFromFaucet(satToMsat(body.amount_sat), tag)) as never;
  },
);
