import { Actor } from "./actor";
import { refuse, type Refusal } from "../src/errors";
import { assertBalanced, journals, type Entry, type LedgerAccount } from "../src/ledger";
import { IDEMPOTENCY_TTL_MS } from "../src/idempotency";
import { newId } from "../src/ids";
import { MAX_PAYMENT_SAT, MAX_FAUCET_SAT, MSAT_PER_SAT, type Msat } from "../src/money";
import type { ApiAnswer, Counterparty, Transaction, TransferPayload, WalletEvent } from "../src/wallet-types";

export interface WalletEnv {
  WALLET: DurableObjectNamespace<WalletActor>;
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

export interface WalletIdentity {
  wallet_id: string;
  account_id: string;
  username: string;
}

export interface WalletAudit {
  balance_msat: Msat;
  entries_balance_msat: Msat;
  in_flight_msat: Msat;
  faucet_msat: Msat;
  peers_msat: Msat;
  unbalanced_journals: number;
  history_sum_msat: Msat;
  min_event_balance_msat: Msat | null;
  event_count: number;
  max_seq: number;
  undelivered_transfers: number;
}

/** `failed` only when the receiver turned out not to exist and the money came back. */
type TransferAnswer = ApiAnswer<{ status: Transaction["status"]; transaction: Transaction }>;

const SCHEMA = [
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
];

/** First retry of an unacknowledged transfer after this long; doubles up to the cap. */
const RETRY_BASE_MS = 1_000;
const RETRY_CAP_MS = 60_000;
/** Transfers the alarm tries to deliver per run; it re-arms itself for the rest. */
const DELIVERIES_PER_ALARM = 100;
const REPLAY_PAGE = 500;

interface OutboxRow {
  transfer_id: string;
  transaction_id: string;
  to_wallet: string;
  payload: string;
  attempts: number;
  delivered_at: string | null;
}

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
  protected readonly schema = SCHEMA;
  private identity: WalletIdentity | null = null;
  /** Money-moving calls under way, by idempotency key: a concurrent duplicate awaits the first. */
  private readonly running = new Map<string, { fingerprint: string; answer: Promise<ApiAnswer | Refusal> }>();
  /** Events committed by the current transaction, pushed to sockets once it commits. */
  private uncommittedEvents: WalletEvent[] = [];
  /** When the alarm is due, as far as this instance knows (null after a wake-up). */
  private alarmAt: number | null = null;

  protected override onStart(): void {
    this.identity = this.sql<WalletIdentity>`SELECT wallet_id, account_id, username FROM wallet`[0] ?? null;
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
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
      pending_out_msat: this.balanceOf("in_flight"),
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
        const transaction = this.insertTransaction({ kind: "faucet", direction: "in", amount_msat, status: "succeeded", counterparty: null, memo: null }, now);
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
      await this.deliver(debited.transfer_id);
      return this.transferAnswer(debited.transaction_id);
    }) as Promise<TransferAnswer | Refusal>;
  }

  /** Credits a transfer from another wallet; a repeat of the same `transfer_id` only acknowledges. */
  async receiveTransfer(payload: TransferPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal> {
    if (!this.identity) return refuse("unknown_recipient", "no such wallet");
    if (!isPaymentAmount(payload.amount_msat, MAX_PAYMENT_SAT)) return refuse("invalid_request", "amount out of range");
    const seen = this.sql<{ transaction_id: string }>`SELECT transaction_id FROM received_transfers WHERE transfer_id = ${payload.transfer_id}`[0];
    if (seen) return { ok: true, transaction_id: seen.transaction_id, duplicate: true };
    const now = new Date().toISOString();
    return this.commit(() => {
      const transaction = this.insertTransaction(
        { kind: "intraledger", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: payload.from, memo: payload.memo },
        now,
      );
      this.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      this.sql`INSERT INTO received_transfers (transfer_id, transaction_id, received_at) VALUES (${payload.transfer_id}, ${transaction.id}, ${now})`;
      this.appendEvent("transfer.received", { transaction, balance_msat: this.balanceOf("wallet") }, now);
      return { ok: true as const, transaction_id: transaction.id, duplicate: false };
    });
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
    const undelivered = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL`[0]!.n;
    return {
      balance_msat: this.balanceOf("wallet"),
      entries_balance_msat: sum("wallet"),
      in_flight_msat: sum("in_flight"),
      faucet_msat: sum("faucet"),
      peers_msat: sum("peers"),
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
  protected debitForTransfer(request: SendTransferRequest): { ok: true; transfer_id: string; transaction_id: string } | Refusal {
    const { amount_msat, to } = request;
    if (!this.identity) return refuse("not_found", "wallet not opened");
    if (!isPaymentAmount(amount_msat, MAX_PAYMENT_SAT)) return refuse("invalid_request", "amount out of range");
    if (to.wallet_id === this.identity.wallet_id) return refuse("self_payment", "a wallet cannot pay itself");
    const now = new Date().toISOString();
    const transfer_id = newId("tr");
    const from: Counterparty = { wallet_id: this.identity.wallet_id, username: this.identity.username };
    const payload: TransferPayload = { transfer_id, from, amount_msat, memo: request.memo };
    return this.commit(() => {
      const balance = this.balanceOf("wallet");
      if (balance < amount_msat) return refuse("insufficient_balance", `balance ${balance} msat is less than ${amount_msat} msat`);
      const transaction = this.insertTransaction({ kind: "intraledger", direction: "out", amount_msat, status: "pending", counterparty: to, memo: request.memo }, now);
      this.post(`${transfer_id}:debit`, journals.transferDebit(amount_msat), now);
      this.sql`INSERT INTO outbox (transfer_id, transaction_id, to_wallet, payload, next_attempt_at)
               VALUES (${transfer_id}, ${transaction.id}, ${to.wallet_id}, ${JSON.stringify(payload)}, ${Date.now() + RETRY_BASE_MS})`;
      this.appendEvent("transfer.sent", { transaction, balance_msat: balance - amount_msat }, now);
      this.remember(request.idempotency, transaction.id, { ok: true, status: 200, body: { status: "pending", transaction } });
      this.armAlarm(Date.now() + RETRY_BASE_MS * 5);
      return { ok: true as const, transfer_id, transaction_id: transaction.id };
    });
  }

  /** Step 2: hand the transfer to the receiver; on its acknowledgement close the outbox row. */
  protected async deliver(transfer_id: string): Promise<"delivered" | "returned" | "retry"> {
    const row = this.outboxRow(transfer_id);
    if (!row || row.delivered_at) return "delivered";
    let answer: Awaited<ReturnType<WalletActor["receiveTransfer"]>>;
    try {
      answer = await this.walletStub(row.to_wallet).receiveTransfer(JSON.parse(row.payload) as TransferPayload);
    } catch {
      this.scheduleRetry(row);
      return "retry";
    }
    if (answer.ok) {
      this.settleOutbox(transfer_id, "delivered");
      return "delivered";
    }
    if (answer.code === "unknown_recipient") {
      this.settleOutbox(transfer_id, "returned");
      return "returned";
    }
    this.scheduleRetry(row);
    return "retry";
  }

  /** Step 3, one transaction: the outbox row is closed, its money leaves in_flight, the transaction is final. */
  private settleOutbox(transfer_id: string, outcome: "delivered" | "returned"): void {
    const now = new Date().toISOString();
    this.commit(() => {
      // Re-read inside the transaction: the alarm and the request path may both have delivered.
      const row = this.outboxRow(transfer_id);
      if (!row || row.delivered_at) return;
      const { amount_msat } = JSON.parse(row.payload) as TransferPayload;
      const status = outcome === "delivered" ? "succeeded" : "failed";
      this.sql`UPDATE outbox SET delivered_at = ${now} WHERE transfer_id = ${transfer_id}`;
      this.sql`UPDATE transactions SET status = ${status} WHERE id = ${row.transaction_id}`;
      this.post(`${transfer_id}:${outcome}`, outcome === "delivered" ? journals.transferDelivered(amount_msat) : journals.transferReturned(amount_msat), now);
      const transaction = this.transactionById(row.transaction_id)!;
      this.sql`UPDATE idempotency SET response = ${JSON.stringify({ status, transaction })}
               WHERE transaction_id = ${row.transaction_id}`;
      this.appendEvent(outcome === "delivered" ? "transfer.delivered" : "transfer.failed", { transaction, balance_msat: this.balanceOf("wallet") }, now);
    });
  }

  private scheduleRetry(row: OutboxRow): void {
    const delay = Math.min(RETRY_BASE_MS * 2 ** row.attempts, RETRY_CAP_MS);
    this.sql`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ${Date.now() + delay} WHERE transfer_id = ${row.transfer_id}`;
    this.armAlarm(Date.now() + delay);
  }

  /** Redelivers every unacknowledged transfer; re-arms while any remain. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const due = this.sql<{ transfer_id: string }>`
      SELECT transfer_id FROM outbox WHERE delivered_at IS NULL ORDER BY next_attempt_at LIMIT ${DELIVERIES_PER_ALARM}`;
    await Promise.all(due.map((r) => this.deliver(r.transfer_id)));
    const next = this.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM outbox WHERE delivered_at IS NULL`[0]?.at;
    if (next != null) this.armAlarm(Math.max(next, Date.now() + 100));
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
  private async once(tag: IdempotencyTag | null, run: () => Promise<ApiAnswer | Refusal>): Promise<ApiAnswer | Refusal> {
    if (!tag) return run();
    const conflict = refuse("idempotency_conflict", "this Idempotency-Key was used with a different request");
    const running = this.running.get(tag.key);
    if (running) return running.fingerprint === tag.fingerprint ? running.answer : conflict;
    const stored = this.sql<{ fingerprint: string; status: number; response: string; created_at: number }>`
      SELECT fingerprint, status, response, created_at FROM idempotency WHERE key = ${tag.key}`[0];
    if (stored && stored.created_at > Date.now() - IDEMPOTENCY_TTL_MS) {
      return stored.fingerprint === tag.fingerprint ? { ok: true, status: stored.status, body: JSON.parse(stored.response) } : conflict;
    }
    const answer = run();
    this.running.set(tag.key, { fingerprint: tag.fingerprint, answer });
    try {
      return await answer;
    } finally {
      this.running.delete(tag.key);
    }
  }

  /** Stores the answer for an idempotency key, inside the caller's transaction. */
  private remember<A extends ApiAnswer>(tag: IdempotencyTag | null, transaction_id: string, answer: A): A {
    if (tag) {
      const now = Date.now();
      this.sql`DELETE FROM idempotency WHERE created_at < ${now - IDEMPOTENCY_TTL_MS}`;
      this.sql`INSERT OR REPLACE INTO idempotency (key, fingerprint, status, response, transaction_id, created_at)
               VALUES (${tag.key}, ${tag.fingerprint}, ${answer.status}, ${JSON.stringify(answer.body)}, ${transaction_id}, ${now})`;
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
    for (const e of entries) {
      this.sql`INSERT INTO entries (journal, account, amount_msat, created_at) VALUES (${journal}, ${e.account}, ${e.amount_msat}, ${now})`;
      // Not an upsert: SQLite checks the CHECK constraint on the would-be inserted row first.
      this.sql`INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (${e.account}, 0)`;
      this.sql`UPDATE balances SET balance_msat = balance_msat + ${e.amount_msat} WHERE account = ${e.account}`;
    }
  }

  private appendEvent(type: string, data: Record<string, unknown>, now: string): WalletEvent {
    const seq = this.sql<{ next: number }>`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM events`[0]!.next;
    this.sql`INSERT INTO events (seq, type, data, created_at) VALUES (${seq}, ${type}, ${JSON.stringify(data)}, ${now})`;
    const event = { seq, type, created_at: now, data };
    this.uncommittedEvents.push(event);
    return event;
  }

  private insertTransaction(t: Omit<Transaction, "id" | "created_at" | "fee_msat"> & { fee_msat?: Msat }, now: string): Transaction {
    const transaction: Transaction = { id: newId("tx"), fee_msat: 0, ...t, created_at: now };
    this.sql`INSERT INTO transactions (id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at)
             VALUES (${transaction.id}, ${transaction.kind}, ${transaction.direction}, ${transaction.amount_msat}, ${transaction.fee_msat},
                     ${transaction.status}, ${transaction.counterparty ? JSON.stringify(transaction.counterparty) : null}, ${transaction.memo}, ${now})`;
    return transaction;
  }

  private transactionById(id: string): Transaction | null {
    const row = this.sql<TransactionRow>`SELECT * FROM transactions WHERE id = ${id}`[0];
    return row ? toTransaction(row) : null;
  }

  private transferAnswer(transaction_id: string): TransferAnswer {
    const transaction = this.transactionById(transaction_id)!;
    return { ok: true, status: 200, body: { status: transaction.status, transaction } };
  }

  private balanceOf(account: LedgerAccount): Msat {
    return this.sql<{ balance_msat: number }>`SELECT balance_msat FROM balances WHERE account = ${account}`[0]?.balance_msat ?? 0;
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
    return this.sql<OutboxRow>`SELECT transfer_id, transaction_id, to_wallet, payload, attempts, delivered_at FROM outbox WHERE transfer_id = ${transfer_id}`[0];
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

function toTransaction(row: TransactionRow): Transaction {
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
