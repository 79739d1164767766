import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { writeFallbackAddress } from "./fallback-address";
import { DEFAULT_INVOICE_FEATURES, featureBitsToWords } from "./features";
import { writeRouteHint } from "./route-hints";
import { DEFAULT_MIN_FINAL_CLTV_EXPIRY, TAG, joinTaggedField } from "./tagged-fields";
import type { InvoiceFields } from "./types";
import { bytesToWords, uintToWords } from "./words";

function hexField(name: string, hex: string, length: number): number[] {
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(hex);
  } catch {
    throw new TypeError(`${name} must be hex`);
  }
  if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${bytes.length}`);
  return bytesToWords(bytes);
}

function uintField(name: string, value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return uintToWords(value);
}

/**
 * The tagged fields of an invoice, as words, in a fixed order. `payee` is the 33-byte node id,
 * written as `n` only when asked for.
 */
export function writeTaggedFields(fields: InvoiceFields, payee: Uint8Array): number[] {
  const hasDescription = fields.description !== undefined && fields.description !== null;
  const hasDescriptionHash = fields.description_hash !== undefined && fields.description_hash !== null;
  if (hasDescription === hasDescriptionHash) {
    throw new TypeError("exactly one of description and description_hash is required");
  }
  const out: number[] = [];
  const add = (type: number, data: readonly number[]) => out.push(...joinTaggedField(type, data));

  add(TAG.payment_hash, hexField("payment_hash", fields.payment_hash, 32));
  add(TAG.payment_secret, hexField("payment_secret", fields.payment_secret, 32));
  if (hasDescription) add(TAG.description, bytesToWords(utf8ToBytes(fields.description as string)));
  else add(TAG.description_hash, hexField("description_hash", fields.description_hash as string, 32));
  if (fields.include_payee) add(TAG.payee, bytesToWords(payee));
  if (fields.expiry_s !== undefined) add(TAG.expiry, uintField("expiry_s", fields.expiry_s));
  add(TAG.min_final_cltv_expiry, uintField("min_final_cltv_expiry", fields.min_final_cltv_expiry ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY));
  for (const address of fields.fallback_addresses ?? []) add(TAG.fallback_address, writeFallbackAddress(address));
  for (const hint of fields.route_hints ?? []) add(TAG.route_hint, bytesToWords(writeRouteHint(hint)));
  const features = featureBitsToWords(fields.features ?? DEFAULT_INVOICE_FEATURES);
  if (features.length > 0) add(TAG.features, features); // the spec says omit an all-zero `9` field
  if (fields.payment_metadata !== undefined && fields.payment_metadata !== null) {
    add(TAG.payment_metadata, bytesToWords(hexToBytes(fields.payment_metadata)));
  }
  return out;
}
