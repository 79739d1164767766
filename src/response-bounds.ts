import { z } from "@hono/zod-openapi";
import { MAX_INVOICE_LENGTH } from "./bolt11";
import { USERNAME_PATTERN } from "./identifiers";

/**
 * Bounds of what the hub answers, for GET /openapi.json (issue 13, point 4: a client can size
 * its buffers and columns from the document). Each is true by construction where the value is
 * made (named on each); they are the document's (`.openapi()` metadata), not checks: answers are
 * not validated again, and nothing here changes one.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** An id of `newId(prefix)` (src/ids.ts): the prefix, `_` and 128 bits of lowercase hex. */
export const hubId = (prefix: string) => z.string().openapi({ pattern: `^${prefix}_[0-9a-f]{32}$`, maxLength: prefix.length + 33 });
export const AccountIdOut = hubId("acc");
export const WalletIdOut = hubId("wal");

/** An instant as `Date.prototype.toISOString()` writes it: 24 characters, 27 for years past 9999 (`+275760-09-13T00:00:00.000Z`). */
export const TimestampOut = z.string().openapi({ format: "date-time", maxLength: 27 });

/** A username (src/identifiers.ts): how every account's name was checked when it was made. */
export const UsernameOut = z.string().openapi({ pattern: USERNAME_PATTERN.source, maxLength: 32 });

/** Lowercase hex of `bytes` bytes: a payment hash or preimage, a SHA-256, a public key. */
export const hexOut = (bytes: number) => z.string().openapi({ pattern: `^[0-9a-f]{${bytes * 2}}$`, maxLength: bytes * 2 });

/** A BOLT 11 invoice: the hub's own, or one its decoder took (at most MAX_INVOICE_LENGTH characters, src/bolt11). */
export const InvoiceTextOut = z.string().openapi({ description: "a BOLT 11 invoice", maxLength: MAX_INVOICE_LENGTH });

/** Money the hub keeps: whole msat (or sat), never negative, a safe integer (src/money.ts `isValidMsat`; the ledger refuses others). */
export const MsatOut = z.number().int().openapi({ minimum: 0, maximum: MAX_SAFE });
export const SatOut = MsatOut;

/** A counter or sequence number (SQLite's integers as JavaScript reads them: safe integers). */
export const CountOut = z.number().int().openapi({ minimum: 0, maximum: MAX_SAFE });

/** A page's `next_cursor` where it is a row's position (a rowid or seq, counting rows: far below 10^15 in an actor's storage): the digits PageQuery takes back. */
export const PositionCursorOut = z.string().openapi({ pattern: "^\\d{1,15}$", maxLength: 15 });

/**
 * This hub's host as a request named it (`new URL(c.req.url).host`): a DNS name (at most 253
 * characters, the only names Cloudflare routes) and perhaps a port; its origin adds the scheme.
 */
export const HOST_MAX_LENGTH = 253 + ":65535".length;
export const ORIGIN_MAX_LENGTH = "https://".length + HOST_MAX_LENGTH;

/** An error's `code`: one of the hub's snake_case words (src/errors.ts, workers/errors.ts). */
export const ErrorCodeOut = z.string().openapi({ pattern: "^[a-z_]+$", maxLength: 64 });
