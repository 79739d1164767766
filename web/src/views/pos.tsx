import { useState } from "preact/hooks";
import type { Invoice } from "@flash-hub/sdk";
import type { Account } from "../account.ts";
import { useFormSubmit } from "../components/use-form-submit.ts";
import { InvoiceQr } from "./invoice-qr.tsx";
import { ErrorAlert } from "../components/form-parts.tsx";

/** Point of sale: an amount, its invoice as a large QR code, "Paid" the moment the payment lands, next sale. */
export function PosView({ account }: { account: Account }) {
  const [invoice, setInvoice] = useState<Invoice | null>(null);
  const { submit: charge, error, busy } = useFormSubmit(async (form) => {
    setInvoice(await account.hub.createInvoice({ amountSat: Number(form.get("amount")), memo: String(form.get("memo") ?? "").trim() || undefined }));
  });

  return (
    <section aria-labelledby="pos-title" class="pos">
      <h2 id="pos-title">Point of sale</h2>
      {invoice ? (
        <>
          <InvoiceQr key={invoice.payment_hash} account={account} invoice={invoice} size={320} />
          <button type="button" onClick={() => setInvoice(null)} autoFocus>
            New sale
          </button>
        </>
      ) : (
        <form class="card" onSubmit={charge}>
          <label>
            Amount (sat)
            <input name="amount" type="number" min={1} step={1} inputMode="numeric" required autoFocus class="big" />
          </label>
          <label>
            Description <span class="muted">(optional)</span>
            <input name="memo" maxLength={200} />
          </label>
          <ErrorAlert error={error} />
          <button type="submit" disabled={busy}>
            Charge
          </button>
        </form>
      )}
    </section>
  );
}
