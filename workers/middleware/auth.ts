import { createMiddleware } from "hono/factory";
import { decodeJwt } from "jose";
import { ApiError } from "../../src/errors";
import { accountOfSecret, verifyAccessToken, type Principal, type Scope } from "../../src/auth/tokens";
import { accessTokenCredential, apiKeyCredential } from "../../durable/account/sessions";
import type { SocketCredential } from "../../durable/kit/sockets";
import { accountActor, type AppEnv, type Env } from "../env";
import { signingKeys, verifiedTokens } from "../keys";
import { AccountCache } from "../account-cache";
import { limitAuthenticated } from "./rate-limits";

/**
 * The credential behind each principal: its name, when it was issued and when it expires (what an
 * event socket is bound to, and what the session epoch is compared with). Kept with the principal
 * object, so a token the isolate remembers as verified is decoded once.
 */
const credentials = new WeakMap<Principal, SocketCredential>();

/** The credential behind a principal that `requireAuth` resolved. */
export function credentialOf(principal: Principal): SocketCredential {
  const credential = credentials.get(principal);
  if (!credential) throw new Error("this principal was not resolved by requireAuth");
  return credential;
}

/** Resolves a bearer credential: a JWT access token or an API key (`fhk_…`). */
async function principalOf(env: Env, credential: string): Promise<Principal | null> {
  if (credential.startsWith("fhk_")) {
    const accountId = accountOfSecret("fhk", credential);
    if (!accountId) return null;
    const found = await accountActor(env, accountId).verifyApiKey(credential);
    if (!found) return null;
    const { identity, scopes } = found;
    const principal: Principal = { accountId: identity.account_id, walletId: identity.wallet_id, username: identity.username, scopes, via: "api_key" };
    credentials.set(principal, { credential: apiKeyCredential(found.id), issued_at_ms: null, expires_at_ms: null });
    return principal;
  }
  if (credential.length > 4096) return null;
  const verified = verifiedTokens(env);
  const known = verified.get(credential, Date.now());
  const principal = known ?? (await verifyAccessToken(await signingKeys(env), credential));
  if (!principal) return null;
  if (!known) verified.set(credential, principal);
  if (!credentials.has(principal)) {
    // Verified above: only its claims are read here.
    const { iat, jti } = decodeJwt(credential);
    credentials.set(principal, {
      credential: accessTokenCredential(typeof jti === "string" ? jti : "-"),
      issued_at_ms: typeof iat === "number" ? iat * 1000 : 0,
      expires_at_ms: principal.expiresAtMs ?? null,
    });
  }
  return principal;
}

// ── Session epochs (docs/decisions/0014) ──────────────────────────────────

/** Accounts whose epoch each isolate remembers (a few dozen bytes each). */
const SESSION_EPOCHS_MAX = 10_000;
const DEFAULT_SESSION_EPOCH_TTL_MS = 5_000;

/**
 * Each account's session epoch as this isolate last learnt it (access tokens issued before it are
 * refused): a logout-all reaches every isolate within the TTL, and costs one AccountActor call per
 * account per TTL per isolate. Epochs only grow: the larger one learnt wins.
 */
export class SessionEpochs extends AccountCache<number> {
  constructor(capacity: number) {
    super(capacity, (known, learnt) => Math.max(known.value, learnt.value));
  }
}

const sessionEpochs = new SessionEpochs(SESSION_EPOCHS_MAX);

/** How long an isolate trusts what it learnt of an account: its session epoch, and its TOTP settings (decisions 0014, 0011). */
export function sessionEpochTtlMs(env: Pick<Env, "SESSION_EPOCH_TTL_MS">): number {
  const ttl = env.SESSION_EPOCH_TTL_MS?.trim() ? Number(env.SESSION_EPOCH_TTL_MS) : NaN;
  return Number.isFinite(ttl) && ttl >= 0 ? ttl : DEFAULT_SESSION_EPOCH_TTL_MS;
}

/** The account's session epoch: remembered for SESSION_EPOCH_TTL_MS (no await then), else asked of its AccountActor. */
function sessionsEpoch(env: Env, accountId: string): number | Promise<number> {
  const now = Date.now();
  return sessionEpochs.fresh(accountId, now, sessionEpochTtlMs(env)) ?? askSessionsEpoch(env, accountId, now);
}

async function askSessionsEpoch(env: Env, accountId: string, now: number): Promise<number> {
  const { revoked_before_ms } = await accountActor(env, accountId).sessionsState();
  sessionEpochs.learn(accountId, revoked_before_ms, now);
  return revoked_before_ms;
}

/** Tells this isolate an account's epoch at once (the logout-all it served, a login's check). */
export function learnSessionsEpoch(accountId: string, epochMs: number): void {
  sessionEpochs.learn(accountId, epochMs, Date.now());
}

export interface AuthOptions {
  /** Lets browsers, which cannot set headers on a WebSocket, pass the token as `?access_token=`. */
  allowQueryToken?: boolean;
  /** Refuses API keys: the route needs a login session. */
  jwtOnly?: boolean;
}

/** Requires a credential carrying `scope` (routes get it through `authedRoute`, workers/openapi.ts). */
export const requireAuth = (scope: Scope, options: AuthOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("Authorization");
    const credential = header?.startsWith("Bearer ") ? header.slice(7).trim() : options.allowQueryToken ? c.req.query("access_token") : undefined;
    if (!credential) throw new ApiError("unauthorized", "missing bearer token");
    const principal = await principalOf(c.env, credential);
    if (!principal) throw new ApiError("unauthorized", "invalid or expired credential");
    if (principal.via === "jwt") {
      const known = sessionsEpoch(c.env, principal.accountId);
      const epoch = typeof known === "number" ? known : await known;
      if (credentialOf(principal).issued_at_ms! < epoch) throw new ApiError("unauthorized", "this session has ended (logged out everywhere): log in again");
    }
    if (options.jwtOnly && principal.via !== "jwt") throw new ApiError("forbidden", "this needs a login session, not an API key");
    if (!principal.scopes.includes(scope)) throw new ApiError("forbidden", `this credential lacks the "${scope}" scope`);
    await limitAuthenticated(c, credentialOf(principal).credential, principal.accountId);
    c.set("principal", principal);
    await next();
  });
