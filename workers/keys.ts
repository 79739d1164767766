import { importSigningKeys, type SigningKeys } from "../src/auth/tokens";
import { VerifiedTokens } from "../src/auth/verified-tokens";
import type { Env } from "./env";

/** Access tokens each isolate remembers as verified (about 1 KB each). */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Imported keys, and the tokens they verified, per isolate, per secret value: importing and
 * verifying on every request would waste CPU; a new key starts with no verified tokens.
 */
let cached: { source: string; keys: Promise<SigningKeys>; verified: VerifiedTokens } | null = null;

function current(env: Env) {
  const source = env.JWT_PRIVATE_JWK;
  if (!source) throw new Error("JWT_PRIVATE_JWK is not configured");
  if (cached?.source !== source) cached = { source, keys: importSigningKeys(source), verified: new VerifiedTokens(VERIFIED_TOKENS_MAX) };
  return cached;
}

export function signingKeys(env: Env): Promise<SigningKeys> {
  return current(env).keys;
}

/** The access tokens this isolate has verified with the current signing key. */
export function verifiedTokens(env: Env): VerifiedTokens {
  return current(env).verified;
}
