import { InvalidInvoiceError } from "./errors";

/**
 * Invoice amounts are written in bitcoin with an optional multiplier letter; we count millisatoshi.
 * Arithmetic is in bigint so that oversized amounts are caught instead of silently rounded.
 */
const MSAT_PER_BTC = 100_000_000_000n;
const MSAT_PER_MULTIPLIER_UNIT = { m: 100_000_000n, u: 100_000n, n: 100n } as const;
/** 21 million BTC: no invoice can ask for more than the supply. */
const MAX_SUPPLY_MSAT = 21_000_000n * MSAT_PER_BTC;
const MAX_SAFE_MSAT = BigInt(Number.MAX_SAFE_INTEGER);

/** Parses the amount part of the human-readable part ("" means no amount). */
export function parseAmount(text: string): number | null {
  if (text === "") return null;
  const match = /^([0-9]+)([a-z]?)$/.exec(text);
  if (!match) throw new InvalidInvoiceError(`invalid amount "${text}"`);
  const digits = match[1] as string;
  const multiplier = match[2] as string;
  if (digits.startsWith("0")) throw new InvalidInvoiceError(`amount "${text}" has a leading zero`);
  const value = BigInt(digits);
  let msat: bigint;
  if (multiplier === "") msat = value * MSAT_PER_BTC;
  else if (multiplier === "p") {
    // One pico-bitcoin is a tenth of a millisatoshi, which no HTLC can carry.
    if (value % 10n !== 0n) throw new InvalidInvoiceError(`amount "${text}" is not a whole number of millisatoshi`);
    msat = value / 10n;
  } else if (multiplier === "m" || multiplier === "u" || multiplier === "n") {
    msat = value * MSAT_PER_MULTIPLIER_UNIT[multiplier];
  } else {
    throw new InvalidInvoiceError(`invalid amount multiplier "${multiplier}"`);
  }
  if (msat > MAX_SUPPLY_MSAT) throw new InvalidInvoiceError(`amount "${text}" exceeds 21 million BTC`);
  // amount_msat is a JS number: refuse what it cannot hold exactly (about 90,000 BTC).
  if (msat > MAX_SAFE_MSAT) throw new InvalidInvoiceError(`amount "${text}" is too large to represent exactly`);
  return Number(msat);
}

/** Writes an amount in its shortest exact form: the largest multiplier (or none) that divides it. */
export function formatAmount(amountMsat: number): string {
  if (!Number.isSafeInteger(amountMsat) || amountMsat <= 0) {
    throw new RangeError(`amount_msat must be a positive safe integer, got ${amountMsat}`);
  }
  const msat = BigInt(amountMsat);
  if (msat % MSAT_PER_BTC === 0n) return `${msat / MSAT_PER_BTC}`;
  for (const multiplier of ["m", "u", "n"] as const) {
    const unit = MSAT_PER_MULTIPLIER_UNIT[multiplier];
    if (msat % unit === 0n) return `${msat / unit}${multiplier}`;
  }
  return `${msat * 10n}p`;
}
