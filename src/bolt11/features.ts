import { InvalidInvoiceError } from "./errors";

/**
 * Feature bits of the `9` field. The field is big-endian: bit 0 is the lowest bit of the last word.
 * Even bits are "required", odd bits "optional" (BOLT 9, "it's OK to be odd").
 */

/**
 * Invoice features we understand, as pairs (even = required, odd = optional). A required bit
 * outside this list makes the invoice unpayable for us, so decoding rejects it.
 */
const KNOWN_FEATURE_PAIRS: ReadonlyArray<readonly [number, string]> = [
  [8, "var_onion_optin"],
  [14, "payment_secret"],
  [16, "basic_mpp"],
  [24, "option_route_blinding"],
  // Not in BOLT 9, but LND's AMP invoices require it and the hub pays through LND.
  [30, "amp"],
  [48, "option_payment_metadata"],
];

const KNOWN_FEATURE_BITS = new Set(KNOWN_FEATURE_PAIRS.flatMap(([even]) => [even, even + 1]));

/**
 * What encodeInvoice sets unless told otherwise: LND's invoice set (var_onion_optin required,
 * payment_secret required, basic_mpp optional) without route blinding, which the simulator
 * does not offer.
 */
export const DEFAULT_INVOICE_FEATURES: readonly number[] = [8, 14, 17];

/** Set bit numbers, ascending; rejects unknown required (even) bits. */
export function readFeatureBits(words: readonly number[]): number[] {
  const bits: number[] = [];
  for (let i = words.length - 1; i >= 0; i--) {
    const word = words[i] as number;
    const base = (words.length - 1 - i) * 5;
    for (let b = 0; b < 5; b++) if (word & (1 << b)) bits.push(base + b);
  }
  const unknownRequired = bits.filter((bit) => bit % 2 === 0 && !KNOWN_FEATURE_BITS.has(bit));
  if (unknownRequired.length > 0) {
    throw new InvalidInvoiceError(`invoice requires unknown feature bit(s) ${unknownRequired.join(", ")}`);
  }
  return bits;
}

/** The fewest words holding the given bits (empty when no bit is set: the field is then omitted). */
export function featureBitsToWords(bits: readonly number[]): number[] {
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0 || bit >= 1023 * 5) throw new RangeError(`invalid feature bit ${bit}`);
  }
  if (bits.length === 0) return [];
  const length = Math.floor(Math.max(...bits) / 5) + 1;
  const words = new Array<number>(length).fill(0);
  for (const bit of bits) {
    const index = length - 1 - Math.floor(bit / 5);
    words[index] = (words[index] as number) | (1 << bit % 5);
  }
  return words;
}
