import { useEffect, useState } from "preact/hooks";
import type { Invoice } from "@flash-hub/sdk";
import { formatSat, type Account } from "../account.ts";
import { QrCode } from "../qr.tsx";

/** An invoice as a QR code that turns into "Paid" the moment the hub's invoice.paid event for it arrives. */
export function InvoiceQr({ account, invoice, size }: { account: Account; invoice: Invoice; size?: number }) {
  const [paid, setPaid] = useState(invoice.status === "paid");
  useEffect(
    () =>
      account.onEvent((event) => {
        const paidInvoice = event.type === "invoice.paid" ? (event.data.invoice as Invoice | undefined) : undefined;
        if (paidInvoice?.payment_hash === invoice.payment_hash) setPaid(true);
      }),
    [account, invoice.payment_hash],
  );
  return (
    <div class="invoice">
      {paid ? (
        <p class="paid" role="status" data-testid="invoice-status">
          Paid ✓
        </p>
      ) : (
        <>
          <QrCode text={`lightning:${invoice.payment_request}`} label={`Lightning invoice${invoice.amount_msat ? ` for ${formatSat(invoice.amount_msat)}` : ""}`} size={size} />
          <p role="status" data-testid="invoice-status" class="muted">
            Waiting for payment…
          </p>
          <label>
            Invoice
            <textarea readOnly rows={3} data-testid="payment-request" value={invoice.payment_request} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </>
      )}
    </div>
  );
}
