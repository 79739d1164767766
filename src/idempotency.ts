import { sha256Hex } from "./hash";
import { IDEMPOTENCY_KEY_PATTERN } from "./identifiers";

/** How long a stored response answers replays of its Idempotency-Key. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Keys are client-chosen; bound them so they cannot be used to bloat storage. */
export const isValidIdempotencyKey = (key: string): boolean => IDEMPOTENCY_KEY_PATTERN.test(key);

/** Canonical JSON: object keys sorted, so `{a,b}` and `{b,a}` fingerprint alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What identifies "the same request" for an idempotency key: operation plus canonical body. */
export function requestFingerprint(operation: string, body: unknown): Promise<string> {
  return sha256Hex(`${operation}\n${canonical(body)}`);
}
