import { z } from "@hono/zod-openapi";
import { AUDIT_CHAINS } from "./audit";
import { CountOut, TimestampOut, hexOut } from "./response-bounds";
import { EventTypeOut } from "./schemas";

/** `GET /v1/account/audit` (the contract's "Security" section; docs/decisions/0016). */

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, "use next_cursor from the previous page")
    .optional(),
});

export const AuditEntry = z
  .object({
    chain: z.enum(AUDIT_CHAINS).openapi({ description: "the actor whose chain holds the entry: seq and prev_hash are within it" }),
    seq: CountOut.openapi({ description: "1, 2, 3… within the chain" }),
    type: EventTypeOut.openapi({ example: "login.succeeded" }),
    data: z.record(z.string(), z.unknown()).openapi({ example: { ip: "203.0.113.7", totp: false } }),
    created_at: TimestampOut,
    prev_hash: hexOut(32).openapi({ description: "the hash of the chain's previous entry (64 zeros for seq 1)" }),
    hash: hexOut(32).openapi({ description: 'SHA-256 hex of prev_hash, "\\n" and the canonical JSON of {chain, created_at, data, seq, type} (sorted keys, no white space)' }),
  })
  .openapi("AuditEntry");

export const AuditPage = z
  .object({
    entries: z.array(AuditEntry),
    // encodeAuditCursor (src/audit.ts): base64url of `{"account":…,"wallet":…,"webhooks":…}` with safe integers, at most 83 characters, so at most 111.
    next_cursor: z.string().openapi({ pattern: "^[A-Za-z0-9_-]+$", maxLength: 112 }).nullable().openapi({ description: "older entries: pass as cursor; null at the end" }),
  })
  .openapi("AuditPage");
