import { assertBalanced, type Entry } from "../../src/ledger";
import type { Msat } from "../../src/money";
import type { ActorKit, Part } from "./part";

/** What differs between the actors that keep double-entry books. */
export interface LedgerOptions<Account extends string> {
  /** The part's name in `_kit_migrations`, as each actor has already recorded it: never rename. */
  readonly name: string;
  /** The account a CHECK keeps from going negative (a last line of defence behind the callers' own checks). */
  readonly nonNegative: Account;
  /** An account whose balance is kept in memory once read (the wallet's, on the payment path), or none. */
  readonly remembered?: Account;
}

/**
 * Step 1 of every ledger: the hosts shipped it with nothing but the CHECK's account differing, so it
 * is written once here and must stay, whitespace aside, the text each of them recorded (its checksum
 * is checked at every start; test/ledger.test.ts holds the shipped texts). Later steps are appended
 * here for every host, or taken per host if one ever needs a step the other does not.
 */
export function ledgerSchema(nonNegative: string): string {
  // A DDL statement takes no bound parameters: the account is written in, so it must be a plain word.
  if (!/^[a-z_]+$/.test(nonNegative)) throw new Error(`ledger account ${JSON.stringify(nonNegative)} is not a plain word`);
  // (The balance trigger is not an upsert: SQLite checks the CHECK on the row to insert before it sees the conflict.)
  return `CREATE TABLE balances (
       account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
       CHECK (account <> '${nonNegative}' OR balance_msat >= 0)) WITHOUT ROWID;
     CREATE TABLE entries (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
     CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
       INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
       UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
     END;`;
}

/**
 * Double-entry books, shared by the actors that keep them (the wallet's, a reward program's):
 * journals of entries that sum to zero, and the balance of each account kept from them by a trigger
 * (so no code path writes an entry without its balance). One account's balance may be held in
 * memory, forgotten when a unit of work rolls back.
 */
export class DoubleEntryLedger<Account extends string> implements Part {
  readonly name: string;
  readonly migrations: readonly string[];
  /** The remembered account's balance, once read; kept by `post`, forgotten on rollback. */
  private rememberedBalance: Msat | null = null;
  /** Journals this instance posted (rolled back ones too): a part that follows changes of money compares it after each commit. */
  postings = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly options: LedgerOptions<Account>,
  ) {
    this.name = options.name;
    this.migrations = [ledgerSchema(options.nonNegative)];
  }

  onRollback(): void {
    this.rememberedBalance = null; // the rolled-back postings took their amounts with them
  }

  /** Posts one balanced journal in one statement (inside the caller's unit of work). */
  post(journal: string, entries: Entry<Account>[], now: string): void {
    assertBalanced(entries);
    this.kit.sql`INSERT INTO entries (journal, account, amount_msat, created_at)
                 SELECT ${journal}, e.value ->> 'account', e.value ->> 'amount_msat', ${now} FROM json_each(${JSON.stringify(entries)}) AS e`;
    if (this.rememberedBalance !== null) for (const e of entries) if (e.account === this.options.remembered) this.rememberedBalance += e.amount_msat;
    this.postings++;
  }

  /** An account's balance: the remembered one from memory once read, any other as the table holds it. */
  balanceOf(account: Account): Msat {
    if (account !== this.options.remembered) return this.storedBalance(account);
    return (this.rememberedBalance ??= this.storedBalance(account));
  }

  /** The balance as the table holds it (not the in-memory copy). */
  storedBalance(account: Account): Msat {
    return this.kit.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = ${account}`[0]?.balance_msat ?? 0;
  }

  /** Every account's balance as the table holds it (a handful of rows, never the entries). */
  storedBalances(): Partial<Record<Account, Msat>> {
    const balances: Partial<Record<Account, Msat>> = {};
    for (const row of this.kit.sql<{ account: Account; balance_msat: number }>`SELECT account, balance_msat FROM balances`) balances[row.account] = row.balance_msat;
    return balances;
  }

  /** The remembered account's balance held in memory, or null if not read since wake-up (or none is remembered). */
  memoryBalance(): Msat | null {
    return this.rememberedBalance;
  }

  /** The sum of an account's entries (what its balance must equal). */
  entriesSum(account: Account): Msat {
    return this.kit.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM entries WHERE account = ${account}`[0]?.s ?? 0;
  }

  /** Journals whose entries do not sum to zero (none, unless the books are broken). */
  unbalancedJournals(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM (SELECT journal FROM entries GROUP BY journal HAVING SUM(amount_msat) <> 0)`[0]!.n;
  }
}
