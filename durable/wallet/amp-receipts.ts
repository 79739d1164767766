import type { Msat } from "../../src/money";
import type { ActorKit, Part } from "../kit/part";

/** One payment of an AMP invoice as the API shows it (the invoice's `amp_payments`). */
export interface AmpPaymentView {
  /** LND's set id; null for a payment from another hub wallet (paid inside the hub, no set). */
  set_id: string | null;
  amount_msat: Msat;
  paid_at: string;
  transaction_id: string;
}

interface ReceiptRow {
  payment_hash: string;
  receipt_id: string;
  set_id: string | null;
  amount_msat: number;
  transaction_id: string;
  paid_at: string;
}

/**
 * The payments of this wallet's AMP invoices (docs/decisions/0025): one row per (invoice, set id) —
 * or per transfer for a payment from another hub wallet — written in the unit of work that credits it,
 * so a set delivered again finds its row and is only acknowledged.
 */
export class AmpReceipts implements Part {
  readonly name = "amp-receipts";
  readonly migrations = [
    `CREATE TABLE amp_payments (
       payment_hash TEXT NOT NULL, receipt_id TEXT NOT NULL, set_id TEXT, amount_msat INTEGER NOT NULL,
       transaction_id TEXT NOT NULL, paid_at TEXT NOT NULL, PRIMARY KEY (payment_hash, receipt_id)) WITHOUT ROWID;`,
  ];

  constructor(private readonly kit: ActorKit) {}

  /** The history row that credited this payment (`receipt_id`: the set id, or the transfer id), or null if not credited yet. */
  creditedBy(payment_hash: string, receipt_id: string): string | null {
    return this.kit.sql<{ transaction_id: string }>`
      SELECT transaction_id FROM amp_payments WHERE payment_hash = ${payment_hash} AND receipt_id = ${receipt_id}`[0]?.transaction_id ?? null;
  }

  /** Records a credited payment (in the crediting unit of work). */
  insert(r: { payment_hash: string; receipt_id: string; set_id: string | null; amount_msat: Msat; transaction_id: string; paid_at: string }): void {
    this.kit.sql`INSERT INTO amp_payments (payment_hash, receipt_id, set_id, amount_msat, transaction_id, paid_at)
                 VALUES (${r.payment_hash}, ${r.receipt_id}, ${r.set_id}, ${r.amount_msat}, ${r.transaction_id}, ${r.paid_at})`;
  }

  /** An invoice's payments, oldest first. */
  of(payment_hash: string): AmpPaymentView[] {
    return this.kit.sql<ReceiptRow>`SELECT * FROM amp_payments WHERE payment_hash = ${payment_hash} ORDER BY paid_at, receipt_id`.map((r) => ({
      set_id: r.set_id,
      amount_msat: r.amount_msat,
      paid_at: r.paid_at,
      transaction_id: r.transaction_id,
    }));
  }
}
