import { refuse, type Refusal } from "../../src/errors";
import { LndError, type LndRestClient, type OnchainTransaction } from "../../src/lightning";
import { WITHDRAWAL_TARGET_CONF, withdrawalLabel } from "../../src/onchain";
import type { ActorKit, Part } from "../kit/part";
import type { OnchainSendRequest, OnchainSendState } from "../ports";

/**
 * A withdrawal whose SendCoins has no known outcome (the call was lost, or this actor died during it)
 * is looked up by its label before it is sent again; not before this long after the call, so that a
 * call LND is still working on is not taken for one it never got.
 */
export const SEND_LOOKUP_AFTER_MS = 10_000;

interface SendRow {
  withdrawal_id: string;
  wallet_id: string;
  address: string;
  amount_sat: number;
  fee_rate_sat_vb: number | null;
  label: string;
  state: "sending" | "sent" | "failed";
  txid: string | null;
  failure_reason: string | null;
  updated_at: number;
}

/**
 * The wallets' withdrawals through LND's wallet (docs/decisions/0023), each sent at most once: the
 * intent is recorded with its label before SendCoins is called, so that after a crash (or a lost
 * answer) the transaction is found by its label in GetTransactions instead of being sent again.
 * Where a withdrawal stands is LND's word: sent (its txid), confirmed (its real fee), or refused.
 */
export class OnchainSends implements Part {
  readonly name = "onchain-sends";
  readonly migrations = [
    `CREATE TABLE onchain_sends (
       withdrawal_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, address TEXT NOT NULL, amount_sat INTEGER NOT NULL, fee_rate_sat_vb INTEGER,
       label TEXT NOT NULL UNIQUE, state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')), txid TEXT, failure_reason TEXT,
       created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
  ];
  /** Withdrawals whose SendCoins this instance is waiting on. */
  private readonly calling = new Set<string>();

  constructor(
    private readonly kit: ActorKit,
    public lnd: (timeoutMs?: number) => LndRestClient,
  ) {}

  /** Sends a withdrawal once (the same request again only tells where it stands). */
  async send(request: OnchainSendRequest): Promise<OnchainSendState | Refusal> {
    let row = this.row(request.withdrawal_id);
    if (row && (row.wallet_id !== request.wallet_id || row.address !== request.address || row.amount_sat !== request.amount_sat)) {
      return refuse("conflict", "another withdrawal has this id");
    }
    if (!row) {
      const now = Date.now();
      this.kit.sql`INSERT INTO onchain_sends (withdrawal_id, wallet_id, address, amount_sat, fee_rate_sat_vb, label, state, created_at, updated_at)
                   VALUES (${request.withdrawal_id}, ${request.wallet_id}, ${request.address}, ${request.amount_sat}, ${request.fee_rate_sat_vb},
                           ${withdrawalLabel(request.withdrawal_id)}, 'sending', ${now}, ${now})`;
      return this.call(this.row(request.withdrawal_id)!);
    }
    if (row.state === "failed") return { ok: true, state: "failed", reason: row.failure_reason ?? "refused by LND" };
    if (this.calling.has(row.withdrawal_id)) return pending(null);
    let transactions: OnchainTransaction[];
    try {
      ({ transactions } = await this.lnd(30_000).getTransactions({ end_height: -1 }));
    } catch {
      return pending(row.txid);
    }
    if (row.state === "sending") {
      const found = transactions.find((t) => t.label === row!.label);
      if (found) {
        this.kit.sql`UPDATE onchain_sends SET state = 'sent', txid = ${found.tx_hash}, updated_at = ${Date.now()} WHERE withdrawal_id = ${row.withdrawal_id}`;
        row = this.row(row.withdrawal_id)!;
      } else if (Date.now() - row.updated_at >= SEND_LOOKUP_AFTER_MS) {
        return this.call(row); // LND never published it: send it now
      } else {
        return pending(null);
      }
    }
    const tx = transactions.find((t) => t.tx_hash === row!.txid);
    if (!tx) return { ok: true, state: "sent", txid: row.txid, fee_sat: null, confirmations: 0 };
    return { ok: true, state: tx.num_confirmations >= 1 ? "confirmed" : "sent", txid: tx.tx_hash, fee_sat: tx.total_fees, confirmations: tx.num_confirmations };
  }

  private row(withdrawal_id: string): SendRow | null {
    return this.kit.sql<SendRow>`SELECT * FROM onchain_sends WHERE withdrawal_id = ${withdrawal_id}`[0] ?? null;
  }

  /** SendCoins with the withdrawal's label: sent (txid), refused by LND (failed), or no answer (the intent stays). */
  private async call(row: SendRow): Promise<OnchainSendState> {
    this.calling.add(row.withdrawal_id);
    this.kit.sql`UPDATE onchain_sends SET updated_at = ${Date.now()} WHERE withdrawal_id = ${row.withdrawal_id}`;
    try {
      const { txid } = await this.lnd(30_000).sendCoins({
        addr: row.address,
        amount: row.amount_sat,
        label: row.label,
        ...(row.fee_rate_sat_vb ? { sat_per_vbyte: row.fee_rate_sat_vb } : { target_conf: WITHDRAWAL_TARGET_CONF }),
      });
      this.kit.sql`UPDATE onchain_sends SET state = 'sent', txid = ${txid}, updated_at = ${Date.now()} WHERE withdrawal_id = ${row.withdrawal_id}`;
      return { ok: true, state: "sent", txid, fee_sat: null, confirmations: 0 };
    } catch (error) {
      if (error instanceof LndError) {
        const reason = `LND refused the withdrawal: ${error.message}`;
        this.kit.sql`UPDATE onchain_sends SET state = 'failed', failure_reason = ${reason}, updated_at = ${Date.now()} WHERE withdrawal_id = ${row.withdrawal_id}`;
        return { ok: true, state: "failed", reason };
      }
      // Unreachable or timed out: LND may have published it; the next look finds it by its label.
      this.kit.sql`UPDATE onchain_sends SET updated_at = ${Date.now()} WHERE withdrawal_id = ${row.withdrawal_id}`;
      return pending(null);
    } finally {
      this.calling.delete(row.withdrawal_id);
    }
  }
}

const pending = (txid: string | null): OnchainSendState => ({ ok: true, state: "pending", txid, fee_sat: null, confirmations: 0 });
