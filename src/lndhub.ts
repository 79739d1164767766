import { z } from "@hono/zod-openapi";
import type { DecodedInvoice } from "./bolt11";
import type { NodeInfo as LndNodeInfo } from "./lightning";
import { boundedMessage, type ErrorCode } from "./errors";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT } from "./money";
import { CountOut, InvoiceTextOut, MsatOut, ORIGIN_MAX_LENGTH, SatOut, TimestampOut, hexOut } from "./response-bounds";
import {
  ApiKeyIdOut,
  ApiKeyNameOut,
  ApiKeyOut,
  ErrorMessageOut,
  InvoiceDescriptionOut,
  Memo,
  MemoOut,
  Scope,
  TransactionMemoOut,
  Uint16Out,
  Uint32Out,
} from "./schemas";
import type { Invoice, LightningPayment, Transaction } from "./wallet-types";

/**
 * The LNDHub API (BlueWallet's LndHub, also served by Alby's lndhub.go): its field names, its
 * error table and how the hub's objects read in it. Amounts are whole sat; times are unix seconds.
 * Decision 0009 says what maps to what.
 */

// ── Errors ─────────────────────────────────────────────────────────────────

/** LndHub's error codes (its doc/Send-requirements.md table and controllers/api.js). */
export const LNDHUB_CODE = {
  bad_auth: 1,
  not_enough_balance: 2,
  bad_partner: 3,
  not_a_valid_invoice: 4,
  route_not_found: 5,
  general_server_error: 6,
  lnd_failure: 7,
  bad_arguments: 8,
  try_again_later: 9,
  payment_failed: 10,
  sunset: 11,
} as const;
export type LndhubCode = (typeof LNDHUB_CODE)[keyof typeof LNDHUB_CODE];

/** LndHub's own wording for each code; the hub's detail follows it after a colon. */
const LNDHUB_MESSAGE: Record<LndhubCode, string> = {
  1: "bad auth",
  2: "not enough balance",
  3: "bad partner",
  4: "not a valid invoice",
  5: "route not found",
  6: "Something went wrong. Please try again later",
  7: "LND failure",
  8: "Bad arguments",
  9: "Payment is in transit",
  10: "Payment failed",
  11: "This LNDHub instance is not accepting any more users",
};

/** An LNDHub error: the body `{error: true, code, message}` and the HTTP status (lndhub.go's). */
export interface LndhubFailure {
  status: number;
  body: { error: true; code: LndhubCode; message: string };
}

export function lndhubFailure(code: LndhubCode, detail?: string, status?: number): LndhubFailure {
  const base = LNDHUB_MESSAGE[code];
  const message = detail && detail !== base ? `${base}: ${detail}` : base;
  return { status: status ?? defaultStatus(code), body: { error: true, code, message: boundedMessage(message) } };
}

function defaultStatus(code: LndhubCode): number {
  if (code === 1) return 401;
  if (code === 6) return 500;
  if (code === 7 || code === 9) return 503;
  if (code === 11) return 403;
  return 400;
}

/** The LndHub code (and HTTP status) of each of the hub's error codes. */
const FROM_HUB: Record<ErrorCode, { code: LndhubCode; status?: number }> = {
  invalid_request: { code: 8 },
  unauthorized: { code: 1 },
  forbidden: { code: 1, status: 403 },
  not_found: { code: 8, status: 404 },
  username_taken: { code: 6 },
  idempotency_conflict: { code: 8, status: 409 },
  conflict: { code: 8, status: 409 },
  payload_too_large: { code: 8, status: 413 },
  insufficient_balance: { code: 2 },
  invalid_payment_request: { code: 4 },
  invoice_expired: { code: 4 },
  // LndHub answers "LND failure" for an internal invoice already paid.
  already_paid: { code: 7, status: 409 },
  no_route: { code: 10 },
  lightning_unavailable: { code: 7 },
  self_payment: { code: 8 },
  unknown_recipient: { code: 8, status: 404 },
  rate_limited: { code: 1, status: 429 },
  internal: { code: 6 },
  // A second factor LndHub apps cannot give (decision 0011): "bad auth", as a credential that may not do this.
  totp_required: { code: 1, status: 403 },
  invalid_totp: { code: 1, status: 403 },
  // A spending limit is not a lack of money, but LndHub apps only know "not enough balance" for it.
  limit_exceeded: { code: 2, status: 422 },
  // LndHub has no word for a frozen account: "payment failed", with the hub's reason as the detail.
  account_frozen: { code: 10, status: 403 },
  // Rewards are no LndHub route (decision 0021): these never reach an LndHub app.
  already_claimed: { code: 8, status: 409 },
  budget_spent: { code: 8, status: 422 },
  program_ended: { code: 8, status: 410 },
  // On-chain withdrawals are no LndHub route (decision 0023).
  invalid_address: { code: 8 },
};

/** A hub refusal or `ApiError` in LndHub's terms (the hub's message kept as the detail). */
export function lndhubFailureOf(code: ErrorCode, message: string): LndhubFailure {
  const mapped = FROM_HUB[code];
  // Our own faults say nothing inside (as the hub's 500s do).
  return lndhubFailure(mapped.code, mapped.code === 6 ? undefined : message, mapped.status);
}

// ── Requests ───────────────────────────────────────────────────────────────

/** LndHub clients send whole sat as a number or a string ("1000"); BlueWallet sends strings. */
// The bounds are the document's (each field's refine below refuses what is over the payment bound, with its own message).
const Sats = z
  .union([z.number().openapi({ maximum: MAX_PAYMENT_SAT }), z.string().regex(/^\s*\d+\s*$/, "whole sat").openapi({ maxLength: 32 })])
  .transform((v) => Number(v));
const Hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, "64 hex characters").max(64);

/** `POST /create`: BlueWallet sends its partner id and an account type; both are only checked. */
export const CreateBody = z
  .object({ partnerid: z.string().max(64).optional(), accounttype: z.string().max(64).optional() })
  .openapi("LndhubCreateBody");

/** `POST /auth`: login and password, or (`?type=refresh_token`) a refresh token. */
export const AuthBody = z
  .object({ login: z.string().max(128).optional(), password: z.string().max(1024).optional(), refresh_token: z.string().max(1024).optional() })
  .openapi("LndhubAuthBody");

/** `POST /addinvoice`: `amt` in sat (0: the payer chooses), a memo, or a description hash (LNURL). */
export const AddInvoiceBody = z
  .object({
    amt: Sats.refine((n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_PAYMENT_SAT, `amt must be 0 to ${MAX_PAYMENT_SAT} sat`),
    memo: Memo.optional(),
    description_hash: z.union([Hex32, z.literal("")]).optional(),
  })
  .openapi("LndhubAddInvoiceBody");

/** `POST /payinvoice`: the invoice, and `amount` (sat) only for an invoice without one (0 means none). */
export const PayInvoiceBody = z
  .object({
    invoice: z.string().min(1).max(7089),
    amount: Sats.refine((n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_PAYMENT_SAT, `amount must be 0 to ${MAX_PAYMENT_SAT} sat`).optional(),
  })
  .openapi("LndhubPayInvoiceBody");

/** `POST /v1/lndhub/credentials`: an API key an LNDHub app logs in with (all scopes unless narrowed). */
export const CredentialsBody = z
  .object({
    name: z.string().min(1).max(100).optional().openapi({ description: 'default "LNDHub"' }),
    scopes: z.array(Scope).min(1).max(3).optional().openapi({ description: "default: read, receive, send (a full wallet)" }),
  })
  .strict();

export const DEFAULT_CREDENTIALS_NAME = "LNDHub";

/** Invoices made through LNDHub live as long as LndHub's do (a day). */
export const LNDHUB_INVOICE_EXPIRY_S = 24 * 3600;

// ── Responses ──────────────────────────────────────────────────────────────

export const LndhubError = z
  .object({ error: z.literal(true), code: z.number().int().openapi({ minimum: 1, maximum: 11 }), message: ErrorMessageOut })
  .openapi("LndhubError", { description: "1 bad auth, 2 not enough balance, 4 not a valid invoice, 6 server error, 7 LND failure, 8 bad arguments, 9 payment in transit, 10 payment failed, 11 no new users" });

/** What a Node.js Buffer becomes in JSON: LndHub returns LND's byte fields this way. */
const JsBuffer = z.object({ type: z.literal("Buffer"), data: z.array(z.number().int().openapi({ minimum: 0, maximum: 255 })) }).openapi("LndhubBuffer");

// Answers' bounds (src/response-bounds.ts): each as the hub made it or as its decoder read it.
/** Whole numbers LND's JSON gives as decimal text: safe integers here. */
const DecimalOut = z.string().openapi({ pattern: "^\\d{1,16}$", maxLength: 16 });
/** A description hash, or "" without one. */
const OptionalHash = z.string().openapi({ pattern: "^([0-9a-f]{64})?$", maxLength: 64 });
export type JsBuffer = z.infer<typeof JsBuffer>;

export const Credentials = z
  .object({
    id: ApiKeyIdOut.openapi({ description: "the API key's id: revoke with DELETE /v1/api-keys/{id}" }),
    login: ApiKeyIdOut,
    password: ApiKeyOut,
    // lndhubSecret: the key's id (36) and the key (105) at this hub's origin's /lndhub.
    secret: z.string().openapi({ example: "lndhub://key_…:fhk_…@https://hub.example.com/lndhub", maxLength: "lndhub://".length + 36 + 1 + 105 + 1 + ORIGIN_MAX_LENGTH + "/lndhub".length }),
    name: ApiKeyNameOut,
    scopes: z.array(Scope),
    created_at: TimestampOut,
  })
  .openapi("LndhubCredentials");

export const LoginAnswer = z.object({ login: ApiKeyIdOut, password: ApiKeyOut }).openapi("LndhubLogin");
// Both are the API key itself (workers/routes/lndhub.ts).
export const AuthTokens = z.object({ access_token: ApiKeyOut, refresh_token: ApiKeyOut }).openapi("LndhubTokens");
export const Balance = z.object({ BTC: z.object({ AvailableBalance: SatOut }) }).openapi("LndhubBalance");
export const CheckPayment = z.object({ paid: z.boolean() }).openapi("LndhubCheckPayment");

export const AddedInvoice = z
  .object({ r_hash: JsBuffer, payment_hash: hexOut(32), payment_request: InvoiceTextOut, pay_req: InvoiceTextOut })
  .openapi("LndhubAddedInvoice");

export const UserInvoice = z
  .object({
    r_hash: JsBuffer,
    payment_hash: hexOut(32),
    payment_request: InvoiceTextOut,
    pay_req: InvoiceTextOut,
    description: MemoOut,
    amt: SatOut,
    ispaid: z.boolean(),
    expire_time: CountOut,
    timestamp: CountOut,
    type: z.literal("user_invoice"),
    add_index: DecimalOut.optional().openapi({ description: "1 for the wallet's first invoice; absent when the list was cut short" }),
  })
  .openapi("LndhubUserInvoice");
export type UserInvoice = z.infer<typeof UserInvoice>;

export const PaidInvoice = z
  .object({
    type: z.literal("paid_invoice"),
    value: SatOut.openapi({ description: "sat spent: amount + fee" }),
    fee: SatOut,
    timestamp: CountOut,
    memo: TransactionMemoOut,
  })
  .openapi("LndhubPaidInvoice");
export type PaidInvoice = z.infer<typeof PaidInvoice>;

export const DecodedPayReq = z
  .object({
    destination: hexOut(33),
    payment_hash: hexOut(32),
    num_satoshis: DecimalOut,
    num_msat: DecimalOut,
    timestamp: DecimalOut,
    expiry: DecimalOut,
    description: InvoiceDescriptionOut,
    description_hash: OptionalHash,
    // Always "": the hub reads no fallback address (90: a bech32 address's limit).
    fallback_addr: z.string().openapi({ maxLength: 90 }),
    cltv_expiry: DecimalOut,
    route_hints: z.array(
      z.object({
        hop_hints: z.array(
          z.object({
            node_id: hexOut(33),
            // chanId: a 64-bit number in decimal.
            chan_id: z.string().openapi({ pattern: "^\\d{1,20}$", maxLength: 20 }),
            fee_base_msat: Uint32Out,
            fee_proportional_millionths: Uint32Out,
            cltv_expiry_delta: Uint16Out,
          }),
        ),
      }),
    ),
    payment_addr: hexOut(32),
    // Keys: feature bits in decimal (at most 5114); names: FEATURE_NAMES' or "unknown".
    features: z.record(z.string().openapi({ pattern: "^\\d{1,4}$", maxLength: 4 }), z.object({ name: z.string().openapi({ maxLength: 32 }), is_required: z.boolean(), is_known: z.boolean() })),
  })
  .openapi("LndhubDecodedInvoice");
export type DecodedPayReq = z.infer<typeof DecodedPayReq>;

export const PaymentResult = z
  .object({
    payment_error: ErrorMessageOut.openapi({ description: "always \"\": a payment that failed answers an error" }),
    payment_preimage: JsBuffer,
    payment_hash: JsBuffer,
    payment_route: z.object({
      total_amt: SatOut,
      total_fees: SatOut,
      total_amt_msat: MsatOut,
      total_fees_msat: MsatOut,
      total_time_lock: CountOut,
      hops: z.array(z.unknown()),
    }),
    pay_req: InvoiceTextOut,
    payment_request: InvoiceTextOut,
    num_satoshis: SatOut,
    description: InvoiceDescriptionOut,
    description_hash: OptionalHash,
    decoded: DecodedPayReq,
  })
  .openapi("LndhubPayment");
export type PaymentResult = z.infer<typeof PaymentResult>;

export const NodeInfo = z
  .object({
    // Cut to NODE_INFO_TEXT_MAX (toNodeInfo).
    identity_pubkey: z.string().openapi({ maxLength: 66 }),
    alias: z.string().openapi({ maxLength: 32 }),
    version: z.string().openapi({ maxLength: 128 }),
    block_height: CountOut,
    block_hash: z.string().openapi({ maxLength: 64 }),
    synced_to_chain: z.boolean(),
    testnet: z.boolean(),
    chains: z.array(z.object({ chain: z.string().openapi({ maxLength: 32 }), network: z.string().openapi({ maxLength: 32 }) })),
    uris: z.array(z.string().openapi({ maxLength: 66 + 1 + 253 + 6 })),
    num_active_channels: CountOut,
    num_peers: CountOut,
  })
  .openapi("LndhubInfo");

// ── Mappings ───────────────────────────────────────────────────────────────

/** msat to whole sat: what a wallet holds or receives rounds down, what it spends rounds up. */
export const satDown = (msat: number): number => Math.floor(msat / MSAT_PER_SAT);
export const satUp = (msat: number): number => Math.ceil(msat / MSAT_PER_SAT);
const unixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

export function jsBuffer(hex: string): JsBuffer {
  return { type: "Buffer", data: (hex.match(/../g) ?? []).map((h) => parseInt(h, 16)) };
}

/** The `lndhub://login:password@url` string wallets import (url: the hub's `/lndhub` base). */
export const lndhubSecret = (login: string, password: string, baseUrl: string): string => `lndhub://${login}:${password}@${baseUrl}`;

/** One of the wallet's invoices as `getuserinvoices` lists it; `add_index` counts from its first. */
export function toUserInvoice(invoice: Invoice, add_index: number | null): UserInvoice {
  const paid = invoice.status === "paid";
  const received = paid && invoice.paid_msat !== null ? invoice.paid_msat : 0;
  return {
    r_hash: jsBuffer(invoice.payment_hash),
    payment_hash: invoice.payment_hash,
    payment_request: invoice.payment_request,
    pay_req: invoice.payment_request,
    description: invoice.memo ?? "",
    amt: satDown(Math.max(received, invoice.amount_msat ?? 0)),
    ispaid: paid,
    expire_time: Math.round((Date.parse(invoice.expires_at) - Date.parse(invoice.created_at)) / 1000),
    timestamp: unixSeconds(invoice.created_at),
    type: "user_invoice",
    ...(add_index === null ? {} : { add_index: String(add_index) }),
  };
}

/** Whether a history row is one `gettxs` lists: money the wallet sent that has not come back. */
export const isPaidOut = (t: Transaction): boolean => t.direction === "out" && t.status !== "failed";

/** An outgoing payment (Lightning or inside the hub) as `gettxs` lists it. */
export function toPaidInvoice(t: Transaction): PaidInvoice {
  return {
    type: "paid_invoice",
    value: satUp(t.amount_msat + t.fee_msat),
    fee: satUp(t.fee_msat),
    timestamp: unixSeconds(t.created_at),
    memo: t.memo ?? "",
  };
}

/** BOLT 11's `BLOCKxTXxOUT` as LND's 64-bit channel id, in decimal. */
export function chanId(short_channel_id: string): string {
  const [block, tx, out] = short_channel_id.split("x").map((n) => BigInt(n));
  return ((block! << 40n) | (tx! << 16n) | out!).toString();
}

/** Names LND gives the feature bits invoices carry (the pair's even bit; lnwire/features.go). */
const FEATURE_NAMES: Record<number, string> = {
  0: "data-loss-protect",
  8: "tlv-onion",
  14: "payment-addr",
  16: "multi-path-payments",
  24: "route-blinding",
  30: "amp",
  48: "payment-metadata",
};

/** A decoded invoice in LND's `decodepayreq` JSON (what LndHub's `/decodeinvoice` returns). */
export function toDecodedPayReq(d: DecodedInvoice): DecodedPayReq {
  const msat = d.amount_msat ?? 0;
  return {
    destination: d.payee,
    payment_hash: d.payment_hash,
    num_satoshis: String(satDown(msat)),
    num_msat: String(msat),
    timestamp: String(d.timestamp),
    expiry: String(d.expiry_s),
    description: d.description ?? "",
    description_hash: d.description_hash ?? "",
    fallback_addr: "",
    cltv_expiry: String(d.min_final_cltv_expiry),
    route_hints: d.route_hints.map((hint) => ({
      hop_hints: hint.map((hop) => ({
        node_id: hop.pubkey,
        chan_id: chanId(hop.short_channel_id),
        fee_base_msat: hop.fee_base_msat,
        fee_proportional_millionths: hop.fee_proportional_millionths,
        cltv_expiry_delta: hop.cltv_expiry_delta,
      })),
    })),
    payment_addr: d.payment_secret,
    features: Object.fromEntries(
      d.features.map((bit) => {
        const name = FEATURE_NAMES[bit - (bit % 2)];
        return [String(bit), { name: name ?? "unknown", is_required: bit % 2 === 0, is_known: name !== undefined }];
      }),
    ),
  };
}

/**
 * The longest text of LND's getinfo that `/lndhub/getinfo` passes on (the document's bounds). The
 * node is the operator's own and trusted, but its words are not the hub's: a longer one is cut.
 * A pubkey is 33 bytes and a block hash 32, in hex; an alias at most 32 bytes (BOLT 7); a URI is
 * `<pubkey>@<host>:<port>` (a host at most 253 characters).
 */
export const NODE_INFO_TEXT_MAX = { identity_pubkey: 66, alias: 32, version: 128, block_hash: 64, chain: 32, network: 32, uri: 66 + 1 + 253 + 6 } as const;

/** `s` at most `max` characters, never cut inside a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** LND's getinfo as LndHub answers it, its text cut to NODE_INFO_TEXT_MAX. */
export function toNodeInfo(info: LndNodeInfo, testnet: boolean): z.infer<typeof NodeInfo> {
  const max = NODE_INFO_TEXT_MAX;
  return {
    identity_pubkey: cut(info.identity_pubkey, max.identity_pubkey),
    alias: cut(info.alias, max.alias),
    version: cut(info.version, max.version),
    block_height: info.block_height,
    block_hash: cut(info.block_hash, max.block_hash),
    synced_to_chain: info.synced_to_chain,
    testnet,
    chains: info.chains.map((c) => ({ chain: cut(c.chain, max.chain), network: cut(c.network, max.network) })),
    uris: info.uris.map((u) => cut(u, max.uri)),
    num_active_channels: info.num_active_channels,
    num_peers: info.num_peers,
  };
}

/** A succeeded payment as LndHub answers `/payinvoice` (LND's SendResponse, with the invoice). */
export function toPaymentResult(payment: LightningPayment & { preimage: string }, payment_request: string, decoded: DecodedInvoice): PaymentResult {
  return {
    payment_error: "",
    payment_preimage: jsBuffer(payment.preimage),
    payment_hash: jsBuffer(payment.payment_hash),
    payment_route: {
      // As LND counts it: the amount with the fees.
      total_amt: satUp(payment.amount_msat + payment.fee_msat),
      total_fees: satUp(payment.fee_msat),
      total_amt_msat: payment.amount_msat + payment.fee_msat,
      total_fees_msat: payment.fee_msat,
      total_time_lock: 0,
      hops: [],
    },
    pay_req: payment_request,
    payment_request,
    num_satoshis: satDown(payment.amount_msat),
    description: decoded.description ?? "",
    description_hash: decoded.description_hash ?? "",
    decoded: toDecodedPayReq(decoded),
  };
}
