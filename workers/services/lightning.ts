import { decodeInvoice, InvalidInvoiceError, type DecodedInvoice } from "../../src/bolt11";
import { ApiError, type Refusal } from "../../src/errors";
import { isPaymentAmount, satToMsat, type Msat } from "../../src/money";
import { defaultMaxFeeMsat, INVOICE_EXPIRY } from "../../src/payment-rules";
import type { ApiAnswer, Invoice, LightningPayment } from "../../src/wallet-types";
import type { CreateInvoiceRequest, IdempotencyTag } from "../../durable/ports";
import { walletActor, type Env } from "../env";

/**
 * Receiving and paying over Lightning for any front door (the REST API, LNURL, LNDHub): one place
 * that decodes, checks and hands the work to the caller's wallet.
 */

export function decodeOrRefuse(payment_request: string): DecodedInvoice {
  try {
    return decodeInvoice(payment_request);
  } catch (error) {
    if (error instanceof InvalidInvoiceError) throw new ApiError("invalid_payment_request", error.message);
    throw error;
  }
}

/** An invoice the hub can pay, and the amount it is paid with. */
export type PayableInvoice = { invoice: DecodedInvoice; amount_msat: Msat };

/** An invoice the hub can pay: right network, not expired, a definite amount within bounds. */
export function payable(env: Env, payment_request: string, amount_msat?: Msat): PayableInvoice {
  const invoice = decodeOrRefuse(payment_request);
  if (invoice.network !== (env.BITCOIN_NETWORK || "bitcoin")) {
    throw new ApiError("invalid_payment_request", `invoice is for ${invoice.network}, the hub runs on ${env.BITCOIN_NETWORK || "bitcoin"}`);
  }
  if (Date.parse(invoice.expires_at) <= Date.now()) throw new ApiError("invoice_expired", "this invoice has expired");
  if (invoice.amount_msat !== null && amount_msat !== undefined && amount_msat !== invoice.amount_msat) {
    throw new ApiError("invalid_request", "amount_sat must be omitted or equal the invoice's amount");
  }
  const amount = invoice.amount_msat ?? amount_msat ?? null;
  if (amount === null) throw new ApiError("invalid_request", "this invoice has no amount: give amount_sat");
  if (!isPaymentAmount(amount)) throw new ApiError("invalid_request", "amount out of range");
  return { invoice, amount_msat: amount };
}

/**
 * `payable`, or, when the invoice has expired, what an earlier request with this idempotency key
 * stored (`{ stored }`): a payment asked for before the expiry is answered as it stands, not refused,
 * however late its replay comes (a client following a pending payment by repeating its request).
 */
export async function payableOrStored(
  env: Env,
  walletId: string,
  request: { payment_request: string; amount_msat?: Msat },
  idempotency: IdempotencyTag,
): Promise<PayableInvoice | { stored: ApiAnswer<LightningPayment> | Refusal }> {
  try {
    return payable(env, request.payment_request, request.amount_msat);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "invoice_expired")) throw error;
    const stored = await walletActor(env, walletId).storedAnswer(idempotency);
    if (stored) return { stored: stored as ApiAnswer<LightningPayment> | Refusal };
    throw error;
  }
}

/**
 * Pays a BOLT 11 invoice from a wallet (hub invoices inside the hub), with the default fee cap unless
 * given. `checked` is what `payableOrStored` already answered for this request (decoding costs milliseconds).
 */
export async function payInvoice(
  env: Env,
  walletId: string,
  request: { payment_request: string; amount_msat?: Msat; max_fee_msat?: Msat; max_parts?: number; amp?: boolean },
  idempotency: IdempotencyTag,
  checked?: PayableInvoice,
): Promise<ApiAnswer<LightningPayment> | Refusal> {
  const ready = checked ?? (await payableOrStored(env, walletId, request, idempotency));
  if ("stored" in ready) return ready.stored;
  const { invoice, amount_msat } = ready;
  // An AMP invoice (feature bit 30 or 31) is paid by AMP (docs/decisions/0025); `amp` may say so, never the opposite.
  const amp = isAmpInvoice(invoice);
  if (request.amp === true && !amp) throw new ApiError("invalid_request", "amp: this invoice does not accept AMP (feature bit 30/31)");
  if (request.amp === false && amp) throw new ApiError("invalid_request", "amp: this is an AMP invoice, paid only by AMP");
  return walletActor(env, walletId).payLightning({
    idempotency,
    payment_request: request.payment_request,
    payment_hash: invoice.payment_hash,
    amount_msat,
    amountless: invoice.amount_msat === null,
    max_fee_msat: request.max_fee_msat ?? defaultMaxFeeMsat(amount_msat),
    memo: invoice.description,
    ...(request.max_parts === undefined ? {} : { max_parts: request.max_parts }),
    ...(amp ? { amp_invoice: { payment_addr: invoice.payment_secret } } : {}),
  });
}

/** An invoice that requires or allows AMP (feature bit 30 or 31): LND pays it only as AMP. */
export const isAmpInvoice = (invoice: DecodedInvoice): boolean => invoice.features.includes(30) || invoice.features.includes(31);

/** Creates a hold invoice for a wallet (default expiry unless given). */
export function createInvoice(env: Env, walletId: string, request: Omit<CreateInvoiceRequest, "expiry_s"> & { expiry_s?: number }): Promise<ApiAnswer<Invoice> | Refusal> {
  return walletActor(env, walletId).createInvoice({ ...request, expiry_s: request.expiry_s ?? INVOICE_EXPIRY.default_s });
}

export const satOrUndefined = (sat: number | undefined): Msat | undefined => (sat === undefined ? undefined : satToMsat(sat));
