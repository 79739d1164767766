import type { Hono, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env";
import { errorJson } from "../errors";

/**
 * What every answer carries (issue 12, point 6): browsers may call the API from any origin (it is
 * authenticated by bearer tokens, never cookies, so there is nothing for another site to ride on);
 * nothing is sniffed, framed or cached when it belongs to someone; a wrong method is 405 with `Allow`.
 */
export function hardening(app: Hono<AppEnv>): MiddlewareHandler<AppEnv>[] {
  return [
    cors({
      origin: "*",
      allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-TOTP-Code"],
      exposeHeaders: ["Retry-After"],
      maxAge: 600,
    }),
    secureHeaders({
      // The API answers JSON; any HTML it ever serves gets no scripts, frames or plugins from anywhere.
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      crossOriginResourcePolicy: "cross-origin",
      crossOriginOpenerPolicy: "same-origin",
      crossOriginEmbedderPolicy: false,
      referrerPolicy: "no-referrer",
      strictTransportSecurity: "max-age=31536000; includeSubDomains",
      xFrameOptions: "DENY",
    }),
    noStoreWhenAuthenticated,
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const res = errorJson(c, 405, "method_not_allowed", `${c.req.method} is not allowed here; use ${methods.join(", ")}`);
        res.headers.set("Allow", methods.join(", "));
        return res;
      },
    }),
  ];
}

/** An answer to a request that carried a credential is someone's: no cache keeps it. */
const noStoreWhenAuthenticated: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.req.header("authorization") || new URL(c.req.url).searchParams.has("access_token")) {
    try {
      c.res.headers.set("Cache-Control", "no-store");
    } catch {
      // An upgraded socket's answer (101) has immutable headers and nothing to cache.
    }
  }
};
