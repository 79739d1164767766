/**
 * Bech32 data is a list of 5-bit "words". These helpers regroup bits between words and bytes
 * and read/write big-endian unsigned integers stored as words.
 */

/** Regroups a big-endian bit stream; `pad` appends zero bits to fill the last group, else leftover bits are dropped. */
function regroupBits(values: ArrayLike<number>, fromBits: number, toBits: number, pad: boolean): number[] {
  const out: number[] = [];
  const mask = (1 << toBits) - 1;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < values.length; i++) {
    // Keep only the bits not yet emitted, so acc never grows past fromBits + toBits.
    acc = ((acc << fromBits) | (values[i] as number)) & ((1 << (fromBits + toBits)) - 1);
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push((acc >> bits) & mask);
    }
  }
  if (pad && bits > 0) out.push((acc << (toBits - bits)) & mask);
  return out;
}

/**
 * Words to bytes. "trim" drops the trailing bits that do not fill a byte (how tagged field data
 * is read: writers pad fields to 5 bits with zeros); "pad" zero-fills the last byte (how the
 * signed message is built).
 */
export function wordsToBytes(words: readonly number[], mode: "trim" | "pad"): Uint8Array {
  return Uint8Array.from(regroupBits(words, 5, 8, mode === "pad"));
}

/** Bytes to words, zero-padding the last word. */
export function bytesToWords(bytes: Uint8Array): number[] {
  return regroupBits(bytes, 8, 5, true);
}

/** Big-endian unsigned integer from words (bigint, so oversized values can be detected by callers). */
export function wordsToBigInt(words: readonly number[]): bigint {
  let value = 0n;
  for (const w of words) value = (value << 5n) | BigInt(w);
  return value;
}

/** Big-endian words of a non-negative integer: the fewest words, but at least `minWords`. */
export function uintToWords(value: number | bigint, minWords = 1): number[] {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError("cannot encode a negative integer");
  const words: number[] = [];
  while (v > 0n) {
    words.unshift(Number(v & 31n));
    v >>= 5n;
  }
  while (words.length < minWords) words.unshift(0);
  return words;
}
