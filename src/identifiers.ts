/** Shapes of the names clients use; each pattern lives here once (schemas and routes use these). */

/** A username: 3 to 32 letters, digits or underscores; unique case-insensitively. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_]{3,32}$/;
export const USERNAME_RULE = "3 to 32 characters: letters, digits, underscore";

/** A wallet id as the hub issues them: `wal_` and 128 bits of hex. */
export const WALLET_ID_PATTERN = /^wal_[0-9a-f]{32}$/;

/** An Idempotency-Key: client-chosen, bounded so it cannot be used to bloat storage. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = "1 to 255 printable ASCII characters";

export const isUsername = (s: string): boolean => USERNAME_PATTERN.test(s);

/**
 * Names nobody may register: they would impersonate the operator or collide with the hub's own
 * words (addresses like admin@, routes like /lndhub). Compared lower-case.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  "admin", "administrator", "root", "system", "support", "help", "security", "abuse", "postmaster", "hostmaster", "webmaster",
  "operator", "staff", "official", "flash", "flashhub", "hub", "faucet", "lndhub", "lnurl", "lightning", "bitcoin", "wallet", "api",
  "billing", "payments", "noreply", "no_reply", "null", "undefined", "anonymous", "everyone", "moderator", "team",
]);
export const isReservedUsername = (s: string): boolean => RESERVED_USERNAMES.has(s.toLowerCase());
export const isWalletId = (s: string): boolean => WALLET_ID_PATTERN.test(s);
