import { useEffect, useState } from "preact/hooks";
import type { Transaction, Wallet } from "@flash-hub/sdk";
import { describe, formatSat, type Account } from "../account.ts";
import { ErrorAlert } from "../components/form-parts.tsx";

/** Events after which the balance or the history may have changed: all but chat's (whose payments come as transfer events too). */
const movesMoney = (type: string) => !type.startsWith("chat.");

/** Balance and recent history, read again whenever the stream says money moved. */
export function WalletView({ account }: { account: Account }) {
  const [wallet, setWallet] = useState<Wallet | null>(null);
  const [transactions, setTransactions] = useState<Transaction[]>([]);
  const [error, setError] = useState("");

  useEffect(() => {
    let stale = false;
    const refresh = async () => {
      try {
        const [w, page] = await Promise.all([account.hub.wallet(), account.hub.transactions({ limit: 20 })]);
        if (stale) return;
        setWallet(w);
        setTransactions(page.transactions);
        setError("");
      } catch (e) {
        if (!stale) setError(describe(e));
      }
    };
    void refresh();
    const off = account.onEvent((event) => {
      if (movesMoney(event.type)) void refresh();
    });
    return () => {
      stale = true;
      off();
    };
  }, [account]);

  return (
    <section aria-labelledby="wallet-title">
      <h2 id="wallet-title">Wallet</h2>
      <p class="balance" aria-live="polite">
        <span class="muted">Balance</span> <strong data-testid="balance">{wallet ? formatSat(wallet.balance_msat) : "…"}</strong>
        {wallet && wallet.pending_out_msat > 0 && <span class="muted"> ({formatSat(wallet.pending_out_msat)} on its way out)</span>}
      </p>
      <ErrorAlert error={error} />
      <h3>History</h3>
      {transactions.length === 0 ? (
        <p class="muted">No payments yet.</p>
      ) : (
        <ul class="history" data-testid="history">
          {transactions.map((t) => (
            <li key={t.id}>
              <span class={t.direction === "in" ? "in" : "out"}>
                {t.direction === "in" ? "+" : "−"}
                {formatSat(t.amount_msat)}
              </span>{" "}
              <span>{t.counterparty ? `${t.direction === "in" ? "from" : "to"} ${t.counterparty.username}` : t.kind}</span>
              {t.memo && <span class="muted"> · {t.memo}</span>}
              {t.status !== "succeeded" && <span class="muted"> · {t.status}</span>}
              <time class="muted" dateTime={t.created_at}>
                {new Date(t.created_at).toLocaleString()}
              </time>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
