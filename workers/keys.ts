import { importSigningKeys, type SigningKeys } from "../src/auth/tokens";
import type { Env } from "./env";

/** Imported keys, per isolate, per secret value: importing on every request would waste CPU. */
let cached: { source: string; keys: Promise<SigningKeys> } | null = null;

export function signingKeys(env: Env): Promise<SigningKeys> {
  const source = env.JWT_PRIVATE_JWK;
  if (!source) throw new Error("JWT_PRIVATE_JWK is not configured");
  if (cached?.source !== source) cached = { source, keys: importSigningKeys(source) };
  return cached.keys;
}
