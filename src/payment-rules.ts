import { refuse, type Refusal } from "./errors";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT, isPaymentAmount, type Msat } from "./money";

/** Default fee ceiling for an outgoing payment: max(10 sat, 0.5 %), rounded up to whole msat. */
export function defaultMaxFeeMsat(amount_msat: Msat): Msat {
  return Math.max(10 * MSAT_PER_SAT, Math.ceil(amount_msat * 0.005));
}

/** A wallet never pays itself (a transfer to itself, or its own invoice). */
export function selfPaymentRefusal(payer_wallet_id: string, payee_wallet_id: string): Refusal | null {
  return payer_wallet_id === payee_wallet_id ? refuse("self_payment", "a wallet cannot pay itself") : null;
}

/**
 * Payers may overpay an invoice a little (LND accepts it); an HTLC for less than the invoice, or
 * beyond twice the payment bound, is sent back.
 */
export const MAX_INVOICE_CREDIT_SAT = MAX_PAYMENT_SAT * 2;
export function isAcceptableInvoiceCredit(amount_msat: Msat, invoice_amount_msat: Msat | null): boolean {
  return isPaymentAmount(amount_msat, MAX_INVOICE_CREDIT_SAT) && (invoice_amount_msat === null || amount_msat >= invoice_amount_msat);
}

/** A partner's metadata on an invoice, and its own id for it (unique per account). */
export const INVOICE_METADATA = { max_keys: 20, max_bytes: 1024, external_id_max: 64 } as const;

/** Invoice lifetime bounds: a minute to a week; the default is an hour. */
export const INVOICE_EXPIRY = { min_s: 60, max_s: 7 * 24 * 3600, default_s: 3600 } as const;

/** How long a payment request waits for LND before answering `pending` (the alarm follows up). */
export const PAY_WAIT_MS = 8_000;
/** LND may try routes for this long before giving up on an outgoing payment. */
export const PAY_TIMEOUT_S = 30;
export const PAY_MAX_PARTS = 16;

/** The keysend TLV record (bLIP-3): the preimage, carried to the destination in the onion. */
export const KEYSEND_RECORD = "5482373484";
