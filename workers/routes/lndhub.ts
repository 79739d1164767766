import { z, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { hashPassword } from "../../src/auth/password";
import { ALL_SCOPES, accountOfSecret, type Scope } from "../../src/auth/tokens";
import type { DecodedInvoice } from "../../src/bolt11";
import { ApiError, isRefusal, type Refusal } from "../../src/errors";
import { TotpCodeHeader } from "../../src/schemas";
import { requestFingerprint } from "../../src/idempotency";
import { newId, randomHex } from "../../src/ids";
import * as l from "../../src/lndhub";
import { satToMsat, type Msat } from "../../src/money";
import type { Invoice, LightningPayment, Transaction } from "../../src/wallet-types";
import { lndClient } from "../../durable/lnd";
import { accountActor, usernameActor, walletActor, type AppEnv, type Env } from "../env";
import { requireAuth } from "../middleware/auth";
import { authedRoute, errors, jsonResponse, newRouter } from "../openapi";
import { createInvoice, decodeOrRefuse, payInvoice } from "../services/lightning";
import { requireTotpForSensitive, totpRefusalForSend } from "../services/totp";

/**
 * The LNDHub API under /lndhub/ (decision 0009), for BlueWallet, Zeus, Alby and any client of
 * `lndhub://login:password@<hub>/lndhub`. Its answers and errors are LndHub's, not the contract's:
 * `{error: true, code, message}`. A login is one of the account's API keys (login = the key's id,
 * password = the key), so its scopes hold here and revoking the key ends it.
 */
export const lndhub = newRouter();

/** `POST /v1/lndhub/credentials`: part of the contract (its errors are the contract's). */
export const lndhubCredentials = newRouter();

/** Lists are read this many rows at a time, and no further than `LIST_MAX` rows back. */
const PAGE = 100;
const LIST_MAX = 1000;
/** A failed payment older than this (by the hub's clock) was an earlier request's: the next one tries again. */
const EARLIER_ATTEMPT_MS = 1000;
/** How many earlier failed attempts of one invoice a request walks past before answering the last. */
const MAX_ATTEMPTS = 10;

class LndhubError extends Error {
  constructor(readonly failure: l.LndhubFailure) {
    super(failure.body.message);
  }
}
const fail = (code: l.LndhubCode, detail?: string, status?: number) => new LndhubError(l.lndhubFailure(code, detail, status));
const refused = (r: Refusal) => new LndhubError(l.lndhubFailureOf(r.code, r.message));

lndhub.onError((err, c) => {
  let failure: l.LndhubFailure;
  if (err instanceof LndhubError) failure = err.failure;
  // The hub's own errors (a credential refused by requireAuth, an invoice refused by decodeOrRefuse).
  else if (err instanceof ApiError) failure = l.lndhubFailureOf(err.code, err.message);
  else if (err instanceof HTTPException && err.status < 500) failure = l.lndhubFailure(8, err.message, err.status);
  else {
    console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err instanceof Error ? (err.stack ?? err.message) : err);
    failure = l.lndhubFailure(6);
  }
  return c.json(failure.body, failure.status as ContentfulStatusCode);
});

/** LndHub clients send JSON (some a form); a missing body reads as `{}`. */
async function bodyOf<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  try {
    if (/form/i.test(c.req.header("content-type") ?? "")) raw = await c.req.parseBody();
    else {
      // Bytes, not .text(): clients label JSON oddly, and the runtime warns when text is read from a non-text type.
      const text = new TextDecoder().decode(await c.req.arrayBuffer());
      raw = text.trim() ? JSON.parse(text) : {};
    }
  } catch {
    throw fail(8, "the body is neither JSON nor a form");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(8, `${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message ?? "invalid body"}`);
  }
  return parsed.data;
}

const walletOf = (c: Context<AppEnv>) => walletActor(c.env, c.get("principal").walletId);

// ── Documentation (the routes below validate by hand: LndHub's lenient inputs, its error shape) ──

const lndhubError = (description: string) => jsonResponse(l.LndhubError, `${description}: LndHub's \`{error: true, code, message}\``);
/** The statuses a route's own refusals take (lndhubFailure, lndhubFailureOf); the gateway's are added to the document by completeDocument. */
const LNDHUB_STATUS = {
  401: "bad auth (code 1)",
  403: "refused: a TOTP code LndHub apps cannot give, a frozen account (code 1 or 10), or account creation closed (code 11)",
  404: "not found (code 8)",
  409: "already paid, or an Idempotency-Key reused (codes 7, 8)",
  422: "over a spending limit (code 2)",
  503: "the Lightning node could not be reached, or a payment is still in flight (codes 7, 9)",
} as const;

function doc(
  route: Pick<RouteConfig, "method" | "path" | "operationId" | "summary" | "request"> & { scope?: Scope; response: z.ZodType; description?: string; errors?: (keyof typeof LNDHUB_STATUS)[] },
) {
  const { scope, response, description, errors = [], ...rest } = route;
  const lndhubErrors = { 400: lndhubError("bad arguments, or a payment refused (codes 2, 4, 8, 10)"), ...Object.fromEntries(errors.map((status) => [status, lndhubError(LNDHUB_STATUS[status])])) };
  lndhub.openAPIRegistry.registerPath({
    ...rest,
    tags: ["LNDHub"],
    description: `${description ?? ""}${scope ? `${description ? " " : ""}Needs the "${scope}" scope.` : ""}` || undefined,
    ...(scope ? { security: [{ Bearer: [] }] } : {}),
    responses: { 200: jsonResponse(response, "LndHub's answer"), ...lndhubErrors },
  });
}
const docBody = (schema: z.ZodType) => ({ body: { content: { "application/json": { schema } }, required: false } });

// ── Credentials ────────────────────────────────────────────────────────────

lndhubCredentials.openapi(
  authedRoute({
    method: "post",
    path: "/v1/lndhub/credentials",
    operationId: "createLndhubCredentials",
    summary: "Export the wallet to an LNDHub app (BlueWallet, Zeus, Alby): an API key as `lndhub://login:password@…`",
    description: "The credential is an API key (login = its id, password = the key): its scopes hold on /lndhub/*, and DELETE /v1/api-keys/{id} revokes it.",
    scope: "read",
    auth: { jwtOnly: true },
    request: { headers: TotpCodeHeader, body: { content: { "application/json": { schema: l.CredentialsBody } }, required: false } },
    responses: { 201: jsonResponse(l.Credentials, "created (the password is shown once)"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { name, scopes } = c.req.valid("json") ?? {};
    await requireTotpForSensitive(c);
    const key = await accountActor(c.env, c.get("principal").accountId).createApiKey(name ?? l.DEFAULT_CREDENTIALS_NAME, scopes ?? [...ALL_SCOPES]);
    const base = `${new URL(c.req.url).origin}/lndhub`;
    return c.json({ id: key.id, login: key.id, password: key.key, secret: l.lndhubSecret(key.id, key.key, base), name: key.name, scopes: key.scopes, created_at: key.created_at }, 201);
  },
);

/** The key behind an LNDHub login or token: its id, account and scopes, or null. */
async function verifyKey(env: Env, key: string) {
  const accountId = accountOfSecret("fhk", key);
  return accountId ? accountActor(env, accountId).verifyApiKey(key) : null;
}

doc({
  method: "post",
  path: "/lndhub/create",
  operationId: "lndhubCreate",
  summary: "Create an account and its wallet; its one credential, with every scope, is returned",
  description: "No credential needed, like POST /v1/accounts (refused with code 11 where the operator closed it).",
  request: docBody(l.CreateBody),
  response: l.LoginAnswer,
  errors: [403],
});
lndhub.post("/lndhub/create", async (c) => {
  await bodyOf(c, l.CreateBody);
  if (c.env.LNDHUB_CREATE === "closed") throw fail(11);
  const username = `lndhub_${randomHex(8)}`;
  const identity = { account_id: newId("acc"), wallet_id: newId("wal"), username };
  const account = accountActor(c.env, identity.account_id);
  // The account's password is random and never shown: the LNDHub login is the account's credential.
  await account.create(identity, await hashPassword(randomHex(32)));
  await walletActor(c.env, identity.wallet_id).open(identity);
  const claimed = await usernameActor(c.env, username).claim(identity);
  if (isRefusal(claimed)) throw refused(claimed);
  const key = await account.createApiKey(l.DEFAULT_CREDENTIALS_NAME, [...ALL_SCOPES]);
  return c.json({ login: key.id, password: key.key }, 200);
});

doc({
  method: "post",
  path: "/lndhub/auth",
  operationId: "lndhubAuth",
  summary: "Log in: login and password (`?type=auth`), or a refresh token (`?type=refresh_token`)",
  description: "Both tokens are the credential itself: it lasts until its API key is revoked.",
  request: { query: z.object({ type: z.enum(["auth", "refresh_token"]).optional() }), ...docBody(l.AuthBody) },
  response: l.AuthTokens,
  errors: [401],
});
lndhub.post("/lndhub/auth", async (c) => {
  const body = await bodyOf(c, l.AuthBody);
  // As LndHub: a refresh token if the body has one, else login and password (`?type=` only names which).
  const key = body.refresh_token || (body.login && body.password ? body.password : null);
  if (!key) throw fail(8, "give login and password, or refresh_token");
  const found = await verifyKey(c.env, key);
  if (!found || (!body.refresh_token && found.id !== body.login)) throw fail(1);
  return c.json({ refresh_token: key, access_token: key }, 200);
});

// ── Wallet ─────────────────────────────────────────────────────────────────

doc({ method: "get", path: "/lndhub/balance", operationId: "lndhubBalance", summary: "The balance, in sat", scope: "read", response: l.Balance });
lndhub.get("/lndhub/balance", requireAuth("read"), async (c) => {
  const wallet = await walletOf(c).getWallet();
  return c.json({ BTC: { AvailableBalance: l.satDown(wallet.balance_msat) } }, 200);
});

doc({
  method: "post",
  path: "/lndhub/addinvoice",
  operationId: "lndhubAddInvoice",
  summary: "Create an invoice (`amt` in sat; 0 lets the payer choose); it expires in a day",
  scope: "receive",
  request: docBody(l.AddInvoiceBody),
  response: l.AddedInvoice,
  errors: [503],
});
lndhub.post("/lndhub/addinvoice", requireAuth("receive"), async (c) => {
  const body = await bodyOf(c, l.AddInvoiceBody);
  const result = await createInvoice(c.env, c.get("principal").walletId, {
    amount_msat: body.amt === 0 ? null : satToMsat(body.amt),
    memo: body.memo || null,
    expiry_s: l.LNDHUB_INVOICE_EXPIRY_S,
    description_hash: body.description_hash ? body.description_hash.toLowerCase() : null,
  });
  if (isRefusal(result)) throw refused(result);
  const invoice = result.body;
  return c.json({ r_hash: l.jsBuffer(invoice.payment_hash), payment_hash: invoice.payment_hash, payment_request: invoice.payment_request, pay_req: invoice.payment_request }, 200);
});

doc({
  method: "post",
  path: "/lndhub/payinvoice",
  operationId: "lndhubPayInvoice",
  summary: "Pay an invoice (`amount` in sat only for one without an amount); hub invoices are paid inside the hub",
  description:
    "The same invoice asked again replays the answer: it is paid at most once (idempotency key `lndhub:<payment_hash>`). A payment still under way answers 503, code 9: ask again to see how it ended. With TOTP on, a payment above the account's totp_threshold_sat is refused (403, code 1): LNDHub apps cannot send a code.",
  scope: "send",
  request: docBody(l.PayInvoiceBody),
  response: l.PaymentResult,
  errors: [403, 404, 409, 422, 503],
});
lndhub.post("/lndhub/payinvoice", requireAuth("send"), async (c) => {
  const body = await bodyOf(c, l.PayInvoiceBody);
  const payment_request = body.invoice.trim();
  const decoded = decodeOrRefuse(payment_request);
  // LndHub reads `amount` only for an invoice without one (BlueWallet always sends it, 0 by default).
  const amount_msat = decoded.amount_msat === null && body.amount ? satToMsat(body.amount) : undefined;
  if (decoded.amount_msat === null && amount_msat === undefined) throw fail(8, "this invoice has no amount: give amount (sat)");
  // LNDHub apps cannot send a TOTP code (decision 0011): above the threshold, pay from the hub's own app.
  const totp = await totpRefusalForSend(c, decoded.amount_msat ?? amount_msat!);
  if (totp?.code === "totp_required") throw fail(1, "this payment is above the account's TOTP threshold, and LNDHub apps cannot send a TOTP code: pay it from the Flash app, or raise totp_threshold_sat", 403);
  if (totp) throw fail(1, totp.message, 403);
  const payment = await payOnce(c.env, c.get("principal").walletId, payment_request, decoded, amount_msat);
  if (isRefusal(payment)) throw refused(payment);
  if (payment.status === "pending") throw fail(9, "the hub is still paying this invoice; ask again with the same invoice to see how it ended (it is paid at most once)");
  if (payment.status === "failed") throw fail(10, payment.failure_reason ?? "the payment did not go through");
  return c.json(l.toPaymentResult({ ...payment, preimage: payment.preimage ?? "" }, payment_request, decoded), 200);
});

/**
 * Pays an invoice once, however often a client asks: LNDHub has no Idempotency-Key, so the key is
 * the invoice's hash. A failed payment moved no money: a failure an earlier request stored is
 * walked past to a key derived from it (concurrent retries derive the same one), so asking again
 * after a failure tries again. (The wallet also refuses a second live payment of one hash.)
 */
async function payOnce(env: Env, walletId: string, payment_request: string, decoded: DecodedInvoice, amount_msat: Msat | undefined): Promise<LightningPayment | Refusal> {
  const started = Date.now();
  const fingerprint = await requestFingerprint("POST /lndhub/payinvoice", { payment_hash: decoded.payment_hash, amount_msat });
  let key = `lndhub:${decoded.payment_hash}`;
  for (let attempt = 1; ; attempt++) {
    const result = await payInvoice(env, walletId, { payment_request, amount_msat }, { key, fingerprint });
    if (isRefusal(result)) return result;
    const payment = result.body;
    const earlier = Date.parse(payment.transaction.created_at) < started - EARLIER_ATTEMPT_MS;
    if (payment.status !== "failed" || !earlier || attempt === MAX_ATTEMPTS) return payment;
    key = `lndhub:${decoded.payment_hash}:${payment.transaction.id}`;
  }
}

doc({ method: "get", path: "/lndhub/gettxs", operationId: "lndhubGetTxs", summary: "Payments sent (newest 1000 rows of history at most), oldest first", scope: "read", response: z.array(l.PaidInvoice) });
lndhub.get("/lndhub/gettxs", requireAuth("read"), async (c) => {
  const wallet = walletOf(c);
  const rows: Transaction[] = [];
  let cursor: string | null = null;
  do {
    const page = await wallet.listTransactions(PAGE, cursor);
    rows.push(...page.transactions);
    cursor = page.next_cursor;
  } while (cursor !== null && rows.length < LIST_MAX);
  return c.json(rows.filter(l.isPaidOut).reverse().map(l.toPaidInvoice), 200);
});

doc({
  method: "get",
  path: "/lndhub/getuserinvoices",
  operationId: "lndhubGetUserInvoices",
  summary: "The wallet's invoices (the newest `limit`, or up to 1000), oldest first",
  scope: "read",
  request: { query: z.object({ limit: z.string().max(16).optional() }) },
  response: z.array(l.UserInvoice),
});
lndhub.get("/lndhub/getuserinvoices", requireAuth("read"), async (c) => {
  const limitText = c.req.query("limit");
  const limit = limitText === undefined || limitText === "" ? LIST_MAX : Number.parseInt(limitText, 10);
  if (!Number.isSafeInteger(limit) || limit < 1) throw fail(8, "limit must be a positive whole number");
  const wallet = walletOf(c);
  // Counting from the wallet's first invoice needs them all; past LIST_MAX, add_index is left out.
  const newestFirst: Invoice[] = [];
  let cursor: string | null = null;
  do {
    const page = await wallet.listInvoices({ external_id: null, limit: PAGE, cursor });
    newestFirst.push(...page.invoices);
    cursor = page.next_cursor;
  } while (cursor !== null && newestFirst.length < LIST_MAX);
  const complete = cursor === null;
  const listed = newestFirst.slice(0, limit).map((invoice, i) => l.toUserInvoice(invoice, complete ? newestFirst.length - i : null));
  return c.json(listed.reverse(), 200);
});

doc({
  method: "get",
  path: "/lndhub/checkpayment/{payment_hash}",
  operationId: "lndhubCheckPayment",
  summary: "Whether one of the wallet's invoices is paid",
  scope: "read",
  request: { params: z.object({ payment_hash: z.string().max(64) }) },
  response: l.CheckPayment,
  errors: [404],
});
lndhub.get("/lndhub/checkpayment/:payment_hash", requireAuth("read"), async (c) => {
  const hash = c.req.param("payment_hash").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) throw fail(8, "payment_hash must be 64 hex characters");
  const result = await walletOf(c).getInvoice(hash);
  if (isRefusal(result)) throw refused(result);
  return c.json({ paid: result.body.status === "paid" }, 200);
});

doc({ method: "get", path: "/lndhub/getinfo", operationId: "lndhubGetInfo", summary: "The hub's Lightning node (LND's getinfo)", scope: "read", response: l.NodeInfo, errors: [503] });
lndhub.get("/lndhub/getinfo", requireAuth("read"), async (c) => {
  let info;
  try {
    info = await lndClient(c.env).getInfo();
  } catch {
    throw fail(7, "the Lightning node could not be reached");
  }
  return c.json(l.toNodeInfo(info, (c.env.BITCOIN_NETWORK || "bitcoin") !== "bitcoin"), 200);
});

doc({
  method: "get",
  path: "/lndhub/decodeinvoice",
  operationId: "lndhubDecodeInvoice",
  summary: "Decode a BOLT 11 invoice (LND's decodepayreq fields)",
  scope: "read",
  request: { query: z.object({ invoice: z.string().max(7089) }) },
  response: l.DecodedPayReq,
});
lndhub.get("/lndhub/decodeinvoice", requireAuth("read"), async (c) => {
  const invoice = c.req.query("invoice")?.trim();
  if (!invoice) throw fail(8, "give invoice");
  return c.json(l.toDecodedPayReq(decodeOrRefuse(invoice)), 200);
});

// On-chain is not offered: LndHub clients ask anyway, and an empty list is the answer they understand.
doc({ method: "get", path: "/lndhub/getbtc", operationId: "lndhubGetBtc", summary: "On-chain deposit addresses: none (not offered)", scope: "read", response: z.array(z.object({ address: z.string().openapi({ maxLength: 90 }) })) }); // none; 90: a bech32 address's limit
lndhub.get("/lndhub/getbtc", requireAuth("read"), (c) => c.json([], 200));
doc({ method: "get", path: "/lndhub/getpending", operationId: "lndhubGetPending", summary: "Unconfirmed on-chain deposits: none (not offered)", scope: "read", response: z.array(z.unknown()) });
lndhub.get("/lndhub/getpending", requireAuth("read"), (c) => c.json([], 200));

lndhub.all("/lndhub/*", (c) => {
  throw fail(8, `no route ${c.req.method} ${new URL(c.req.url).pathname}`, 404);
});
