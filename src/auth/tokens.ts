import { SignJWT, jwtVerify, importJWK, exportJWK, generateKeyPair, type JWK } from "jose";
import { randomHex } from "../ids.ts";

/** Access tokens: EdDSA (Ed25519) JWTs, 15 minutes. */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
/** Refresh tokens live 30 days unless rotated or revoked first. */
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
const ALG = "EdDSA";
const ISSUER = "flash-hub";
const AUDIENCE = "flash-hub:api";

export type Scope = "read" | "receive" | "send";
export const ALL_SCOPES: readonly Scope[] = ["read", "receive", "send"];

/** Who is calling, once a token or API key has been checked. */
export interface Principal {
  accountId: string;
  walletId: string;
  username: string;
  scopes: readonly Scope[];
  via: "jwt" | "api_key";
  /** When the credential stops being valid (ms since the epoch): a JWT's `exp`; none for API keys. */
  expiresAtMs?: number;
}

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** Imports the signing key pair from the `JWT_PRIVATE_JWK` secret (an OKP/Ed25519 JWK with `d`). */
export async function importSigningKeys(privateJwkJson: string): Promise<SigningKeys> {
  const jwk = JSON.parse(privateJwkJson) as JWK;
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d) throw new Error("JWT_PRIVATE_JWK must be an Ed25519 private JWK");
  const { d: _d, ...publicJwk } = jwk;
  const privateKey = (await importJWK({ ...jwk, alg: ALG }, ALG)) as CryptoKey;
  const publicKey = (await importJWK({ ...publicJwk, alg: ALG }, ALG)) as CryptoKey;
  return { privateKey, publicKey };
}

/** Makes a fresh Ed25519 private JWK (for `.dev.vars` and tests). */
export async function generateSigningJwk(): Promise<string> {
  const { privateKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
  return JSON.stringify(await exportJWK(privateKey));
}

export async function signAccessToken(
  keys: SigningKeys,
  who: { accountId: string; walletId: string; username: string },
): Promise<string> {
  return new SignJWT({ wid: who.walletId, usr: who.username })
    .setProtectedHeader({ alg: ALG, typ: "JWT" })
    .setSubject(who.accountId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ACCESS_TOKEN_TTL_S}s`)
    .setJti(randomHex(8))
    .sign(keys.privateKey);
}

/** Checks signature, algorithm, issuer, audience and expiry; returns null for any forgery. */
export async function verifyAccessToken(keys: SigningKeys, token: string): Promise<Principal | null> {
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE });
    if (typeof payload.sub !== "string" || typeof payload.wid !== "string" || typeof payload.usr !== "string" || typeof payload.exp !== "number") return null;
    return { accountId: payload.sub, walletId: payload.wid, username: payload.usr, scopes: ALL_SCOPES, via: "jwt", expiresAtMs: payload.exp * 1000 };
  } catch {
    return null;
  }
}

/**
 * Opaque secrets that name the account they belong to, so the right actor can check them
 * without any global table: `<prefix>_<accountId>_<secret>`.
 */
export function newAccountSecret(prefix: "rt" | "fhk", accountId: string): string {
  return `${prefix}_${accountId}_${randomHex(32)}`;
}

export function accountOfSecret(prefix: "rt" | "fhk", secret: string): string | null {
  const m = new RegExp(`^${prefix}_(acc_[0-9a-f]{32})_[0-9a-f]{64}$`).exec(secret);
  return m?.[1] ?? null;
}
