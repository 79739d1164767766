import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import * as secp from "@noble/secp256k1";
import { wordsToBytes } from "./words";

/**
 * The invoice signature: 64-byte compact (r || s) followed by a recovery id byte, over
 * sha256(hrp as UTF-8 || data words before the signature, zero-padded to a whole byte).
 */
export const SIGNATURE_BYTES = 65;

export function signingDigest(hrp: string, dataWords: readonly number[]): Uint8Array {
  return sha256(concatBytes(utf8ToBytes(hrp), wordsToBytes(dataWords, "pad")));
}

/** noble-secp256k1 v3 only signs synchronously once given sync hashes (RFC 6979 nonces use HMAC). */
function ensureSyncHashes(): void {
  secp.hashes.sha256 ??= sha256;
  secp.hashes.hmacSha256 ??= (key, message) => hmac(sha256, key, message);
}

/** Signs a digest; returns r || s || recovery id. */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  ensureSyncHashes();
  // noble's "recovered" format puts the recovery id first; BOLT 11 puts it last.
  const recovered = secp.sign(digest, privateKey, { prehash: false, format: "recovered" });
  return concatBytes(recovered.subarray(1), recovered.subarray(0, 1));
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return secp.getPublicKey(privateKey, true);
}

/**
 * The signer's compressed public key, recovered from the signature. Throws when the signature
 * is not recoverable. High-S signatures are accepted here (recovery works for either S).
 */
export function recoverSigner(signature: Uint8Array, digest: Uint8Array): Uint8Array {
  const recovered = concatBytes(signature.subarray(64, 65), signature.subarray(0, 64));
  return secp.recoverPublicKey(recovered, digest, { prehash: false });
}

/** Checks the signature against a given key (the `n` field), requiring canonical low-S. */
export function isSignedBy(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return secp.verify(signature.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}
