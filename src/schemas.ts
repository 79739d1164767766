import { z } from "@hono/zod-openapi";
import { MAX_FAUCET_SAT, MAX_PAYMENT_SAT } from "./money";

/**
 * Request and response schemas: the same objects validate requests and generate /openapi.json,
 * so the documentation cannot drift from what the hub accepts.
 */

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

export const Username = z
  .string()
  .regex(/^[A-Za-z0-9_]{3,32}$/, "3 to 32 characters: letters, digits, underscore")
  .openapi({ example: "alice" });

export const Password = z.string().min(8, "at least 8 characters").max(1024).openapi({ example: "correct horse battery staple" });

/** A whole, positive number of satoshis within the per-payment bound. */
export const amountSat = (max: number) => z.number().int().positive().max(max).openapi({ example: 1000 });

/** BOLT 11 bounds descriptions to 639 bytes; the contract applies that to every memo. */
export const Memo = z
  .string()
  .refine((s) => utf8Bytes(s) <= 639, "memo is limited to 639 bytes")
  .openapi({ example: "coffee" });

export const Scope = z.enum(["read", "receive", "send"]);

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi("Error");

export const CreateAccountBody = z.object({ username: Username, password: Password }).strict();
export const AccountCreated = z
  .object({ account_id: z.string(), wallet_id: z.string(), username: z.string(), access_token: z.string(), refresh_token: z.string(), expires_in: z.number() })
  .openapi("AccountCreated");

export const LoginBody = z.object({ username: z.string().max(64), password: z.string().max(1024), totp_code: z.string().max(16).optional() }).strict();
export const RefreshBody = z.object({ refresh_token: z.string().max(256) }).strict();
export const Tokens = z.object({ access_token: z.string(), refresh_token: z.string(), expires_in: z.number(), token_type: z.literal("Bearer") }).openapi("Tokens");

export const CreateApiKeyBody = z.object({ name: z.string().min(1).max(100), scopes: z.array(Scope).min(1).max(3) }).strict();
export const ApiKeyCreated = z
  .object({ id: z.string(), key: z.string(), name: z.string(), scopes: z.array(Scope), created_at: z.string() })
  .openapi("ApiKeyCreated");
export const ApiKeyInfo = z
  .object({ id: z.string(), name: z.string(), scopes: z.array(Scope), created_at: z.string(), revoked_at: z.string().nullable() })
  .openapi("ApiKey");

export const Counterparty = z.object({ wallet_id: z.string(), username: z.string() });
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

export const Wallet = z.object({ wallet_id: z.string(), balance_msat: z.number().int(), pending_out_msat: z.number().int() }).openapi("Wallet");
export const TransactionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/, "use next_cursor from the previous page").optional(),
});
export const TransactionPage = z.object({ transactions: z.array(Transaction), next_cursor: z.string().nullable() }).openapi("TransactionPage");

export const IntraledgerBody = z
  .object({
    to: z.string().min(1).max(64).openapi({ description: "username or wallet_id", example: "bob" }),
    amount_sat: amountSat(MAX_PAYMENT_SAT),
    memo: Memo.optional(),
  })
  .strict();
export const TransferResult = z.object({ status: z.enum(["succeeded", "pending", "failed"]), transaction: Transaction }).openapi("TransferResult");

export const FaucetBody = z.object({ amount_sat: amountSat(MAX_FAUCET_SAT) }).strict();
export const FaucetResult = z
  .object({ status: z.literal("succeeded"), transaction: Transaction, balance_msat: z.number().int() })
  .openapi("FaucetResult");

export const Event = z
  .object({ seq: z.number().int(), type: z.string(), created_at: z.string(), data: z.record(z.string(), z.unknown()) })
  .openapi("Event");
export const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  // The contract caps rather than refuses large limits.
  limit: z.coerce.number().int().min(1).default(100).transform((n) => Math.min(n, 1000)),
});
export const EventStreamQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  access_token: z.string().optional(),
});
export const EventPage = z.object({ events: z.array(Event) }).openapi("EventPage");
