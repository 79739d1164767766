import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ErrorBody } from "../src/schemas";
import type { AppEnv } from "./env";
import { errorJson } from "./errors";

/** Our Hono: schema failures answer 400 `invalid_request` naming the first offending field. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      return errorJson(c, 400, "invalid_request", `${where}${issue?.message ?? "invalid request"}`);
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

export const bearer = [{ Bearer: [] }];

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "1 to 255 printable ASCII characters")
  .openapi({ description: "same key and body replays the stored response; same key, other body is 409" });

/** The `Idempotency-Key` header: required on payments, optional where a repeat is harmless. */
export const requiredIdempotencyKey = z.object({ "idempotency-key": IdempotencyKey });
export const optionalIdempotencyKey = z.object({ "idempotency-key": IdempotencyKey.optional() });
