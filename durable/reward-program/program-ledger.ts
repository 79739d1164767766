import { assertBalanced, type Entry } from "../../src/ledger";
import type { Msat } from "../../src/money";
import type { ProgramAccount } from "../../src/rewards";
import type { ActorKit, Part } from "../kit/part";

/**
 * A reward program's double-entry books (src/rewards.ts: operator → budget → in flight → paid):
 * journals of entries that sum to zero, and each account's balance kept from them by a trigger. The
 * budget can never go negative (`CHECK`, a last line of defence behind the claim's own check).
 */
export class ProgramLedger implements Part {
  readonly name = "program-ledger";
  readonly migrations = [
    `CREATE TABLE balances (
       account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
       CHECK (account <> 'budget' OR balance_msat >= 0)) WITHOUT ROWID;
     CREATE TABLE entries (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
     CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
       INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
       UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
     END;`,
  ];

  constructor(private readonly kit: ActorKit) {}

  /** Posts one balanced journal (inside the caller's unit of work). */
  post(journal: string, entries: Entry<ProgramAccount>[], now: string): void {
    assertBalanced(entries);
    this.kit.sql`INSERT INTO entries (journal, account, amount_msat, created_at)
                 SELECT ${journal}, e.value ->> 'account', e.value ->> 'amount_msat', ${now} FROM json_each(${JSON.stringify(entries)}) AS e`;
  }

  /** An account's balance as its cache table holds it. */
  balanceOf(account: ProgramAccount): Msat {
    return this.kit.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = ${account}`[0]?.balance_msat ?? 0;
  }

  /** The sum of an account's entries (what its balance must equal). */
  entriesSum(account: ProgramAccount): Msat {
    return this.kit.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM entries WHERE account = ${account}`[0]?.s ?? 0;
  }

  /** Journals whose entries do not sum to zero (none, unless the books are broken). */
  unbalancedJournals(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM (SELECT journal FROM entries GROUP BY journal HAVING SUM(amount_msat) <> 0)`[0]!.n;
  }
}
