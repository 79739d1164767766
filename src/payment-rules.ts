import { MSAT_PER_SAT, type Msat } from "./money";

/** Default fee ceiling for an outgoing payment: max(10 sat, 0.5 %), rounded up to whole msat. */
export function defaultMaxFeeMsat(amount_msat: Msat): Msat {
  return Math.max(10 * MSAT_PER_SAT, Math.ceil(amount_msat * 0.005));
}

/** Invoice lifetime bounds: a minute to a week; the default is an hour. */
export const INVOICE_EXPIRY = { min_s: 60, max_s: 7 * 24 * 3600, default_s: 3600 } as const;

/** How long a payment request waits for LND before answering `pending` (the alarm follows up). */
export const PAY_WAIT_MS = 8_000;
/** LND may try routes for this long before giving up on an outgoing payment. */
export const PAY_TIMEOUT_S = 30;
export const PAY_MAX_PARTS = 16;
