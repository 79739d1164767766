import { sha256 } from "@noble/hashes/sha2.js";
import canonicalize from "canonicalize";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * The audit trail (docs/decisions/0016): what was done to an account, append-only and hash-chained.
 * Each actor that changes something audited keeps its own chain of the account's entries, written in
 * the unit of work of the change it records: `account` (logins, sessions, API keys, TOTP),
 * `wallet` (level, freezes), `webhooks` (endpoints). This file is the runtime-free part: the entry,
 * its hash, the verification of a chain, what an entry may carry, and the merged pages of
 * `GET /v1/account/audit`.
 */

export const AUDIT_CHAINS = ["account", "wallet", "webhooks"] as const;
export type AuditChain = (typeof AUDIT_CHAINS)[number];
/**
 * Chains of the operator's own records, kept the same way but no account's trail (not listed by
 * `GET /v1/account/audit`): a reward program's actor (docs/decisions/0021).
 */
export const OPERATOR_AUDIT_CHAINS = ["reward_program"] as const;
export type OperatorAuditChain = (typeof OPERATOR_AUDIT_CHAINS)[number];

/** What an entry's data may hold: flat, JSON, no floats needed. */
export type AuditValue = string | number | boolean | null | string[];
export type AuditData = Record<string, AuditValue>;

/** One entry as stored and as `GET /v1/account/audit` lists it (an operator chain's: `AuditEntry<OperatorAuditChain>`). */
export interface AuditEntry<Chain extends string = AuditChain> {
  /** Which actor's chain the entry is in; `seq` counts within it, from 1. */
  chain: Chain;
  seq: number;
  type: string;
  data: AuditData;
  created_at: string;
  /** The hash of the entry before it in its chain (`AUDIT_GENESIS_HASH` for seq 1). */
  prev_hash: string;
  /** SHA-256 (hex) over `prev_hash` and the entry: `auditEntryHash`. */
  hash: string;
}

/** The `prev_hash` of a chain's first entry. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);

/**
 * RFC 8785's canonical JSON (the `canonicalize` package): keys sorted at every level, no white
 * space, so a verifier that parsed the entry from any JSON rebuilds the same bytes. Entries hold
 * integers only (a float's canonical form is easy to get wrong across languages).
 */
export function canonicalJson(value: unknown): string {
  JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error("audit entries hold integers only");
    return v;
  });
  const text = canonicalize(value);
  if (text === undefined) throw new Error("an audit entry must be JSON");
  return text;
}

/**
 * An entry's hash: SHA-256 over `prev_hash`, a line feed, and the canonical JSON of
 * `{chain, created_at, data, seq, type}`, as lowercase hex. Changing any field of an entry, its
 * place in the chain or the entry before it changes the hash.
 */
export function auditEntryHash(prev_hash: string, entry: Pick<AuditEntry<string>, "chain" | "seq" | "type" | "data" | "created_at">): string {
  const body = canonicalJson({ chain: entry.chain, created_at: entry.created_at, data: entry.data, seq: entry.seq, type: entry.type });
  return bytesToHex(sha256(utf8ToBytes(`${prev_hash}\n${body}`)));
}

export type AuditVerification = { ok: true; head: { seq: number; hash: string } } | { ok: false; seq: number | null; problem: string };

/**
 * Verifies one chain: `entries` are all of it from seq 1 in order (or, with `after`, the entries
 * that follow a known entry: its seq and hash). Every seq must follow the one before, every
 * `prev_hash` be the previous entry's `hash`, and every `hash` be the entry's own. An entry changed,
 * removed, inserted, reordered or re-hashed breaks it, and the answer names the first entry where.
 * (Removing the newest entries leaves a valid, shorter chain: compare `head` with a head noted earlier.)
 */
export function verifyAuditChain(entries: readonly AuditEntry<string>[], after: { seq: number; hash: string } = { seq: 0, hash: AUDIT_GENESIS_HASH }): AuditVerification {
  let previous = after;
  const chain = entries[0]?.chain;
  for (const entry of entries) {
    if (entry.chain !== chain) return { ok: false, seq: entry.seq, problem: `entry of chain ${entry.chain} in chain ${chain}` };
    if (entry.seq !== previous.seq + 1) return { ok: false, seq: entry.seq, problem: `seq ${entry.seq} follows seq ${previous.seq}` };
    if (entry.prev_hash !== previous.hash) return { ok: false, seq: entry.seq, problem: "prev_hash is not the previous entry's hash" };
    if (entry.hash !== auditEntryHash(entry.prev_hash, entry)) return { ok: false, seq: entry.seq, problem: "hash does not match the entry" };
    previous = { seq: entry.seq, hash: entry.hash };
  }
  return { ok: true, head: previous };
}

/**
 * Verifies a whole trail as `GET /v1/account/audit` lists it (every page, newest first, the chains
 * merged): each chain on its own, oldest first. Ok only if every chain is.
 */
export function verifyAuditTrail(entries: readonly AuditEntry[]): { ok: true } | { ok: false; chain: AuditChain; seq: number | null; problem: string } {
  for (const chain of AUDIT_CHAINS) {
    const own = entries.filter((e) => e.chain === chain).sort((a, b) => a.seq - b.seq);
    const verdict = verifyAuditChain(own);
    if (!verdict.ok) return { ...verdict, chain };
  }
  const unknown = entries.find((e) => !(AUDIT_CHAINS as readonly string[]).includes(e.chain));
  return unknown ? { ok: false, chain: unknown.chain, seq: unknown.seq, problem: "unknown chain" } : { ok: true };
}

/**
 * Field names an entry's data may never have: what would hold a secret (a key, a password, a token,
 * a TOTP secret or code, a preimage). Entries name credentials by their ids instead.
 */
const SECRET_FIELD = /secret|password|passphrase|token|otpauth|preimage|macaroon|code|^key$|_key$|^authorization$/i;

/**
 * Refuses (throws: a programming error, never the user's) data that is not flat JSON of strings,
 * integers, booleans, null and string arrays, or that has a field named like a secret.
 */
export function checkAuditData(type: string, data: AuditData): void {
  if (!/^[a-z_]+(\.[a-z_]+)+$/.test(type)) throw new Error(`audit: entry type ${JSON.stringify(type)} is not dotted lower-case`);
  for (const [field, value] of Object.entries(data)) {
    if (SECRET_FIELD.test(field)) throw new Error(`audit: ${type}.${field} is named like a secret; an audit entry never holds one`);
    const fits =
      value === null ||
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isSafeInteger(value)) ||
      (Array.isArray(value) && value.every((v) => typeof v === "string"));
    if (!fits) throw new Error(`audit: ${type}.${field} is not a string, integer, boolean, null or list of strings`);
  }
}

// ── Pages of the merged trail ───────────────────────────────────────────────

/**
 * Where the next page starts, per chain: the entries below this seq (null: the chain is listed to
 * its end). The cursor is this, as base64url JSON: opaque to clients.
 */
export type AuditCursor = Record<AuditChain, number | null>;

const START: AuditCursor = { account: Number.MAX_SAFE_INTEGER, wallet: Number.MAX_SAFE_INTEGER, webhooks: Number.MAX_SAFE_INTEGER };

/** The start of the trail (no cursor), or the position a cursor names; null for a cursor that is not one of ours. */
export function decodeAuditCursor(cursor: string | null | undefined): AuditCursor | null {
  if (cursor === null || cursor === undefined) return { ...START };
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const out = {} as AuditCursor;
  for (const chain of AUDIT_CHAINS) {
    const v = (parsed as Record<string, unknown>)[chain];
    if (v === null) out[chain] = null;
    else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 1) out[chain] = v;
    else return null;
  }
  return out;
}

export function encodeAuditCursor(cursor: AuditCursor): string {
  const json = JSON.stringify({ account: cursor.account, wallet: cursor.wallet, webhooks: cursor.webhooks });
  return btoa(json).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * One page of the merged trail, newest first: each chain's newest entries below the cursor (up to
 * `limit + 1` of each, as its actor answered them) are merged by time (ties: account, wallet,
 * webhooks), the first `limit` taken. The next cursor starts each chain below its
 * oldest entry taken; a chain with nothing taken keeps its place; null when nothing is left.
 */
export function mergeAuditPages(cursor: AuditCursor, pages: Record<AuditChain, readonly AuditEntry[]>, limit: number): { entries: AuditEntry[]; next_cursor: string | null } {
  // A merge of the chains' heads (not a sort of everything): each chain's entries are taken in its
  // own order, so what is taken of a chain is a prefix of its page even if its clock went back.
  const heads = AUDIT_CHAINS.map((chain) => ({ chain, rows: cursor[chain] === null ? [] : [...pages[chain]].sort((a, b) => b.seq - a.seq), at: 0 }));
  const entries: AuditEntry[] = [];
  while (entries.length < limit) {
    let best: (typeof heads)[number] | null = null;
    for (const h of heads) {
      const row = h.rows[h.at];
      if (row && (!best || row.created_at > best.rows[best.at]!.created_at)) best = h;
    }
    if (!best) break;
    entries.push(best.rows[best.at++]!);
  }
  const next = { ...cursor };
  let more = false;
  for (const h of heads) {
    if (cursor[h.chain] === null) continue;
    if (h.at > 0) next[h.chain] = h.rows[h.at - 1]!.seq;
    if (h.at >= h.rows.length) next[h.chain] = null;
    else more = true;
  }
  return { entries, next_cursor: more ? encodeAuditCursor(next) : null };
}

/**
 * The client's IP as an entry records it: Cloudflare's `CF-Connecting-IP` (set by the edge, not by
 * the client), kept only if it looks like an IPv4 or IPv6 address (locally anyone may send the header).
 */
export function auditIp(header: string | null | undefined): string | null {
  const ip = header?.trim();
  return ip && /^[0-9A-Fa-f:.]{2,45}$/.test(ip) && (ip.includes(".") || ip.includes(":")) ? ip.toLowerCase() : null;
}
