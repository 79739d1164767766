/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): the `webhook-signature` header is
 * `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) per signing secret, space-separated (two
 * secrets sign while a rotation overlaps). A secret is `whsec_` + standard base64 of the key's bytes.
 */

export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** Bytes of key in a new secret; a secret of 24–64 bytes is accepted (the contract's range). */
export const WEBHOOK_SECRET_BYTES = 32;
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;

export interface WebhookMessage {
  /** The event's stable id: the same on every retry. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** The exact bytes sent, as a string: sign what you send. */
  body: string;
}

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded, canonical base64 → bytes; anything else → null. */
function fromBase64(text: string): Uint8Array | null {
  if (!CANONICAL_BASE64.test(text)) return null;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Refuse non-zero padding bits: one secret, one spelling.
  return toBase64(bytes) === text ? bytes : null;
}

/** A new signing secret: `whsec_` + standard base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(WEBHOOK_SECRET_BYTES)));
}

/** `whsec_` + canonical standard base64 of 24–64 bytes. */
export function isWebhookSecret(s: string): boolean {
  if (typeof s !== "string" || !s.startsWith(WEBHOOK_SECRET_PREFIX)) return false;
  const key = fromBase64(s.slice(WEBHOOK_SECRET_PREFIX.length));
  return key !== null && key.length >= WEBHOOK_SECRET_MIN_BYTES && key.length <= WEBHOOK_SECRET_MAX_BYTES;
}

/**
 * Imported HMAC keys by secret string, so a delivery does not import its key again. Bounded: the oldest
 * entry goes first once full (a hit moves an entry to the back). Every webhook actor of the isolate
 * shares it, so the bound holds many accounts' secrets (two each during a rotation): 256 cycled
 * through 1,000 endpoints' keys, missing on every delivery. Only settled keys are kept, never
 * promises: a promise made while serving one request must not be awaited by another in workerd.
 */
export const WEBHOOK_KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, CryptoKey>();

async function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached) {
    keyCache.delete(secret);
    keyCache.set(secret, cached);
    return cached;
  }
  const raw = isWebhookSecret(secret) ? fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length)) : null;
  // The message names no part of the secret.
  if (!raw) throw new TypeError("not a webhook secret (whsec_ + base64 of 24–64 bytes)");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  keyCache.set(secret, key);
  while (keyCache.size > WEBHOOK_KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  return key;
}

/** How many imported keys are cached (for tests of the bound). */
export const webhookKeyCacheSize = (): number => keyCache.size;

const HEADER_TOKEN = /^[\x21-\x7e]+$/;

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for
 * each secret, in the order given, joined by one space. Throws on an empty list, a malformed secret, an
 * id that is not a non-empty run of visible ASCII, or a timestamp that is not a non-negative integer.
 */
export async function signWebhook(secrets: readonly string[], msg: WebhookMessage): Promise<string> {
  if (secrets.length === 0) throw new TypeError("at least one webhook secret signs");
  if (typeof msg.id !== "string" || !HEADER_TOKEN.test(msg.id)) throw new TypeError("webhook id must be visible ASCII without spaces");
  if (!Number.isSafeInteger(msg.timestamp) || msg.timestamp < 0) throw new TypeError("webhook timestamp must be Unix seconds (a non-negative integer)");
  const data = encoder.encode(`${msg.id}.${msg.timestamp}.${msg.body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), data)))}`),
  );
  return signatures.join(" ");
}

/** The headers of one delivery attempt: `webhook-id`, `webhook-timestamp`, `webhook-signature`, `content-type`. */
export async function webhookHeaders(secrets: readonly string[], msg: WebhookMessage): Promise<Record<string, string>> {
  return {
    "webhook-id": msg.id,
    "webhook-timestamp": String(msg.timestamp),
    "webhook-signature": await signWebhook(secrets, msg),
    "content-type": "application/json",
  };
}
