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
/** Only where the route itself asks the Lightning node (`errorResponses(503)`): not in `errors`, which some routes spread whole. */
const lightningErrors = { ...errors, 503: error("the Lightning node could not be reached (lightning_unavailable)") } as const;

/**
 * The error responses a route documents, from the table above: `...errorResponses(400, 401, 403)`.
 * Name the ones the route can answer: 401 and 403 for a credential and its scope (`authedRoute`),
 * 400 for what is validated, 413 with a body, 409 with an Idempotency-Key, then the route's own.
 */
export const errorResponses = <S extends keyof typeof lightningErrors>(...statuses: S[]) =>
  Object.fromEntries(statuses.map((status) => [status, lightningErrors[status]])) as Pick<typeof lightningErrors, S>;

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
  .max(255)
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

// ── The document (`GET /openapi.json`) ─────────────────────────────────────

/** `GET /health`: documented here with the document itself; answered by the app (workers/app.ts). */
export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  summary: "Liveness: the hub answers",
  responses: {
    200: jsonResponse(
      z.object({ ok: z.literal(true), service: z.literal("flash-hub"), environment: z.string().max(32).optional() }).openapi("Health"),
      "up",
    ),
  },
});

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  summary: "This document (OpenAPI 3.1): every route, generated from the schemas that validate requests",
  responses: { 200: jsonResponse(z.record(z.string().max(64), z.unknown()).openapi({ description: "an OpenAPI 3.1 document" }), "the document") },
});

type Operation = {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  requestBody?: { content?: Record<string, unknown> };
  responses: Record<string, unknown>;
};
type Document = { paths: Record<string, Record<string, Operation>>; servers?: { url: string; description?: string }[] } & Record<string, unknown>;

/** The error shape of a route family: the contract's, LndHub's (decision 0009), the LUDs' (decision 0008). */
const familyError = (path: string): string =>
  path.startsWith("/lndhub/") ? "LndhubError" : path.startsWith("/.well-known/lnurlp/") || path.startsWith("/lnurlp/") ? "LnurlError" : "Error";

/**
 * Public routes the gateway's rate limits (workers/middleware/rate-limits.ts) count by client address;
 * every bearer-authenticated route is counted per credential besides.
 */
const ADDRESS_RATE_LIMITED = new Set(["post /v1/auth/login", "post /v1/accounts", "post /lndhub/create", "get /lnurlp/{username}/callback"]);

/** Why each generic status can be answered, as the middleware in front of every route answers it. */
const GENERIC_STATUS = {
  400: "invalid request: a parameter or body that fails its schema, JSON that is malformed, nested too deep or not well-formed text",
  401: "missing, invalid, expired or revoked credential",
  403: "the credential lacks the route's scope, or is an API key where a login session is needed",
  413: "body over 64 KiB",
  415: "the body is not application/json",
  429: "rate limited (rate_limited): retry after Retry-After seconds",
} as const;

/**
 * The statuses the gateway's middleware can answer for an operation, whatever its handler does:
 * the body limit (413) and the well-formed-JSON check (400) before anything for a request that may
 * carry a body; the route's validators (400, and 415 for a JSON body of another type); the bearer
 * check (401, 403) and its per-credential rate limit (429); the per-address rate limits (429).
 * (405 with `Allow` answers a method a path does not serve: it belongs to no operation.)
 */
export function genericStatuses(method: string, path: string, op: Operation): (keyof typeof GENERIC_STATUS)[] {
  const statuses = new Set<keyof typeof GENERIC_STATUS>();
  const mayCarryBody = method !== "get" && method !== "head";
  if (mayCarryBody || op.parameters?.length || op.requestBody) statuses.add(400);
  if (mayCarryBody) statuses.add(413);
  // LndHub reads its bodies itself (JSON or a form; decision 0009): no 415 there.
  if (op.requestBody?.content?.["application/json"] && !path.startsWith("/lndhub/")) statuses.add(415);
  const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
  if (schemes.length) statuses.add(401);
  if (schemes.includes("Bearer")) statuses.add(403).add(429);
  if (ADDRESS_RATE_LIMITED.has(`${method} ${path}`)) statuses.add(429);
  return [...statuses];
}

const RETRY_AFTER = { "Retry-After": { description: "seconds until the limit's window has started again", schema: { type: "integer", minimum: 1, maximum: 3600 } } };

/**
 * Completes what the routes declared: `security: []` on public routes (so no reader takes them for
 * secured by a global default), the generic statuses each operation can answer in its family's error
 * shape (a route's own description of a status is kept), and `Retry-After` on every 429.
 */
export function completeDocument<D extends Document>(doc: D): D {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      op.security ??= [];
      const schema = { $ref: `#/components/schemas/${familyError(path)}` };
      for (const status of genericStatuses(method, path, op)) {
        op.responses[status] ??= { description: GENERIC_STATUS[status], content: { "application/json": { schema } } };
      }
      const limited = op.responses[429] as { headers?: Record<string, unknown> } | undefined;
      if (limited) limited.headers = { ...RETRY_AFTER, ...limited.headers };
      op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return doc;
}

const documents = new WeakMap<object, Document>();

/**
 * Serves the document at `GET /openapi.json`, built once per app: the routes' declarations
 * completed (`completeDocument`), with the security schemes, and the origin it was fetched from as
 * its server (so a client generated from any deployment's document calls that deployment).
 */
export function serveOpenApiDocument(app: ReturnType<typeof newRouter>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "a JWT access token, or an API key (fhk_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminBearer", {
    type: "http",
    scheme: "bearer",
    description: "the operator's ADMIN_API_KEY (the /v1/admin/ routes only)",
  });
  app.openapi(documentRoute, (c) => {
    let doc = documents.get(app);
    if (!doc) {
      doc = completeDocument(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "Flash Hub API",
            version: "1.0.0",
            description:
              "Custodial Lightning wallet and payment hub. Amounts are integers: requests take *_sat, responses carry *_msat. " +
              "A method a path does not serve is answered 405 method_not_allowed with `Allow`. Money-moving POSTs take an `Idempotency-Key`.",
          },
        }) as unknown as Document,
      );
      documents.set(app, doc);
    }
    return c.json({ ...doc, servers: [{ url: new URL(c.req.url).origin, description: "this hub" }] }, 200);
  });
}
