import { Actor } from "./actor";
import type { LightningNodeActor } from "./lightning-node-actor";
import { lndClient, type LndEnv } from "./lnd";
import { LndError, LndUnreachableError, GrpcCode, type PaymentOutcome } from "../src/lightning";
import { PAY_MAX_PARTS, PAY_TIMEOUT_S, PAY_WAIT_MS } from "../src/payment-rules";
import { isRefusal, refuse, type Refusal } from "../src/errors";
import { assertBalanced, journals, type Entry, type LedgerAccount } from "../src/ledger";
import { IDEMPOTENCY_TTL_MS } from "../src/idempotency";
import { newId, randomHex } from "../src/ids";
import { sha256HexOfBytes } from "../src/hash";
import { hexToBytes } from "../src/lightning/bytes";
import { MAX_PAYMENT_SAT, MAX_FAUCET_SAT, MSAT_PER_SAT, type Msat } from "../src/money";
import type { ApiAnswer, Counterparty, Invoice, LightningPayment, Transaction, TransferPayload, WalletEvent } from "../src/wallet-types";

export interface WalletEnv extends LndEnv {
  /** How long a payment request waits on LND before answering `pending` (tests shorten it). */
  LND_PAY_WAIT_MS?: string;
  WALLET: DurableObjectNamespace<WalletActor>;
  LIGHTNING: DurableObjectNamespace<LightningNodeActor>;
}

/** How a money-moving call identifies itself for replay (see src/idempotency.ts). */
export interface IdempotencyTag {
  key: string;
  fingerprint: string;
}

export interface SendTransferRequest {
  idempotency: IdempotencyTag;
  to: Counterparty;
  amount_msat: Msat;
  memo: string | null;
}

export interface PayLightningRequest {
  idempotency: IdempotencyTag;
  payment_request: string;
  payment_hash: string;
  /** What the payee receives: the invoice's amount, or the caller's for an amountless invoice. */
  amount_msat: Msat;
  amountless: boolean;
  max_fee_msat: Msat;
  memo: string | null;
}

export interface WalletIdentity {
  wallet_id: string;
  account_id: string;
  username: string;
}

export interface WalletAudit {
  balance_msat: Msat;
  /** The balance this instance holds in memory (null if not read since wake-up); must equal the stored one. */
  memory_balance_msat: Msat | null;
  entries_balance_msat: Msat;
  in_flight_msat: Msat;
  faucet_msat: Msat;
  peers_msat: Msat;
  holds_msat: Msat;
  lnd_msat: Msat;
  fees_msat: Msat;
  /** Amounts (not fees) of outgoing Lightning payments whose hold is still open. */
  pending_holds_amount_msat: Msat;
  unbalanced_journals: number;
  history_sum_msat: Msat;
  min_event_balance_msat: Msat | null;
  event_count: number;
  max_seq: number;
  undelivered_transfers: number;
}

/** `failed` only when the receiver turned out not to exist and the money came back. */
type TransferAnswer = ApiAnswer<{ status: Transaction["status"]; transaction: Transaction }>;

export const WALLET_SCHEMA = [
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
];

/** First retry of an unacknowledged transfer after this long; doubles up to the cap. */
const RETRY_BASE_MS = 1_000;
/**
 * The alarm every debit makes sure of, for a crash between the debit and its delivery (a failed
 * delivery schedules its own retry). One alarm covers every debit made before it fires, so a busy
 * wallet writes and runs it about once per this period, not once per payment.
 */
const SAFETY_NET_MS = 30_000;
/** How often expired idempotency records are deleted (on a money-moving request, not on each). */
const IDEMPOTENCY_SWEEP_MS = 10 * 60_000;
const RETRY_CAP_MS = 60_000;
/** Transfers the alarm tries to deliver per run; it re-arms itself for the rest. */
const DELIVERIES_PER_ALARM = 100;
/** How long one alarm run waits on LND for a pending payment, and how soon it looks again. */
const TRACK_WAIT_MS = 2_000;
const PAYMENT_TRACK_INTERVAL_MS = 10_000;
const REPLAY_PAGE = 500;

/** An outgoing transfer as the outbox columns of its transaction describe it. */
interface OutboxRow {
  transfer_id: string;
  transaction_id: string;
  to_wallet: string;
  payload: string;
  attempts: number;
  delivered_at: string | null;
}

interface InvoiceRow {
  payment_hash: string;
  preimage: string;
  payment_request: string | null;
  amount_msat: number | null;
  memo: string | null;
  status: Invoice["status"];
  expires_at: string;
  created_at: string;
  paid_at: string | null;
  paid_msat: number | null;
  paid_via: "lnd" | "internal" | null;
}

interface PaymentRow {
  payment_id: string;
  payment_hash: string;
  payment_request: string;
  route: "internal" | "external";
  amountless: number;
  amount_msat: number;
  reserved_msat: number;
  fee_msat: number;
  status: LightningPayment["status"];
  preimage: string | null;
  failure_reason: string | null;
  transaction_id: string;
}

/** Refusals by a receiving wallet that are final: the money goes back to the sender. */
const FINAL_REFUSALS = new Set(["unknown_recipient", "not_found", "already_paid", "invoice_expired", "invalid_request"]);
/** Pending outgoing payments the alarm follows up per run. */
const PAYMENTS_PER_ALARM = 20;

/** Thrown inside a transaction to roll all of it back and make `commit` return `result` instead. */
class RollBack<T> {
  constructor(readonly result: T) {}
}

/** Thrown by `remember` when the idempotency key already holds a live answer: the caller replays it. */
class KeyTaken {}

interface TransactionRow extends Omit<Transaction, "counterparty"> {
  seq: number;
  counterparty: string | null;
}

/**
 * One per account: the only writer of that account's money. Every change of money posts a
 * balanced journal and appends its event in one SQLite transaction; committed events are
 * pushed to the account's WebSockets.
 */
export class WalletActor extends Actor<WalletEnv> {
  protected readonly schema = WALLET_SCHEMA;
  private identity: WalletIdentity | null = null;
  /** Money-moving calls under way, by idempotency key: a concurrent duplicate awaits the first. */
  private readonly running = new Map<string, { fingerprint: string; answer: Promise<ApiAnswer | Refusal> }>();
  /** The next event's seq, once read from the log (kept in memory: the log is append-only here). */
  private nextSeq: number | null = null;
  /** The `wallet` account's balance, once read; kept by `post` and forgotten on rollback. */
  private walletBalance: Msat | null = null;
  /** When this instance last deleted expired idempotency records. */
  private idempotencySweptAt = 0;
  /** Events committed by the current transaction, pushed to sockets once it commits. */
  private uncommittedEvents: WalletEvent[] = [];
  /** Outgoing payments this instance is handing to LND right now (not to be sent twice). */
  private readonly sending = new Set<string>();
  /** When the stored alarm is due (null: none), read at wake-up and kept by `armAlarm` and `alarm`. */
  private alarmAt: number | null = null;

  protected override async onStart(): Promise<void> {
    this.identity = this.sql<WalletIdentity>`SELECT wallet_id, account_id, username FROM wallet`[0] ?? null;
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // The alarm a previous instance set (a retry, the safety net): a debit must not push it back.
    this.alarmAt = await this.ctx.storage.getAlarm();
  }

  // ── RPC: identity ──────────────────────────────────────────────────────────

  /** Opens the wallet for an account (idempotent); a wallet that was never opened receives nothing. */
  async open(identity: WalletIdentity): Promise<WalletIdentity> {
    if (!this.identity) {
      this.sql`INSERT INTO wallet (id, wallet_id, account_id, username, opened_at)
               VALUES (1, ${identity.wallet_id}, ${identity.account_id}, ${identity.username}, ${new Date().toISOString()})`;
      this.identity = { ...identity };
    }
    return this.identity;
  }

  /** Who owns this wallet, or null if it was never opened. */
  async describe(): Promise<WalletIdentity | null> {
    return this.identity;
  }

  // ── RPC: reading ───────────────────────────────────────────────────────────

  /** Balance and funds reserved for payments not yet final. */
  async getWallet(): Promise<{ wallet_id: string; balance_msat: Msat; pending_out_msat: Msat }> {
    return {
      wallet_id: this.identity?.wallet_id ?? "",
      balance_msat: this.balanceOf("wallet"),
      pending_out_msat: this.balanceOf("in_flight") + this.balanceOf("holds"),
    };
  }

  /** Payment history, newest first; `cursor` is the `next_cursor` of the previous page. */
  async listTransactions(limit: number, cursor: string | null): Promise<{ transactions: Transaction[]; next_cursor: string | null }> {
    const before = cursor === null ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const rows = this.sql<TransactionRow>`SELECT * FROM transactions WHERE seq < ${before} ORDER BY seq DESC LIMIT ${limit + 1}`;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { transactions: page.map(toTransaction), next_cursor: rows.length > limit && last ? String(last.seq) : null };
  }

  /** Events with `seq > after`, oldest first. */
  async listEvents(after: number, limit: number): Promise<{ events: WalletEvent[] }> {
    return { events: this.eventsAfter(after, limit) };
  }

  // ── RPC: moving money ──────────────────────────────────────────────────────

  /** Development faucet: credits this wallet from the faucet account. */
  async creditFromFaucet(amount_msat: Msat, idempotency: IdempotencyTag | null): Promise<ApiAnswer | Refusal> {
    if (!isPaymentAmount(amount_msat, MAX_FAUCET_SAT)) return refuse("invalid_request", "amount out of range");
    return this.once(idempotency, async () => {
      const now = new Date().toISOString();
      return this.commit(() => {
        const transaction = newTransaction({ kind: "faucet", direction: "in", amount_msat, status: "succeeded", counterparty: null, memo: null }, now);
        this.insertTransaction(transaction);
        this.post(`${transaction.id}:faucet`, journals.faucetCredit(amount_msat), now);
        const balance_msat = this.balanceOf("wallet");
        this.appendEvent("faucet.credited", { transaction, balance_msat }, now);
        return this.remember(idempotency, transaction.id, { ok: true, status: 200, body: { status: "succeeded", transaction, balance_msat } });
      });
    });
  }

  /** Pays another wallet of the hub: debit and outbox row now, delivery exactly once (retried by alarm). */
  async sendTransfer(request: SendTransferRequest): Promise<TransferAnswer | Refusal> {
    return this.once(request.idempotency, async () => {
      const debited = this.debitForTransfer(request);
      if (!debited.ok) return debited;
      const delivery = await this.deliver(debited.outbox);
      // Settled here: its answer is the final one. Retrying: still pending. Settled by the alarm meanwhile: read it.
      if (delivery.answer) return { ok: true, status: 200, body: delivery.answer };
      if (delivery.outcome === "retry") return { ok: true, status: 200, body: { status: "pending", transaction: debited.transaction } };
      return { ok: true, status: 200, body: this.answerFor(debited.transaction.id, false) };
    }) as Promise<TransferAnswer | Refusal>;
  }

  /** Credits a transfer from another wallet; a repeat of the same `transfer_id` only acknowledges. */
  async receiveTransfer(payload: TransferPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal> {
    if (!this.identity) return refuse("unknown_recipient", "no such wallet");
    if (!isPaymentAmount(payload.amount_msat, MAX_PAYMENT_SAT)) return refuse("invalid_request", "amount out of range");
    const now = new Date().toISOString();
    return this.commit(() => {
      // The history row is the receipt (unique by transfer): a transfer seen before writes nothing and is only acknowledged.
      const transaction = newTransaction({ kind: "intraledger", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: payload.from, memo: payload.memo }, now);
      if (!this.insertTransaction(transaction, { transfer_id: payload.transfer_id })) {
        const seen = this.sql<{ id: string }>`SELECT id FROM transactions WHERE transfer_id = ${payload.transfer_id}`[0]!;
        return { ok: true as const, transaction_id: seen.id, duplicate: true };
      }
      const transaction_id = transaction.id;
      this.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      this.appendEvent("transfer.received", { transaction, balance_msat: this.balanceOf("wallet") }, now);
      return { ok: true as const, transaction_id, duplicate: false };
    });
  }

  // ── RPC: Lightning ─────────────────────────────────────────────────────────

  /** Creates a hold invoice: the wallet keeps the preimage, LND holds the HTLC until we credit. */
  async createInvoice(request: { amount_msat: Msat | null; memo: string | null; expiry_s: number }): Promise<ApiAnswer<Invoice> | Refusal> {
    if (!this.identity) return refuse("not_found", "wallet not opened");
    const preimage = randomHex(32);
    const payment_hash = await sha256HexOfBytes(hexToBytes(preimage));
    const created_at = new Date().toISOString();
    const expires_at = new Date(Date.now() + request.expiry_s * 1000).toISOString();
    // The preimage is stored before LND knows the hash: an accepted HTLC always finds it here.
    this.sql`INSERT INTO invoices (payment_hash, preimage, amount_msat, memo, status, expires_at, created_at)
             VALUES (${payment_hash}, ${preimage}, ${request.amount_msat}, ${request.memo}, 'open', ${expires_at}, ${created_at})`;
    const created = await this.node().createHoldInvoice({ payment_hash, wallet_id: this.identity.wallet_id, ...request });
    if (!created.ok) {
      this.sql`UPDATE invoices SET status = 'canceled' WHERE payment_hash = ${payment_hash}`;
      return created;
    }
    this.sql`UPDATE invoices SET payment_request = ${created.payment_request} WHERE payment_hash = ${payment_hash}`;
    return { ok: true, status: 201, body: this.invoiceByHash(payment_hash)! };
  }

  /** One of this wallet's invoices, with its current status. */
  async getInvoice(payment_hash: string): Promise<ApiAnswer<Invoice> | Refusal> {
    const invoice = this.invoiceByHash(payment_hash);
    return invoice ? { ok: true, status: 200, body: invoice } : refuse("not_found", "no such invoice");
  }

  /**
   * Called by the node actor when LND holds an HTLC for one of our invoices: credits once
   * (idempotent by hash) and returns the preimage that lets the node settle it.
   */
  async creditInvoice(payment_hash: string, amount_msat: Msat): Promise<{ ok: true; preimage: string } | Refusal> {
    const row = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash}`[0];
    if (!row) return refuse("not_found", "no such invoice");
    if (row.status === "paid") return row.paid_via === "lnd" ? { ok: true, preimage: row.preimage } : refuse("already_paid", "paid inside the hub");
    if (row.status === "canceled") return refuse("not_found", "invoice canceled");
    // Payers may overpay an invoice a little; anything beyond twice the payment bound is sent back.
    if (!isPaymentAmount(amount_msat, MAX_PAYMENT_SAT * 2) || (row.amount_msat !== null && amount_msat < row.amount_msat)) {
      return refuse("invalid_request", `cannot credit ${amount_msat} msat for this invoice`);
    }
    // An HTLC LND accepted is money the node holds, even if our clock says the invoice just expired.
    const now = new Date().toISOString();
    this.commit(() => {
      const transaction = newTransaction({ kind: "lightning", direction: "in", amount_msat, status: "succeeded", counterparty: null, memo: row.memo }, now);
      this.insertTransaction(transaction);
      this.post(`${payment_hash}:received`, journals.invoiceCredit(amount_msat), now);
      this.sql`UPDATE invoices SET status = 'paid', paid_at = ${now}, paid_msat = ${amount_msat}, paid_via = 'lnd', transaction_id = ${transaction.id}
               WHERE payment_hash = ${payment_hash}`;
      this.appendEvent("invoice.paid", { invoice: this.invoiceByHash(payment_hash), transaction, balance_msat: this.balanceOf("wallet") }, now);
    });
    return { ok: true, preimage: row.preimage };
  }

  /** Pays a BOLT 11 invoice: hub invoices inside the hub, others through LND with a fee-capped hold. */
  async payLightning(request: PayLightningRequest): Promise<ApiAnswer<LightningPayment> | Refusal> {
    return this.once(request.idempotency, async () => {
      if (!this.identity) return refuse("not_found", "wallet not opened");
      const live = this.sql<{ payment_id: string }>`SELECT payment_id FROM lightning_payments WHERE payment_hash = ${request.payment_hash} AND status <> 'failed'`[0];
      if (live) return refuse("already_paid", "this wallet already paid or is paying this invoice");
      const payment_id = newId("pay");
      const route = await this.node().routePayment(request.payment_hash, this.identity.wallet_id, payment_id);
      if (isRefusal(route)) return route;
      if (route.route === "internal") {
        if (route.wallet_id === this.identity.wallet_id) return refuse("self_payment", "a wallet cannot pay its own invoice");
        const to = await this.walletStub(route.wallet_id).describe();
        const held = this.holdForPayment(request, payment_id, "internal", { wallet_id: route.wallet_id, username: to?.username ?? "" });
        if (!held.ok) return held;
        await this.deliverById(held.transfer_id!);
      } else {
        const held = this.holdForPayment(request, payment_id, "external", null);
        if (!held.ok) {
          await this.node().finishPayment(request.payment_hash, payment_id, "failed");
          return held;
        }
        await this.sendThroughLnd(payment_id);
      }
      return { ok: true, status: 200, body: this.lightningPaymentById(payment_id)! };
    }, { checkFirst: true }) as Promise<ApiAnswer<LightningPayment> | Refusal>;
  }

  /** Where one of this wallet's Lightning payments stands; `unknown` if it was never held. */
  async lightningPaymentState(payment_id: string): Promise<LightningPayment["status"] | "unknown"> {
    return this.paymentRow(payment_id)?.status ?? "unknown";
  }

  /** Credits an internal payment of one of our invoices; the same transfer again only acknowledges. */
  async receiveInvoicePayment(payload: TransferPayload): Promise<{ ok: true; preimage: string } | Refusal> {
    const seen = this.sql`SELECT 1 FROM transactions WHERE transfer_id = ${payload.transfer_id}`.length > 0;
    const row = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payload.payment_hash ?? ""}`[0];
    if (!row) return refuse("not_found", "no such invoice");
    if (seen) return { ok: true, preimage: row.preimage };
    if (row.status === "paid") return refuse("already_paid", "this invoice was already paid");
    if (row.status === "canceled") return refuse("not_found", "this invoice was canceled");
    if (Date.parse(row.expires_at) < Date.now()) return refuse("invoice_expired", "this invoice has expired");
    if (row.amount_msat !== null && payload.amount_msat !== row.amount_msat) return refuse("invalid_request", "amount does not match the invoice");
    const now = new Date().toISOString();
    this.commit(() => {
      const transaction = newTransaction({ kind: "lightning", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: payload.from, memo: row.memo }, now);
      this.insertTransaction(transaction, { transfer_id: payload.transfer_id });
      this.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      this.sql`UPDATE invoices SET status = 'paid', paid_at = ${now}, paid_msat = ${payload.amount_msat}, paid_via = 'internal', transaction_id = ${transaction.id}
               WHERE payment_hash = ${row.payment_hash}`;
      this.appendEvent("invoice.paid", { invoice: this.invoiceByHash(row.payment_hash), transaction, balance_msat: this.balanceOf("wallet") }, now);
    });
    // No outside HTLC may pay it too; if this call is lost, the wallet refuses such an HTLC anyway.
    this.ctx.waitUntil(this.node().invoicePaidInternally(row.payment_hash).catch(() => undefined));
    return { ok: true, preimage: row.preimage };
  }

  /** Books and figures for invariant checks: what the ledger, history and event log each say. */
  async audit(): Promise<WalletAudit> {
    const sum = (account: LedgerAccount) =>
      this.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM entries WHERE account = ${account}`[0]?.s ?? 0;
    const unbalanced = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM (SELECT journal FROM entries GROUP BY journal HAVING SUM(amount_msat) <> 0)`[0]!.n;
    const history = this.sql<{ s: number | null }>`
      SELECT SUM(CASE direction WHEN 'in' THEN amount_msat ELSE -(amount_msat + fee_msat) END) AS s
      FROM transactions WHERE status <> 'failed'`[0]?.s ?? 0;
    const events = this.sql<{ n: number; max_seq: number | null; min_balance: number | null }>`
      SELECT COUNT(*) AS n, MAX(seq) AS max_seq, MIN(json_extract(data, '$.balance_msat')) AS min_balance FROM events`[0]!;
    const undelivered = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM transactions WHERE payload IS NOT NULL AND delivered_at IS NULL`[0]!.n;
    return {
      // From the table, not the in-memory copy: the audit checks the stored cache against the entries.
      balance_msat: this.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = 'wallet'`[0]?.balance_msat ?? 0,
      memory_balance_msat: this.walletBalance,
      entries_balance_msat: sum("wallet"),
      in_flight_msat: sum("in_flight"),
      faucet_msat: sum("faucet"),
      peers_msat: sum("peers"),
      holds_msat: sum("holds"),
      lnd_msat: sum("lnd"),
      fees_msat: sum("fees"),
      pending_holds_amount_msat:
        this.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM lightning_payments WHERE status = 'pending' AND route = 'external'`[0]?.s ?? 0,
      unbalanced_journals: unbalanced,
      history_sum_msat: history,
      min_event_balance_msat: events.min_balance,
      event_count: events.n,
      max_seq: events.max_seq ?? 0,
      undelivered_transfers: undelivered,
    };
  }

  // ── Transfer protocol steps ────────────────────────────────────────────────

  /** Step 1, one transaction: balance check, debit into in_flight, outbox row, event, idempotency record. */
  protected debitForTransfer(request: SendTransferRequest): { ok: true; transfer_id: string; transaction_id: string; transaction: Transaction; outbox: OutboxRow } | Refusal {
    const { amount_msat, to } = request;
    if (!this.identity) return refuse("not_found", "wallet not opened");
    if (!isPaymentAmount(amount_msat, MAX_PAYMENT_SAT)) return refuse("invalid_request", "amount out of range");
    if (to.wallet_id === this.identity.wallet_id) return refuse("self_payment", "a wallet cannot pay itself");
    const now = new Date().toISOString();
    const transfer_id = newId("tr");
    const from: Counterparty = { wallet_id: this.identity.wallet_id, username: this.identity.username };
    const payload: TransferPayload = { transfer_id, from, amount_msat, memo: request.memo };
    const transaction = newTransaction({ kind: "intraledger", direction: "out", amount_msat, status: "pending", counterparty: to, memo: request.memo }, now);
    return this.commit(() => {
      // The key is claimed first: a replay must get its stored answer even if the balance is gone since.
      this.remember(request.idempotency, transaction.id, { ok: true, status: 200, body: null });
      const balance = this.balanceOf("wallet");
      if (balance < amount_msat) throw new RollBack(refuse("insufficient_balance", `balance ${balance} msat is less than ${amount_msat} msat`));
      const outbox: OutboxRow = { transfer_id, transaction_id: transaction.id, to_wallet: to.wallet_id, payload: JSON.stringify(payload), attempts: 0, delivered_at: null };
      this.insertTransaction(transaction, outbox);
      this.post(`${transfer_id}:debit`, journals.transferDebit(amount_msat), now);
      this.appendEvent("transfer.sent", { transaction, balance_msat: this.balanceOf("wallet") }, now);
      this.armAlarm(Date.now() + SAFETY_NET_MS);
      return { ok: true as const, transfer_id, transaction_id: transaction.id, transaction, outbox };
    });
  }

  /**
   * Step 2: hand the transfer to the receiver; on its acknowledgement close the outbox row.
   * `answer` is the request's final answer when this call settled it (null if another had already).
   */
  protected async deliver(row: OutboxRow): Promise<{ outcome: "delivered" | "returned" | "retry"; answer: Record<string, unknown> | null }> {
    if (row.delivered_at) return { outcome: "delivered", answer: null };
    const payload = JSON.parse(row.payload) as TransferPayload;
    let answer: { ok: true; preimage?: string } | Refusal;
    try {
      const receiver = this.walletStub(row.to_wallet);
      answer = payload.payment_hash ? await receiver.receiveInvoicePayment(payload) : await receiver.receiveTransfer(payload);
    } catch {
      this.scheduleRetry(row);
      return { outcome: "retry", answer: null };
    }
    if (answer.ok) return { outcome: "delivered", answer: this.settleOutbox(row.transfer_id, { outcome: "delivered", preimage: answer.preimage ?? null }) };
    if (FINAL_REFUSALS.has(answer.code)) return { outcome: "returned", answer: this.settleOutbox(row.transfer_id, { outcome: "returned", reason: answer.message }) };
    this.scheduleRetry(row);
    return { outcome: "retry", answer: null };
  }

  /** Step 2 for a transfer known by id (the alarm, internal invoice payments). */
  private async deliverById(transfer_id: string): Promise<void> {
    const row = this.outboxRow(transfer_id);
    if (row) await this.deliver(row);
  }

  /**
   * Step 3, one transaction: the outbox row is closed, its money leaves in_flight, the transaction is
   * final. Returns the final answer, or null if the transfer was already settled (alarm and request raced).
   */
  private settleOutbox(
    transfer_id: string,
    result: { outcome: "delivered"; preimage: string | null } | { outcome: "returned"; reason: string },
  ): Record<string, unknown> | null {
    const now = new Date().toISOString();
    return this.commit(() => {
      // Closing the outbox is the check: only the first of the alarm and the request path gets the row back.
      const delivered = result.outcome === "delivered";
      const settled = this.sql<Omit<TransactionRow, "seq"> & { payload: string }>`
        UPDATE transactions SET status = ${delivered ? "succeeded" : "failed"}, delivered_at = ${now}
        WHERE transfer_id = ${transfer_id} AND payload IS NOT NULL AND delivered_at IS NULL
        RETURNING id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at, payload`[0];
      if (!settled) return null;
      const { amount_msat, payment_hash } = JSON.parse(settled.payload) as TransferPayload;
      this.post(`${transfer_id}:${result.outcome}`, delivered ? journals.transferDelivered(amount_msat) : journals.transferReturned(amount_msat), now);
      // Only a transfer that pays an invoice has a Lightning payment row to finish.
      if (payment_hash) {
        this.sql`UPDATE lightning_payments SET status = ${delivered ? "succeeded" : "failed"}, updated_at = ${now},
                   preimage = ${delivered ? result.preimage : null}, failure_reason = ${delivered ? null : result.reason}
                 WHERE transaction_id = ${settled.id}`;
      }
      const type = payment_hash ? (delivered ? "payment.succeeded" : "payment.failed") : delivered ? "transfer.delivered" : "transfer.failed";
      const transaction = toTransaction(settled);
      const answer = payment_hash ? this.answerFor(settled.id, true) : { status: transaction.status, transaction };
      this.appendEvent(type, { ...answer, balance_msat: this.balanceOf("wallet") }, now);
      return answer;
    });
  }

  private scheduleRetry(row: OutboxRow): void {
    const delay = Math.min(RETRY_BASE_MS * 2 ** row.attempts, RETRY_CAP_MS);
    this.sql`UPDATE transactions SET attempts = attempts + 1, next_attempt_at = ${Date.now() + delay} WHERE transfer_id = ${row.transfer_id}`;
    this.armAlarm(Date.now() + delay);
  }

  /** Redelivers every unacknowledged transfer; re-arms while any remain. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const due = this.sql<{ transfer_id: string }>`
      SELECT transfer_id FROM transactions WHERE payload IS NOT NULL AND delivered_at IS NULL ORDER BY next_attempt_at LIMIT ${DELIVERIES_PER_ALARM}`;
    await Promise.all(due.map((r) => this.deliverById(r.transfer_id)));
    const pending = this.sql<{ payment_id: string }>`
      SELECT payment_id FROM lightning_payments WHERE status = 'pending' AND route = 'external' ORDER BY updated_at LIMIT ${PAYMENTS_PER_ALARM}`;
    await Promise.all(pending.map((p) => this.reconcileExternal(p.payment_id)));
    const next = this.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM transactions WHERE payload IS NOT NULL AND delivered_at IS NULL`[0]?.at;
    if (next != null) this.armAlarm(Math.max(next, Date.now() + 100));
    if (this.sql`SELECT 1 FROM lightning_payments WHERE status = 'pending' AND route = 'external' LIMIT 1`.length) {
      this.armAlarm(Date.now() + PAYMENT_TRACK_INTERVAL_MS);
    }
  }

  // ── Outgoing Lightning payment steps ───────────────────────────────────────

  /**
   * One transaction: balance check, the payment and its history row, and the money set aside —
   * amount + maximum fee held for LND, or the amount debited into an outbox transfer for a hub invoice.
   */
  private holdForPayment(
    request: PayLightningRequest,
    payment_id: string,
    route: "internal" | "external",
    counterparty: Counterparty | null,
  ): { ok: true; transfer_id: string | null } | Refusal {
    const now = new Date().toISOString();
    const reserved = route === "internal" ? request.amount_msat : request.amount_msat + request.max_fee_msat;
    const from: Counterparty = { wallet_id: this.identity!.wallet_id, username: this.identity!.username };
    return this.commit(() => {
      // Re-checked inside the transaction: two concurrent requests may both have passed the first look.
      if (this.sql`SELECT 1 FROM lightning_payments WHERE payment_hash = ${request.payment_hash} AND status <> 'failed'`.length) {
        return refuse("already_paid", "this wallet already paid or is paying this invoice");
      }
      const balance = this.balanceOf("wallet");
      if (balance < reserved) return refuse("insufficient_balance", `balance ${balance} msat is less than ${reserved} msat (amount + maximum fee)`);
      const transaction = newTransaction({ kind: "lightning", direction: "out", amount_msat: request.amount_msat, status: "pending", counterparty, memo: request.memo }, now);
      // A hub invoice is paid by a transfer: its outbox columns go with the history row.
      const transfer_id = route === "internal" ? newId("tr") : null;
      const payload: TransferPayload | null = transfer_id
        ? { transfer_id, from, amount_msat: request.amount_msat, memo: request.memo, payment_hash: request.payment_hash }
        : null;
      this.insertTransaction(transaction, transfer_id ? { transfer_id, to_wallet: counterparty?.wallet_id ?? "", payload: JSON.stringify(payload) } : undefined);
      this.sql`INSERT INTO lightning_payments (payment_id, payment_hash, payment_request, route, amountless, amount_msat, reserved_msat, status, transaction_id, created_at, updated_at)
               VALUES (${payment_id}, ${request.payment_hash}, ${request.payment_request}, ${route}, ${request.amountless ? 1 : 0}, ${request.amount_msat},
                       ${reserved}, 'pending', ${transaction.id}, ${now}, ${now})`;
      if (transfer_id) {
        this.post(`${transfer_id}:debit`, journals.transferDebit(request.amount_msat), now);
      } else {
        this.post(`${payment_id}:hold`, journals.paymentHold(reserved), now);
      }
      this.appendEvent("payment.pending", { ...this.lightningPaymentById(payment_id)!, balance_msat: this.balanceOf("wallet") }, now);
      this.remember(request.idempotency, transaction.id, { ok: true, status: 200, body: null });
      this.armAlarm(Date.now() + RETRY_BASE_MS * 5);
      return { ok: true as const, transfer_id };
    });
  }

  /** Asks LND to pay, waiting a bounded time; no answer leaves the hold in place for the alarm. */
  private async sendThroughLnd(payment_id: string): Promise<void> {
    const p = this.paymentRow(payment_id);
    if (!p || p.status !== "pending" || this.sending.has(payment_id)) return;
    this.sending.add(payment_id);
    try {
      const outcome = await this.lnd().payInvoice(
        {
          payment_request: p.payment_request,
          amt_msat: p.amountless ? p.amount_msat : undefined,
          fee_limit_msat: p.reserved_msat - p.amount_msat,
          timeout_seconds: PAY_TIMEOUT_S,
          max_parts: PAY_MAX_PARTS,
        },
        { waitMs: Number(this.env.LND_PAY_WAIT_MS) || PAY_WAIT_MS },
      );
      await this.applyOutcome(payment_id, outcome);
    } catch (error) {
      if (error instanceof LndError && error.code === GrpcCode.ALREADY_EXISTS) {
        // Our own earlier attempt (the node actor lets no one else send to this hash): follow it.
        await this.trackThroughLnd(payment_id);
      } else if (error instanceof LndError) {
        await this.finishExternal(payment_id, { failed: `LND refused the payment: ${error.message}` });
      }
      // Unreachable or timed out: the outcome is unknown, so the hold stays until the alarm knows.
    } finally {
      this.sending.delete(payment_id);
    }
  }

  /** The alarm's follow-up: LND's word on the payment; one LND never saw is sent now. */
  private async reconcileExternal(payment_id: string): Promise<void> {
    if (this.sending.has(payment_id)) return;
    const state = await this.trackThroughLnd(payment_id);
    if (state === "unknown_to_lnd") await this.sendThroughLnd(payment_id);
  }

  private async trackThroughLnd(payment_id: string): Promise<"tracked" | "unknown_to_lnd"> {
    const p = this.paymentRow(payment_id);
    if (!p || p.status !== "pending") return "tracked";
    try {
      await this.applyOutcome(payment_id, await this.lnd().waitForPayment(p.payment_hash, { waitMs: TRACK_WAIT_MS }));
    } catch (error) {
      if (error instanceof LndError && error.code === GrpcCode.NOT_FOUND) return "unknown_to_lnd";
    }
    return "tracked";
  }

  private async applyOutcome(payment_id: string, outcome: PaymentOutcome): Promise<void> {
    if (!outcome.final) return;
    const { payment } = outcome;
    if (payment.status === "SUCCEEDED") await this.finishExternal(payment_id, { fee_msat: payment.fee_msat, preimage: payment.payment_preimage ?? "" });
    else await this.finishExternal(payment_id, { failed: payment.failure_reason });
  }

  /** One transaction: settle the hold at the real fee (refunding the rest), or release it whole. */
  private async finishExternal(payment_id: string, result: { fee_msat: Msat; preimage: string } | { failed: string }): Promise<void> {
    const now = new Date().toISOString();
    const finished = this.commit(() => {
      const p = this.paymentRow(payment_id);
      if (!p || p.status !== "pending") return null;
      if ("failed" in result) {
        this.post(`${payment_id}:released`, journals.paymentReleased(p.reserved_msat), now);
        this.sql`UPDATE lightning_payments SET status = 'failed', failure_reason = ${result.failed}, updated_at = ${now} WHERE payment_id = ${payment_id}`;
        this.sql`UPDATE transactions SET status = 'failed' WHERE id = ${p.transaction_id}`;
      } else {
        this.post(`${payment_id}:settled`, journals.paymentSettled(p.reserved_msat, p.amount_msat, result.fee_msat), now);
        this.sql`UPDATE lightning_payments SET status = 'succeeded', fee_msat = ${result.fee_msat}, preimage = ${result.preimage}, updated_at = ${now}
                 WHERE payment_id = ${payment_id}`;
        this.sql`UPDATE transactions SET status = 'succeeded', fee_msat = ${result.fee_msat} WHERE id = ${p.transaction_id}`;
      }
      this.appendEvent("failed" in result ? "payment.failed" : "payment.succeeded", { ...this.answerFor(p.transaction_id), balance_msat: this.balanceOf("wallet") }, now);
      return p;
    });
    if (finished) await this.node().finishPayment(finished.payment_hash, payment_id, "failed" in result ? "failed" : "succeeded").catch(() => undefined);
  }

  private paymentRow(payment_id: string): PaymentRow | undefined {
    return this.sql<PaymentRow>`SELECT * FROM lightning_payments WHERE payment_id = ${payment_id}`[0];
  }

  // ── Live events ────────────────────────────────────────────────────────────

  /** WebSocket upgrade (the worker has authenticated it): replays `seq > after`, then pushes live. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const after = Number(new URL(request.url).searchParams.get("after") ?? "0");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    // Replay and acceptance happen in one synchronous stretch: no commit can slip between them.
    for (let from = Number.isSafeInteger(after) && after > 0 ? after : 0; ; ) {
      const page = this.eventsAfter(from, REPLAY_PAGE);
      for (const event of page) server.send(JSON.stringify(event));
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1]!.seq;
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // "ping" is answered by the auto-response without waking the actor; anything else is not a command.
    ws.send(JSON.stringify({ error: { code: "invalid_request", message: `unexpected message: send "ping"` } }));
    void message;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed by the runtime.
    }
  }

  // ── Internals ──────────────────────────────────────────────────────────────

  /**
   * Runs a money-moving call at most once per idempotency key: a stored answer is replayed,
   * the same key with another request is a conflict, and a concurrent duplicate waits for the first.
   * Refusals are not stored (nothing moved), so a retry after topping up can succeed.
   */
  private async once(
    tag: IdempotencyTag | null,
    run: () => Promise<ApiAnswer | Refusal>,
    options: { checkFirst: boolean } = { checkFirst: false },
  ): Promise<ApiAnswer | Refusal> {
    if (!tag) return run();
    const running = this.running.get(tag.key);
    if (running) return running.fingerprint === tag.fingerprint ? running.answer : idempotencyConflict();
    // Calls whose first write is the transaction that claims the key (`remember`) need no read first:
    // a taken key rolls that transaction back and the stored answer is replayed. Others look first.
    if (options.checkFirst) {
      const stored = this.storedAnswer(tag);
      if (stored) return stored;
    }
    const answer = run().catch((error: unknown) => {
      if (error instanceof KeyTaken) return this.storedAnswer(tag) ?? idempotencyConflict();
      throw error;
    });
    this.running.set(tag.key, { fingerprint: tag.fingerprint, answer });
    try {
      return await answer;
    } finally {
      this.running.delete(tag.key);
    }
  }

  /** The live stored answer for a key: replayed for the same request, a conflict for another. */
  private storedAnswer(tag: IdempotencyTag): ApiAnswer | Refusal | null {
    const stored = this.sql<{ fingerprint: string; status: number; response: string; transaction_id: string | null; answer_follows_transaction: number; created_at: number }>`
      SELECT fingerprint, status, response, transaction_id, answer_follows_transaction, created_at FROM idempotency WHERE key = ${tag.key}`[0];
    if (!stored || stored.created_at <= Date.now() - IDEMPOTENCY_TTL_MS) return null;
    if (stored.fingerprint !== tag.fingerprint) return idempotencyConflict();
    const body = stored.answer_follows_transaction ? this.answerFor(stored.transaction_id!) : JSON.parse(stored.response);
    return { ok: true, status: stored.status, body };
  }

  /**
   * Claims an idempotency key and stores its answer, inside the caller's transaction. A key that
   * already holds a live answer throws `KeyTaken` (rolling the transaction back); an expired one is reused.
   * A `null` body means the answer is the payment as it stands when replayed (read from its transaction),
   * so settling a payment never has to rewrite the stored answer.
   */
  private remember<A extends ApiAnswer<unknown>>(tag: IdempotencyTag | null, transaction_id: string, answer: A): A {
    if (tag) {
      const now = Date.now();
      if (now - this.idempotencySweptAt > IDEMPOTENCY_SWEEP_MS) {
        this.sql`DELETE FROM idempotency WHERE created_at < ${now - IDEMPOTENCY_TTL_MS}`;
        this.idempotencySweptAt = now;
      }
      const claimed = this.sqlWrite`
        INSERT INTO idempotency (key, fingerprint, status, response, transaction_id, answer_follows_transaction, created_at)
        VALUES (${tag.key}, ${tag.fingerprint}, ${answer.status}, ${answer.body === null ? "" : JSON.stringify(answer.body)}, ${transaction_id},
                ${answer.body === null ? 1 : 0}, ${now})
        ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, response = excluded.response,
          transaction_id = excluded.transaction_id, answer_follows_transaction = excluded.answer_follows_transaction, created_at = excluded.created_at
        WHERE idempotency.created_at <= ${now - IDEMPOTENCY_TTL_MS}`;
      if (claimed === 0) throw new KeyTaken();
    }
    return answer;
  }

  /** Runs `body` as one SQLite transaction; its events are pushed only after it commits. */
  private commit<T>(body: () => T): T {
    this.uncommittedEvents = [];
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(body);
    } catch (error) {
      this.uncommittedEvents = [];
      this.nextSeq = null; // the rolled-back events gave their numbers back
      this.walletBalance = null; // and its postings their amounts
      if (error instanceof RollBack) return error.result as T;
      throw error;
    }
    const events = this.uncommittedEvents;
    this.uncommittedEvents = [];
    if (events.length) this.push(events);
    return result;
  }

  private push(events: WalletEvent[]): void {
    const sockets = this.ctx.getWebSockets();
    if (!sockets.length) return;
    const frames = events.map((e) => JSON.stringify(e));
    for (const ws of sockets) {
      try {
        for (const frame of frames) ws.send(frame);
      } catch {
        // A socket closing under us; the client resumes with after=<seq>.
      }
    }
  }

  private post(journal: string, entries: Entry[], now: string): void {
    assertBalanced(entries);
    // One statement for the whole journal; the trigger `entries_update_balances` moves the balances.
    this.sql`INSERT INTO entries (journal, account, amount_msat, created_at)
             SELECT ${journal}, e.value ->> 'account', e.value ->> 'amount_msat', ${now} FROM json_each(${JSON.stringify(entries)}) AS e`;
    if (this.walletBalance !== null) for (const e of entries) if (e.account === "wallet") this.walletBalance += e.amount_msat;
  }

  private appendEvent(type: string, data: Record<string, unknown>, now: string): WalletEvent {
    this.nextSeq ??= this.sql<{ next: number }>`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM events`[0]!.next;
    const seq = this.nextSeq++;
    this.sql`INSERT INTO events (seq, type, data, created_at) VALUES (${seq}, ${type}, ${JSON.stringify(data)}, ${now})`;
    const event = { seq, type, created_at: now, data };
    this.uncommittedEvents.push(event);
    return event;
  }

  /**
   * Stores a history row; a transfer's row carries its transfer id (unique: an incoming one seen before
   * is not stored again, and this returns false) and, when outgoing, its outbox columns.
   */
  private insertTransaction(transaction: Transaction, transfer?: { transfer_id: string; to_wallet?: string; payload?: string }): boolean {
    const outgoing = transfer?.payload !== undefined;
    return (
      this.sqlWrite`INSERT INTO transactions (id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at,
                                              transfer_id, to_wallet, payload, next_attempt_at)
        VALUES (${transaction.id}, ${transaction.kind}, ${transaction.direction}, ${transaction.amount_msat}, ${transaction.fee_msat},
                ${transaction.status}, ${transaction.counterparty ? JSON.stringify(transaction.counterparty) : null}, ${transaction.memo}, ${transaction.created_at},
                ${transfer?.transfer_id ?? null}, ${transfer?.to_wallet ?? null}, ${transfer?.payload ?? null}, ${outgoing ? Date.now() + RETRY_BASE_MS : null})
        ON CONFLICT (transfer_id) WHERE transfer_id IS NOT NULL DO NOTHING` > 0
    );
  }

  private transactionById(id: string): Transaction | null {
    const row = this.sql<TransactionRow>`SELECT * FROM transactions WHERE id = ${id}`[0];
    return row ? toTransaction(row) : null;
  }

  /** The API's answer for a money movement as it stands now: a Lightning payment or a transfer. */
  private answerFor(transaction_id: string, lightning?: boolean): Record<string, unknown> {
    const payment =
      lightning === false ? undefined : this.sql<{ payment_id: string }>`SELECT payment_id FROM lightning_payments WHERE transaction_id = ${transaction_id}`[0];
    if (payment) return { ...this.lightningPaymentById(payment.payment_id)! };
    const transaction = this.transactionById(transaction_id)!;
    return { status: transaction.status, transaction };
  }

  private lightningPaymentById(payment_id: string): LightningPayment | null {
    const p = this.sql<PaymentRow>`SELECT * FROM lightning_payments WHERE payment_id = ${payment_id}`[0];
    if (!p) return null;
    const answer: LightningPayment = {
      status: p.status,
      payment_hash: p.payment_hash,
      amount_msat: p.amount_msat,
      fee_msat: p.fee_msat,
      transaction: this.transactionById(p.transaction_id)!,
    };
    if (p.preimage) answer.preimage = p.preimage;
    if (p.failure_reason) answer.failure_reason = p.failure_reason;
    return answer;
  }

  private invoiceByHash(payment_hash: string): Invoice | null {
    const row = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash} AND payment_request IS NOT NULL`[0];
    if (!row) return null;
    const expired = row.status === "open" && Date.parse(row.expires_at) <= Date.now();
    return {
      payment_hash: row.payment_hash,
      payment_request: row.payment_request!,
      amount_msat: row.amount_msat,
      memo: row.memo,
      status: expired ? "expired" : row.status,
      expires_at: row.expires_at,
      created_at: row.created_at,
      paid_at: row.paid_at,
      paid_msat: row.paid_msat,
    };
  }

  private balanceOf(account: LedgerAccount): Msat {
    if (account === "wallet" && this.walletBalance !== null) return this.walletBalance;
    const balance = this.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = ${account}`[0]?.balance_msat ?? 0;
    if (account === "wallet") this.walletBalance = balance;
    return balance;
  }

  private eventsAfter(after: number, limit: number): WalletEvent[] {
    return this.sql<{ seq: number; type: string; data: string; created_at: string }>`
      SELECT seq, type, data, created_at FROM events WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`.map((r) => ({
      seq: r.seq,
      type: r.type,
      created_at: r.created_at,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  private outboxRow(transfer_id: string): OutboxRow | undefined {
    return this.sql<OutboxRow>`
      SELECT transfer_id, id AS transaction_id, to_wallet, payload, attempts, delivered_at FROM transactions WHERE transfer_id = ${transfer_id} AND payload IS NOT NULL`[0];
  }

  private node(): DurableObjectStub<LightningNodeActor> {
    return this.env.LIGHTNING.get(this.env.LIGHTNING.idFromName("default"));
  }

  private lnd() {
    return lndClient(this.env);
  }

  private walletStub(wallet_id: string): DurableObjectStub<WalletActor> {
    return this.env.WALLET.get(this.env.WALLET.idFromName(wallet_id));
  }

  /** Ensures an alarm fires by `at` (the safety net for deliveries a crash interrupted). */
  private armAlarm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }
}

/** A history row not yet stored: a fresh id, no fee unless given. */
function newTransaction(t: Omit<Transaction, "id" | "created_at" | "fee_msat"> & { fee_msat?: Msat }, now: string, id = newId("tx")): Transaction {
  return { id, fee_msat: 0, ...t, created_at: now };
}

const idempotencyConflict = () => refuse("idempotency_conflict", "this Idempotency-Key was used with a different request");

function toTransaction(row: Omit<TransactionRow, "seq">): Transaction {
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

/** A whole, positive amount of msat within the per-payment bound. */
function isPaymentAmount(amount_msat: unknown, maxSat: number): amount_msat is Msat {
  return typeof amount_msat === "number" && Number.isSafeInteger(amount_msat) && amount_msat > 0 && amount_msat <= maxSat * MSAT_PER_SAT;
}
