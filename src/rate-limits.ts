/**
 * Rate-limit rules that are not runtime plumbing (issue 12, point 2; docs/decisions/0015-rate-limits.md):
 * the key a client address counts under, and the login lockout's figures.
 */

/**
 * The key a client address counts under: an IPv4 address as it is (also written `::ffff:a.b.c.d`), an IPv6 address by its /64 (one
 * subscriber's network: a host picks any address in it, so counting per address would count nothing).
 * No address (a request that did not come through Cloudflare's edge: tests, the benchmark) is one
 * key, `unknown`.
 */
export function addressKey(ip: string | null | undefined): string {
  const address = ip?.trim().toLowerCase();
  if (!address) return "unknown";
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  const [head = "", tail] = address.split("::", 2) as [string, string | undefined];
  const groups = head ? head.split(":") : [];
  if (tail !== undefined) {
    const after = tail ? tail.split(":") : [];
    groups.push(...Array<string>(Math.max(0, 8 - groups.length - after.length)).fill("0"), ...after);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** After this many failed logins in a row an account's password login is locked (the contract: 30 always trip it). */
export const LOGIN_LOCKOUT_AFTER_DEFAULT = 10;
export const LOGIN_LOCKOUT_AFTER_MAX = 30;
/** … for this long; each further failure after a lock has ended locks it again. */
export const LOGIN_LOCKOUT_S_DEFAULT = 15 * 60;

export interface LockoutRule {
  /** Failed logins in a row that lock the account (1 … 30). */
  after: number;
  /** How long a lock lasts (ms). */
  lockMs: number;
}

/** The lockout rule from its vars (`LOGIN_LOCKOUT_AFTER`, `LOGIN_LOCKOUT_S`); defaults where unset or not a positive integer. */
export function lockoutRule(after: string | undefined, seconds: string | undefined): LockoutRule {
  const positive = (text: string | undefined, fallback: number) => {
    const n = Number(text?.trim() || NaN);
    return Number.isSafeInteger(n) && n > 0 ? n : fallback;
  };
  return {
    after: Math.min(LOGIN_LOCKOUT_AFTER_MAX, positive(after, LOGIN_LOCKOUT_AFTER_DEFAULT)),
    lockMs: positive(seconds, LOGIN_LOCKOUT_S_DEFAULT) * 1000,
  };
}
