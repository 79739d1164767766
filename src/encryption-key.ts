/** An encryption public key as clients send it: 32 bytes of x-only secp256k1 key, lowercase hex. */
export const ENCRYPTION_PUBLIC_KEY_PATTERN = /^[0-9a-f]{64}$/;
export const ENCRYPTION_PUBLIC_KEY_RULE = "64 lowercase hex characters (a 32-byte x-only secp256k1 public key)";

/**
 * True if `hex` is a usable x-only public key (BIP 340, as NIP-44 uses them): the one check lives
 * with NIP-44 (src/nip44.ts).
 */
export { isXOnlyPublicKey as isEncryptionPublicKey } from "./nip44";
