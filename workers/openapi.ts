import { createRoute, OpenAPIHono, z, type RouteConfig } from "@hono/zod-openapi";
import type { Context, Input, MiddlewareHandler } from "hono";
import type { IdempotencyTag } from "../durable/ports";
import type { Scope } from "../src/auth/tokens";
import { requestFingerprint } from "../src/idempotency";
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from "../src/identifiers";
import { ErrorBody } from "../src/schemas";
import type { AppEnv } from "./env";
import { errorJson } from "./errors";
import { describeIssue } from "./validation-messages";
import { requireAuth, type AuthOptions } from "./middleware/auth";

/** Our Hono: schema failures answer 400 `invalid_request` naming the first offending field, in plain words. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      return errorJson(c, 400, "invalid_request", describeIssue(result.error.issues[0], result.target));
    },
  });
}

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const error = (description: string) => jsonResponse(ErrorBody, description);
export const errors = {
  400: error("invalid request"),
  401: error("missing or invalid credential"),
  403: error("credential lacks the scope"),
  404: error("not found"),
  409: error("conflict"),
  413: error("body over 64 KiB"),
  422: error("refused by the ledger"),
} as const;

/**
 * The error responses a route documents, from the table above: `...errorResponses(400, 401, 403)`.
 * Name the ones the route can answer: 401 and 403 for a credential and its scope (`authedRoute`),
 * 400 for what is validated, 413 with a body, 409 with an Idempotency-Key, then the route's own.
 */
export const errorResponses = <S extends keyof typeof errors>(...statuses: S[]) =>
  Object.fromEntries(statuses.map((status) => [status, errors[status]])) as Pick<typeof errors, S>;

const bearer = [{ Bearer: [] }];

type AuthedRouteConfig = Omit<RouteConfig, "security" | "middleware"> & {
  scope: Scope;
  auth?: AuthOptions;
  before?: readonly MiddlewareHandler<AppEnv>[];
};

/**
 * A route that needs a credential carrying `scope`: documented as bearer-secured, and
 * `requireAuth` runs before the handler (after the `before` middleware, e.g. `developmentOnly`).
 */
export function authedRoute<P extends string, R extends AuthedRouteConfig & { path: P }>({ scope, auth, before = [], ...route }: R) {
  return createRoute({ ...route, security: bearer, middleware: [...before, requireAuth(scope, auth)] });
}

const IdempotencyKey = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE)
  .openapi({ description: "same key and body replays the stored response; same key, other body is 409" });

/** The `Idempotency-Key` header: required on payments, optional where a repeat is harmless. */
export const requiredIdempotencyKey = z.object({ "idempotency-key": IdempotencyKey });
export const optionalIdempotencyKey = z.object({ "idempotency-key": IdempotencyKey.optional() });

type WithKey = { out: { header: { "idempotency-key": string } } };
type WithOptionalKey = { out: { header: { "idempotency-key"?: string } } };
/** A route that declares no `Idempotency-Key` header cannot ask for a tag: a type error, not a crash. */
type Keyed<I> = I extends WithOptionalKey ? unknown : "this route declares no Idempotency-Key header";

/**
 * The idempotency tag of a request: its key and the fingerprint of `operation` (e.g.
 * `"POST /v1/payments/intraledger"`; stored records name it, so it never changes) with the body.
 * Null only where the route's key is optional and absent.
 */
export async function idempotencyTag<I extends Input>(
  c: Context<AppEnv, string, I> & Keyed<I>,
  operation: string,
  body: unknown,
): Promise<I extends WithKey ? IdempotencyTag : IdempotencyTag | null> {
  const key = (c as unknown as Context<AppEnv, string, WithOptionalKey>).req.valid("header")["idempotency-key"];
  return (key ? { key, fingerprint: await requestFingerprint(operation, body) } : null) as IdempotencyTag;
}
