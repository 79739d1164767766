// Delivery of state changes to open streams, with LND's rules: all-invoice
// subscribers get additions and settlements only; single-invoice subscribers
// get every change and their stream ends after SETTLED or CANCELED; payment
// subscribers get every update (only the final one with no_inflight_updates)
// and their stream ends on SUCCEEDED or FAILED. /sim/pay waits here too.

import { invoiceJson, paymentJson } from "./lnd-json";
import type { HubInvoice, HubPayment } from "./store";
import { Subscribers } from "./streams";

export interface InvoiceSubscriber {
  /** this subscriber never sees ACCEPTED (knob drop_invoice_events). */
  dropAccepted: boolean;
}

export interface PaymentSubscriber {
  noInflightUpdates: boolean;
}

export const ALL = "*";

export class Events {
  readonly allInvoices = new Subscribers<null>();
  readonly singleInvoice = new Subscribers<InvoiceSubscriber>();
  readonly payments = new Subscribers<PaymentSubscriber>();
  private readonly invoiceWaiters = new Map<string, Set<(inv: HubInvoice) => void>>();

  /**
   * `dropAccepted`: the change came from a /sim/pay call that asked for its ACCEPTED (for an AMP invoice:
   * its set's settlement) to be lost. An AMP set's settlement reaches all-invoice subscribers only: lnd
   * notifies it under the HTLCs' own (child) hash, so no SubscribeSingleInvoice of the invoice sees it.
   */
  invoiceChanged(inv: HubInvoice, dropAccepted = false): void {
    const json = invoiceJson(inv);
    const final = inv.state === "SETTLED" || inv.state === "CANCELED";
    const ampSettled = inv.isAmp === true && inv.state === "OPEN" && (inv.ampSets?.length ?? 0) > 0;
    for (const [stream, sub] of this.singleInvoice.of(inv.hash)) {
      if (ampSettled) continue;
      if (inv.state === "ACCEPTED" && (dropAccepted || sub.dropAccepted)) continue;
      stream.send(json);
      if (final) stream.close();
    }
    if ((inv.state === "OPEN" || inv.state === "SETTLED") && !(ampSettled && dropAccepted)) {
      for (const [stream] of this.allInvoices.of(ALL)) stream.send(json);
    }
    for (const waiter of [...(this.invoiceWaiters.get(inv.hash) ?? [])]) waiter(inv);
  }

  paymentChanged(p: HubPayment): void {
    const json = paymentJson(p);
    const final = p.status !== "IN_FLIGHT";
    for (const [stream, sub] of this.payments.of(p.hash)) {
      if (!final && sub.noInflightUpdates) continue;
      stream.send(json);
      if (final) stream.close();
    }
  }

  /** Resolves with the invoice once `done` holds for a change of it, or null after `timeoutMs`. */
  waitForInvoice(hash: string, done: (inv: HubInvoice) => boolean, timeoutMs: number): Promise<HubInvoice | null> {
    return new Promise((resolve) => {
      let set = this.invoiceWaiters.get(hash);
      if (!set) this.invoiceWaiters.set(hash, (set = new Set()));
      const waiters = set;
      const finish = (inv: HubInvoice | null) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (waiters.size === 0) this.invoiceWaiters.delete(hash);
        resolve(inv);
      };
      const waiter = (inv: HubInvoice) => {
        if (done(inv)) finish(inv);
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      waiters.add(waiter);
    });
  }

  closeAll(): void {
    this.allInvoices.closeAll();
    this.singleInvoice.closeAll();
    this.payments.closeAll();
  }

  /** Open streams, for /sim/streams. */
  counts(): { all_invoices: number; single_invoice: Record<string, number>; payments: Record<string, number> } {
    return {
      all_invoices: this.allInvoices.count(ALL),
      single_invoice: this.singleInvoice.counts(),
      payments: this.payments.counts(),
    };
  }
}
