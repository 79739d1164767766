import { Point } from "@noble/secp256k1";

/** An encryption public key as clients send it: 32 bytes of x-only secp256k1 key, lowercase hex. */
export const ENCRYPTION_PUBLIC_KEY_PATTERN = /^[0-9a-f]{64}$/;
export const ENCRYPTION_PUBLIC_KEY_RULE = "64 lowercase hex characters (a 32-byte x-only secp256k1 public key)";

/**
 * True if `hex` is a usable x-only public key (BIP 340, as NIP-44 uses them): 64 lowercase hex
 * characters whose number is the x coordinate of a point on secp256k1 (below the field prime,
 * with x³ + 7 a square). The even-y point is taken, as for any x-only key.
 */
export function isEncryptionPublicKey(hex: string): boolean {
  if (!ENCRYPTION_PUBLIC_KEY_PATTERN.test(hex)) return false;
  try {
    Point.fromHex(`02${hex}`); // throws unless x < p and x lies on the curve
    return true;
  } catch {
    return false;
  }
}
