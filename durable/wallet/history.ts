import { newId } from "../../src/ids";
import type { Msat } from "../../src/money";
import type { Counterparty, Transaction } from "../../src/wallet-types";
import type { ActorKit, Part } from "../kit/part";

export interface TransactionRow extends Omit<Transaction, "counterparty"> {
  seq: number;
  counterparty: string | null;
}

/** The user-visible payment history: one row per money movement, newest first when listed. */
export class History implements Part {
  readonly name = "history";
  readonly migrations = [
    `CREATE TABLE transactions (
       seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, direction TEXT NOT NULL,
       amount_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL, status TEXT NOT NULL, counterparty TEXT, memo TEXT,
       created_at TEXT NOT NULL);`,
  ];

  constructor(private readonly kit: ActorKit) {}

  /** Stores a row (a transfer's row is stored by Transfers, with its columns). */
  insert(t: Transaction): void {
    this.kit.sql`INSERT INTO transactions (id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at)
      VALUES (${t.id}, ${t.kind}, ${t.direction}, ${t.amount_msat}, ${t.fee_msat}, ${t.status}, ${counterpartyColumn(t)}, ${t.memo}, ${t.created_at})`;
  }

  byId(id: string): Transaction | null {
    const row = this.kit.sql<TransactionRow>`SELECT * FROM transactions WHERE id = ${id}`[0];
    return row ? toTransaction(row) : null;
  }

  /** A page, newest first; `cursor` is the `next_cursor` of the previous page. */
  page(limit: number, cursor: string | null): { transactions: Transaction[]; next_cursor: string | null } {
    const before = cursor === null ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const rows = this.kit.sql<TransactionRow>`SELECT * FROM transactions WHERE seq < ${before} ORDER BY seq DESC LIMIT ${limit + 1}`;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { transactions: page.map(toTransaction), next_cursor: rows.length > limit && last ? String(last.seq) : null };
  }

  /** A pending row becomes final (with the fee it cost, when it has one). */
  finish(id: string, status: "succeeded" | "failed", fee_msat?: Msat): void {
    if (fee_msat === undefined) this.kit.sql`UPDATE transactions SET status = ${status} WHERE id = ${id}`;
    else this.kit.sql`UPDATE transactions SET status = ${status}, fee_msat = ${fee_msat} WHERE id = ${id}`;
  }

  /**
   * What the history says the balance is: money in, less money out and fees, of rows not failed. Money
   * in counts once it succeeded (an on-chain deposit is shown pending before it is credited).
   */
  sum(): Msat {
    return (
      this.kit.sql<{ s: number | null }>`
        SELECT SUM(CASE direction WHEN 'in' THEN amount_msat ELSE -(amount_msat + fee_msat) END) AS s
        FROM transactions WHERE status <> 'failed' AND NOT (direction = 'in' AND status = 'pending')`[0]?.s ?? 0
    );
  }
}

/** A history row not yet stored: a fresh id, no fee unless given. */
export function newTransaction(t: Omit<Transaction, "id" | "created_at" | "fee_msat"> & { fee_msat?: Msat }, now: string, id = newId("tx")): Transaction {
  return { id, fee_msat: 0, ...t, created_at: now };
}

export const counterpartyColumn = (t: Transaction): string | null => (t.counterparty ? JSON.stringify(t.counterparty) : null);

export function toTransaction(row: Omit<TransactionRow, "seq">): Transaction {
  return {
    id: row.id,
    kind: row.kind,
    direction: row.direction,
    amount_msat: row.amount_msat,
    fee_msat: row.fee_msat,
    status: row.status,
    counterparty: row.counterparty ? (JSON.parse(row.counterparty) as Counterparty) : null,
    memo: row.memo,
    created_at: row.created_at,
  };
}
