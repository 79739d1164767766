import { z } from "@hono/zod-openapi";
import { ACCESS_TOKEN_TTL_S, ALL_SCOPES } from "./auth/tokens";
import { MESSAGE_TEXT } from "./chat";
import { MAX_INVOICE_LENGTH } from "./bolt11";
import { PAY_MAX_PARTS } from "./payment-rules";
import { ERROR_MESSAGE_MAX_LENGTH } from "./errors";
import { ENCRYPTION_PUBLIC_KEY_PATTERN, ENCRYPTION_PUBLIC_KEY_RULE } from "./encryption-key";
import { USERNAME_PATTERN, USERNAME_RULE, isReservedUsername } from "./identifiers";
import { MAX_FAUCET_SAT, MAX_PAYMENT_SAT } from "./money";
import { ACCOUNT_LEVELS, LIMIT_WINDOW_S } from "./limits";
import { INVOICE_EXPIRY, INVOICE_METADATA } from "./payment-rules";
import {
  AccountIdOut,
  CountOut,
  ErrorCodeOut,
  HOST_MAX_LENGTH,
  InvoiceTextOut,
  MsatOut,
  PositionCursorOut,
  SatOut,
  TimestampOut,
  UsernameOut,
  WalletIdOut,
  hexOut,
  hubId,
} from "./response-bounds";

/**
 * Request and response schemas: the same objects validate requests and generate /openapi.json,
 * so the documentation cannot drift from what the hub accepts. The contract's types are inferred
 * from them (`type X = z.infer<typeof X>`): there is no second, hand-written copy to drift either.
 */

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

// ── What answers carry, bounded for the document (src/response-bounds.ts) ──

/** An access token (src/auth/tokens.ts): an EdDSA JWT of at most 505 characters (header 106 with its 43-character kid, claims 311 with a 32-character username and 11-digit times, signature 86). */
const AccessTokenOut = z.string().openapi({ pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", maxLength: 512 });
/** `newAccountSecret` (src/auth/tokens.ts): `<prefix>_<account id>_` and 256 bits of hex. */
const accountSecretOut = (prefix: string) => z.string().openapi({ pattern: `^${prefix}_acc_[0-9a-f]{32}_[0-9a-f]{64}$`, maxLength: prefix.length + 102 });
const RefreshTokenOut = accountSecretOut("rt");
export const ApiKeyOut = accountSecretOut("fhk");
export const ApiKeyIdOut = hubId("key");
/** Every API key's name went through CreateApiKeyBody or the LNDHub export's CredentialsBody (both at most 100), or is the export's default. */
export const ApiKeyNameOut = z.string().openapi({ maxLength: 100 });
/** Seconds an access token lives (ACCESS_TOKEN_TTL_S). */
const ExpiresInOut = z.number().int().openapi({ minimum: 1, maximum: ACCESS_TOKEN_TTL_S });
/** An error's message: the hub's own words, cut at ERROR_MESSAGE_MAX_LENGTH where they leave (workers/errors.ts `errorJson`). */
export const ErrorMessageOut = z.string().openapi({ maxLength: ERROR_MESSAGE_MAX_LENGTH });
/** A memo as an invoice or a transfer stores it: checked as Memo (at most 639 bytes) when made. */
export const MemoOut = z.string().openapi({ maxLength: 639 });
/**
 * A history row's memo: a Memo, an invoice's description (BOLT 11: at most 639 bytes), or the
 * text of a chat payment (MESSAGE_TEXT.max characters: longer than a Memo, and not checked
 * against the 639 bytes).
 */
export const TransactionMemoOut = z.string().openapi({ maxLength: Math.max(639, MESSAGE_TEXT.max) });
/** A wallet event's or an audit entry's type: a dotted name such as `invoice.paid` (src/wallet-types.ts, src/audit.ts). */
export const EventTypeOut = z.string().openapi({ pattern: "^[a-z_]+(\\.[a-z_]+)*$", maxLength: 64 });

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
  .object({ error: z.object({ code: ErrorCodeOut, message: ErrorMessageOut }) })
  .openapi("Error");

export const CreateAccountBody = z.object({ username: Username, password: Password }).strict();
export const AccountCreated = z
  .object({
    account_id: AccountIdOut,
    wallet_id: WalletIdOut,
    username: UsernameOut,
    access_token: AccessTokenOut,
    refresh_token: RefreshTokenOut,
    expires_in: ExpiresInOut,
    token_type: z.literal("Bearer"),
  })
  .openapi("AccountCreated");
export type AccountCreated = z.infer<typeof AccountCreated>;

export const LoginBody = z.object({ username: z.string().max(64), password: z.string().max(1024), totp_code: z.string().max(16).optional() }).strict();
export const RefreshBody = z.object({ refresh_token: z.string().max(256) }).strict();
export const Tokens = z.object({ access_token: AccessTokenOut, refresh_token: RefreshTokenOut, expires_in: ExpiresInOut, token_type: z.literal("Bearer") }).openapi("Tokens");
export type Tokens = z.infer<typeof Tokens>;

export const CreateApiKeyBody = z.object({ name: z.string().min(1).max(100), scopes: z.array(Scope).min(1).max(3) }).strict();
export const ApiKeyCreated = z
  .object({ id: ApiKeyIdOut, key: ApiKeyOut, name: ApiKeyNameOut, scopes: z.array(Scope), created_at: TimestampOut })
  .openapi("ApiKeyCreated");
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;
export const ApiKeyInfo = z
  .object({ id: ApiKeyIdOut, name: ApiKeyNameOut, scopes: z.array(Scope), created_at: TimestampOut, revoked_at: TimestampOut.nullable() })
  .openapi("ApiKey");
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const Counterparty = z.object({ wallet_id: WalletIdOut, username: UsernameOut });
export type Counterparty = z.infer<typeof Counterparty>;
export const Transaction = z
  .object({
    id: hubId("tx"),
    kind: z.enum(["intraledger", "lightning", "onchain", "reward", "faucet"]),
    direction: z.enum(["in", "out"]),
    amount_msat: MsatOut,
    fee_msat: MsatOut,
    status: z.enum(["pending", "succeeded", "failed"]),
    counterparty: Counterparty.nullable(),
    memo: TransactionMemoOut.nullable(),
    created_at: TimestampOut,
  })
  .openapi("Transaction");
/** A row of the user-visible payment history (the contract's transaction object). */
export type Transaction = z.infer<typeof Transaction>;

/** A page of a list, newest first: its size, and where it starts (the previous page's `next_cursor`). */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/, "use next_cursor from the previous page").max(15).optional(),
});

export const Wallet = z.object({ wallet_id: WalletIdOut, balance_msat: MsatOut, pending_out_msat: MsatOut }).openapi("Wallet");
export type Wallet = z.infer<typeof Wallet>;
export const TransactionsQuery = PageQuery;
export const TransactionPage = z.object({ transactions: z.array(Transaction), next_cursor: PositionCursorOut.nullable() }).openapi("TransactionPage");
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
  .object({ status: z.literal("succeeded"), transaction: Transaction, balance_msat: MsatOut })
  .openapi("FaucetResult");
export type FaucetResult = z.infer<typeof FaucetResult>;

/** One entry of a wallet's event log (typed as `WalletEvent` in wallet-types.ts). */
export const Event = z
  .object({ seq: CountOut, type: EventTypeOut, created_at: TimestampOut, data: z.record(z.string(), z.unknown()) })
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
    amp: z
      .boolean()
      .optional()
      .openapi({
        description:
          "an AMP invoice (LND AddInvoice is_amp): payable any number of times until it expires, each payment (HTLC set) settled by LND under its own " +
          "set id and credited once, listed in amp_payments; the status stays open. The payer must pay with AMP.",
      }),
  })
  .strict();
/** One payment of an AMP invoice. */
export const AmpInvoicePayment = z
  .object({
    set_id: hexOut(32).nullable().openapi({ description: "LND's set id of this payment; null when another hub wallet paid it inside the hub" }),
    amount_msat: MsatOut,
    paid_at: TimestampOut,
    transaction_id: hubId("tx"),
  })
  .openapi("AmpInvoicePayment");
export const Invoice = z
  .object({
    payment_hash: hexOut(32),
    payment_request: InvoiceTextOut,
    amount_msat: MsatOut.nullable(),
    memo: MemoOut.nullable(),
    status: z.enum(["open", "paid", "expired", "canceled"]),
    expires_at: TimestampOut,
    created_at: TimestampOut,
    paid_at: TimestampOut.nullable(),
    paid_msat: MsatOut.nullable(),
    // As InvoiceMetadata took them.
    metadata: z.record(z.string().openapi({ maxLength: 64 }), z.string().openapi({ maxLength: 1024 })).nullable(),
    external_id: z.string().openapi({ maxLength: INVOICE_METADATA.external_id_max }).nullable(),
    // LUD-12: at most COMMENT_ALLOWED (src/lnurl.ts, 255; not imported: lnurl.ts imports this file) characters, as the callback checked it.
    comment: z.string().openapi({ maxLength: 255 }).nullable().openapi({ description: "the payer's comment (LNURL-pay, LUD-12)" }),
    amp: z.literal(true).optional().openapi({ description: "present on AMP invoices (docs/decisions/0025)" }),
    amp_payments: z.array(AmpInvoicePayment).optional().openapi({ description: "AMP invoices: each payment, oldest first (paid_msat is their sum)" }),
  })
  .openapi("Invoice");
export const InvoicesQuery = z.object({ external_id: ExternalId.optional(), ...PageQuery.shape });
export const InvoicePage = z.object({ invoices: z.array(Invoice), next_cursor: PositionCursorOut.nullable() }).openapi("InvoicePage");
export type InvoicePage = z.infer<typeof InvoicePage>;
/** A hold invoice a wallet issued (the contract's invoice object). */
export type Invoice = z.infer<typeof Invoice>;
export const PaymentHashParam = z.object({ payment_hash: Hex32 });

export const DecodeBody = z.object({ payment_request: PaymentRequest }).strict();

// What src/bolt11's decoder can read: a tagged field holds at most 1023 words (639 bytes); route hints' numbers are 32 and 16 bits.
/** A description (at most 639 bytes of UTF-8, so at most 639 characters). */
export const InvoiceDescriptionOut = z.string().openapi({ maxLength: 639 });
/** A feature bit's number: the field's 1023 words hold bits 0 to 5114. */
export const FeatureBitOut = z.number().int().openapi({ minimum: 0, maximum: 1023 * 5 - 1 });
/** `BLOCKxTXxOUT` within 24, 24 and 16 bits (src/bolt11/route-hints.ts). */
export const ShortChannelIdOut = z.string().openapi({ pattern: "^\\d{1,8}x\\d{1,8}x\\d{1,5}$", maxLength: 23 });
export const Uint32Out = z.number().int().openapi({ minimum: 0, maximum: 2 ** 32 - 1 });
export const Uint16Out = z.number().int().openapi({ minimum: 0, maximum: 2 ** 16 - 1 });
export const DecodedInvoice = z
  .object({
    network: z.enum(["bitcoin", "testnet", "signet", "regtest"]),
    amount_msat: MsatOut.nullable(),
    payment_hash: hexOut(32),
    description: InvoiceDescriptionOut.nullable(),
    description_hash: hexOut(32).nullable(),
    payee: hexOut(33),
    created_at: TimestampOut,
    expires_at: TimestampOut,
    min_final_cltv_expiry: CountOut,
    payment_secret: hexOut(32),
    features: z.array(FeatureBitOut),
    route_hints: z.array(
      z.array(
        z.object({
          pubkey: hexOut(33),
          short_channel_id: ShortChannelIdOut,
          fee_base_msat: Uint32Out,
          fee_proportional_millionths: Uint32Out,
          cltv_expiry_delta: Uint16Out,
        }),
      ),
    ),
  })
  .openapi("DecodedInvoice");

export const LightningPayBody = z
  .object({
    payment_request: PaymentRequest,
    amount_sat: amountSat(MAX_PAYMENT_SAT).optional().openapi({ description: "only for invoices without an amount" }),
    max_fee_sat: z.number().int().min(0).max(MAX_PAYMENT_SAT).optional().openapi({ description: "default max(10 sat, 0.5 %)" }),
    max_parts: z.number().int().min(1).max(PAY_MAX_PARTS).optional().openapi({ description: `the most parts LND may split the payment into (MPP; default ${PAY_MAX_PARTS}); 1: one route` }),
    amp: z
      .boolean()
      .optional()
      .openapi({
        description:
          "pay by AMP: an invoice with the AMP feature (bit 30/31) is always paid by AMP (LND draws the set id, answered as amp_set_id); " +
          "true for an invoice without it, or false for one with it, is a 400. One send per AMP invoice starts at a time across the hub: " +
          "another meanwhile is a 409 conflict (retry).",
      }),
  })
  .strict();
export const KeysendBody = z
  .object({
    destination: z.string().regex(/^0[23][0-9a-f]{64}$/, "a node public key: 33 bytes, compressed, lowercase hex").max(66).openapi({ description: "the paid node's public key" }),
    amount_sat: amountSat(MAX_PAYMENT_SAT),
    max_fee_sat: z.number().int().min(0).max(MAX_PAYMENT_SAT).optional().openapi({ description: "default max(10 sat, 0.5 %)" }),
    memo: z.string().max(200).optional().openapi({ description: "kept in the payer's history; not sent" }),
    amp: z
      .boolean()
      .optional()
      .openapi({
        description:
          "spontaneous AMP instead of keysend: LND splits the payment (up to 16 parts) and draws the set id, answered as amp_set_id; " +
          "payment_hash is then a payment address the hub chose (to find the payment again). The destination must accept AMP.",
      }),
  })
  .strict();
export const EstimateBody = z.object({ payment_request: PaymentRequest, amount_sat: amountSat(MAX_PAYMENT_SAT).optional() }).strict();
export const FeeEstimate = z.object({ fee_msat: MsatOut, internal: z.boolean(), max_fee_msat: MsatOut }).openapi("FeeEstimate");
export type FeeEstimate = z.infer<typeof FeeEstimate>;
export const LightningPayment = z
  .object({
    status: z.enum(["succeeded", "pending", "failed"]),
    payment_hash: hexOut(32),
    amount_msat: MsatOut,
    fee_msat: MsatOut,
    preimage: hexOut(32).optional(),
    amp_set_id: hexOut(32)
      .optional()
      .openapi({
        description:
          "AMP payments: the set id LND drew (its payment identifier), once LND has reported it; payment_hash is then the payment address the hub chose " +
          "(spontaneous AMP) or the invoice's payment hash (an AMP invoice)",
      }),
    // LND's words or the hub's, cut where the payment is answered (durable/wallet/lightning-payments.ts).
    failure_reason: ErrorMessageOut.optional(),
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
  .object({ username: UsernameOut, encryption_public_key: hexOut(32) })
  .openapi("EncryptionKeySet");
export type EncryptionKeySet = z.infer<typeof EncryptionKeySet>;

/** Any name may be asked for; one that is not a username is simply not found. */
// A longer name is no user's (404 as for any unknown name): the bound is the document's, the answer unchanged.
export const UsernameParam = z.object({ username: z.string().openapi({ description: "case-insensitive", example: "alice", maxLength: 32 }) });
export const UserProfile = z
  .object({
    username: UsernameOut.openapi({ description: "as its owner spells it" }),
    wallet_id: WalletIdOut,
    lightning_address: z.string().openapi({ description: "<username, lower-cased>@<this hub's host>", example: "alice@hub.example.com", maxLength: 32 + 1 + HOST_MAX_LENGTH }),
    encryption_public_key: hexOut(32).nullable().openapi({ description: "x-only secp256k1 public key (hex), or null if none was set" }),
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
    // TOTP_SECRET_BYTES (20) in base32.
    secret: z.string().openapi({ description: "base32; shown only in this answer", example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", pattern: "^[A-Z2-7]{32}$", maxLength: 32 }),
    // 140 characters for a 32-character username (src/totp.ts otpauthUrl).
    otpauth_url: z.string().openapi({ description: "otpauth://totp/… for a QR code (SHA-1, 6 digits, 30 s)", maxLength: 256 }),
  })
  .openapi("TotpEnrolment");
export type TotpEnrolment = z.infer<typeof TotpEnrolment>;
// DEFAULT_TOTP_THRESHOLD_SAT or what AccountSettingsBody took.
const TotpThresholdSat = z.number().int().openapi({ description: "with TOTP on, a send above this needs X-TOTP-Code", example: 100000, minimum: 0, maximum: MAX_PAYMENT_SAT });
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
    window_s: z.number().int().openapi({ description: "the rolling window: what was spent in the last window_s seconds counts", example: 86400, minimum: 1, maximum: LIMIT_WINDOW_S }),
    limit_sat: SatOut,
    used_sat: SatOut.openapi({ description: "amounts paid in the window (rounded up; fees, failed and returned payments do not count)" }),
    remaining_sat: SatOut.openapi({ description: "what a payment may still be (rounded down)" }),
  })
  .openapi("AccountLimit");
export const AccountLimits = z
  .object({
    level: z.number().int().openapi({ description: "0 restricted, 1 standard (a new account), 2 verified", example: 1, minimum: Math.min(...ACCOUNT_LEVELS), maximum: Math.max(...ACCOUNT_LEVELS) }),
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
    revoked_before: TimestampOut.openapi({ description: "access tokens issued before this instant are refused (every edge within seconds)", example: "2026-11-29T15:00:01.000Z" }),
  })
  .openapi("LoggedOutEverywhere");
