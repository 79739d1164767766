import { importSigningKeys, type SigningKeys } from "../src/auth/tokens";
import { VerifiedTokens } from "../src/auth/verified-tokens";
import type { Env } from "./env";

/** Access tokens each isolate remembers as verified (about 1 KB each). */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Imported keys, and the tokens they verified, per isolate, per value of the key secrets
 * (`JWT_PRIVATE_JWK` and `JWT_PREVIOUS_PUBLIC_JWK`): importing and verifying on every request
 * would waste CPU. A change of either secret (a rotation, or the previous key removed at its end)
 * starts with no verified tokens, so a token of a key no longer configured is never served from here.
 */
let cached: { source: string; keys: Promise<SigningKeys>; verified: VerifiedTokens } | null = null;

function current(env: Env) {
  const privateJwk = env.JWT_PRIVATE_JWK;
  if (!privateJwk) throw new Error("JWT_PRIVATE_JWK is not configured");
  const previousPublicJwk = env.JWT_PREVIOUS_PUBLIC_JWK?.trim() || undefined;
  const source = JSON.stringify([privateJwk, previousPublicJwk ?? null]);
  if (cached?.source !== source) {
    cached = { source, keys: importSigningKeys(privateJwk, previousPublicJwk), verified: new VerifiedTokens(VERIFIED_TOKENS_MAX) };
  }
  return cached;
}

export function signingKeys(env: Env): Promise<SigningKeys> {
  return current(env).keys;
}

/** The access tokens this isolate has verified with the keys configured now. */
export function verifiedTokens(env: Env): VerifiedTokens {
  return current(env).verified;
}
