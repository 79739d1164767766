import type { Context, MiddlewareHandler, Next } from "hono";
import { ApiError, type ErrorCode } from "../../src/errors";
import { lnurlError } from "../../src/lnurl";
import { addressKey } from "../../src/rate-limits";
import { limitsOff, type AppEnv, type Env } from "../env";

/**
 * Rate limits at the gateway (issue 12, point 2; docs/decisions/0015-rate-limits.md), on Cloudflare's
 * rate-limiting binding: each rule is a binding (wrangler.toml `[[ratelimits]]`: a limit per 10 or 60 s
 * window and key), counted in the runtime, no actor call. The exact rule, N failed logins in a row
 * locking an account, is the AccountActor's (durable/account/login-lockout.ts). A refusal is 429
 * `rate_limited` with `Retry-After`, in the route family's own error shape.
 */

/** A request refused by a rate limit: 429 `rate_limited`; `rateLimits` adds `Retry-After` to the answer. */
export class RateLimited extends ApiError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super("rate_limited", message);
  }
}

/**
 * Each binding's window (s), as wrangler.toml sets its `simple.period` (scripts/check-config.mjs
 * checks that they agree): the `Retry-After` of its refusals, by when its count has started again.
 */
export const RATE_LIMIT_WINDOW_S = {
  FAILED_LOGINS_PER_IP: 60,
  ACCOUNT_CREATIONS_PER_IP: 60,
  LNURL_CALLBACKS_PER_IP: 60,
  REQUESTS_PER_TOKEN: 10,
  CHAT_MESSAGES_PER_ACCOUNT: 10,
} as const satisfies Record<string, 10 | 60>;
type Rule = keyof typeof RATE_LIMIT_WINDOW_S;

/** Counts one more under `key`; whether that was over the rule's limit. */
async function over(env: Env, rule: Rule, key: string): Promise<boolean> {
  return !(await env[rule].limit({ key })).success;
}

const refusal = (rule: Rule, what: string) => new RateLimited(`${what}: try again in ${RATE_LIMIT_WINDOW_S[rule]} s`, RATE_LIMIT_WINDOW_S[rule]);

/** The client's address as Cloudflare's edge gives it (`CF-Connecting-IP`), as the per-address rules key it. */
const clientAddress = (c: Context) => addressKey(c.req.header("cf-connecting-ip"));

const LNURL_CALLBACK = /^\/lnurlp\/[^/]+\/callback$/;
const CHAT_MESSAGE = /^\/v1\/conversations\/[^/]+\/messages$/;

/**
 * The gateway's rate limits, mounted on every request (workers/app.ts): the first adds `Retry-After`
 * to any answer a `RateLimited` made (wherever it was thrown: here, in `requireAuth`, at login); the
 * second holds the rules keyed by the client's address, by route. The rules keyed by credential and
 * account run once the credential is known (`limitAuthenticated`).
 */
export const rateLimits: MiddlewareHandler<AppEnv>[] = [
  async (c, next) => {
    await next();
    if (c.error instanceof RateLimited) c.res.headers.set("Retry-After", String(c.error.retryAfterS));
  },
  async (c, next) => {
    if (limitsOff(c.env)) return next();
    const { method, path } = c.req;
    if (method === "POST" && path === "/v1/auth/login") return failedLogins(c, next);
    if (method === "POST" && (path === "/v1/accounts" || path === "/lndhub/create")) {
      if (await over(c.env, "ACCOUNT_CREATIONS_PER_IP", clientAddress(c))) throw refusal("ACCOUNT_CREATIONS_PER_IP", "too many accounts created from this address");
    } else if (method === "GET" && LNURL_CALLBACK.test(path) && (await over(c.env, "LNURL_CALLBACKS_PER_IP", clientAddress(c)))) {
      // The LNURL routes answer in the LUDs' shape (decision 0008).
      const limited = refusal("LNURL_CALLBACKS_PER_IP", "too many LNURL-pay callbacks from this address");
      const res = c.json(lnurlError(`rate_limited: ${limited.message}`), 429);
      res.headers.set("Retry-After", String(limited.retryAfterS));
      return res;
    }
    await next();
  },
];

/**
 * Requests per credential (an access token by its `jti`, an API key by its id) and chat messages
 * per account (a message posted to a conversation): called by `requireAuth` once the credential is
 * verified, so a forged one counts against no one. One binding call per request (two for a chat
 * message), no actor call.
 */
export async function limitAuthenticated(c: Context<AppEnv>, credential: string, accountId: string): Promise<void> {
  if (limitsOff(c.env)) return;
  if (await over(c.env, "REQUESTS_PER_TOKEN", credential)) throw refusal("REQUESTS_PER_TOKEN", "too many requests with this credential");
  if (c.req.method === "POST" && CHAT_MESSAGE.test(c.req.path) && (await over(c.env, "CHAT_MESSAGES_PER_ACCOUNT", accountId))) {
    throw refusal("CHAT_MESSAGES_PER_ACCOUNT", "too many chat messages from this account");
  }
}

// ── Failed logins per client address ───────────────────────────────────────

/** Login refusals that are failures (a wrong password or TOTP code; an unknown username answers as a wrong password). */
const FAILED_LOGIN: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["unauthorized", "invalid_totp"]);
/** Addresses this isolate remembers as over the failed-login limit (a few dozen bytes each; the oldest goes first). */
const BLOCKED_MAX = 10_000;
const blockedUntil = new Map<string, number>();

/**
 * Only failures count (a login from an address many users share, behind one NAT, is not one), so the
 * count comes after the password check; the failure that goes over the limit is answered 429, and the
 * address is remembered by this isolate until the window ends: its next logins here are refused
 * before any password check. (Another isolate learns it at the next failure from the address.)
 */
async function failedLogins(c: Context<AppEnv>, next: Next): Promise<void> {
  const address = clientAddress(c);
  const until = blockedUntil.get(address) ?? 0;
  const now = Date.now();
  if (until > now) {
    const s = Math.ceil((until - now) / 1000);
    throw new RateLimited(`too many failed logins from this address: try again in ${s} s`, s);
  }
  await next();
  if (!(c.error instanceof ApiError && FAILED_LOGIN.has(c.error.code))) return;
  if (!(await over(c.env, "FAILED_LOGINS_PER_IP", address))) return;
  blockedUntil.delete(address);
  if (blockedUntil.size >= BLOCKED_MAX) blockedUntil.delete(blockedUntil.keys().next().value!);
  blockedUntil.set(address, Date.now() + RATE_LIMIT_WINDOW_S.FAILED_LOGINS_PER_IP * 1000);
  throw refusal("FAILED_LOGINS_PER_IP", "too many failed logins from this address");
}
