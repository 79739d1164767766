import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, isRefusal, LoginRefusal } from "../../src/errors";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../../src/auth/password";
import { ACCESS_TOKEN_TTL_S, accountOfSecret, signAccessToken } from "../../src/auth/tokens";
import { isUsername } from "../../src/identifiers";
import { newId } from "../../src/ids";
import * as s from "../../src/schemas";
import { accountActor, usernameActor, walletActor, type Env } from "../env";
import { signingKeys } from "../keys";
import { authedRoute, errors, jsonBody, jsonResponse, newRouter } from "../openapi";
import { throwRefusal } from "../errors";
import { requireTotpForSensitive } from "../services/totp";
import { learnSessionsEpoch } from "../middleware/auth";
import type { SessionsState } from "../../durable/account/sessions";
import { isLockedOut } from "../../durable/account/login-lockout";
import { RateLimited } from "../middleware/rate-limits";
import { auditIp } from "../../src/audit";

export const accounts = newRouter();

/**
 * New tokens for a login or a refresh the account allowed (`sessions`: its session state when it
 * did; none for a new account). After a logout-all the epoch is the next whole second (an access
 * token's `iat` is in seconds): signing waits for it, by this isolate's clock (at most a second,
 * only right after a logout-all). A logout-all between the account's answer and the signing is
 * not seen in the token's `iat`, so the state is asked again after signing: if a logout-all came,
 * the token is not handed out (docs/decisions/0014).
 */
async function tokens(env: Env, identity: { account_id: string; wallet_id: string; username: string }, refresh_token: string, sessions?: SessionsState): Promise<s.Tokens> {
  const epoch = sessions?.revoked_before_ms ?? 0;
  while (Date.now() < epoch) await new Promise((resolve) => setTimeout(resolve, Math.min(epoch - Date.now() + 1, 1_000)));
  const access_token = await signAccessToken(await signingKeys(env), {
    accountId: identity.account_id,
    walletId: identity.wallet_id,
    username: identity.username,
  });
  if (sessions) {
    const now = await accountActor(env, identity.account_id).sessionsState();
    learnSessionsEpoch(identity.account_id, now.revoked_before_ms);
    if (now.logouts !== sessions.logouts) throw new ApiError("unauthorized", "the account logged out everywhere meanwhile: log in again");
  }
  return { access_token, refresh_token, expires_in: ACCESS_TOKEN_TTL_S, token_type: "Bearer" };
}

accounts.openapi(
  createRoute({
    method: "post",
    path: "/v1/accounts",
    operationId: "createAccount",
    summary: "Create an account and its wallet",
    request: jsonBody(s.CreateAccountBody),
    responses: { 201: jsonResponse(s.AccountCreated, "created, logged in"), 400: errors[400], 409: errors[409] },
  }),
  async (c) => {
    const { username, password } = c.req.valid("json");
    const name = usernameActor(c.env, username);
    // Fail fast on a taken name; the claim below is what decides.
    if (await name.lookup()) throw new ApiError("username_taken", "that username is taken");
    const identity = { account_id: newId("acc"), wallet_id: newId("wal"), username };
    // Account and wallet exist before the name points at them, so a name never leads nowhere.
    const { refresh_token } = await accountActor(c.env, identity.account_id).create(identity, await hashPassword(password));
    await walletActor(c.env, identity.wallet_id).open(identity);
    const claimed = await name.claim(identity);
    if (isRefusal(claimed)) throwRefusal(claimed);
    return c.json({ ...identity, ...(await tokens(c.env, identity, refresh_token)) }, 201);
  },
);

accounts.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/login",
    operationId: "login",
    summary: "Log in with username and password (and `totp_code` when TOTP is on: 401 totp_required / invalid_totp)",
    request: jsonBody(s.LoginBody),
    responses: { 200: jsonResponse(s.Tokens, "logged in"), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const { username, password, totp_code } = c.req.valid("json");
    const claim = isUsername(username) ? await usernameActor(c.env, username).lookup() : null;
    if (!claim) {
      await verifyPassword(password, DUMMY_PASSWORD_HASH); // same cost as a real check: no user enumeration by timing
      throw new ApiError("unauthorized", "wrong username or password");
    }
    const result = await accountActor(c.env, claim.account_id).login(password, totp_code ?? null, auditIp(c.req.header("CF-Connecting-IP")));
    // TOTP's refusals are 401 here: there is no session yet.
    if (isLockedOut(result)) throw new RateLimited(result.message, result.retry_after_s);
    if (isRefusal(result)) throw new LoginRefusal(result.code, result.message);
    return c.json(await tokens(c.env, result.identity, result.refresh_token, result.sessions), 200);
  },
);

accounts.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/refresh",
    operationId: "refreshTokens",
    summary: "Trade a refresh token for new tokens (the old one is spent)",
    request: jsonBody(s.RefreshBody),
    responses: { 200: jsonResponse(s.Tokens, "rotated"), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const { refresh_token } = c.req.valid("json");
    const accountId = accountOfSecret("rt", refresh_token);
    if (!accountId) throw new ApiError("unauthorized", "invalid refresh token");
    const result = await accountActor(c.env, accountId).rotateRefreshToken(refresh_token, auditIp(c.req.header("CF-Connecting-IP")));
    if (isRefusal(result)) throwRefusal(result);
    return c.json(await tokens(c.env, result.identity, result.refresh_token, result.sessions), 200);
  },
);

accounts.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/logout",
    operationId: "logout",
    summary: "Log out one session: its refresh token's family is revoked (the access tokens it issued run to their exp, at most 15 minutes)",
    description: "Answers 200 for any refresh token, as RFC 7009 does: a token that is unknown, spent or revoked has nothing left to revoke.",
    request: jsonBody(s.LogoutBody),
    responses: { 200: jsonResponse(s.LoggedOut, "that session's refresh tokens are revoked"), 400: errors[400] },
  }),
  async (c) => {
    const { refresh_token } = c.req.valid("json");
    const accountId = accountOfSecret("rt", refresh_token);
    if (accountId) await accountActor(c.env, accountId).logout(refresh_token);
    return c.json({ logged_out: true as const }, 200);
  },
);

accounts.openapi(
  authedRoute({
    method: "post",
    path: "/v1/auth/logout-all",
    operationId: "logoutAll",
    summary: "Log out everywhere: every refresh token is revoked, access tokens issued so far are refused (within seconds on every edge) and their event streams closed (4003)",
    description: "API keys are not sessions: they stay (DELETE /v1/api-keys/{id} revokes one). Log in again for new tokens. See docs/decisions/0014.",
    scope: "read",
    auth: { jwtOnly: true },
    responses: { 200: jsonResponse(s.LoggedOutEverywhere, "every session ended"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { accountId } = c.get("principal");
    const { revoked_before_ms } = await accountActor(c.env, accountId).logoutAll();
    learnSessionsEpoch(accountId, revoked_before_ms);
    return c.json({ logged_out: true as const, revoked_before: new Date(revoked_before_ms).toISOString() }, 200);
  },
);

accounts.openapi(
  authedRoute({
    method: "post",
    path: "/v1/api-keys",
    operationId: "createApiKey",
    summary: "Create an API key (shown once; with TOTP on, a code in X-TOTP-Code)",
    scope: "read",
    auth: { jwtOnly: true },
    request: { headers: s.TotpCodeHeader, ...jsonBody(s.CreateApiKeyBody) },
    responses: { 201: jsonResponse(s.ApiKeyCreated, "created"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { name, scopes } = c.req.valid("json");
    await requireTotpForSensitive(c);
    return c.json(await accountActor(c.env, c.get("principal").accountId).createApiKey(name, scopes), 201);
  },
);

accounts.openapi(
  authedRoute({
    method: "get",
    path: "/v1/api-keys",
    operationId: "listApiKeys",
    summary: "List API keys",
    scope: "read",
    auth: { jwtOnly: true },
    responses: { 200: jsonResponse(z.object({ api_keys: z.array(s.ApiKeyInfo) }), "the keys"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => c.json({ api_keys: await accountActor(c.env, c.get("principal").accountId).listApiKeys() }, 200),
);

accounts.openapi(
  authedRoute({
    method: "delete",
    path: "/v1/api-keys/{id}",
    operationId: "revokeApiKey",
    summary: "Revoke an API key (event streams it opened close with 4003)",
    scope: "read",
    auth: { jwtOnly: true },
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: { 200: jsonResponse(z.object({ id: s.ApiKeyIdOut, revoked: z.literal(true) }), "revoked"), 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    if (!(await accountActor(c.env, c.get("principal").accountId).revokeApiKey(id))) throw new ApiError("not_found", "no such API key");
    return c.json({ id, revoked: true as const }, 200);
  },
);
