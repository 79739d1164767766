import { z } from "@hono/zod-openapi";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";
import { MAX_INVOICE_LENGTH } from "./bolt11";
import { boundedMessage } from "./errors";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT, type Msat } from "./money";
import { InvoiceTextOut, ORIGIN_MAX_LENGTH, hexOut } from "./response-bounds";
import { ErrorMessageOut, amountSat } from "./schemas";
import { checkWebhookUrl } from "./webhooks/url-policy";

/**
 * LNURL-pay and Lightning Addresses (LUD-01, 06, 09, 12, 16, 21), without the runtime: the hub's
 * own answers, and the checks it applies to another server's answers before paying.
 */

/** What the hub's payRequest offers: whole msat from 1 sat up to the hub's payment bound. */
export const MIN_SENDABLE_MSAT: Msat = MSAT_PER_SAT;
export const MAX_SENDABLE_MSAT: Msat = MAX_PAYMENT_SAT * MSAT_PER_SAT;
/** LUD-12: characters of a payer's comment the hub accepts. */
export const COMMENT_ALLOWED = 255;
/** The longest bech32 LNURL the hub decodes (LUD-01 lifts bech32's 90 characters). */
export const LNURL_MAX_LENGTH = 2000;
/** The most the hub reads of another LNURL server's answer. */
export const LNURL_RESPONSE_MAX_BYTES = 64 * 1024;
/** The longest comment a payer may hand to another server (each server says its own limit). */
export const OUTGOING_COMMENT_MAX = 2000;

// ── LUD-01: bech32 LNURLs ──────────────────────────────────────────────────

export class LnurlFormatError extends Error {
  override name = "LnurlFormatError";
}

/** A URL as a LUD-01 LNURL (lower case; upper-case it for QR codes). */
export function encodeLnurl(url: string): string {
  return bech32.encode("lnurl", bech32.toWords(utf8ToBytes(url)), LNURL_MAX_LENGTH);
}

/** The URL inside a LUD-01 LNURL (`lnurl1…`, either case, optionally `lightning:`-prefixed). */
export function decodeLnurl(text: string): URL {
  const bare = text.trim().replace(/^lightning:/i, "");
  let decoded: { prefix: string; words: number[] };
  try {
    // Rejects mixed case and bad checksums; the prefix comes back lower-cased.
    decoded = bech32.decode(bare, LNURL_MAX_LENGTH);
  } catch (error) {
    throw new LnurlFormatError(`not a valid bech32 LNURL: ${(error as Error).message}`);
  }
  if (decoded.prefix !== "lnurl") throw new LnurlFormatError(`a bech32 LNURL starts with lnurl1, not ${decoded.prefix}1`);
  let url: string;
  try {
    url = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bech32.fromWords(decoded.words));
  } catch {
    throw new LnurlFormatError("the LNURL does not hold UTF-8 text");
  }
  if (!URL.canParse(url)) throw new LnurlFormatError("the LNURL does not hold a URL");
  return new URL(url);
}

export const isBech32Lnurl = (text: string): boolean => /^(lightning:)?lnurl1/i.test(text.trim());

// ── LUD-16: Lightning Addresses ────────────────────────────────────────────

export interface LightningAddress {
  /** Lower-cased: LUD-16 names are lower case. */
  username: string;
  /** Host and optional port, lower-cased. */
  domain: string;
}

const ADDRESS_USERNAME = /^[a-z0-9\-_.+]{1,64}$/;
const HOST_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const ADDRESS_DOMAIN = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::\\d{1,5})?$`);

/** `user@host[:port]` as LUD-16 defines it (any case; the answer is lower-cased), or null. */
export function parseLightningAddress(text: string): LightningAddress | null {
  const at = text.lastIndexOf("@");
  if (at <= 0 || text.length > 320) return null;
  const username = text.slice(0, at).toLowerCase();
  const domain = text.slice(at + 1).toLowerCase();
  if (!ADDRESS_USERNAME.test(username) || domain.length > 253 || !ADDRESS_DOMAIN.test(domain)) return null;
  const port = domain.split(":")[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return null;
  return { username, domain };
}

/** Where an address's payRequest lives (LUD-16); `http` only where the caller allows it (development, loopback). */
export function addressUrl(address: LightningAddress, scheme: "https" | "http" = "https"): URL {
  return new URL(`${scheme}://${address.domain}/.well-known/lnurlp/${address.username}`);
}

/** The path of the hub's own payRequest for a user, and the username in such a path. */
export const WELL_KNOWN_LNURLP = "/.well-known/lnurlp/";
export function usernameOfWellKnownPath(pathname: string): string | null {
  if (!pathname.startsWith(WELL_KNOWN_LNURLP)) return null;
  const name = pathname.slice(WELL_KNOWN_LNURLP.length);
  if (!name || name.includes("/")) return null;
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    return null;
  }
}

// ── Outside servers: which URLs the hub will fetch ─────────────────────────

/**
 * Why the hub will not fetch `url` for LNURL-pay, or null if it will. The same policy as webhook
 * endpoints (src/webhooks/url-policy.ts): `https` to a public host, in development also `http` to
 * loopback; no credentials. The caller must not follow redirects (they would lead past this check).
 */
export function outsideUrlProblem(url: URL, development: boolean): string | null {
  const check = checkWebhookUrl(url.href, { development });
  return check.ok ? null : check.reason;
}

// ── LUD-06: the payRequest and its metadata ────────────────────────────────

/** The metadata of a hub user's payRequest: the exact string whose SHA-256 their invoices commit to. */
export function payRequestMetadata(username: string, host: string): string {
  return JSON.stringify([
    ["text/plain", `Pay ${username} on Flash`],
    ["text/identifier", `${username.toLowerCase()}@${host.toLowerCase()}`],
  ]);
}

/** The description hash of an LNURL-pay invoice: SHA-256 of the metadata string, lowercase hex. */
export const descriptionHash = (metadata: string): string => bytesToHex(sha256(utf8ToBytes(metadata)));

/** The text/plain entry of a metadata string (LUD-06 requires one), or null if it has none or is not metadata. */
export function metadataText(metadata: string): string | null {
  try {
    const entries: unknown = JSON.parse(metadata);
    if (!Array.isArray(entries)) return null;
    const plain = entries.find((e): e is [string, string] => Array.isArray(e) && e[0] === "text/plain" && typeof e[1] === "string");
    return plain ? plain[1] : null;
  } catch {
    return null;
  }
}

/** LUD-12 counts characters (code points), not UTF-16 units. */
export const commentLength = (comment: string): number => [...comment].length;

/** The LUDs' error answer. */
export const LnurlError = z.object({ status: z.literal("ERROR"), reason: ErrorMessageOut }).openapi("LnurlError");
export const lnurlError = (reason: string) => ({ status: "ERROR" as const, reason: boundedMessage(reason) });

const wholeMsat = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const httpUrl = z.string().max(LNURL_MAX_LENGTH).refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), "not an http(s) URL");

/** A payRequest (LUD-06, LUD-12, LUD-16): the hub's own answer, and what it accepts from another server. */
export const PayRequest = z
  .object({
    tag: z.literal("payRequest"),
    callback: httpUrl,
    minSendable: wholeMsat.min(1),
    maxSendable: wholeMsat.min(1),
    metadata: z.string().max(LNURL_RESPONSE_MAX_BYTES).refine((m) => metadataText(m) !== null, "metadata must be a JSON array with a text/plain entry"),
    // The document's bound: the hub's own answer allows COMMENT_ALLOWED; another server's may say more.
    commentAllowed: z.number().int().nonnegative().openapi({ maximum: COMMENT_ALLOWED }).optional(),
  })
  .refine((p) => p.minSendable <= p.maxSendable, "minSendable is above maxSendable")
  .openapi("LnurlPayRequest");
export type PayRequest = z.infer<typeof PayRequest>;

/** A callback's answer (LUD-06, LUD-21 `verify`). */
export const PayRequestInvoice = z
  .object({
    pr: z.string().min(1).max(MAX_INVOICE_LENGTH),
    routes: z.array(z.unknown()).optional(),
    // The document's bound: the hub's own verifyUrl (`<origin>/lnurlp/<username>/verify/<payment hash>`); another server's is read as it is.
    verify: z.string().openapi({ maxLength: ORIGIN_MAX_LENGTH + "/lnurlp/".length + 32 + "/verify/".length + 64 }).optional(),
  })
  .openapi("LnurlInvoice");
export type PayRequestInvoice = z.infer<typeof PayRequestInvoice>;

/** LUD-21's answer. */
export const LnurlVerification = z
  .object({ status: z.literal("OK"), settled: z.boolean(), preimage: hexOut(32).nullable(), pr: InvoiceTextOut })
  .openapi("LnurlVerification");

/**
 * Reads another server's JSON answer: `{status: "ERROR"}` is that server's refusal (its reason,
 * bounded), anything else must match `schema`.
 */
export function readLnurlAnswer<T>(json: unknown, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; reason: string } {
  if (typeof json === "object" && json !== null && (json as { status?: unknown }).status === "ERROR") {
    const reason = (json as { reason?: unknown }).reason;
    return { ok: false, reason: `it answered ERROR: ${typeof reason === "string" ? reason.slice(0, 200) : "(no reason)"}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `unexpected answer (${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message ?? "invalid"})` };
}

/** The callback URL with the amount (msat) and comment added (LUD-06: a callback may carry its own query). */
export function callbackUrl(callback: string, amount_msat: Msat, comment?: string): URL {
  const url = new URL(callback);
  url.searchParams.set("amount", String(amount_msat));
  if (comment) url.searchParams.set("comment", comment);
  return url;
}

/**
 * Why a payRequest cannot take this payment, or null: the amount within its bounds, the comment
 * within what it allows (LUD-12: none without `commentAllowed`).
 */
export function payRequestProblem(payRequest: PayRequest, amount_msat: Msat, comment: string | undefined): string | null {
  if (amount_msat < payRequest.minSendable || amount_msat > payRequest.maxSendable) {
    return `the destination takes ${payRequest.minSendable} to ${payRequest.maxSendable} msat, not ${amount_msat}`;
  }
  const allowed = payRequest.commentAllowed ?? 0;
  if (comment && commentLength(comment) > allowed) {
    return allowed === 0 ? "the destination takes no comment" : `the destination takes comments of at most ${allowed} characters`;
  }
  return null;
}

/**
 * Why an invoice from a callback must not be paid, or null (LUD-06, LUD-09): exactly the amount
 * asked for, and committed to the payRequest's metadata.
 */
export function callbackInvoiceProblem(invoice: { amount_msat: number | null; description_hash: string | null }, amount_msat: Msat, metadata: string): string | null {
  if (invoice.amount_msat !== amount_msat) return `the invoice is for ${invoice.amount_msat ?? "no fixed"} msat, not the ${amount_msat} msat asked for`;
  if (invoice.description_hash !== descriptionHash(metadata)) return "the invoice's description hash is not SHA-256 of the payRequest's metadata";
  return null;
}

// ── The hub's own routes ───────────────────────────────────────────────────

/** The callback's query: `amount` in msat, as digits; an optional comment. */
export const CallbackQuery = z.object({
  amount: z.string().regex(/^\d{1,16}$/, "amount must be a whole number of millisatoshis").max(16).openapi({ description: "millisatoshis", example: "100000" }),
  // Characters are code points (the handler counts them): at most two UTF-16 units each.
  comment: z
    .string()
    .max(2 * COMMENT_ALLOWED)
    .optional()
    .openapi({ description: `LUD-12, at most ${COMMENT_ALLOWED} characters` }),
});

export const PaymentHashPath = z.object({
  username: z.string().openapi({ maxLength: 32 }), // the document's bound: a longer name is no user's (404)
  payment_hash: z.string().regex(/^[0-9a-f]{64}$/, "payment_hash: 64 lowercase hex characters").max(64),
});

/** `POST /v1/payments/lnurl`. */
export const LnurlPayBody = z
  .object({
    destination: z
      .string()
      .min(3)
      .max(LNURL_MAX_LENGTH + "lightning:".length)
      .openapi({ description: "a Lightning Address (user@host) or a bech32 LNURL (lnurl1…)", example: "alice@hub.example.com" }),
    amount_sat: amountSat(MAX_PAYMENT_SAT),
    comment: z.string().min(1).max(OUTGOING_COMMENT_MAX).optional().openapi({ description: "LUD-12: sent if the destination allows comments this long" }),
  })
  .strict();
export type LnurlPayBody = z.infer<typeof LnurlPayBody>;
