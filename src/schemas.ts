import { z } from "@hono/zod-openapi";
import { ALL_SCOPES } from "./auth/tokens";
import { MAX_INVOICE_LENGTH } from "./bolt11";
import { ENCRYPTION_PUBLIC_KEY_PATTERN, ENCRYPTION_PUBLIC_KEY_RULE } from "./encryption-key";
import { USERNAME_PATTERN, USERNAME_RULE, isReservedUsername } from "./identifiers";
import { MAX_FAUCET_SAT, MAX_PAYMENT_SAT } from "./money";
import { INVOICE_EXPIRY, INVOICE_METADATA } from "./payment-rules";

/**
 * Request and response schemas: the same objects validate requests and generate /openapi.json,
 * so the documentation cannot drift from what the hub accepts. The contract's types are inferred
 * from them (`type X = z.infer<typeof X>`): there is no second, hand-written copy to drift either.
 */

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** A username to register: any case in, stored lower-case (the contract's `[a-z0-9_]`); reserved names refused. */
export const Username = z
  .string()
  .regex(USERNAME_PATTERN, USERNAME_RULE)
  .max(32)
  .transform((s) => s.toLowerCase())
  .refine((s) => !isReservedUsername(s), "that username is reserved")
  .openapi({ example: "alice" });

export const Password = z.string().min(8, "at least 8 characters").max(1024).openapi({ example: "correct horse battery staple" });

/** A whole, positive number of satoshis within the per-payment bound. */
export const amountSat = (max: number) => z.number().int().positive().max(max).openapi({ example: 1000 });

/** BOLT 11 bounds descriptions to 639 bytes; the contract applies that to every memo. */
export const Memo = z
  .string()
  .refine((s) => utf8Bytes(s) <= 639, "memo is limited to 639 bytes")
  // Never more characters than bytes: a bound the byte check already implies, for the document.
  .max(639)
  .openapi({ example: "coffee" });

export const Scope = z.enum(ALL_SCOPES);

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi("Error");

export const CreateAccountBody = z.object({ username: Username, password: Password }).strict();
export const AccountCreated = z
  .object({
    account_id: z.string(),
    wallet_id: z.string(),
    username: z.string(),
    access_token: z.string(),
    refresh_token: z.string(),
    expires_in: z.number(),
    token_type: z.literal("Bearer"),
  })
  .openapi("AccountCreated");
export type AccountCreated = z.infer<typeof AccountCreated>;

export const LoginBody = z.object({ username: z.string().max(64), password: z.string().max(1024), totp_code: z.string().max(16).optional() }).strict();
export const RefreshBody = z.object({ refresh_token: z.string().max(256) }).strict();
export const Tokens = z.object({ access_token: z.string(), refresh_token: z.string(), expires_in: z.number(), token_type: z.literal("Bearer") }).openapi("Tokens");
export type Tokens = z.infer<typeof Tokens>;

export const CreateApiKeyBody = z.object({ name: z.string().min(1).max(100), scopes: z.array(Scope).min(1).max(3) }).strict();
export const ApiKeyCreated = z
  .object({ id: z.string(), key: z.string(), name: z.string(), scopes: z.array(Scope), created_at: z.string() })
  .openapi("ApiKeyCreated");
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;
export const ApiKeyInfo = z
  .object({ id: z.string(), name: z.string(), scopes: z.array(Scope), created_at: z.string(), revoked_at: z.string().nullable() })
  .openapi("ApiKey");
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const Counterparty = z.object({ wallet_id: z.string(), username: z.string() });
export type Counterparty = z.infer<typeof Counterparty>;
export const Transaction = z
  .object({
    id: z.string(),
    kind: z.enum(["intraledger", "lightning", "onchain", "reward", "faucet"]),
    direction: z.enum(["in", "out"]),
    amount_msat: z.number().int(),
    fee_msat: z.number().int(),
    status: z.enum(["pending", "succeeded", "failed"]),
    counterparty: Counterparty.nullable(),
    memo: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Transaction");
/** A row of the user-visible payment history (the contract's transaction object). */
export type Transaction = z.infer<typeof Transaction>;

/** A page of a list, newest first: its size, and where it starts (the previous page's `next_cursor`). */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/, "use next_cursor from the previous page").max(15).optional(),
});

export const Wallet = z.object({ wallet_id: z.string(), balance_msat: z.number().int(), pending_out_msat: z.number().int() }).openapi("Wallet");
export type Wallet = z.infer<typeof Wallet>;
export const TransactionsQuery = PageQuery;
export const TransactionPage = z.object({ transactions: z.array(Transaction), next_cursor: z.string().nullable() }).openapi("TransactionPage");
export type TransactionPage = z.infer<typeof TransactionPage>;

export const IntraledgerBody = z
  .object({
    to: z.string().min(1).max(64).openapi({ description: "username or wallet_id", example: "bob" }),
    amount_sat: amountSat(MAX_PAYMENT_SAT),
    memo: Memo.optional(),
  })
  .strict();
export const TransferResult = z.object({ status: z.enum(["succeeded", "pending", "failed"]), transaction: Transaction }).openapi("TransferResult");
export type TransferResult = z.infer<typeof TransferResult>;

export const FaucetBody = z.object({ amount_sat: amountSat(MAX_FAUCET_SAT) }).strict();
export const FaucetResult = z
  .object({ status: z.literal("succeeded"), transaction: Transaction, balance_msat: z.number().int() })
  .openapi("FaucetResult");
export type FaucetResult = z.infer<typeof FaucetResult>;

/** One entry of a wallet's event log (typed as `WalletEvent` in wallet-types.ts). */
export const Event = z
  .object({ seq: z.number().int(), type: z.string(), created_at: z.string(), data: z.record(z.string(), z.unknown()) })
  .openapi("Event");
/** Events from this `seq` on (0: from the first). */
const EventsAfter = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0);
export const EventsQuery = z.object({
  after: EventsAfter,
  // The contract caps rather than refuses large limits.
  limit: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(100).transform((n) => Math.min(n, 1000)),
});
// The credential is checked before the query (requireAuth): one longer than any of ours is refused there (401).
export const EventStreamQuery = z.object({ after: EventsAfter, access_token: z.string().max(4096).optional() });
export const EventPage = z.object({ events: z.array(Event) }).openapi("EventPage");
export type EventPage = z.infer<typeof EventPage>;

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters").max(64);
const PaymentRequest = z.string().min(1).max(MAX_INVOICE_LENGTH).openapi({ description: "a BOLT 11 invoice" });

/** A partner's own data on an invoice: string values, at most 20 keys and 1 KB as JSON. */
export const InvoiceMetadata = z
  .record(z.string().min(1).max(64), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= INVOICE_METADATA.max_keys, `metadata holds at most ${INVOICE_METADATA.max_keys} keys`)
  .refine((m) => utf8Bytes(JSON.stringify(m)) <= INVOICE_METADATA.max_bytes, `metadata is limited to ${INVOICE_METADATA.max_bytes} bytes as JSON`)
  .openapi({ example: { order_id: "A-1001" } });
export const ExternalId = z
  .string()
  .min(1)
  .max(INVOICE_METADATA.external_id_max, `external_id is limited to ${INVOICE_METADATA.external_id_max} characters`)
  .openapi({ description: "the partner's own id for the invoice: unique per account", example: "order-1001" });

export const CreateInvoiceBody = z
  .object({
    amount_sat: amountSat(MAX_PAYMENT_SAT).optional(),
    memo: Memo.optional(),
    metadata: InvoiceMetadata.optional(),
    external_id: ExternalId.optional(),
    expiry_s: z
      .number()
      .int()
      .min(INVOICE_EXPIRY.min_s)
      .max(INVOICE_EXPIRY.max_s)
      .optional()
      .openapi({ description: `seconds; default ${INVOICE_EXPIRY.default_s}` }),
  })
  .strict();
export const Invoice = z
  .object({
    payment_hash: z.string(),
    payment_request: z.string(),
    amount_msat: z.number().int().nullable(),
    memo: z.string().nullable(),
    status: z.enum(["open", "paid", "expired", "canceled"]),
    expires_at: z.string(),
    created_at: z.string(),
    paid_at: z.string().nullable(),
    paid_msat: z.number().int().nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    external_id: z.string().nullable(),
    comment: z.string().nullable().openapi({ description: "the payer's comment (LNURL-pay, LUD-12)" }),
  })
  .openapi("Invoice");
export const InvoicesQuery = z.object({ external_id: ExternalId.optional(), ...PageQuery.shape });
export const InvoicePage = z.object({ invoices: z.array(Invoice), next_cursor: z.string().nullable() }).openapi("InvoicePage");
export type InvoicePage = z.infer<typeof InvoicePage>;
/** A hold invoice a wallet issued (the contract's invoice object). */
export type Invoice = z.infer<typeof Invoice>;
export const PaymentHashParam = z.object({ payment_hash: Hex32 });

export const DecodeBody = z.object({ payment_request: PaymentRequest }).strict();
export const DecodedInvoice = z
  .object({
    network: z.enum(["bitcoin", "testnet", "signet", "regtest"]),
    amount_msat: z.number().int().nullable(),
    payment_hash: z.string(),
    description: z.string().nullable(),
    description_hash: z.string().nullable(),
    payee: z.string(),
    created_at: z.string(),
    expires_at: z.string(),
    min_final_cltv_expiry: z.number().int(),
    payment_secret: z.string(),
    features: z.array(z.number().int()),
    route_hints: z.array(z.array(z.object({ pubkey: z.string(), short_channel_id: z.string(), fee_base_msat: z.number(), fee_proportional_millionths: z.number(), cltv_expiry_delta: z.number() }))),
  })
  .openapi("DecodedInvoice");

export const LightningPayBody = z
  .object({
    payment_request: PaymentRequest,
    amount_sat: amountSat(MAX_PAYMENT_SAT).optional().openapi({ description: "only for invoices without an amount" }),
    max_fee_sat: z.number().int().min(0).max(MAX_PAYMENT_SAT).optional().openapi({ description: "default max(10 sat, 0.5 %)" }),
  })
  .strict();
export const EstimateBody = z.object({ payment_request: PaymentRequest, amount_sat: amountSat(MAX_PAYMENT_SAT).optional() }).strict();
export const FeeEstimate = z.object({ fee_msat: z.number().int(), internal: z.boolean(), max_fee_msat: z.number().int() }).openapi("FeeEstimate");
export type FeeEstimate = z.infer<typeof FeeEstimate>;
export const LightningPayment = z
  .object({
    status: z.enum(["succeeded", "pending", "failed"]),
    payment_hash: z.string(),
    amount_msat: z.number().int(),
    fee_msat: z.number().int(),
    preimage: z.string().optional(),
    failure_reason: z.string().optional(),
    transaction: Transaction,
  })
  .openapi("LightningPayment");
/** The contract's answer to POST /v1/payments/lightning. */
export type LightningPayment = z.infer<typeof LightningPayment>;

export const SimPayBody = z
  .object({
    payment_request: PaymentRequest,
    amount_sat: amountSat(MAX_PAYMENT_SAT).optional(),
    wait_ms: z.number().int().min(0).max(60_000).optional().openapi({ description: "how long the payer waits for settlement (default 5000)" }),
    drop_invoice_events: z.boolean().optional().openapi({ description: "simulate a lost ACCEPTED event: only the hub's sweep finds the payment" }),
  })
  .strict();
export const SimInvoiceBody = z.object({ amount_sat: amountSat(MAX_PAYMENT_SAT), memo: Memo.optional() }).strict();

/** A user's x-only secp256k1 public key for end-to-end encrypted messages (NIP-44). */
export const EncryptionPublicKey = z
  .string()
  .regex(ENCRYPTION_PUBLIC_KEY_PATTERN, ENCRYPTION_PUBLIC_KEY_RULE)
  .max(64)
  .openapi({
    description: "32-byte x-only secp256k1 public key, 64 lowercase hex; x must lie on the curve",
    example: "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  });
export const EncryptionKeyBody = z.object({ public_key: EncryptionPublicKey }).strict();
export const EncryptionKeySet = z
  .object({ username: z.string(), encryption_public_key: z.string() })
  .openapi("EncryptionKeySet");
export type EncryptionKeySet = z.infer<typeof EncryptionKeySet>;

/** Any name may be asked for; one that is not a username is simply not found. */
// A longer name is no user's (404 as for any unknown name): the bound is the document's, the answer unchanged.
export const UsernameParam = z.object({ username: z.string().openapi({ description: "case-insensitive", example: "alice", maxLength: 32 }) });
export const UserProfile = z
  .object({
    username: z.string().openapi({ description: "as its owner spells it" }),
    wallet_id: z.string(),
    lightning_address: z.string().openapi({ description: "<username, lower-cased>@<this hub's host>", example: "alice@hub.example.com" }),
    encryption_public_key: z.string().nullable().openapi({ description: "x-only secp256k1 public key (hex), or null if none was set" }),
  })
  .openapi("UserProfile");
/** The contract's answer to GET /v1/users/{username}. */
export type UserProfile = z.infer<typeof UserProfile>;

// ── Security: TOTP and account settings (docs/decisions/0011) ──────────────

/** A TOTP code as sent: its shape is checked where it is verified (a malformed code is simply wrong). */
export const TotpCode = z.string().max(16).openapi({ description: "the 6-digit code of the account's authenticator app", example: "123456" });
export const TotpCodeBody = z.object({ code: TotpCode }).strict();
/** The header a send above the threshold, or a sensitive action, carries the code in when TOTP is on. */
export const TotpCodeHeader = z.object({
  "x-totp-code": TotpCode.optional().openapi({ description: "needed when TOTP is on: for a send above totp_threshold_sat, a new credential or webhook, a settings change" }),
});
export const TotpEnrolment = z
  .object({
    secret: z.string().openapi({ description: "base32; shown only in this answer", example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" }),
    otpauth_url: z.string().openapi({ description: "otpauth://totp/… for a QR code (SHA-1, 6 digits, 30 s)" }),
  })
  .openapi("TotpEnrolment");
export type TotpEnrolment = z.infer<typeof TotpEnrolment>;
const TotpThresholdSat = z.number().int().openapi({ description: "with TOTP on, a send above this needs X-TOTP-Code", example: 100000 });
export const AccountSettings = z
  .object({
    totp: z.enum(["off", "pending", "enabled"]).openapi({ description: "pending: enrolled, not yet confirmed by a code" }),
    totp_threshold_sat: TotpThresholdSat,
  })
  .openapi("AccountSettings");
export type AccountSettings = z.infer<typeof AccountSettings>;
export const AccountSettingsBody = z.object({ totp_threshold_sat: z.number().int().min(0).max(MAX_PAYMENT_SAT) }).strict();

// ── Limits (docs/decisions/0012; the levels and their limits are src/limits.ts) ──

export const AccountLimit = z
  .object({
    kind: z.enum(["send", "intraledger", "withdrawal"]).openapi({ description: "send: all outgoing money; intraledger: to other wallets of this hub; withdrawal: leaving the hub" }),
    window_s: z.number().int().openapi({ description: "the rolling window: what was spent in the last window_s seconds counts", example: 86400 }),
    limit_sat: z.number().int(),
    used_sat: z.number().int().openapi({ description: "amounts paid in the window (rounded up; fees, failed and returned payments do not count)" }),
    remaining_sat: z.number().int().openapi({ description: "what a payment may still be (rounded down)" }),
  })
  .openapi("AccountLimit");
export const AccountLimits = z
  .object({
    level: z.number().int().openapi({ description: "0 restricted, 1 standard (a new account), 2 verified", example: 1 }),
    totp_threshold_sat: TotpThresholdSat,
    limits: z.array(AccountLimit),
  })
  .openapi("AccountLimits");
/** The contract's answer to GET /v1/account/limits. */
export type AccountLimits = z.infer<typeof AccountLimits>;

// ── Sessions (docs/decisions/0014) ──

export const LogoutBody = z.object({ refresh_token: z.string().max(256) }).strict();
export const LoggedOut = z.object({ logged_out: z.literal(true) }).openapi("LoggedOut");
export const LoggedOutEverywhere = z
  .object({
    logged_out: z.literal(true),
    revoked_before: z.string().openapi({ description: "access tokens issued before this instant are refused (every edge within seconds)", example: "2026-11-29T15:00:01.000Z" }),
  })
  .openapi("LoggedOutEverywhere");
