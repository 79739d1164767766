// Readers for single fields of LND REST JSON. proto3 JSON rules apply: an
// absent (or null) field means the type's default, 64-bit integers arrive as
// decimal strings, `bytes` as standard base64, enums by name. Anything that
// cannot be read faithfully is reported as a bad response rather than guessed.

import { base64ToHex } from "./bytes";
import { LndUnreachableError } from "./errors";

export type JsonObject = Record<string, unknown>;

function bad(message: string): LndUnreachableError {
  return new LndUnreachableError("bad_response", message);
}

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(`${what}: expected a JSON object`);
  }
  return value as JsonObject;
}

/** A nested message; null when LND emits it as null (unset) or omits it. */
export function optObject(o: JsonObject, key: string): JsonObject | null {
  const v = o[key];
  return v === undefined || v === null ? null : asObject(v, key);
}

export function list(o: JsonObject, key: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${key}: expected an array`);
  return v;
}

export function str(o: JsonObject, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw bad(`${key}: expected a string`);
  return v;
}

export function bool(o: JsonObject, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw bad(`${key}: expected a boolean`);
  return v;
}

function integerText(o: JsonObject, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return "0";
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return v;
  throw bad(`${key}: expected an integer, got ${JSON.stringify(v)}`);
}

/**
 * Any proto integer (int32/uint32 arrive as numbers, int64/uint64 as strings)
 * as a JS number. Refuses values beyond 2^53 instead of silently rounding an
 * amount.
 */
export function int(o: JsonObject, key: string): number {
  const n = Number(integerText(o, key));
  if (!Number.isSafeInteger(n)) throw bad(`${key}: ${integerText(o, key)} exceeds the safe integer range`);
  return n;
}

/** Nanosecond timestamps exceed 2^53, so they stay exact as bigint. */
export function bigInt(o: JsonObject, key: string): bigint {
  return BigInt(integerText(o, key));
}

/** uint64 identifiers (short channel ids, htlc indexes) kept as exact decimal strings. */
export function uint64Id(o: JsonObject, key: string): string {
  const t = integerText(o, key);
  if (t.startsWith("-")) throw bad(`${key}: negative id`);
  return t;
}

/** A `bytes` field as lowercase hex; null when empty. */
export function bytesHex(o: JsonObject, key: string): string | null {
  const v = str(o, key);
  if (v === "") return null;
  try {
    return base64ToHex(v);
  } catch (cause) {
    throw new LndUnreachableError("bad_response", `${key}: not base64`, { cause });
  }
}

/** A `string` field that LND fills with hex (e.g. Payment.payment_hash); null when empty. */
export function hexString(o: JsonObject, key: string): string | null {
  const v = str(o, key);
  if (v === "") return null;
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(v)) throw bad(`${key}: expected hex`);
  return v.toLowerCase();
}

/**
 * An enum field. `byNumber` lists the proto numbers so numeric forms (which
 * protojson also allows) map to names; an absent field is the zero value.
 */
export function enumOf<T extends string>(o: JsonObject, key: string, byNumber: Readonly<Record<number, T>>): T {
  const v = o[key];
  if (v === undefined || v === null) return zeroOf(key, byNumber);
  if (typeof v === "number" && byNumber[v] !== undefined) return byNumber[v];
  if (typeof v === "string" && Object.values(byNumber).includes(v as T)) return v as T;
  throw bad(`${key}: unknown value ${JSON.stringify(v)}`);
}

function zeroOf<T extends string>(key: string, byNumber: Readonly<Record<number, T>>): T {
  const zero = byNumber[0];
  if (zero === undefined) throw bad(`${key}: missing`);
  return zero;
}

/**
 * An enum that LND grows over time (failure reasons, BOLT failure codes):
 * unknown names pass through as strings so a new reason never hides a failure.
 */
export function openEnumOf<T extends string>(
  o: JsonObject,
  key: string,
  byNumber: Readonly<Record<number, T>>,
): T | (string & {}) {
  const v = o[key];
  if (v === undefined || v === null) return zeroOf(key, byNumber);
  if (typeof v === "number") return byNumber[v] ?? String(v);
  if (typeof v === "string") return v;
  throw bad(`${key}: expected an enum name`);
}
