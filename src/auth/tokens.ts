import { SignJWT, calculateJwkThumbprint, jwtVerify, importJWK, exportJWK, generateKeyPair, type JWK } from "jose";
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

/**
 * The keys of access tokens (decision 0003, "Amended: key ids and rotation"). Tokens are signed
 * with the current key and name it in their `kid`: the RFC 7638 thumbprint of its public JWK.
 * They verify with any key in `verifiers`: the current one and, during a rotation, the previous
 * one (public only). A token without `kid` (issued before key ids) verifies with the current key only.
 */
export interface SigningKeys {
  /** The current key's id, written into every token's header. */
  kid: string;
  privateKey: CryptoKey;
  /** The current key's public half. */
  publicKey: CryptoKey;
  /** Every key a token may name, by `kid`. */
  verifiers: ReadonlyMap<string, CryptoKey>;
}

/** The public members of an Ed25519 JWK (what its thumbprint covers), or an error naming `secret`. */
function ed25519Public(jwk: JWK, secret: string): JWK {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new Error(`${secret} must be an Ed25519 JWK`);
  return { kty: "OKP", crv: "Ed25519", x: jwk.x };
}

/** A key id: the RFC 7638 SHA-256 thumbprint of the public JWK (base64url, 43 characters). */
function keyIdOf(publicJwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicJwk, "sha256");
}

/**
 * Imports the keys from the `JWT_PRIVATE_JWK` secret (an OKP/Ed25519 JWK with `d`) and, during a
 * rotation, `JWT_PREVIOUS_PUBLIC_JWK` (the previous key's public half: no `d`).
 */
export async function importSigningKeys(privateJwkJson: string, previousPublicJwkJson?: string): Promise<SigningKeys> {
  const jwk = JSON.parse(privateJwkJson) as JWK;
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d) throw new Error("JWT_PRIVATE_JWK must be an Ed25519 private JWK");
  const publicJwk = ed25519Public(jwk, "JWT_PRIVATE_JWK");
  const privateKey = (await importJWK({ ...jwk, alg: ALG }, ALG)) as CryptoKey;
  const publicKey = (await importJWK({ ...publicJwk, alg: ALG }, ALG)) as CryptoKey;
  const kid = await keyIdOf(publicJwk);
  const verifiers = new Map<string, CryptoKey>([[kid, publicKey]]);
  if (previousPublicJwkJson?.trim()) {
    const previous = JSON.parse(previousPublicJwkJson) as JWK;
    if (previous.d !== undefined) throw new Error("JWT_PREVIOUS_PUBLIC_JWK must be a public JWK: remove its \"d\"");
    const previousPublic = ed25519Public(previous, "JWT_PREVIOUS_PUBLIC_JWK");
    const previousKid = await keyIdOf(previousPublic);
    if (!verifiers.has(previousKid)) verifiers.set(previousKid, (await importJWK({ ...previousPublic, alg: ALG }, ALG)) as CryptoKey);
  }
  return { kid, privateKey, publicKey, verifiers };
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
    .setProtectedHeader({ alg: ALG, typ: "JWT", kid: keys.kid })
    .setSubject(who.accountId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ACCESS_TOKEN_TTL_S}s`)
    .setJti(randomHex(8))
    .sign(keys.privateKey);
}

/**
 * Checks key id, signature, algorithm, issuer, audience and expiry; returns null for any forgery.
 * The key is the one the token's `kid` names (an unknown `kid` fails); without `kid`, the current key.
 */
export async function verifyAccessToken(keys: SigningKeys, token: string): Promise<Principal | null> {
  try {
    const keyOf = ({ kid }: { kid?: unknown }) => {
      const key = kid === undefined ? keys.publicKey : typeof kid === "string" ? keys.verifiers.get(kid) : undefined;
      if (!key) throw new Error("unknown key id");
      return key;
    };
    const { payload } = await jwtVerify(token, keyOf, { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE });
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
