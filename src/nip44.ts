/**
 * NIP-44 version 2: the Nostr scheme for encrypted direct payloads, here once for the whole hub.
 *
 *   conversation key = HKDF-extract(salt "nip44-v2", x of ECDH(our secret, their x-only key))
 *   message keys     = HKDF-expand(conversation key, info = 32-byte nonce, 76 bytes)
 *                      → ChaCha20 key (32) ‖ ChaCha20 nonce (12) ‖ HMAC key (32)
 *   padded           = u16 big-endian length ‖ UTF-8 plaintext ‖ zeros up to calcPaddedLen
 *   ciphertext       = ChaCha20(padded)            (RFC 8439, counter 0)
 *   mac              = HMAC-SHA256(HMAC key, nonce ‖ ciphertext)
 *   payload          = base64(0x02 ‖ nonce ‖ ciphertext ‖ mac)
 *
 * Plain TypeScript on @noble/@scure: no runtime imports, so it runs alike in workerd and Node.
 * The hub itself never holds a chat secret; it relays payloads and checks their shape only
 * (isNip44Payload). encrypt/decrypt serve clients, tests and tools.
 */
import { chacha20 } from "@noble/ciphers/chacha.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import * as secp from "@noble/secp256k1";
import { base64 } from "@scure/base";

export const NIP44_VERSION = 2;
/** Plaintext bounds in UTF-8 bytes. */
export const NIP44_MIN_PLAINTEXT_BYTES = 1;
export const NIP44_MAX_PLAINTEXT_BYTES = 65_535;
/** Base64 payload bounds in characters: base64 of 99 and of 65,603 bytes. */
export const NIP44_MIN_PAYLOAD_CHARS = 132;
export const NIP44_MAX_PAYLOAD_CHARS = 87_472;
/** Decoded payload bounds: 1 version + 32 nonce + (2 + 32 .. 2 + 65,536) ciphertext + 32 mac. */
export const NIP44_MIN_PAYLOAD_BYTES = 99;
export const NIP44_MAX_PAYLOAD_BYTES = 65_603;

const NONCE_BYTES = 32;
const MAC_BYTES = 32;
const SALT = utf8ToBytes("nip44-v2");
const HEX_32 = /^[0-9a-f]{64}$/;
const HEX_32_ANY_CASE = /^[0-9a-fA-F]{64}$/;
// fatal: malformed UTF-8 is an error; ignoreBOM: a leading U+FEFF is kept as text, not stripped.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Every failure of this module: bad keys, bad lengths, unknown version, bad MAC, bad padding. */
export class Nip44Error extends Error {
  override name = "Nip44Error";
}

export interface MessageKeys {
  chachaKey: Uint8Array;
  chachaNonce: Uint8Array;
  hmacKey: Uint8Array;
}

/** The x-only (BIP 340 style, 32-byte) public key of a secret key, as 64 lowercase hex. */
export function getPublicKeyXOnly(privateKeyHex: string): string {
  return bytesToHex(secp.getPublicKey(secretKeyBytes(privateKeyHex), true).subarray(1));
}

/** 64 lowercase hex characters naming a valid x coordinate on secp256k1 (lift_x succeeds). */
export function isXOnlyPublicKey(hex: string): boolean {
  return typeof hex === "string" && HEX_32.test(hex) && liftX(hex) !== null;
}

/**
 * The conversation key shared by `privateKeyHex` and the owner of `publicKeyXOnlyHex`:
 * symmetric, so either side computes the same 32 bytes. Throws Nip44Error on an invalid
 * secret key (0, ≥ n, not 64 hex) or a public key that is not an x coordinate on the curve.
 */
export function getConversationKey(privateKeyHex: string, publicKeyXOnlyHex: string): Uint8Array {
  const secret = secretKeyBytes(privateKeyHex);
  if (typeof publicKeyXOnlyHex !== "string" || !HEX_32_ANY_CASE.test(publicKeyXOnlyHex)) {
    throw new Nip44Error("invalid public key: expected 64 hex characters");
  }
  const point = liftX(publicKeyXOnlyHex.toLowerCase());
  if (point === null) throw new Nip44Error("invalid public key: not an x coordinate on secp256k1");
  // Unhashed ECDH: the 32-byte x coordinate of secret·P (the compressed point without its prefix).
  const sharedX = secp.getSharedSecret(secret, point.toBytes(true), true).subarray(1);
  return extract(sha256, sharedX, SALT);
}

/** Per-message keys from the conversation key and the message's 32-byte nonce. */
export function getMessageKeys(conversationKey: Uint8Array, nonce: Uint8Array): MessageKeys {
  assertBytes(conversationKey, 32, "conversation key");
  assertBytes(nonce, NONCE_BYTES, "nonce");
  const keys = expand(sha256, conversationKey, nonce, 76);
  return { chachaKey: keys.subarray(0, 32), chachaNonce: keys.subarray(32, 44), hmacKey: keys.subarray(44, 76) };
}

/** Padded size (without the 2-byte length prefix) for a plaintext of `len` bytes (len ≥ 1). */
export function calcPaddedLen(len: number): number {
  if (!Number.isSafeInteger(len) || len < 1) throw new Nip44Error(`invalid plaintext length: ${len}`);
  if (len <= 32) return 32;
  let nextPower = 1; // the smallest power of two ≥ len, i.e. 2^(floor(log2(len - 1)) + 1)
  while (nextPower < len) nextPower *= 2;
  const chunk = nextPower <= 256 ? 32 : nextPower / 8;
  return chunk * (Math.floor((len - 1) / chunk) + 1);
}

/** Encrypts `plaintext` (1..65,535 UTF-8 bytes) to a NIP-44 v2 payload; random nonce unless given. */
export function encrypt(plaintext: string, conversationKey: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): string {
  const { chachaKey, chachaNonce, hmacKey } = getMessageKeys(conversationKey, nonce);
  const ciphertext = chacha20(chachaKey, chachaNonce, pad(plaintext));
  const mac = hmacAad(hmacKey, ciphertext, nonce);
  return base64.encode(concatBytes(Uint8Array.of(NIP44_VERSION), nonce, ciphertext, mac));
}

/**
 * Decrypts a NIP-44 v2 payload. Throws Nip44Error on an unknown version, a payload of the wrong
 * size, invalid base64, a MAC that does not match (compared in constant time), bad padding, or
 * a plaintext that is not valid UTF-8.
 */
export function decrypt(payload: string, conversationKey: Uint8Array): string {
  assertBytes(conversationKey, 32, "conversation key");
  const data = decodePayload(payload);
  const nonce = data.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = data.subarray(1 + NONCE_BYTES, data.length - MAC_BYTES);
  const mac = data.subarray(data.length - MAC_BYTES);
  const { chachaKey, chachaNonce, hmacKey } = getMessageKeys(conversationKey, nonce);
  if (!equalConstantTime(hmacAad(hmacKey, ciphertext, nonce), mac)) throw new Nip44Error("invalid MAC");
  return unpad(chacha20(chachaKey, chachaNonce, ciphertext));
}

/**
 * The hub's shape check, which never decrypts: a string of 132..87,472 characters that is
 * canonical standard base64 (with padding) of 99..65,603 bytes starting with version byte 2.
 */
export function isNip44Payload(payload: string): boolean {
  if (typeof payload !== "string") return false;
  if (payload.length < NIP44_MIN_PAYLOAD_CHARS || payload.length > NIP44_MAX_PAYLOAD_CHARS) return false;
  let data: Uint8Array;
  try {
    data = base64.decode(payload);
  } catch {
    return false;
  }
  return data.length >= NIP44_MIN_PAYLOAD_BYTES && data.length <= NIP44_MAX_PAYLOAD_BYTES && data[0] === NIP44_VERSION;
}

// --- internals ---

function decodePayload(payload: string): Uint8Array {
  if (typeof payload !== "string") throw new Nip44Error("invalid payload: not a string");
  // '#' marks a non-base64 future encoding in the spec: an unknown version, not bad base64.
  if (payload.length === 0 || payload[0] === "#") throw new Nip44Error("unknown version");
  if (payload.length < NIP44_MIN_PAYLOAD_CHARS || payload.length > NIP44_MAX_PAYLOAD_CHARS) {
    throw new Nip44Error(`invalid payload size: ${payload.length} characters`);
  }
  let data: Uint8Array;
  try {
    data = base64.decode(payload);
  } catch {
    throw new Nip44Error("invalid base64");
  }
  if (data.length < NIP44_MIN_PAYLOAD_BYTES || data.length > NIP44_MAX_PAYLOAD_BYTES) {
    throw new Nip44Error(`invalid data size: ${data.length} bytes`);
  }
  if (data[0] !== NIP44_VERSION) throw new Nip44Error(`unknown version: ${data[0]}`);
  return data;
}

function pad(plaintext: string): Uint8Array {
  if (typeof plaintext !== "string") throw new Nip44Error("invalid plaintext: not a string");
  const unpadded = utf8ToBytes(plaintext);
  const len = unpadded.length;
  if (len < NIP44_MIN_PLAINTEXT_BYTES || len > NIP44_MAX_PLAINTEXT_BYTES) {
    throw new Nip44Error(`invalid plaintext size: ${len} bytes (must be 1..65535)`);
  }
  const padded = new Uint8Array(2 + calcPaddedLen(len)); // zero-filled tail
  padded[0] = len >>> 8;
  padded[1] = len & 0xff;
  padded.set(unpadded, 2);
  return padded;
}

function unpad(padded: Uint8Array): string {
  if (padded.length < 2) throw new Nip44Error("invalid padding");
  const len = ((padded[0] ?? 0) << 8) | (padded[1] ?? 0);
  if (len < NIP44_MIN_PLAINTEXT_BYTES || 2 + len > padded.length || padded.length !== 2 + calcPaddedLen(len)) {
    throw new Nip44Error("invalid padding");
  }
  try {
    return utf8Decoder.decode(padded.subarray(2, 2 + len));
  } catch {
    throw new Nip44Error("invalid plaintext: not UTF-8");
  }
}

/** HMAC-SHA256 over aad ‖ message, the 32-byte nonce being the associated data. */
function hmacAad(key: Uint8Array, message: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes(aad, NONCE_BYTES, "associated data");
  return hmac(sha256, key, concatBytes(aad, message));
}

function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The curve point with x coordinate `hex` and even y, or null when there is none (BIP 340 lift_x). */
function liftX(hex: string): secp.Point | null {
  try {
    return secp.Point.fromHex(`02${hex}`);
  } catch {
    return null;
  }
}

function secretKeyBytes(privateKeyHex: string): Uint8Array {
  if (typeof privateKeyHex !== "string" || !HEX_32_ANY_CASE.test(privateKeyHex)) {
    throw new Nip44Error("invalid secret key: expected 64 hex characters");
  }
  const bytes = hexToBytes(privateKeyHex.toLowerCase());
  if (!secp.utils.isValidSecretKey(bytes)) throw new Nip44Error("invalid secret key: must be in 1..n-1");
  return bytes;
}

function assertBytes(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new Nip44Error(`invalid ${what}: expected ${length} bytes`);
  }
}
