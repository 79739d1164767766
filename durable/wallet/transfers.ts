import { RETRY_BASE_MS } from "../../src/backoff";
import { refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import { journals } from "../../src/ledger";
import { isPaymentAmount } from "../../src/money";
import { selfPaymentRefusal } from "../../src/payment-rules";
import { paymentOutcome, type CarriedChatThrough, type ChatMessage } from "../../src/chat";
import type { Transaction, TransferPayload } from "../../src/wallet-types";
import type { Idempotency } from "../kit/idempotency";
import { Outbox, type Delivery, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import { RollBack } from "../kit/unit-of-work";
import type { SendTransferRequest, TransferAnswer, WalletPort } from "../ports";
import type { EventLog } from "./event-log";
import { counterpartyColumn, newTransaction, toTransaction, type TransactionRow } from "./history";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";
import type { Limits } from "./limits";

/**
 * What a receiving wallet acknowledges a transfer with (a hub invoice's payment: its preimage; a
 * carried chat message: how far the receiver has the conversation's mailbox).
 */
export type TransferAck = { ok: true; preimage?: string; chat_through?: number };
/** A settled transfer's final answer, as the API returns it. */
export type SettledAnswer = Record<string, unknown>;

export interface TransferWiring {
  wallets: (wallet_id: string) => DurableObjectStub<WalletPort>;
  /**
   * A transfer that pays a hub invoice was settled (inside the settle's unit of work): finish its
   * Lightning payment and return the payment's answer.
   */
  invoicePaymentSettled: (transaction_id: string, delivery: Delivery<TransferAck>, now: string) => SettledAnswer;
  /**
   * Appends a conversation's `chat.message` as event `n` of this member's mailbox of it if that is the
   * next one (inside the caller's unit of work); returns how far the mailbox is delivered.
   */
  carryChatMessage: (conversation_id: string, n: number, message: ChatMessage, now: string) => number;
}

/**
 * Payments between wallets of the hub (docs/decisions/0002): step 1 debits into `in_flight` and
 * writes the transfer as outbox columns of its history row; step 2 hands it to the receiver, who
 * credits once per `transfer_id`; step 3 settles (delivered, or returned on a final refusal).
 * Delivery is retried by the kit's outbox until the receiver answers.
 */
export class Transfers implements Part {
  readonly name = "transfers";
  // The outbox and the receipt are columns of the transfer's history row (docs/decisions/0005).
  readonly migrations = [
    `ALTER TABLE transactions ADD COLUMN transfer_id TEXT;
     ALTER TABLE transactions ADD COLUMN to_wallet TEXT;
     ALTER TABLE transactions ADD COLUMN payload TEXT;
     ALTER TABLE transactions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE transactions ADD COLUMN next_attempt_at INTEGER;
     ALTER TABLE transactions ADD COLUMN delivered_at TEXT;
     CREATE UNIQUE INDEX transactions_by_transfer ON transactions (transfer_id) WHERE transfer_id IS NOT NULL;
     CREATE INDEX transactions_undelivered ON transactions (next_attempt_at) WHERE payload IS NOT NULL AND delivered_at IS NULL;`,
  ];
  readonly outbox: Outbox<TransferAck, SettledAnswer>;
  readonly tasks: readonly Task[];

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly events: EventLog,
    private readonly idempotency: Idempotency,
    private readonly limits: Limits,
    private readonly wiring: TransferWiring,
  ) {
    this.outbox = new Outbox("transfers", kit, new TransferColumns(kit), {
      send: (item) => this.handOver(item),
      settle: (item, delivery) => this.settle(item.id, delivery),
    });
    this.tasks = this.outbox.tasks;
  }

  /** The whole protocol for one request: debit, deliver, and the answer as it stands. */
  async send(request: SendTransferRequest): Promise<TransferAnswer | Refusal> {
    return this.idempotency.once(request.idempotency, async () => {
      const debited = this.debit(request);
      if (!debited.ok) return debited;
      const delivery = await this.outbox.deliver(debited.item);
      // Settled here: its answer is the final one. Retrying: still pending. Settled by the alarm meanwhile: read it.
      if (delivery.settled) return { ok: true, status: 200, body: delivery.settled };
      if (delivery.outcome === "retry") return { ok: true, status: 200, body: { status: "pending", transaction: debited.transaction } };
      return { ok: true, status: 200, body: this.answer(debited.transaction.id) };
    }) as Promise<TransferAnswer | Refusal>;
  }

  /** Step 1, one unit of work: idempotency claim, limits, balance check, debit into in_flight, outbox columns, usage, event. */
  debit(request: SendTransferRequest): { ok: true; transfer_id: string; transaction: Transaction; item: OutboxItem } | Refusal {
    const { amount_msat, to } = request;
    const identity = this.identity.get();
    if (!identity) return refuse("not_found", "wallet not opened");
    if (!isPaymentAmount(amount_msat)) return refuse("invalid_request", "amount out of range");
    const self = selfPaymentRefusal(identity.wallet_id, to.wallet_id);
    if (self) return self;
    const now = new Date().toISOString();
    const transfer_id = newId("tr");
    const transaction = newTransaction({ kind: "intraledger", direction: "out", amount_msat, status: "pending", counterparty: to, memo: request.memo }, now);
    const payload: TransferPayload = { transfer_id, from: this.identity.counterparty(), amount_msat, memo: request.memo };
    // A chat payment message names the payer's transaction; each wallet writes it with its own money.
    if (request.chat) payload.chat = { ...request.chat, message: paymentOutcome(request.chat.message, "pending", transaction.id) };
    return this.kit.unitOfWork.run(() => {
      // The key is claimed first: a replay must get its stored answer even if the balance is gone since.
      this.idempotency.claim(request.idempotency, transaction.id, { ok: true, status: 200, body: null });
      const overLimit = this.limits.check("intraledger", amount_msat, Date.parse(now));
      if (overLimit) throw new RollBack(overLimit);
      const balance = this.ledger.balanceOf("wallet");
      if (balance < amount_msat) throw new RollBack(refuse("insufficient_balance", `balance ${balance} msat is less than ${amount_msat} msat`));
      const item = this.insertOutgoing(transaction, payload, to.wallet_id);
      this.limits.record("intraledger", amount_msat, transaction);
      this.ledger.post(`${transfer_id}:debit`, journals.transferDebit(amount_msat), now);
      this.events.append("transfer.sent", { transaction, balance_msat: this.ledger.balanceOf("wallet") }, now);
      return { ok: true as const, transfer_id, transaction, item };
    });
  }

  /** Credits a transfer from another wallet; a repeat of the same `transfer_id` only acknowledges. */
  receive(payload: TransferPayload): { ok: true; transaction_id: string; duplicate: boolean; chat_through?: number } | Refusal {
    if (!this.identity.get()) return refuse("unknown_recipient", "no such wallet");
    if (!isPaymentAmount(payload.amount_msat)) return refuse("invalid_request", "amount out of range");
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      // The history row is the receipt (unique by transfer): a transfer seen before writes nothing and is only acknowledged.
      const transaction = newTransaction({ kind: "intraledger", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: payload.from, memo: payload.memo }, now);
      if (!this.insertIncoming(transaction, payload.transfer_id)) return { ok: true as const, transaction_id: this.seen(payload.transfer_id)!, duplicate: true };
      this.ledger.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      this.events.append("transfer.received", { transaction, balance_msat: this.ledger.balanceOf("wallet") }, now);
      const chat = payload.chat;
      if (!chat) return { ok: true as const, transaction_id: transaction.id, duplicate: false };
      // The money arrived: the payee's chat message says so, in the same commit.
      const received = paymentOutcome(chat.message, "succeeded", chat.message.payment!.transaction_id);
      return { ok: true as const, transaction_id: transaction.id, duplicate: false, chat_through: this.wiring.carryChatMessage(chat.conversation_id, chat.payee_n, received, now) };
    });
  }

  /** Stores an outgoing transfer's history row with its outbox columns (inside the caller's unit of work). */
  insertOutgoing(transaction: Transaction, payload: TransferPayload, to_wallet: string): OutboxItem {
    const json = JSON.stringify(payload);
    this.insertRow(transaction, payload.transfer_id, to_wallet, json, Date.now() + RETRY_BASE_MS);
    this.outbox.enqueued();
    return { id: payload.transfer_id, destination: to_wallet, payload: json, attempts: 0, delivered: false };
  }

  /** Stores an incoming transfer's history row; false (nothing written) if this transfer was seen before. */
  insertIncoming(transaction: Transaction, transfer_id: string): boolean {
    return this.insertRow(transaction, transfer_id, null, null, null);
  }

  /** The history row of a transfer seen before (sent or received), or null. */
  seen(transfer_id: string): string | null {
    return this.kit.sql<{ id: string }>`SELECT id FROM transactions WHERE transfer_id = ${transfer_id}`[0]?.id ?? null;
  }

  /** Outgoing transfers not yet acknowledged or returned. */
  undeliveredCount(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM transactions WHERE payload IS NOT NULL AND delivered_at IS NULL`[0]!.n;
  }

  /** A transfer's answer as it stands. */
  answer(transaction_id: string): SettledAnswer {
    const row = this.kit.sql<TransactionRow>`SELECT * FROM transactions WHERE id = ${transaction_id}`[0]!;
    const transaction = toTransaction(row);
    return { status: transaction.status, transaction };
  }

  private insertRow(t: Transaction, transfer_id: string, to_wallet: string | null, payload: string | null, next_attempt_at: number | null): boolean {
    return (
      this.kit.sqlWrite`INSERT INTO transactions (id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at,
                                                  transfer_id, to_wallet, payload, next_attempt_at)
        VALUES (${t.id}, ${t.kind}, ${t.direction}, ${t.amount_msat}, ${t.fee_msat}, ${t.status}, ${counterpartyColumn(t)}, ${t.memo}, ${t.created_at},
                ${transfer_id}, ${to_wallet}, ${payload}, ${next_attempt_at})
        ON CONFLICT (transfer_id) WHERE transfer_id IS NOT NULL DO NOTHING` > 0
    );
  }

  /** Step 2: the receiver's RPC (a plain transfer, or the internal payment of its invoice). */
  private async handOver(item: OutboxItem): Promise<TransferAck | Refusal> {
    const payload = JSON.parse(item.payload) as TransferPayload;
    const receiver = this.wiring.wallets(item.destination);
    return payload.payment_hash ? receiver.receiveInvoicePayment(payload) : receiver.receiveTransfer(payload);
  }

  /**
   * Step 3, one unit of work: the outbox columns are closed, the money leaves in_flight, the row is
   * final. Returns the final answer, or null if another attempt settled it first.
   */
  private settle(transfer_id: string, delivery: Delivery<TransferAck>): SettledAnswer | null {
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      // Closing the outbox is the check: only the first of the alarm and the request path gets the row back.
      const delivered = delivery.outcome === "delivered";
      const settled = this.kit.sql<Omit<TransactionRow, "seq"> & { payload: string }>`
        UPDATE transactions SET status = ${delivered ? "succeeded" : "failed"}, delivered_at = ${now}
        WHERE transfer_id = ${transfer_id} AND payload IS NOT NULL AND delivered_at IS NULL
        RETURNING id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at, payload`[0];
      if (!settled) return null;
      const { amount_msat, payment_hash, chat } = JSON.parse(settled.payload) as TransferPayload;
      this.ledger.post(`${transfer_id}:${delivery.outcome}`, delivered ? journals.transferDelivered(amount_msat) : journals.transferReturned(amount_msat), now);
      // Money that came back was not spent: it no longer counts against the limits (a plain transfer or a hub invoice's payment).
      if (!delivered) this.limits.release(settled);
      let answer: SettledAnswer;
      let type: string;
      if (payment_hash) {
        // Only a transfer that pays an invoice has a Lightning payment to finish.
        answer = this.wiring.invoicePaymentSettled(settled.id, delivery, now);
        type = delivered ? "payment.succeeded" : "payment.failed";
      } else {
        const transaction = toTransaction(settled);
        answer = { status: transaction.status, transaction };
        type = delivered ? "transfer.delivered" : "transfer.failed";
      }
      this.events.append(type, { ...answer, balance_msat: this.ledger.balanceOf("wallet") }, now);
      if (!chat) return answer;
      // The payer's chat message, with the outcome, in the commit that makes it final.
      const final = paymentOutcome(chat.message, delivered ? "succeeded" : "failed", chat.message.payment!.transaction_id);
      const payer_through = this.wiring.carryChatMessage(chat.conversation_id, chat.payer_n, final, now);
      const carried: CarriedChatThrough = { payer_through, payee_through: delivery.outcome === "delivered" ? (delivery.ack.chat_through ?? null) : null };
      return { ...answer, chat: carried };
    });
  }
}

/** The outbox store over a transfer's columns of its history row. */
class TransferColumns implements OutboxStore {
  constructor(private readonly kit: ActorKit) {}

  find(id: string): OutboxItem | null {
    const row = this.kit.sql<ItemRow>`
      SELECT transfer_id, to_wallet, payload, attempts, delivered_at FROM transactions WHERE transfer_id = ${id} AND payload IS NOT NULL`[0];
    return row ? toItem(row) : null;
  }

  undelivered(limit: number): OutboxItem[] {
    return this.kit.sql<ItemRow>`
      SELECT transfer_id, to_wallet, payload, attempts, delivered_at FROM transactions
      WHERE payload IS NOT NULL AND delivered_at IS NULL ORDER BY next_attempt_at LIMIT ${limit}`.map(toItem);
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM transactions WHERE payload IS NOT NULL AND delivered_at IS NULL`[0]?.at ?? null;
  }

  recordFailedAttempt(id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE transactions SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE transfer_id = ${id}`;
  }
}

interface ItemRow {
  transfer_id: string;
  to_wallet: string;
  payload: string;
  attempts: number;
  delivered_at: string | null;
}

const toItem = (r: ItemRow): OutboxItem => ({ id: r.transfer_id, destination: r.to_wallet, payload: r.payload, attempts: r.attempts, delivered: r.delivered_at !== null });
