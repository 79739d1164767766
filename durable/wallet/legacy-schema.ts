import type { LegacySchema } from "../kit/migrations";

/**
 * The wallet's single-list schema from before the actor kit, frozen: a wallet written by that code
 * runs the steps it has not run yet, and its finished layout is what the parts' first steps make
 * (test/migrations.test.ts compares the two). Never edit; new changes are part steps.
 */
export const WALLET_LEGACY_SCHEMA: LegacySchema = {
  adopts: { identity: 1, ledger: 1, history: 1, transfers: 1, events: 1, idempotency: 1, invoices: 1, "lightning-payments": 1 },
  steps: [

  `CREATE TABLE wallet (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     wallet_id TEXT NOT NULL, account_id TEXT NOT NULL, username TEXT NOT NULL, opened_at TEXT NOT NULL);
   CREATE TABLE balances (
     account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
     CHECK (account <> 'wallet' OR balance_msat >= 0));
   CREATE TABLE entries (
     id INTEGER PRIMARY KEY AUTOINCREMENT, journal TEXT NOT NULL, account TEXT NOT NULL,
     amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE transactions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
     direction TEXT NOT NULL, amount_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL,
     status TEXT NOT NULL, counterparty TEXT, memo TEXT, created_at TEXT NOT NULL);
   CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE idempotency (
     key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,
     transaction_id TEXT, created_at INTEGER NOT NULL);
   CREATE INDEX idempotency_by_age ON idempotency (created_at);
   CREATE INDEX idempotency_by_transaction ON idempotency (transaction_id);
   CREATE TABLE outbox (
     transfer_id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL, to_wallet TEXT NOT NULL,
     payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
     delivered_at TEXT);
   CREATE INDEX outbox_undelivered ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
   CREATE TABLE received_transfers (transfer_id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL, received_at TEXT NOT NULL);`,
  `CREATE TABLE invoices (
     payment_hash TEXT PRIMARY KEY, preimage TEXT NOT NULL, payment_request TEXT,
     amount_msat INTEGER, memo TEXT, status TEXT NOT NULL, expires_at TEXT NOT NULL, created_at TEXT NOT NULL,
     paid_at TEXT, paid_msat INTEGER, paid_via TEXT, transaction_id TEXT);
   CREATE TABLE lightning_payments (
     payment_id TEXT PRIMARY KEY, payment_hash TEXT NOT NULL, payment_request TEXT NOT NULL, route TEXT NOT NULL,
     amountless INTEGER NOT NULL, amount_msat INTEGER NOT NULL, reserved_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL DEFAULT 0,
     status TEXT NOT NULL, preimage TEXT, failure_reason TEXT, transaction_id TEXT NOT NULL,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
   -- The hub pays a hash at most once: a failed attempt frees it, nothing else does.
   CREATE UNIQUE INDEX lightning_payments_live_hash ON lightning_payments (payment_hash) WHERE status <> 'failed';
   CREATE INDEX lightning_payments_pending ON lightning_payments (status) WHERE status = 'pending';`,
  `CREATE INDEX lightning_payments_by_transaction ON lightning_payments (transaction_id);`,
  // The balance cache follows the entries inside SQLite: one statement posts a journal, and no
  // code path can write an entry without its balance (the CHECK still refuses a negative wallet).
  // (Not an upsert: SQLite checks the CHECK on the row to insert before it sees the conflict.)
  `CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
     INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
     UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
   END;`,
  // Fewer tables and b-trees per payment (docs/decisions/0005): the outbox and the receipts become
  // columns of the transaction they belong to, a stored answer for a payment is read from its
  // transaction instead of being rewritten when it settles, keyed tables have no separate rowid
  // index, and nothing keeps an AUTOINCREMENT counter (rows are never deleted, so ids never repeat).
  `CREATE TABLE transactions_v2 (
     seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, direction TEXT NOT NULL,
     amount_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL, status TEXT NOT NULL, counterparty TEXT, memo TEXT,
     created_at TEXT NOT NULL,
     transfer_id TEXT,
     to_wallet TEXT, payload TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, delivered_at TEXT);
   INSERT INTO transactions_v2 (seq, id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at,
                                transfer_id, to_wallet, payload, attempts, next_attempt_at, delivered_at)
     SELECT t.seq, t.id, t.kind, t.direction, t.amount_msat, t.fee_msat, t.status, t.counterparty, t.memo, t.created_at,
            COALESCE(o.transfer_id, r.transfer_id), o.to_wallet, o.payload, COALESCE(o.attempts, 0), o.next_attempt_at, o.delivered_at
     FROM transactions t LEFT JOIN outbox o ON o.transaction_id = t.id LEFT JOIN received_transfers r ON r.transaction_id = t.id;
   DROP TABLE transactions;
   DROP TABLE outbox;
   DROP TABLE received_transfers;
   ALTER TABLE transactions_v2 RENAME TO transactions;
   CREATE UNIQUE INDEX transactions_by_transfer ON transactions (transfer_id) WHERE transfer_id IS NOT NULL;
   CREATE INDEX transactions_undelivered ON transactions (next_attempt_at) WHERE payload IS NOT NULL AND delivered_at IS NULL;

   CREATE TABLE idempotency_v2 (
     key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,
     transaction_id TEXT, answer_follows_transaction INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO idempotency_v2 (key, fingerprint, status, response, transaction_id, answer_follows_transaction, created_at)
     SELECT key, fingerprint, status, response, transaction_id,
            transaction_id IN (SELECT id FROM transactions WHERE direction = 'out' AND kind IN ('intraledger', 'lightning')), created_at
     FROM idempotency;
   DROP TABLE idempotency;
   ALTER TABLE idempotency_v2 RENAME TO idempotency;
   CREATE INDEX idempotency_by_age ON idempotency (created_at);

   CREATE TABLE entries_v2 (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
   INSERT INTO entries_v2 (id, journal, account, amount_msat, created_at) SELECT id, journal, account, amount_msat, created_at FROM entries;
   DROP TABLE entries; -- and its trigger, made again below
   ALTER TABLE entries_v2 RENAME TO entries;

   CREATE TABLE balances_v2 (
     account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
     CHECK (account <> 'wallet' OR balance_msat >= 0)) WITHOUT ROWID;
   INSERT INTO balances_v2 (account, balance_msat) SELECT account, balance_msat FROM balances;
   DROP TABLE balances;
   ALTER TABLE balances_v2 RENAME TO balances;
   CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
     INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
     UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
   END;`,
  ],
};
