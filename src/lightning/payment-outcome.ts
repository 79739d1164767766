// Turns a payment update stream into one answer: the first final state, or —
// if the wait ends first — the latest state seen, so the caller can say
// "still in flight" and track the payment by hash later.

import { LndError, LndUnreachableError } from "./errors";
import type { Payment, PaymentOutcome } from "./types";

export function isFinalPayment(payment: Payment): boolean {
  return payment.status === "SUCCEEDED" || payment.status === "FAILED";
}

class WaitEnded extends Error {}

/**
 * `open` must start the stream with the given signal; aborting it is how the
 * wait stops a stream that is blocked waiting for LND. Errors before any
 * update are rethrown (LndError: LND refused; LndUnreachableError: unknown).
 * Stream errors after an update only end the wait: the payment exists and is
 * in flight, whatever happened to the connection.
 */
export async function waitForFinalPayment(
  open: (signal: AbortSignal) => AsyncIterable<Payment>,
  waitMs: number,
  callerSignal?: AbortSignal,
): Promise<PaymentOutcome> {
  const controller = new AbortController();
  const waitEnded = new WaitEnded(`no final payment state within ${waitMs} ms`);
  const timer = setTimeout(() => controller.abort(waitEnded), waitMs);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });

  let latest: Payment | null = null;
  try {
    for await (const payment of open(controller.signal)) {
      latest = payment;
      if (isFinalPayment(payment)) return { final: true, payment };
    }
    return { final: false, payment: latest }; // LND closed the stream early
  } catch (error) {
    if (error === waitEnded) return { final: false, payment: latest };
    if (latest && (error instanceof LndError || error instanceof LndUnreachableError)) {
      return { final: false, payment: latest, streamError: error };
    }
    throw error;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener("abort", onCallerAbort);
  }
}
