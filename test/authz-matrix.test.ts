import { bech32 } from "@scure/base";
import { SignJWT, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Scope } from "../src/auth/tokens";
import { createApp } from "../workers/app";
import worker from "../workers/index";
import { api, createAccount, fund, newKey, PASSWORD, testEnv, uniqueName, type Reply, type TestAccount } from "./helpers";
import { NODES } from "../sim/topology";

/** A node of the simulated network that accepts keysend (a leaf with a channel to the hub). */
const KEYSEND_DESTINATION = NODES.erin.pubkey;

/**
 * The authorization matrix (issue 12, point 9): every route of the app × every kind of credential
 * → the answer it must get. The rows come from the app's own route table (Hono's `app.routes`):
 * a route added without an entry in `ROUTES` below fails here, and so does an entry whose route
 * is gone. Each entry says what the route needs (public, a scope, a login session, development
 * only) and how to build a request it would accept.
 *
 * What each column must get, for a route that needs `scope`:
 * - no credential, garbage, an expired JWT, a revoked API key, a refresh token, the admin key → 401;
 * - an API key without `scope` (or any API key where a login session is needed) → 403;
 * - the subject's own JWT, an API key with `scope`, its LNDHub credential (an API key with every
 *   scope) → the route's own answer (`ok`: 2xx, or a 4xx for business reasons, never 401/403);
 * - another account's JWT → 404 where the path names one of the subject's resources, the same
 *   404 as for an id that does not exist (no existence leak); elsewhere the route's answer for the
 *   caller's own account, which must not carry any of the subject's identifiers.
 * Errors are in the shape of the route's family: the contract's `{error:{code,message}}`; LndHub's
 * `{error: true, code, message}` under /lndhub/ (1 bad auth: 401, or 403 for a missing scope);
 * the LUDs' `{status: "ERROR", reason}` on the public LNURL routes.
 */

/** A regtest address of no one the hub knows (withdrawals in the matrix go there). */
const OUTSIDE_ADDRESS = bech32.encode("bcrt", [0, ...bech32.toWords(new Uint8Array(20).fill(0x42))]);

type Column = "none" | "garbage" | "expired" | "revoked" | "refresh" | "admin" | "other" | "jwt" | "key:read" | "key:receive" | "key:send" | "lndhub";
const COLUMNS: readonly Column[] = ["none", "garbage", "expired", "revoked", "refresh", "admin", "other", "jwt", "key:read", "key:receive", "key:send", "lndhub"];
/** Credentials that are no account's credential at all. The admin key is among them: it opens only the admin routes. */
const UNAUTHENTICATED: readonly Column[] = ["none", "garbage", "expired", "revoked", "refresh", "admin"];

type Rule =
  /** No credential needed; any credential sent is ignored. */
  | { kind: "public" }
  /** Development only and no credential (the LND simulator's doors): 404 in production. */
  | { kind: "dev" }
  /** Needs a credential carrying `scope`; `jwtOnly`: a login session (API keys refused); `dev`: 404 in production. */
  | { kind: "scope"; scope: Scope; jwtOnly?: true; dev?: true }
  /** A catch-all that answers 404 whatever the credential. */
  | { kind: "fallback" }
  /** Middleware (Hono lists `app.use` as an ALL route): nothing to call. */
  | { kind: "middleware" }
  /** The operator's routes: the admin key alone (every other column, an account's credentials too → 401). */
  | { kind: "admin" };

interface Req {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The subject's ids in `path`: another account gets the same answer as for ids that do not exist. */
  ids?: string[];
  /** Cleans up after the call (e.g. deletes what it created, so the subject stays under its caps). */
  after?: (reply: Reply) => Promise<void>;
}

interface Entry {
  rule: Rule;
  /** What the subject's own credentials get (its JWT, a key with the scope, its LNDHub credential). */
  ok: number[];
  /** The path names one of the subject's resources: another account's token gets 404. */
  owned?: true;
  /** The answer is public data about the subject (a profile): another account may see its ids. */
  publicData?: true;
  req?: (w: World) => Promise<Req> | Req;
}

interface World {
  a: TestAccount; // the subject
  b: TestAccount; // another account
  c: TestAccount; // the subject's counterparty (payments, conversations)
  d: TestAccount; // a third member, for groups
  bearer: Record<Column, string | undefined>;
  /** The subject's LNDHub login (its API key's id). */
  lndhubLogin: string;
  /** Ids of the subject's API keys (another account's answers must not carry them). */
  keyIds: string[];
  invoiceHash: string;
  /** The hash of a hub invoice (c's) the subject paid. */
  paymentHash: string;
  externalId: string;
  conversationId: string;
  webhookId: string;
  deliveryId: string;
  lnurlVerifyPath: string;
  /** A fresh 1-sat invoice of `who`. */
  invoiceOf: (who: TestAccount) => Promise<{ payment_hash: string; payment_request: string }>;
}

const X_ONLY_KEY = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const RECEIVER = "http://127.0.0.1:9999/hooks";

const ok = async (r: Promise<Reply> | Reply, status: number, what: string): Promise<any> => {
  const reply = await r;
  expect(reply.status, `${what}: ${JSON.stringify(reply.json)}`).toBe(status);
  return reply.json;
};

async function newWebhook(w: World): Promise<string> {
  const hook = await ok(api("POST", "/v1/webhooks", { body: { url: `${RECEIVER}/${uniqueName("authz")}`, events: ["*"] }, token: w.a.access_token }), 201, "webhook");
  return hook.id;
}
/** A new reward program (by the admin key), for the reward routes' calls. */
async function newRewardProgram(w: World): Promise<string> {
  return (await ok(api("POST", "/v1/admin/rewards", { body: { name: "authz", amount_sat: 1, budget_sat: 100 }, token: w.bearer.admin }), 201, "reward program")).program_id;
}
const unfreeze = async (w: World) => void (await ok(api("POST", `/v1/admin/accounts/${w.d.account_id}/unfreeze`, { token: w.bearer.admin }), 200, "unfreeze"));
const deleteWebhook = async (w: World, id: string) => void (await api("DELETE", `/v1/webhooks/${id}`, { token: w.a.access_token }));
const deleteCreatedWebhook = (w: World) => async (r: Reply) => {
  // Another account's webhook is its own (and this delete a 404): the subject's cap is what matters.
  if (r.status === 201 && r.json?.id) await api("DELETE", `/v1/webhooks/${r.json.id}`, { token: w.a.access_token });
};

/**
 * Every route of the app. Keys are Hono's `METHOD path`, as `app.routes` lists them.
 * A new route needs an entry here: what it requires, and a request it would accept.
 */
const ROUTES: Record<string, Entry> = {
  "ALL /*": { rule: { kind: "middleware" }, ok: [] }, // body limit, hardening, well-formed JSON
  "GET /health": { rule: { kind: "public" }, ok: [200], req: () => ({ path: "/health" }) },
  "GET /openapi.json": { rule: { kind: "public" }, ok: [200], req: () => ({ path: "/openapi.json" }) },

  // ── Accounts and tokens ──
  "POST /v1/accounts": { rule: { kind: "public" }, ok: [201], req: () => ({ path: "/v1/accounts", body: { username: uniqueName("authz"), password: PASSWORD } }) },
  "POST /v1/auth/login": { rule: { kind: "public" }, ok: [200], req: (w) => ({ path: "/v1/auth/login", body: { username: w.a.username, password: PASSWORD } }) },
  "POST /v1/auth/refresh": {
    rule: { kind: "public" },
    ok: [200],
    req: async (w) => {
      const login = await ok(api("POST", "/v1/auth/login", { body: { username: w.a.username, password: PASSWORD } }), 200, "login");
      return { path: "/v1/auth/refresh", body: { refresh_token: login.refresh_token } };
    },
  },
  "POST /v1/auth/logout": {
    rule: { kind: "public" },
    ok: [200],
    req: async (w) => {
      const login = await ok(api("POST", "/v1/auth/login", { body: { username: w.a.username, password: PASSWORD } }), 200, "login");
      return { path: "/v1/auth/logout", body: { refresh_token: login.refresh_token } };
    },
  },
  // Ends every session of the caller: the subject's (and the other account's) tokens are renewed after this row.
  "POST /v1/auth/logout-all": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [200], req: () => ({ path: "/v1/auth/logout-all" }) },
  "POST /v1/api-keys": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [201], req: () => ({ path: "/v1/api-keys", body: { name: "authz", scopes: ["read"] } }) },
  "GET /v1/api-keys": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [200], req: () => ({ path: "/v1/api-keys" }) },
  "DELETE /v1/api-keys/:id": {
    rule: { kind: "scope", scope: "read", jwtOnly: true },
    ok: [200],
    owned: true,
    req: async (w) => {
      const key = await ok(api("POST", "/v1/api-keys", { body: { name: "to revoke", scopes: ["read"] }, token: w.a.access_token }), 201, "key");
      return { path: `/v1/api-keys/${key.id}`, ids: [key.id] };
    },
  },

  // ── Wallet and events ──
  "GET /v1/wallet": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/wallet" }) },
  "GET /v1/wallet/transactions": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/wallet/transactions?limit=5" }) },
  "GET /v1/wallet/transactions.csv": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/wallet/transactions.csv" }) },
  "GET /v1/events": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/events?after=0&limit=5" }) },
  // Without an Upgrade header the authorized answer is 400 (checked after the credential).
  "GET /v1/events/stream": { rule: { kind: "scope", scope: "read" }, ok: [400], req: () => ({ path: "/v1/events/stream" }) },

  // ── Payments ──
  "POST /v1/payments/intraledger": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    req: (w) => ({ path: "/v1/payments/intraledger", body: { to: w.c.username, amount_sat: 1 }, headers: { "idempotency-key": newKey() } }),
  },
  "POST /v1/invoices": { rule: { kind: "scope", scope: "receive" }, ok: [201], req: () => ({ path: "/v1/invoices", body: { amount_sat: 1, memo: "authz" } }) },
  "GET /v1/invoices": { rule: { kind: "scope", scope: "read" }, ok: [200], req: (w) => ({ path: `/v1/invoices?external_id=${w.externalId}` }) },
  "GET /v1/invoices/:payment_hash": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/invoices/${w.invoiceHash}`, ids: [w.invoiceHash] }),
  },
  "POST /v1/lightning/decode": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    req: async (w) => ({ path: "/v1/lightning/decode", body: { payment_request: (await w.invoiceOf(w.c)).payment_request } }),
  },
  "POST /v1/payments/lightning/estimate": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    req: async (w) => ({ path: "/v1/payments/lightning/estimate", body: { payment_request: (await w.invoiceOf(w.c)).payment_request } }),
  },
  "GET /v1/payments/lightning/:payment_hash": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/payments/lightning/${w.paymentHash}`, ids: [w.paymentHash] }),
  },
  "POST /v1/payments/lightning": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    req: async (w) => ({ path: "/v1/payments/lightning", body: { payment_request: (await w.invoiceOf(w.c)).payment_request }, headers: { "idempotency-key": newKey() } }),
  },
  "POST /v1/payments/keysend": {
    rule: { kind: "scope", scope: "send" },
    ok: [200, 422],
    req: () => ({ path: "/v1/payments/keysend", body: { destination: KEYSEND_DESTINATION, amount_sat: 1 }, headers: { "idempotency-key": newKey() } }),
  },
  "POST /v1/onchain/address": { rule: { kind: "scope", scope: "receive" }, ok: [200], req: () => ({ path: "/v1/onchain/address" }) },
  "POST /v1/payments/onchain/estimate": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    req: () => ({ path: "/v1/payments/onchain/estimate", body: { address: OUTSIDE_ADDRESS, amount_sat: 1000 } }),
  },
  "POST /v1/payments/onchain": {
    rule: { kind: "scope", scope: "send" },
    // Sent (then followed up) while the subject's balance lasts, then 422.
    ok: [200, 422],
    req: () => ({ path: "/v1/payments/onchain", body: { address: OUTSIDE_ADDRESS, amount_sat: 1000 }, headers: { "idempotency-key": newKey() } }),
  },
  "POST /v1/payments/lnurl": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    req: (w) => ({ path: "/v1/payments/lnurl", body: { destination: `${w.c.username}@hub.test`, amount_sat: 1 }, headers: { "idempotency-key": newKey() } }),
  },

  // ── LNDHub: credentials (the contract), then LndHub's own API ──
  "POST /v1/lndhub/credentials": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [201], req: () => ({ path: "/v1/lndhub/credentials", body: { name: "authz" } }) },
  "POST /lndhub/create": { rule: { kind: "public" }, ok: [200], req: () => ({ path: "/lndhub/create", body: { partnerid: "bluewallet", accounttype: "common" } }) },
  "POST /lndhub/auth": {
    rule: { kind: "public" },
    ok: [200],
    req: (w) => ({ path: "/lndhub/auth?type=auth", body: { login: w.lndhubLogin, password: w.bearer.lndhub } }),
  },
  "GET /lndhub/balance": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/balance" }) },
  "POST /lndhub/addinvoice": { rule: { kind: "scope", scope: "receive" }, ok: [200], req: () => ({ path: "/lndhub/addinvoice", body: { amt: 1, memo: "authz" } }) },
  "POST /lndhub/payinvoice": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    req: async (w) => ({ path: "/lndhub/payinvoice", body: { invoice: (await w.invoiceOf(w.c)).payment_request } }),
  },
  "GET /lndhub/gettxs": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/gettxs" }) },
  "GET /lndhub/getuserinvoices": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/getuserinvoices?limit=5" }) },
  "GET /lndhub/checkpayment/:payment_hash": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/lndhub/checkpayment/${w.invoiceHash}`, ids: [w.invoiceHash] }),
  },
  "GET /lndhub/getinfo": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/getinfo" }) },
  "GET /lndhub/decodeinvoice": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    req: async (w) => ({ path: `/lndhub/decodeinvoice?invoice=${(await w.invoiceOf(w.c)).payment_request}` }),
  },
  "GET /lndhub/getbtc": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/getbtc" }) },
  "GET /lndhub/getpending": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/lndhub/getpending" }) },
  "ALL /lndhub/*": { rule: { kind: "fallback" }, ok: [404], req: () => ({ path: "/lndhub/no-such-call" }) },

  // ── Lightning Address and LNURL-pay (public, the LUDs' shapes) ──
  "ALL /.well-known/lnurlp/*": { rule: { kind: "middleware" }, ok: [] }, // CORS for any origin
  "ALL /lnurlp/*": { rule: { kind: "middleware" }, ok: [] }, // CORS for any origin
  "GET /.well-known/lnurlp/:username": { rule: { kind: "public" }, ok: [200], req: (w) => ({ path: `/.well-known/lnurlp/${w.a.username}` }) },
  "GET /lnurlp/:username/callback": { rule: { kind: "public" }, ok: [200], req: (w) => ({ path: `/lnurlp/${w.a.username}/callback?amount=1000` }) },
  "GET /lnurlp/:username/verify/:payment_hash": { rule: { kind: "public" }, ok: [200], req: (w) => ({ path: w.lnurlVerifyPath }) },

  // ── Chat ──
  "POST /v1/conversations": { rule: { kind: "scope", scope: "send" }, ok: [200, 201], req: (w) => ({ path: "/v1/conversations", body: { members: [w.c.username] } }) },
  "GET /v1/conversations": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/conversations?limit=5" }) },
  "POST /v1/conversations/:id/messages": {
    rule: { kind: "scope", scope: "send" },
    ok: [201],
    owned: true,
    req: (w) => ({ path: `/v1/conversations/${w.conversationId}/messages`, body: { text: "authz" }, ids: [w.conversationId] }),
  },
  "POST /v1/conversations/:id/messages/:message_id/pay": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    owned: true,
    req: async (w) => {
      // The counterparty asks the subject for 1 sat: the subject's share is what is paid.
      const asked = await ok(api("POST", `/v1/conversations/${w.conversationId}/messages`, { body: { request: { amount_sat: 1 } }, token: w.c.access_token }), 201, "request");
      const id = asked.message.id;
      return { path: `/v1/conversations/${w.conversationId}/messages/${id}/pay`, headers: { "idempotency-key": newKey() }, ids: [w.conversationId, id] };
    },
  },
  "POST /v1/conversations/:id/messages/:message_id/cancel": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    owned: true,
    req: async (w) => {
      const asked = await ok(api("POST", `/v1/conversations/${w.conversationId}/messages`, { body: { request: { amount_sat: 1 } }, token: w.a.access_token }), 201, "request");
      const id = asked.message.id;
      return { path: `/v1/conversations/${w.conversationId}/messages/${id}/cancel`, ids: [w.conversationId, id] };
    },
  },
  "GET /v1/conversations/:id/messages": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/conversations/${w.conversationId}/messages?limit=5`, ids: [w.conversationId] }),
  },
  "POST /v1/conversations/:id/read": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/conversations/${w.conversationId}/read`, body: { seq: 1 }, ids: [w.conversationId] }),
  },
  "POST /v1/conversations/:id/leave": {
    rule: { kind: "scope", scope: "send" },
    ok: [200],
    owned: true,
    req: async (w) => {
      const group = await ok(api("POST", "/v1/conversations", { body: { members: [w.c.username, w.d.username], title: "to leave" }, token: w.a.access_token }), 201, "group");
      return { path: `/v1/conversations/${group.conversation_id}/leave`, ids: [group.conversation_id] };
    },
  },

  // ── Webhooks ──
  "POST /v1/webhooks": {
    rule: { kind: "scope", scope: "receive" },
    ok: [201],
    req: (w) => ({ path: "/v1/webhooks", body: { url: `${RECEIVER}/${uniqueName("authz")}`, events: ["invoice.paid"] }, after: deleteCreatedWebhook(w) }),
  },
  "GET /v1/webhooks": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/webhooks" }) },
  "DELETE /v1/webhooks/:id": {
    rule: { kind: "scope", scope: "receive" },
    ok: [200],
    owned: true,
    req: async (w) => {
      const id = await newWebhook(w);
      return { path: `/v1/webhooks/${id}`, ids: [id], after: () => deleteWebhook(w, id) };
    },
  },
  "POST /v1/webhooks/:id/rotate-secret": {
    rule: { kind: "scope", scope: "receive" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/webhooks/${w.webhookId}/rotate-secret`, ids: [w.webhookId] }),
  },
  "POST /v1/webhooks/:id/test": { rule: { kind: "scope", scope: "receive" }, ok: [200], owned: true, req: (w) => ({ path: `/v1/webhooks/${w.webhookId}/test`, ids: [w.webhookId] }) },
  "GET /v1/webhooks/:id/deliveries": {
    rule: { kind: "scope", scope: "read" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/webhooks/${w.webhookId}/deliveries?limit=5`, ids: [w.webhookId] }),
  },
  "POST /v1/webhooks/:id/deliveries/:delivery_id/retry": {
    rule: { kind: "scope", scope: "receive" },
    ok: [200],
    owned: true,
    req: (w) => ({ path: `/v1/webhooks/${w.webhookId}/deliveries/${w.deliveryId}/retry`, ids: [w.webhookId, w.deliveryId] }),
  },

  // ── Users, account, security ──
  "GET /v1/users/:username": { rule: { kind: "scope", scope: "read" }, ok: [200], publicData: true, req: (w) => ({ path: `/v1/users/${w.a.username}` }) },
  "PUT /v1/account/encryption-key": { rule: { kind: "scope", scope: "send" }, ok: [200], req: () => ({ path: "/v1/account/encryption-key", body: { public_key: X_ONLY_KEY } }) },
  "GET /v1/account/limits": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/account/limits" }) },
  // The subject's trail holds its key ids and webhook id: another account's answer (its own trail) must not.
  "GET /v1/account/audit": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/account/audit?limit=50" }) },
  // Enrolling leaves TOTP pending (harmless: only an enabled TOTP asks for codes); confirming or
  // turning it off with a wrong code is then a business 403 (invalid_totp), or 409 with nothing pending.
  "POST /v1/account/totp": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [201], req: () => ({ path: "/v1/account/totp" }) },
  "POST /v1/account/totp/confirm": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [403, 409], req: () => ({ path: "/v1/account/totp/confirm", body: { code: "000000" } }) },
  "DELETE /v1/account/totp": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [403, 409], req: () => ({ path: "/v1/account/totp", body: { code: "000000" } }) },
  "GET /v1/account/settings": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/account/settings" }) },
  "PUT /v1/account/settings": { rule: { kind: "scope", scope: "read", jwtOnly: true }, ok: [200], req: () => ({ path: "/v1/account/settings", body: { totp_threshold_sat: 100_000 } }) },

  // ── Operator (the admin key); the fourth account is the one acted on, and is left as it was ──
  "POST /v1/admin/accounts/:account_id/freeze": {
    rule: { kind: "admin" },
    ok: [200],
    req: (w) => ({ path: `/v1/admin/accounts/${w.d.account_id}/freeze`, body: { reason: "authz" }, after: () => unfreeze(w) }),
  },
  "POST /v1/admin/accounts/:account_id/unfreeze": { rule: { kind: "admin" }, ok: [200], req: (w) => ({ path: `/v1/admin/accounts/${w.d.account_id}/unfreeze` }) },
  "POST /v1/admin/accounts/:account_id/level": { rule: { kind: "admin" }, ok: [200], req: (w) => ({ path: `/v1/admin/accounts/${w.d.account_id}/level`, body: { level: 1 } }) },
  "GET /v1/admin/solvency": { rule: { kind: "admin" }, ok: [200], req: () => ({ path: "/v1/admin/solvency" }) },
  "GET /v1/admin/liquidity": { rule: { kind: "admin" }, ok: [200], req: () => ({ path: "/v1/admin/liquidity" }) },
  "GET /metrics": { rule: { kind: "admin" }, ok: [200], req: () => ({ path: "/metrics" }) },

  // ── Rewards (docs/decisions/0021): a fresh program for each call, so every claim is the account's first ──
  "POST /v1/admin/rewards": { rule: { kind: "admin" }, ok: [201], req: () => ({ path: "/v1/admin/rewards", body: { name: "authz", amount_sat: 1, budget_sat: 100 } }) },
  "GET /v1/admin/rewards/:program_id": { rule: { kind: "admin" }, ok: [200], req: async (w) => ({ path: `/v1/admin/rewards/${await newRewardProgram(w)}` }) },
  "GET /v1/rewards": { rule: { kind: "scope", scope: "read" }, ok: [200], req: () => ({ path: "/v1/rewards?limit=5" }) },
  "POST /v1/rewards/:program_id/claim": {
    rule: { kind: "scope", scope: "receive" },
    ok: [200],
    req: async (w) => ({ path: `/v1/rewards/${await newRewardProgram(w)}/claim`, headers: { "idempotency-key": newKey() } }),
  },

  // ── Development only ──
  "POST /dev/faucet": { rule: { kind: "scope", scope: "receive", dev: true }, ok: [200], req: () => ({ path: "/dev/faucet", body: { amount_sat: 1 }, headers: { "idempotency-key": newKey() } }) },
  "POST /dev/sim/pay": {
    rule: { kind: "dev" },
    ok: [200],
    req: async (w) => ({ path: "/dev/sim/pay", body: { payment_request: (await w.invoiceOf(w.a)).payment_request, wait_ms: 2000 } }),
  },
  "POST /dev/sim/invoices": { rule: { kind: "dev" }, ok: [200], req: () => ({ path: "/dev/sim/invoices", body: { amount_sat: 1 } }) },
  "POST /dev/sim/onchain/send": { rule: { kind: "dev" }, ok: [200], req: () => ({ path: "/dev/sim/onchain/send", body: { address: OUTSIDE_ADDRESS, amount_sat: 1000 } }) },
  "POST /dev/sim/onchain/address": { rule: { kind: "dev" }, ok: [200], req: () => ({ path: "/dev/sim/onchain/address" }) },
  // No block is mined (a refused count): suites that count confirmations may run alongside.
  "POST /dev/sim/mine": { rule: { kind: "dev" }, ok: [400], req: () => ({ path: "/dev/sim/mine", body: { blocks: 0 } }) },
};

/** `METHOD path` of every route the app serves, once each (a route's middleware and handler are listed separately). */
function appRoutes(): { method: string; path: string; key: string }[] {
  const seen = new Map<string, { method: string; path: string; key: string }>();
  for (const r of createApp().routes) {
    const key = `${r.method} ${r.path}`;
    if (!seen.has(key)) seen.set(key, { method: r.method, path: r.path, key });
  }
  return [...seen.values()];
}

type Family = "contract" | "lndhub" | "lnurl";
const familyOf = (path: string): Family => (path.startsWith("/lndhub/") ? "lndhub" : path.startsWith("/.well-known/lnurlp/") || path.startsWith("/lnurlp/") ? "lnurl" : "contract");

/** The error body of the route's family, or a description of what is wrong with it. */
function errorShapeProblem(family: Family, body: any): string | null {
  if (family === "lndhub") return body?.error === true && Number.isInteger(body.code) && typeof body.message === "string" ? null : "not LndHub's {error: true, code, message}";
  if (family === "lnurl") return body?.status === "ERROR" && typeof body.reason === "string" ? null : 'not the LUDs\' {status: "ERROR", reason}';
  return typeof body?.error?.code === "string" && typeof body.error.message === "string" ? null : "not the contract's {error:{code,message}}";
}

type Expected = { kind: "refused"; status: 401 | 403 | 404 } | { kind: "answer"; ok: number[] } | { kind: "own" };

function expected(entry: Entry, column: Column): Expected {
  const { rule } = entry;
  if (rule.kind === "public" || rule.kind === "dev" || rule.kind === "fallback") return { kind: "answer", ok: entry.ok };
  if (rule.kind === "admin") return column === "admin" ? { kind: "answer", ok: entry.ok } : { kind: "refused", status: 401 };
  if (rule.kind !== "scope") throw new Error("middleware has no cells");
  if (UNAUTHENTICATED.includes(column)) return { kind: "refused", status: 401 };
  if (column === "other") return entry.owned ? { kind: "refused", status: 404 } : { kind: "own" };
  if (column === "jwt") return { kind: "answer", ok: entry.ok };
  // API keys, and the LNDHub credential (an API key with every scope).
  if (rule.jwtOnly) return { kind: "refused", status: 403 };
  if (column === "lndhub" || column === `key:${rule.scope}`) return { kind: "answer", ok: entry.ok };
  return { kind: "refused", status: 403 };
}

/** Whether an answer is the hub refusing the credential itself (not a business refusal such as invalid_totp). */
function isAuthRefusal(family: Family, r: Reply): boolean {
  if (r.status === 401) return true;
  if (r.status !== 403) return false;
  return family === "lndhub" ? r.json?.code === 1 : r.json?.error?.code === "forbidden";
}

/** What is wrong with one cell's answer, or null. */
function check(family: Family, exp: Expected, r: Reply): string | null {
  if (r.status >= 500) return `a ${r.status}`;
  if (r.status >= 400) {
    const shape = errorShapeProblem(family, r.json);
    if (shape) return shape;
  }
  if (exp.kind === "answer") {
    if (!exp.ok.includes(r.status)) return `expected ${exp.ok.join(" or ")}`;
    if (isAuthRefusal(family, r)) return "refused as a credential";
    return null;
  }
  if (exp.kind === "own") return isAuthRefusal(family, r) ? "refused as a credential; expected the route's answer for the caller's own account" : null;
  if (r.status !== exp.status) return `expected ${exp.status}`;
  const code = family === "lndhub" ? r.json.code : r.json.error.code;
  const message = String(family === "lndhub" ? r.json.message : r.json.error.message);
  if (exp.status === 401) return (family === "lndhub" ? code === 1 : code === "unauthorized") ? null : `expected code ${family === "lndhub" ? 1 : "unauthorized"}`;
  if (exp.status === 403) {
    if (family === "lndhub" ? code !== 1 : code !== "forbidden") return `expected code ${family === "lndhub" ? 1 : "forbidden"}`;
    return /lacks the "\w+" scope|needs a login session/.test(message) ? null : "a 403 that is not about the credential's scope";
  }
  return (family === "lndhub" ? code === 8 : code === "not_found") ? null : `expected code ${family === "lndhub" ? 8 : "not_found"}`;
}

/** An id of the same shape that names nothing: its last character changed. */
const madeUp = (id: string) => id.slice(0, -1) + (id.endsWith("0") ? "1" : "0");

const b64urlJson = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));

/**
 * An access token of `of` signed with the hub's key, expiring at `exp` (seconds). The header is
 * copied from a token the hub issued (`alg`, `typ`, `kid`: the key that signed it), so this token
 * differs from a genuine one in its times only. (src/auth/tokens.ts signs at the present time only.)
 */
async function accessTokenAt(of: TestAccount, iat: number, exp: number): Promise<string> {
  const [header, payload] = of.access_token.split(".");
  const protectedHeader = b64urlJson(header!);
  const claims = b64urlJson(payload!);
  const secret = JSON.parse(testEnv.JWT_PRIVATE_JWK) as JWK & { keys?: JWK[] };
  const jwk = secret.keys ? (secret.keys.find((k) => k.kid === protectedHeader.kid) ?? secret.keys[0]!) : secret;
  const key = await importJWK({ ...jwk, alg: protectedHeader.alg }, protectedHeader.alg);
  return new SignJWT({ ...claims, iat, exp }).setProtectedHeader(protectedHeader).sign(key);
}

// The admin key (ADMIN_API_KEY, set by vitest.config.ts): the operator's routes take it and nothing
// else; everywhere else it is an unknown bearer like any other (401).
const ADMIN_KEY = (testEnv as unknown as { ADMIN_API_KEY?: string }).ADMIN_API_KEY ?? `fha_${"ab".repeat(32)}`;

let world: World;

beforeAll(async () => {
  const [a, b, c, d] = await Promise.all([createAccount("authz_a"), createAccount("authz_b"), createAccount("authz_c"), createAccount("authz_d")]);
  await fund(a, 10_000);
  const keyOf = async (scopes: Scope[]) => ok(api("POST", "/v1/api-keys", { body: { name: `authz ${scopes}`, scopes }, token: a.access_token }), 201, "api key");
  const [read, receive, send, revoked] = await Promise.all([keyOf(["read"]), keyOf(["receive"]), keyOf(["send"]), keyOf(["read", "receive", "send"])]);
  await ok(api("DELETE", `/v1/api-keys/${revoked.id}`, { token: a.access_token }), 200, "revoke");
  const lndhub = await ok(api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token }), 201, "lndhub credential");
  const now = Math.floor(Date.now() / 1000);
  const expired = await accessTokenAt(a, now - 3600, now - 60);
  // The same construction with a future exp is accepted: the expired one is refused for its time alone.
  const control = await accessTokenAt(a, now, now + 600);
  await ok(api("GET", "/v1/wallet", { token: control }), 200, "control token");

  const invoiceOf = async (who: TestAccount) => ok(api("POST", "/v1/invoices", { body: { amount_sat: 1 }, token: who.access_token }), 201, "invoice");
  const externalId = uniqueName("authz_ext");
  const invoice = await ok(api("POST", "/v1/invoices", { body: { amount_sat: 1, external_id: externalId }, token: a.access_token }), 201, "invoice");
  const paid = await ok(api("POST", "/v1/payments/lightning", { body: { payment_request: (await invoiceOf(c)).payment_request }, token: a.access_token, key: newKey() }), 200, "payment");
  const conversation = await ok(api("POST", "/v1/conversations", { body: { members: [c.username] }, token: a.access_token }), 201, "conversation");
  await ok(api("POST", `/v1/conversations/${conversation.conversation_id}/messages`, { body: { text: "hello" }, token: c.access_token }), 201, "message");
  const webhookId = await newWebhook({ a } as World);
  const tested = await ok(api("POST", `/v1/webhooks/${webhookId}/test`, { token: a.access_token }), 200, "webhook test");
  const callback = await ok(api("GET", `/lnurlp/${a.username}/callback?amount=1000`), 200, "lnurl callback");

  world = {
    a,
    b,
    c,
    d,
    bearer: {
      none: undefined,
      garbage: "not-a-credential",
      expired,
      revoked: revoked.key,
      refresh: a.refresh_token,
      admin: ADMIN_KEY,
      other: b.access_token,
      jwt: a.access_token,
      "key:read": read.key,
      "key:receive": receive.key,
      "key:send": send.key,
      lndhub: lndhub.password,
    },
    lndhubLogin: lndhub.login,
    keyIds: [lndhub.login, read.id, receive.id, send.id, revoked.id],
    invoiceHash: invoice.payment_hash,
    paymentHash: paid.payment_hash,
    externalId,
    conversationId: conversation.conversation_id,
    webhookId,
    deliveryId: tested.delivery.id,
    lnurlVerifyPath: new URL(callback.verify).pathname,
    invoiceOf,
  };
});

/** The identifiers of the subject that another account's answers must not carry. */
const subjectIds = (w: World) => [w.a.account_id, w.a.wallet_id, w.invoiceHash, w.paymentHash, w.conversationId, w.webhookId, w.deliveryId, ...w.keyIds];

/** A route may end sessions (logout-all): the subject and the other account log in again if theirs ended. */
async function reviveSessions(w: World): Promise<void> {
  for (const [who, column] of [[w.a, "jwt"], [w.b, "other"]] as const) {
    if ((await api("GET", "/v1/wallet", { token: who.access_token })).status !== 401) continue;
    const login = await ok(api("POST", "/v1/auth/login", { body: { username: who.username, password: PASSWORD } }), 200, "login again");
    who.access_token = login.access_token;
    w.bearer[column] = login.access_token;
  }
}

async function call(method: string, req: Req, bearer: string | undefined): Promise<Reply> {
  return api(method, req.path, { body: req.body, token: bearer, headers: req.headers });
}

describe("authorization matrix: every route × every kind of credential", () => {
  it("the table has an entry for every route of the app, and no entry for a route that is gone", () => {
    const served = new Set(appRoutes().map((r) => r.key));
    const missing = [...served].filter((k) => !(k in ROUTES));
    const stale = Object.keys(ROUTES).filter((k) => !served.has(k));
    const problems = [
      ...missing.map((k) => `  ${k}: served by the app, but has no entry in ROUTES (test/authz-matrix.test.ts): say what it needs and how to call it`),
      ...stale.map((k) => `  ${k}: has an entry in ROUTES, but the app no longer serves it`),
    ];
    expect(problems, `the route table and the expectations disagree:\n${problems.join("\n")}`).toEqual([]);
  });

  it("/openapi.json documents a bearer credential on exactly the routes that need one", async () => {
    const doc = (await api("GET", "/openapi.json")).json;
    const problems: string[] = [];
    for (const [key, entry] of Object.entries(ROUTES)) {
      const [method, path] = key.split(" ") as [string, string];
      const op = doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
      if (!op) continue; // not documented (GET /health, /openapi.json itself, catch-alls, middleware)
      const documented = Array.isArray(op.security) && op.security.length > 0;
      const needed = entry.rule.kind === "scope" || entry.rule.kind === "admin";
      if (documented !== needed) problems.push(`  ${key}: ${needed ? "needs a credential, documented as public" : "public, documented as needing a credential"}`);
    }
    expect(problems, `/openapi.json disagrees with the table:\n${problems.join("\n")}`).toEqual([]);
  });

  for (const route of appRoutes()) {
    const entry = ROUTES[route.key];
    if (entry?.rule.kind === "middleware") continue;
    it(route.key, async () => {
      expect(entry, `${route.key} has no entry in ROUTES: say what it needs and how to call it`).toBeDefined();
      const method = route.method === "ALL" ? "GET" : route.method;
      const failures: string[] = [];
      for (const column of COLUMNS) {
        const req = await entry!.req!(world);
        const family = familyOf(req.path);
        const exp = expected(entry!, column);
        const r = await call(method, req, world.bearer[column]);
        await req.after?.(r);
        let problem = check(family, exp, r);
        if (!problem && column === "other" && !entry!.publicData && entry!.rule.kind === "scope") {
          const text = JSON.stringify(r.json);
          const leaked = subjectIds(world).filter((id) => text.includes(id));
          if (leaked.length) problem = `another account's answer carries the subject's ${leaked.join(", ")}`;
          else if (exp.kind === "refused" && exp.status === 404) {
            // The same answer as for ids that do not exist: nothing tells "someone else's" from "none".
            let fakePath = req.path;
            for (const id of req.ids ?? []) fakePath = fakePath.replaceAll(id, madeUp(id));
            const none = await call(method, { ...req, path: fakePath }, world.bearer.other);
            const strip = (x: Reply) => JSON.stringify([x.status, x.json]).replaceAll(/\w+_[0-9a-f]{32}|[0-9a-f]{64}/g, "<id>");
            if (strip(none) !== strip(r)) problem = `another account's answer differs from the answer for an id that does not exist: ${strip(r)} vs ${strip(none)}`;
          }
        }
        if (problem) failures.push(`  ${column}: ${problem} — got ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
      }
      await reviveSessions(world);
      expect(failures, `${route.key}:\n${failures.join("\n")}`).toEqual([]);
    });
  }
});

describe("development-only routes", () => {
  const production = () => ({ ...testEnv, ENVIRONMENT: "production" });
  for (const [key, entry] of Object.entries(ROUTES)) {
    const dev = entry.rule.kind === "dev" || (entry.rule.kind === "scope" && entry.rule.dev);
    if (!dev) continue;
    it(`${key} is 404 in production, with or without a credential`, async () => {
      const [method] = key.split(" ");
      for (const column of ["none", "jwt"] as const) {
        const req = await entry.req!(world);
        const headers: Record<string, string> = { "content-type": "application/json", ...req.headers };
        const bearer = world.bearer[column];
        if (bearer) headers.authorization = `Bearer ${bearer}`;
        const res = await worker.fetch(new Request(`http://hub.test${req.path}`, { method, headers, body: JSON.stringify(req.body) }), production(), {} as ExecutionContext);
        const body = (await res.json()) as any;
        expect([res.status, body.error?.code], `${key} ${column}`).toEqual([404, "not_found"]);
      }
    });
  }
});

describe("the event stream's query token (browsers cannot set headers on a WebSocket)", () => {
  it("is checked like a bearer: unknown or expired 401, a key without read 403, a good one reaches the route", async () => {
    const at = (token: string) => api("GET", `/v1/events/stream?access_token=${encodeURIComponent(token)}`);
    for (const column of ["garbage", "expired", "revoked", "admin"] as const) {
      const r = await at(world.bearer[column]!);
      expect([r.status, r.json.error.code], column).toEqual([401, "unauthorized"]);
    }
    const r = await at(world.bearer["key:send"]!);
    expect([r.status, r.json.error.code]).toEqual([403, "forbidden"]);
    for (const column of ["jwt", "key:read"] as const) {
      const good = await at(world.bearer[column]!);
      expect([good.status, good.json.error.code], column).toEqual([400, "invalid_request"]); // no Upgrade header: past the credential
    }
    // Other routes do not read a query token.
    const wallet = await api("GET", `/v1/wallet?access_token=${world.bearer.jwt}`);
    expect(wallet.status).toBe(401);
  });
});
