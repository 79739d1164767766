/**
 * Secrets the hub must read back (not only compare) are stored sealed: AES-256-GCM with WebCrypto,
 * a fresh random 12-byte IV per seal, and "additional data" binding the ciphertext to what it
 * belongs to (a sealed value copied to another account does not open there). The key is 32 bytes,
 * given as base64 (a Worker secret).
 */

export const SECRET_BOX_KEY_BYTES = 32;
export const SECRET_BOX_IV_BYTES = 12;

export interface Sealed {
  ciphertext: Uint8Array;
  iv: Uint8Array;
}

export class SecretBoxKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxKeyError";
  }
}

const encoder = new TextEncoder();

function base64Bytes(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Imports a base64 key of exactly 32 bytes (anything else is refused, never padded or cut). */
export async function secretBoxKey(base64: string | undefined): Promise<CryptoKey> {
  if (!base64) throw new SecretBoxKeyError("no key is configured");
  const bytes = base64Bytes(base64);
  if (!bytes || bytes.length !== SECRET_BOX_KEY_BYTES) throw new SecretBoxKeyError(`the key must be ${SECRET_BOX_KEY_BYTES} bytes in base64`);
  return crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Seals `plaintext` for `context` (the additional data: what the secret belongs to). */
export async function seal(key: CryptoKey, plaintext: Uint8Array, context: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(SECRET_BOX_IV_BYTES));
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(context) }, key, plaintext));
  return { ciphertext, iv };
}

/** Opens what `seal` sealed for the same context; throws if the key, context or bytes differ. */
export async function open(key: CryptoKey, sealed: Sealed, context: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: encoder.encode(context) }, key, sealed.ciphertext));
}

/** A new random key in base64 (for `.dev.vars`, tests and operators). */
export const newSecretBoxKey = (): string => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(SECRET_BOX_KEY_BYTES))));
