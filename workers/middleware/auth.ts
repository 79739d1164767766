import { createMiddleware } from "hono/factory";
import { ApiError } from "../../src/errors";
import { accountOfSecret, verifyAccessToken, type Principal, type Scope } from "../../src/auth/tokens";
import { accountActor, type AppEnv, type Env } from "../env";
import { signingKeys, verifiedTokens } from "../keys";

/** Resolves a bearer credential: a JWT access token or an API key (`fhk_…`). */
async function principalOf(env: Env, credential: string): Promise<Principal | null> {
  if (credential.startsWith("fhk_")) {
    const accountId = accountOfSecret("fhk", credential);
    if (!accountId) return null;
    const found = await accountActor(env, accountId).verifyApiKey(credential);
    if (!found) return null;
    const { identity, scopes } = found;
    return { accountId: identity.account_id, walletId: identity.wallet_id, username: identity.username, scopes, via: "api_key" };
  }
  if (credential.length > 4096) return null;
  const verified = verifiedTokens(env);
  const known = verified.get(credential, Date.now());
  if (known) return known;
  const principal = await verifyAccessToken(await signingKeys(env), credential);
  if (principal) verified.set(credential, principal);
  return principal;
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
    if (options.jwtOnly && principal.via !== "jwt") throw new ApiError("forbidden", "this needs a login session, not an API key");
    if (!principal.scopes.includes(scope)) throw new ApiError("forbidden", `this credential lacks the "${scope}" scope`);
    c.set("principal", principal);
    await next();
  });
