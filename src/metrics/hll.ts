/**
 * HyperLogLog (Flajolet et al. 2007, with the small-range correction by linear counting): how many
 * distinct accounts were active, without keeping them. 2^12 registers of one byte (4 KiB per
 * sketch), a standard error of 1.04 / √4096 ≈ 1.6 %; sketches merge by taking each register's
 * maximum, so isolates and shards each keep theirs and the scrape merges them.
 */

export const HLL_PRECISION = 12;
export const HLL_REGISTERS = 1 << HLL_PRECISION;

/** A 32-bit hash of a string: FNV-1a over its UTF-16 code units, then murmur3's finaliser (so every bit avalanches). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The register an item sets and the value it sets there (the position of the first 1 bit of the rest of its hash, 1 to 21). */
export function hllPoint(item: string): { index: number; rank: number } {
  const h = hash32(item);
  const index = h >>> (32 - HLL_PRECISION);
  // The low 20 bits, shifted up; the guard bit bounds the rank at 32 - precision + 1.
  const rank = Math.clz32(((h << HLL_PRECISION) | (1 << (HLL_PRECISION - 1))) >>> 0) + 1;
  return { index, rank };
}

export const emptySketch = (): Uint8Array => new Uint8Array(HLL_REGISTERS);

/** Sets `into` to the register-wise maximum of both (a sketch of the union). */
export function mergeSketch(into: Uint8Array, from: Uint8Array): Uint8Array {
  for (let i = 0; i < HLL_REGISTERS; i++) if (from[i]! > into[i]!) into[i] = from[i]!;
  return into;
}

/** Sets the registers of `points` (a flat list: index, rank, index, rank, …) in `into`, keeping each maximum. */
export function addPoints(into: Uint8Array, points: readonly number[]): Uint8Array {
  for (let i = 0; i + 1 < points.length; i += 2) {
    const index = points[i]!;
    const rank = points[i + 1]!;
    if (index >= 0 && index < HLL_REGISTERS && rank > into[index]!) into[index] = rank;
  }
  return into;
}

/** The estimated number of distinct items the sketch has seen (rounded). */
export function estimateDistinct(registers: Uint8Array): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = registers[i]!;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / m);
  let estimate = (alpha * m * m) / sum;
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * Math.log(m / zeros);
  else if (estimate > 2 ** 32 / 30) estimate = -(2 ** 32) * Math.log(1 - estimate / 2 ** 32);
  return Math.round(estimate);
}
