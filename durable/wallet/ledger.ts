import { assertBalanced, type Entry, type LedgerAccount } from "../../src/ledger";
import type { Msat } from "../../src/money";
import type { ActorKit, Part } from "../kit/part";

/**
 * The double-entry ledger: journals of entries that sum to zero, and the balance of each account
 * kept from them by a trigger (so no code path writes an entry without its balance). The wallet's
 * own balance is also held in memory, forgotten when a unit of work rolls back.
 */
export class Ledger implements Part {
  readonly name = "ledger";
  readonly migrations = [
    // (The balance trigger is not an upsert: SQLite checks the CHECK on the row to insert before it sees the conflict.)
    `CREATE TABLE balances (
       account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
       CHECK (account <> 'wallet' OR balance_msat >= 0)) WITHOUT ROWID;
     CREATE TABLE entries (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
     CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
       INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
       UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
     END;`,
  ];
  /** The `wallet` account's balance, once read; kept by `post`, forgotten on rollback. */
  private walletBalance: Msat | null = null;
  /** Journals this instance posted (rolled back ones too): a part that follows changes of money compares it after each commit. */
  postings = 0;

  constructor(private readonly kit: ActorKit) {}

  onRollback(): void {
    this.walletBalance = null; // the rolled-back postings took their amounts with them
  }

  /** Posts one balanced journal in one statement (inside the caller's unit of work). */
  post(journal: string, entries: Entry[], now: string): void {
    assertBalanced(entries);
    this.kit.sql`INSERT INTO entries (journal, account, amount_msat, created_at)
                 SELECT ${journal}, e.value ->> 'account', e.value ->> 'amount_msat', ${now} FROM json_each(${JSON.stringify(entries)}) AS e`;
    if (this.walletBalance !== null) for (const e of entries) if (e.account === "wallet") this.walletBalance += e.amount_msat;
    this.postings++;
  }

  balanceOf(account: LedgerAccount): Msat {
    if (account === "wallet" && this.walletBalance !== null) return this.walletBalance;
    const balance = this.storedBalance(account);
    if (account === "wallet") this.walletBalance = balance;
    return balance;
  }

  /** The balance as the table holds it (not the in-memory copy). */
  storedBalance(account: LedgerAccount): Msat {
    return this.kit.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = ${account}`[0]?.balance_msat ?? 0;
  }

  /** Every account's balance as the table holds it (a handful of rows, never the entries). */
  storedBalances(): Partial<Record<LedgerAccount, Msat>> {
    const balances: Partial<Record<LedgerAccount, Msat>> = {};
    for (const row of this.kit.sql<{ account: LedgerAccount; balance_msat: number }>`SELECT account, balance_msat FROM balances`) balances[row.account] = row.balance_msat;
    return balances;
  }

  /** The wallet balance held in memory, or null if not read since wake-up. */
  memoryBalance(): Msat | null {
    return this.walletBalance;
  }

  /** The sum of an account's entries (what its balance must equal). */
  entriesSum(account: LedgerAccount): Msat {
    return this.kit.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM entries WHERE account = ${account}`[0]?.s ?? 0;
  }

  /** Journals whose entries do not sum to zero (none, unless the books are broken). */
  unbalancedJournals(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM (SELECT journal FROM entries GROUP BY journal HAVING SUM(amount_msat) <> 0)`[0]!.n;
  }
}
