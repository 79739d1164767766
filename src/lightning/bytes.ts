// Conversions between the encodings LND's REST gateway uses for `bytes`
// fields and the lowercase hex this client exposes.
//
// - JSON bodies and responses: standard base64 with padding (protojson).
// - URL path segments and query values: base64url *with* padding. The gateway
//   decodes with Go's base64.StdEncoding, then base64.URLEncoding, both of which
//   require padding, so the trailing "=" must be kept.

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function hexToBytes(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new TypeError(`not an even-length hex string: ${JSON.stringify(hex)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Accepts standard or URL-safe alphabet, with or without padding. */
export function base64ToBytes(b64: string): Uint8Array {
  let std = b64.replace(/-/g, "+").replace(/_/g, "/");
  if (std.length % 4 !== 0) std += "=".repeat(4 - (std.length % 4));
  const bin = atob(std); // throws on characters outside the alphabet
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hexToBase64(hex: string): string {
  return bytesToBase64(hexToBytes(hex));
}

/** Padded base64url, the form LND's gateway accepts in paths and queries. */
export function hexToBase64Url(hex: string): string {
  return hexToBase64(hex).replace(/\+/g, "-").replace(/\//g, "_");
}

export function base64ToHex(b64: string): string {
  return bytesToHex(base64ToBytes(b64));
}

/** Validates a 32-byte hash/preimage given as hex and returns it lowercased. */
export function hex32(value: string, what: string): string {
  if (typeof value !== "string" || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new TypeError(`${what} must be 32 bytes of hex, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}
