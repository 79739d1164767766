import { useEffect, useState } from "preact/hooks";
import type { Invoice } from "@flash-hub/sdk";
import { describe, type Account } from "../account.ts";
import { InvoiceQr } from "./invoice-qr.tsx";
import { ErrorAlert } from "../components/form-parts.tsx";

/** An invoice to be paid from anywhere on Lightning, and the account's Lightning Address. */
export function ReceiveView({ account }: { account: Account }) {
  const [invoice, setInvoice] = useState<Invoice | null>(null);
  const [address, setAddress] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    account.hub.lightningAddressOf(account.username).then(setAddress, () => {});
  }, [account]);

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setError("");
    try {
      const amountSat = Number(form.get("amount") || 0);
      setInvoice(await account.hub.createInvoice({ ...(amountSat ? { amountSat } : {}), memo: String(form.get("memo") ?? "").trim() || undefined }));
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <section aria-labelledby="receive-title">
      <h2 id="receive-title">Receive</h2>
      {address && (
        <p>
          Your Lightning Address: <strong data-testid="lightning-address">{address}</strong>
        </p>
      )}
      <form class="card" onSubmit={submit}>
        <label>
          Amount (sat) <span class="muted">(optional)</span>
          <input name="amount" type="number" min={1} step={1} inputMode="numeric" />
        </label>
        <label>
          Description <span class="muted">(optional)</span>
          <input name="memo" maxLength={200} />
        </label>
        <ErrorAlert error={error} />
        <button type="submit">Create invoice</button>
      </form>
      {invoice && <InvoiceQr key={invoice.payment_hash} account={account} invoice={invoice} />}
    </section>
  );
}
