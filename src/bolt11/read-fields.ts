import { InvalidInvoiceError } from "./errors";
import { readFallbackAddress } from "./fallback-address";
import { readFeatureBits } from "./features";
import { readRouteHint } from "./route-hints";
import { TAG, type RawTaggedField } from "./tagged-fields";
import type { FallbackAddress, RouteHint } from "./types";
import { wordsToBigInt, wordsToBytes } from "./words";

/** Field values as found in the invoice; null when absent (defaults are applied by the caller). */
export interface TaggedFieldValues {
  payment_hash: Uint8Array | null;
  payment_secret: Uint8Array | null;
  description: string | null;
  description_hash: Uint8Array | null;
  payee: Uint8Array | null;
  expiry_s: number | null;
  min_final_cltv_expiry: number | null;
  features: number[] | null;
  payment_metadata: Uint8Array | null;
  route_hints: RouteHint[];
  fallback_addresses: FallbackAddress[];
}

/**
 * Fixed-length fields: readers must skip a p, h, s or n field of any other length (a future
 * variant could use another length), so only these exact sizes are read.
 */
const FIXED_WORDS: Partial<Record<number, number>> = {
  [TAG.payment_hash]: 52,
  [TAG.description_hash]: 52,
  [TAG.payment_secret]: 52,
  [TAG.payee]: 53,
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function readUint(name: string, words: readonly number[]): number {
  const value = wordsToBigInt(words);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidInvoiceError(`${name} is too large`);
  return Number(value);
}

function readUtf8(words: readonly number[]): string {
  try {
    return utf8.decode(wordsToBytes(words, "trim"));
  } catch {
    throw new InvalidInvoiceError("description is not valid UTF-8");
  }
}

/**
 * Interprets the tagged fields. Unknown types are ignored. When a single-valued field repeats,
 * the first readable one wins (BOLT 11: use the first `p` field that was not skipped; writers
 * list the preferred field first). `r` and `f` fields accumulate in order.
 */
export function readTaggedFields(fields: readonly RawTaggedField[]): TaggedFieldValues {
  const values: TaggedFieldValues = {
    payment_hash: null,
    payment_secret: null,
    description: null,
    description_hash: null,
    payee: null,
    expiry_s: null,
    min_final_cltv_expiry: null,
    features: null,
    payment_metadata: null,
    route_hints: [],
    fallback_addresses: [],
  };
  for (const { type, data } of fields) {
    const fixedWords = FIXED_WORDS[type];
    if (fixedWords !== undefined && data.length !== fixedWords) continue;
    switch (type) {
      case TAG.payment_hash:
        values.payment_hash ??= wordsToBytes(data, "trim");
        break;
      case TAG.payment_secret:
        values.payment_secret ??= wordsToBytes(data, "trim");
        break;
      case TAG.description_hash:
        values.description_hash ??= wordsToBytes(data, "trim");
        break;
      case TAG.payee:
        values.payee ??= wordsToBytes(data, "trim");
        break;
      case TAG.description:
        values.description ??= readUtf8(data);
        break;
      case TAG.expiry:
        values.expiry_s ??= readUint("expiry", data);
        break;
      case TAG.min_final_cltv_expiry:
        values.min_final_cltv_expiry ??= readUint("min_final_cltv_expiry", data);
        break;
      case TAG.features:
        values.features ??= readFeatureBits(data);
        break;
      case TAG.payment_metadata:
        values.payment_metadata ??= wordsToBytes(data, "trim");
        break;
      case TAG.route_hint:
        values.route_hints.push(readRouteHint(wordsToBytes(data, "trim")));
        break;
      case TAG.fallback_address: {
        const address = readFallbackAddress(data);
        if (address) values.fallback_addresses.push(address);
        break;
      }
    }
  }
  return values;
}
