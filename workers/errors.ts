import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, boundedMessage, errorStatus, isRefusal, type Refusal } from "../src/errors";
import { lndhubFailureOf } from "../src/lndhub";
import type { ApiAnswer } from "../src/wallet-types";

export const errorJson = (c: Context, status: number, code: string, message: string) =>
  c.json({ error: { code, message: boundedMessage(message) } }, status as ContentfulStatusCode);

/** Turns an actor's answer (or refusal) into the HTTP response the contract promises. */
export function answer(c: Context, result: ApiAnswer | Refusal) {
  if (isRefusal(result)) return errorJson(c, errorStatus[result.code], result.code, result.message);
  return c.json(result.body as object, result.status as ContentfulStatusCode);
}

export function throwRefusal(result: Refusal): never {
  throw new ApiError(result.code, result.message);
}

const codeForStatus: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** Every failure leaves in the contract's shape; only our own faults are 5xx, and say nothing inside. */
export function onError(err: Error, c: Context) {
  // Refusals made before the LNDHub router (body limit, malformed text) speak LndHub's language there.
  if (err instanceof ApiError && new URL(c.req.url).pathname.startsWith("/lndhub/")) {
    const failure = lndhubFailureOf(err.code, err.message);
    return c.json(failure.body, failure.status as ContentfulStatusCode);
  }
  if (err instanceof ApiError) return errorJson(c, err.status, err.code, err.message);
  if (err instanceof HTTPException && err.status < 500) {
    return errorJson(c, err.status, codeForStatus[err.status] ?? "invalid_request", err.message || "bad request");
  }
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err instanceof Error ? err.stack ?? err.message : err);
  return errorJson(c, 500, "internal", "internal error");
}
