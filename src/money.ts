/** Money is integer millisatoshis everywhere inside the hub. */
export type Msat = number;

export const MSAT_PER_SAT = 1000;
/** Largest single payment the hub accepts (1 BTC): bounds blast radius of a bug or a stolen key. */
export const MAX_PAYMENT_SAT = 100_000_000;
/** The development faucet's limit per call (contract). */
export const MAX_FAUCET_SAT = 10_000_000;

export const satToMsat = (sat: number): Msat => {
  if (!Number.isSafeInteger(sat) || sat < 0) throw new RangeError(`not a whole amount of sat: ${sat}`);
  return sat * MSAT_PER_SAT;
};

export const isValidMsat = (msat: number): boolean => Number.isSafeInteger(msat) && msat >= 0;

/** A whole, positive amount of msat within a per-payment bound (in sat); the one amount check of the hub. */
export function isPaymentAmount(amount_msat: unknown, maxSat: number = MAX_PAYMENT_SAT): amount_msat is Msat {
  return typeof amount_msat === "number" && Number.isSafeInteger(amount_msat) && amount_msat > 0 && amount_msat <= maxSat * MSAT_PER_SAT;
}
