import { bytesToHex } from "@noble/hashes/utils.js";

const encoder = new TextEncoder();

export const toHex = (bytes: ArrayBuffer | Uint8Array): string => bytesToHex(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));

/** SHA-256 of a string, lowercase hex: how secrets (refresh tokens, API keys) are stored. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** SHA-256 of raw bytes, lowercase hex (payment hashes from preimages). */
export async function sha256HexOfBytes(bytes: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}
