import { InvalidInvoiceError } from "./errors";

/** Tag types of the data part, by the value of their bech32 character. */
export const TAG = {
  payment_hash: 1, // p
  route_hint: 3, // r
  features: 5, // 9
  expiry: 6, // x
  fallback_address: 9, // f
  description: 13, // d
  payment_secret: 16, // s
  payee: 19, // n
  description_hash: 23, // h
  min_final_cltv_expiry: 24, // c
  payment_metadata: 27, // m
} as const;

/** What readers assume when `x` or `c` is absent. */
export const DEFAULT_EXPIRY_S = 3600;
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18;

/** data_length is 10 bits, counted in words. */
const MAX_FIELD_WORDS = 1023;

export interface RawTaggedField {
  type: number;
  data: number[];
}

/** Splits the words between the timestamp and the signature into type / length / data fields. */
export function splitTaggedFields(words: readonly number[]): RawTaggedField[] {
  const fields: RawTaggedField[] = [];
  let at = 0;
  while (at < words.length) {
    if (at + 3 > words.length) throw new InvalidInvoiceError("tagged field header is truncated");
    const type = words[at] as number;
    const length = ((words[at + 1] as number) << 5) | (words[at + 2] as number);
    const start = at + 3;
    if (start + length > words.length) throw new InvalidInvoiceError("tagged field data runs past the signature");
    fields.push({ type, data: words.slice(start, start + length) });
    at = start + length;
  }
  return fields;
}

/** One field as words: type, 10-bit length, data. */
export function joinTaggedField(type: number, data: readonly number[]): number[] {
  if (data.length > MAX_FIELD_WORDS) {
    throw new RangeError(`tagged field ${type} is ${data.length} words; the limit is ${MAX_FIELD_WORDS} (639 bytes)`);
  }
  return [type, data.length >> 5, data.length & 31, ...data];
}
