import { useState } from "preact/hooks";
import { FlashHub } from "@flash-hub/sdk";
import { describe, formatSat, needsTotp, type Account } from "../account.ts";
import { ErrorAlert, TotpField } from "../components/form-parts.tsx";

type Destination = { kind: "invoice" | "address" | "user"; value: string };

/** What was typed: a BOLT 11 invoice, a Lightning Address or LNURL, or a user of this hub. */
export function destinationOf(input: string): Destination {
  const value = input.trim().replace(/^lightning:/i, "");
  if (/^lnurl1/i.test(value) || FlashHub.isLightningAddress(value)) return { kind: "address", value };
  if (/^ln(bc|tb|bcrt|sb)/i.test(value)) return { kind: "invoice", value };
  return { kind: "user", value };
}

/** Pays a user, an invoice or a Lightning Address; one idempotency key per attempt the user makes. */
export function SendView({ account }: { account: Account }) {
  const [to, setTo] = useState("");
  const [askTotp, setAskTotp] = useState(false);
  const [result, setResult] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const destination = destinationOf(to);

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const amountSat = Number(form.get("amount") || 0);
    const memo = String(form.get("memo") ?? "").trim() || undefined;
    const totpCode = String(form.get("totp") ?? "").trim() || undefined;
    setBusy(true);
    setError("");
    setResult("");
    try {
      if (destination.kind === "invoice") {
        const paid = await account.hub.payInvoice(destination.value, { ...(amountSat ? { amountSat } : {}), totpCode });
        setResult(`Invoice payment ${paid.status}.`);
      } else if (destination.kind === "address") {
        const paid = await account.hub.payAddress(destination.value, amountSat, { comment: memo, totpCode });
        setResult(`Payment to ${destination.value} ${paid.status}.`);
      } else {
        const paid = await account.hub.pay(destination.value, amountSat, { memo, totpCode });
        setResult(`Sent ${formatSat(paid.transaction.amount_msat)} to ${destination.value}.`);
      }
      setAskTotp(false);
      (event.target as HTMLFormElement).reset();
      setTo("");
    } catch (e) {
      if (needsTotp(e)) setAskTotp(true);
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="send-title">
      <h2 id="send-title">Send</h2>
      <form class="card" onSubmit={submit}>
        <label>
          To <span class="muted">(username, Lightning invoice or address)</span>
          <input name="to" required maxLength={2048} value={to} onInput={(e) => setTo(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
        </label>
        <label>
          Amount (sat){destination.kind === "invoice" && <span class="muted"> — leave empty if the invoice names it</span>}
          <input name="amount" type="number" min={1} step={1} inputMode="numeric" required={destination.kind !== "invoice"} />
        </label>
        {destination.kind !== "invoice" && (
          <label>
            {destination.kind === "address" ? "Comment" : "Memo"} <span class="muted">(optional)</span>
            <input name="memo" maxLength={500} />
          </label>
        )}
        {askTotp && <TotpField />}
        <ErrorAlert error={error} />
        <button type="submit" disabled={busy}>
          Send
        </button>
        <p role="status" class="ok">
          {result}
        </p>
      </form>
    </section>
  );
}
