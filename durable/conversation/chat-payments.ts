import type { CarriedChatMessage, ChatMember, ChatMessage, MessageBody } from "../../src/chat";
import { refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import type { Msat } from "../../src/money";
import { retryDelayMs } from "../../src/backoff";
import type { ApiAnswer } from "../../src/wallet-types";
import { idempotencyConflict, type Idempotency, type IdempotencyTag } from "../kit/idempotency";
import { OUTBOX_SAFETY_NET_MS } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { SendTransferRequest, TransferAnswer, WalletPort } from "../ports";
import type { Mailboxes } from "./mailboxes";
import type { Messages } from "./messages";
import type { Roster } from "./roster";

/** A money movement the conversation has decided on and not yet recorded: the crash-safe step between. */
export interface IntentRow {
  id: string;
  kind: "message" | "share";
  message_id: string;
  payer_wallet: string;
  payer_username: string;
  payee_wallet: string;
  payee_username: string;
  amount_msat: number;
  body: string;
  client_key: string | null;
  client_fingerprint: string | null;
  attempts: number;
  created_at: string;
  /** A payment message's numbers, taken when its intent is written (null: a share, or an intent from before they were). */
  seq: number | null;
  payer_n: number | null;
  payee_n: number | null;
}

type MessageAnswer = ApiAnswer<{ message: ChatMessage }>;

/**
 * A pending intent is first retried this late (its request, or the next post in the conversation,
 * normally finishes it long before): the outbox's period, so one alarm covers the conversation's
 * intents and mail, and a busy conversation writes it about once per period, not once per payment.
 */
const INTENT_SAFETY_NET_MS = OUTBOX_SAFETY_NET_MS;
const INTENTS_PER_RUN = 20;
/** How often a payment message whose transfer was still pending asks the payer's wallet again. */
const STATUS_INTERVAL_MS = 10_000;

/**
 * Money in chat (docs/decisions/0007): a payment message, and each payer's share of a request.
 * 1. One unit of work writes an *intent* (and claims the client's Idempotency-Key); a payment
 *    message's intent takes its seq and its numbers in the payer's and payee's mailboxes, and the
 *    conversation posts nothing else until step 3 or a refusal (`whenFree`).
 * 2. The payer's wallet moves the money with the ordinary transfer protocol, under an idempotency key
 *    made from the intent (`chat:<conversation>:<intent>`), so asking again never pays twice. A
 *    payment message travels with it: each wallet logs its member's `chat.message` in the commit
 *    that moves its money, if it is the next event of its mailbox.
 * 3. One unit of work deletes the intent and writes the fact: the payment message (with its seq and
 *    transaction) or the share in `paid_by`, with its events in every member's mailbox (an event a
 *    wallet already has from the transfer is acknowledged at once, not sent).
 * A crash between any two steps leaves the intent, which the alarm (or the same request again, or
 * the next post) completes: the wallet answers the same transfer, and only the first completion
 * writes the message. A refusal by the wallet (nothing moved) drops the intent: no message, its
 * numbers go to the next post, and the key is free again.
 */
export class ChatPayments implements Part {
  readonly name = "chat-payments";
  readonly migrations = [
    `CREATE TABLE payment_intents (
       id TEXT PRIMARY KEY, kind TEXT NOT NULL, message_id TEXT NOT NULL,
       payer_wallet TEXT NOT NULL, payer_username TEXT NOT NULL, payee_wallet TEXT NOT NULL, payee_username TEXT NOT NULL,
       amount_msat INTEGER NOT NULL, body TEXT NOT NULL, client_key TEXT, client_fingerprint TEXT,
       attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
     CREATE INDEX payment_intents_due ON payment_intents (next_attempt_at);
     CREATE INDEX payment_intents_by_key ON payment_intents (client_key) WHERE client_key IS NOT NULL;`,
    // A payment message's seq and its numbers in the payer's and payee's mailboxes, taken with its intent.
    `ALTER TABLE payment_intents ADD COLUMN seq INTEGER;
     ALTER TABLE payment_intents ADD COLUMN payer_n INTEGER;
     ALTER TABLE payment_intents ADD COLUMN payee_n INTEGER;
     CREATE INDEX payment_intents_holding ON payment_intents (seq) WHERE seq IS NOT NULL;`,
    // The table holds the few intents in flight: a lookup scans it faster than every payment writes (and deletes) three index entries.
    `DROP INDEX payment_intents_holding;
     DROP INDEX payment_intents_due;
     DROP INDEX payment_intents_by_key;`,
    // Keys of later requests for a share already in flight (released with the intent's own key, in its unit of work),
    // and the shares whose transfer was not delivered when recorded (followed until final) or came back (failed: an
    // attempt of that payer that numbers the next one's transfer key).
    `ALTER TABLE payment_intents ADD COLUMN joined_keys TEXT;
     CREATE TABLE share_transfers (
       request_id TEXT NOT NULL, payer_wallet TEXT NOT NULL, attempt INTEGER NOT NULL, payer_username TEXT NOT NULL,
       transaction_id TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (request_id, payer_wallet, attempt)) WITHOUT ROWID;`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "chat-payments:intents",
      nextDueAt: () => this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM payment_intents`[0]?.at ?? null,
      run: async (dueBy) => {
        const due = this.kit.sql<IntentRow>`SELECT * FROM payment_intents WHERE next_attempt_at <= ${dueBy} ORDER BY next_attempt_at LIMIT ${INTENTS_PER_RUN}`;
        await Promise.all(due.map((i) => this.complete(i).catch(() => undefined)));
      },
    },
    {
      name: "chat-payments:status",
      nextDueAt: () => (this.messages.hasPendingPayments() || this.hasPendingShares() ? this.statusCheckedAt + STATUS_INTERVAL_MS : null),
      run: async () => {
        await this.followPendingPayments();
        await this.followPendingShares();
      },
    },
  ];
  private statusCheckedAt = 0;
  /**
   * Completions under way, by intent: a second completion of the same intent (the alarm, a client's
   * retry) waits for the first. Two wallet calls could otherwise end apart: the first refused (the
   * intent dropped), the second paid after money arrived, a transfer with no message.
   */
  private readonly completing = new Map<string, Promise<MessageAnswer | Refusal>>();
  /**
   * The payment message whose seq and mailbox numbers are taken (its intent is open), null if none,
   * undefined until read again: while it is open the conversation posts nothing else (`whenFree`).
   */
  private holding: IntentRow | null | undefined = undefined;

  constructor(
    private readonly kit: ActorKit,
    private readonly roster: Roster,
    private readonly messages: Messages,
    private readonly mailboxes: Mailboxes,
    private readonly idempotency: Idempotency,
    private readonly wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
    private readonly conversationId: () => string,
  ) {}

  onRollback(): void {
    this.holding = undefined;
  }

  /** A payment message: the money and the message, exactly once, or neither (the sender cannot afford it: 422). */
  async sendPayment(sender: ChatMember, to: ChatMember, amount_msat: Msat, body: MessageBody, tag: IdempotencyTag | null): Promise<MessageAnswer | Refusal> {
    // A key seen before is found by the intent's claim (not read first): the stored answer is replayed.
    const answer = (await this.idempotency.once(tag, async () => {
      // The key's own payment still holds the numbers (after a crash): finish it, or refuse another body; nothing else first.
      const held = this.held();
      if (tag && held?.client_key === tag.key) return held.client_fingerprint === tag.fingerprint ? this.complete(held) : idempotencyConflict();
      const message_id = newId("msg");
      const intent = await this.whenFree(() => this.record({ id: message_id, kind: "message", message_id, payer: sender, payee: to, amount_msat, body, tag }));
      return this.complete(intent);
    })) as MessageAnswer | Refusal;
    // The key's intent is still open (its message not written yet): finish that one.
    if (tag && answer.ok && answer.body.message === null) return (await this.resume(tag)) ?? answer;
    return answer;
  }

  /** Pays the caller's share of a request, once per payer whatever the client's keys. */
  async payShare(payer: ChatMember, request_id: string, tag: IdempotencyTag | null): Promise<MessageAnswer | Refusal> {
    const seen = this.seenBefore(tag);
    if (seen) {
      // The key was claimed for a share left open under another key (its completion failed or crashed): finish it first.
      const open = this.kit.sql<IntentRow>`SELECT * FROM payment_intents WHERE id = ${`${request_id}:${payer.wallet_id}`}`[0];
      const stored = await seen;
      if (!open || !stored.ok || open.client_key === tag!.key) return stored;
      const answer = await this.complete(open);
      if (!answer.ok) this.kit.unitOfWork.run(() => this.idempotency.release(tag));
      return answer.ok ? ((this.idempotency.stored(tag!) as MessageAnswer | null) ?? answer) : answer;
    }
    return this.idempotency.once(
      tag,
      async () => {
        const request = this.messages.request(request_id);
        if (!request) return refuse("not_found", "no such request in this conversation");
        if (request.sender.wallet_id === payer.wallet_id) return refuse("invalid_request", "you cannot pay your own request");
        if (!request.from.some((m) => m.wallet_id === payer.wallet_id)) return refuse("forbidden", "this request is not addressed to you");
        if (request.paid_by.includes(payer.username)) return refuse("already_paid", "you have paid this request");
        if (request.status === "canceled") return refuse("conflict", "this request was canceled");
        if (request.status === "paid") return refuse("already_paid", "this request is paid");
        const id = `${request_id}:${payer.wallet_id}`;
        const existing = this.kit.sql<IntentRow>`SELECT * FROM payment_intents WHERE id = ${id}`[0];
        if (!existing) return this.complete(this.record({ id, kind: "share", message_id: request_id, payer, payee: request.sender, amount_msat: request.amount_msat, body: {}, tag }));
        // A share already being paid (under another key, or by a crashed attempt) is completed, not paid
        // again. This request's key is claimed first (replaying the request as it stands, like the key
        // that started it), so a crash during the completion leaves a retry with it answered 200, not
        // 409 already_paid; a refusal (nothing moved) gives it back.
        // The key is written on the intent with its claim: a refusal releases it with the intent's own, in one unit of work.
        this.kit.unitOfWork.run(() => {
          this.idempotency.claim(tag, request_id, { ok: true, status: 200, body: null });
          if (tag) this.joinKey(id, tag);
        });
        return this.complete(existing);
      },
      // Checked first above (seenBefore); a key claimed meanwhile is caught by the claim.
      { checkFirst: false },
    ) as Promise<MessageAnswer | Refusal>;
  }

  /** Whether a share of this request is being paid right now (a request is not canceled under it). */
  hasSharesInFlight(request_id: string): boolean {
    return this.kit.sql`SELECT 1 FROM payment_intents WHERE kind = 'share' AND message_id = ${request_id} LIMIT 1`.length > 0;
  }

  /** Shares recorded while their transfer was pending, not yet known final. */
  private hasPendingShares(): boolean {
    return this.kit.sql`SELECT 1 FROM share_transfers WHERE status = 'pending' LIMIT 1`.length > 0;
  }

  /** A payer's shares of a request that came back: each later attempt's transfer has a key of its own. */
  private failedShares(request_id: string, payer_wallet: string): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM share_transfers WHERE request_id = ${request_id} AND payer_wallet = ${payer_wallet} AND status = 'failed'`[0]!.n;
  }

  /** Intents not yet completed (for tests and reports). */
  pendingIntents(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM payment_intents`[0]!.n;
  }

  /**
   * Runs `post`, a unit of work that posts events, once no payment message holds the conversation's
   * next numbers; an open one is finished first (joining its completion, or starting one after a
   * crash). The check and `post` run in one turn, so nothing can take the numbers in between.
   */
  async whenFree<T>(post: () => T): Promise<T> {
    for (;;) {
      const held = this.held();
      if (!held) return post();
      await this.complete(held);
      if (this.held()?.id === held.id) throw new Error(`payment intent ${held.id} still open after its completion`);
    }
  }

  /**
   * Step 1, one unit of work: the client's key is claimed and the intent written. A payment message
   * also takes its seq and its numbers in the payer's and payee's mailboxes (call it through
   * `whenFree`): its transfer carries the message to both wallets with those numbers.
   */
  record(i: { id: string; kind: IntentRow["kind"]; message_id: string; payer: ChatMember; payee: ChatMember; amount_msat: Msat; body: MessageBody; tag: IdempotencyTag | null }): IntentRow {
    const now = Date.now();
    // Due when the alarm set already fires, if that is sooner: one alarm for the conversation's open intents.
    const due = Math.min(now + INTENT_SAFETY_NET_MS, this.kit.scheduler.armedAt ?? Infinity);
    return this.kit.unitOfWork.run(() => {
      if (i.kind === "message" && this.held()) throw new Error("a payment message's numbers are taken while another one holds them");
      this.idempotency.claim(i.tag, i.message_id, { ok: true, status: i.kind === "message" ? 201 : 200, body: null });
      const numbers = i.kind === "message" ? this.mailboxes.nextNumbers(i.payer.wallet_id, i.payee.wallet_id) : null;
      const intent: IntentRow = {
        id: i.id,
        kind: i.kind,
        message_id: i.message_id,
        payer_wallet: i.payer.wallet_id,
        payer_username: i.payer.username,
        payee_wallet: i.payee.wallet_id,
        payee_username: i.payee.username,
        amount_msat: i.amount_msat,
        body: JSON.stringify(i.body),
        client_key: i.tag?.key ?? null,
        client_fingerprint: i.tag?.fingerprint ?? null,
        attempts: 0,
        created_at: new Date(now).toISOString(),
        seq: i.kind === "message" ? this.messages.nextSeqNumber() : null,
        payer_n: numbers?.[0] ?? null,
        payee_n: numbers?.[1] ?? null,
      };
      this.kit.sql`INSERT INTO payment_intents (id, kind, message_id, payer_wallet, payer_username, payee_wallet, payee_username, amount_msat, body,
                                                client_key, client_fingerprint, next_attempt_at, created_at, seq, payer_n, payee_n)
        VALUES (${intent.id}, ${intent.kind}, ${intent.message_id}, ${intent.payer_wallet}, ${intent.payer_username}, ${intent.payee_wallet}, ${intent.payee_username},
                ${intent.amount_msat}, ${intent.body}, ${intent.client_key}, ${intent.client_fingerprint}, ${due}, ${intent.created_at},
                ${intent.seq}, ${intent.payer_n}, ${intent.payee_n})`;
      this.kit.scheduler.arm(due);
      if (intent.seq !== null) this.holding = intent;
      return intent;
    });
  }

  /** Writes a later request's key on an open share's intent (inside the caller's unit of work). */
  private joinKey(intent_id: string, tag: IdempotencyTag): void {
    const row = this.kit.sql<{ joined_keys: string | null }>`SELECT joined_keys FROM payment_intents WHERE id = ${intent_id}`[0];
    if (!row) return;
    const joined = [...(row.joined_keys ? (JSON.parse(row.joined_keys) as IdempotencyTag[]) : []), { key: tag.key, fingerprint: tag.fingerprint }];
    this.kit.sql`UPDATE payment_intents SET joined_keys = ${JSON.stringify(joined)} WHERE id = ${intent_id}`;
  }

  /** The open payment message that holds the conversation's next numbers, or null. */
  private held(): IntentRow | null {
    if (this.holding === undefined) this.holding = this.kit.sql<IntentRow>`SELECT * FROM payment_intents WHERE seq IS NOT NULL LIMIT 1`[0] ?? null;
    return this.holding;
  }

  /** The payment message as its transfer carries it: as the conversation will record it, but for the transfer's outcome. */
  private carried(intent: IntentRow, body: MessageBody): CarriedChatMessage | undefined {
    if (intent.seq === null || intent.payer_n === null || intent.payee_n === null) return undefined;
    const message: ChatMessage = {
      id: intent.message_id,
      conversation_id: this.conversationId(),
      seq: intent.seq,
      sender: intent.payer_username,
      kind: "payment",
      text: body.text ?? null,
      ciphertext: body.ciphertext ?? null,
      payment: { amount_msat: intent.amount_msat, to: intent.payee_username, status: "pending", transaction_id: "" },
      request: null,
      created_at: intent.created_at,
    };
    return { conversation_id: this.conversationId(), payer_n: intent.payer_n, payee_n: intent.payee_n, message };
  }

  /** Steps 2 and 3 for an intent (the request path, a repeat of it, or the alarm), once at a time. */
  complete(intent: IntentRow): Promise<MessageAnswer | Refusal> {
    const running = this.completing.get(intent.id);
    if (running) return running;
    const answer = this.moveAndRecord(intent).finally(() => this.completing.delete(intent.id));
    this.completing.set(intent.id, answer);
    return answer;
  }

  /** Step 2's request to the payer's wallet: the same on every attempt, so the wallet makes one transfer. */
  transferFor(intent: IntentRow): SendTransferRequest {
    const body = JSON.parse(intent.body) as MessageBody;
    const carried = this.carried(intent, body);
    // A payer's share again after one came back: a new transfer (the key of the one that failed would replay its failure).
    const failed = intent.kind === "share" ? this.failedShares(intent.message_id, intent.payer_wallet) : 0;
    return {
      idempotency: { key: `chat:${this.conversationId()}:${intent.id}${failed ? `:${failed}` : ""}`, fingerprint: `${intent.kind}:${intent.payee_wallet}:${intent.amount_msat}` },
      to: { wallet_id: intent.payee_wallet, username: intent.payee_username },
      amount_msat: intent.amount_msat,
      memo: body.text ?? null,
      ...(carried ? { chat: carried } : {}),
    };
  }

  private async moveAndRecord(intent: IntentRow): Promise<MessageAnswer | Refusal> {
    let moved: TransferAnswer | Refusal;
    try {
      moved = (await this.wallets(intent.payer_wallet).sendTransfer(this.transferFor(intent))) as TransferAnswer | Refusal;
    } catch (error) {
      this.retryLater(intent);
      throw error;
    }
    const tag = intent.client_key ? { key: intent.client_key, fingerprint: intent.client_fingerprint! } : null;
    if (!moved.ok || (intent.kind === "share" && moved.body.status === "failed")) {
      // Nothing moved (or it came back): no message, no share, and the client's keys are free again.
      this.kit.unitOfWork.run(() => {
        const deleted = this.kit.sql<{ joined_keys: string | null }>`DELETE FROM payment_intents WHERE id = ${intent.id} RETURNING joined_keys`[0];
        this.idempotency.release(tag);
        for (const joined of deleted?.joined_keys ? (JSON.parse(deleted.joined_keys) as IdempotencyTag[]) : []) this.idempotency.release(joined);
        // A share whose transfer came back counts as an attempt: the payer's next one is a transfer of its own.
        if (deleted && moved.ok) this.recordShareTransfer(intent, moved.body.transaction.id, "failed");
        // The numbers it held were never used (nothing was posted meanwhile): the next post takes them.
        if (intent.seq !== null) this.holding = null;
      });
      return moved.ok ? refuse("invalid_request", "the payment could not be delivered and was returned") : moved;
    }
    const transfer = moved.body;
    const fact = () => this.recordFact(intent, transfer);
    // The intent holding the numbers writes its fact with them; any other fact is a post like the rest.
    const written = intent.seq !== null ? fact() : await this.whenFree(fact);
    if (!written) {
      const message = this.messages.byId(intent.message_id);
      return message ? { ok: true, status: intent.kind === "message" ? 201 : 200, body: { message } } : refuse("not_found", "no such message");
    }
    await this.mailboxes.deliver(written.undelivered);
    return { ok: true, status: written.status, body: { message: written.message } };
  }

  /**
   * Step 3, one unit of work: the intent is deleted and the fact written, with its events in the
   * members' mailboxes. A payment message's event is acknowledged at once for a wallet that says it
   * has it (carried by the transfer); the others get it by their mailbox. Null: another completion wrote it.
   */
  private recordFact(intent: IntentRow, transfer: TransferAnswer["body"]): { undelivered: string[]; message: ChatMessage; status: number } | null {
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      // Deleting the intent is the check: of two completions racing, only one writes the fact.
      if (this.kit.sqlWrite`DELETE FROM payment_intents WHERE id = ${intent.id}` === 0) return null;
      const body = JSON.parse(intent.body) as MessageBody;
      const members = this.roster.members().map((m) => m.wallet_id);
      if (intent.kind === "message") {
        const message = this.messages.append(
          {
            id: intent.message_id,
            seq: intent.seq ?? undefined,
            sender: { wallet_id: intent.payer_wallet, username: intent.payer_username },
            kind: "payment",
            text: body.text ?? null,
            ciphertext: body.ciphertext ?? null,
            payment: { amount_msat: intent.amount_msat, to: { wallet_id: intent.payee_wallet, username: intent.payee_username }, status: transfer.status, transaction_id: transfer.transaction.id },
          },
          intent.seq !== null ? intent.created_at : now,
        );
        const numbers = new Map<string, { n: number; through: number | null }>();
        if (intent.payer_n !== null) numbers.set(intent.payer_wallet, { n: intent.payer_n, through: transfer.chat?.payer_through ?? null });
        if (intent.payee_n !== null) numbers.set(intent.payee_wallet, { n: intent.payee_n, through: transfer.chat?.payee_through ?? null });
        const undelivered = this.mailboxes.post(members, "chat.message", { conversation_id: this.conversationId(), message }, numbers);
        if (intent.seq !== null) this.holding = null;
        return { undelivered, message, status: 201 };
      }
      this.messages.addPaidBy(intent.message_id, intent.payer_username);
      // Not delivered yet: followed, and taken back out of paid_by if the money comes back.
      if (transfer.status === "pending") this.recordShareTransfer(intent, transfer.transaction.id, "pending");
      const message = this.messages.byId(intent.message_id)!;
      const undelivered = this.mailboxes.post(members, "chat.updated", { conversation_id: this.conversationId(), message });
      return { undelivered, message, status: 200 };
    });
  }

  /**
   * A key seen before: while its intent is still open, that intent's completion; else its stored
   * answer. Null for a new key (an intent's key is claimed with it, so a key with no record has none).
   */
  private seenBefore(tag: IdempotencyTag | null): Promise<MessageAnswer | Refusal> | null {
    const stored = tag ? (this.idempotency.stored(tag) as MessageAnswer | Refusal | null) : null;
    if (!stored) return null;
    return this.resume(tag!) ?? Promise.resolve(stored);
  }

  /** The same client key again while its intent is still open: finish that intent (or refuse another body). */
  private resume(tag: IdempotencyTag): Promise<MessageAnswer | Refusal> | null {
    const intent = this.kit.sql<IntentRow>`SELECT * FROM payment_intents WHERE client_key = ${tag.key}`[0];
    if (!intent) return null;
    return intent.client_fingerprint === tag.fingerprint ? this.complete(intent) : Promise.resolve(idempotencyConflict());
  }

  private recordShareTransfer(intent: IntentRow, transaction_id: string, status: "pending" | "failed"): void {
    const attempt = this.failedShares(intent.message_id, intent.payer_wallet);
    this.kit.sql`INSERT INTO share_transfers (request_id, payer_wallet, attempt, payer_username, transaction_id, status)
      VALUES (${intent.message_id}, ${intent.payer_wallet}, ${attempt}, ${intent.payer_username}, ${transaction_id}, ${status})`;
  }

  private retryLater(intent: IntentRow): void {
    const at = Date.now() + retryDelayMs(intent.attempts);
    this.kit.sql`UPDATE payment_intents SET attempts = attempts + 1, next_attempt_at = ${at} WHERE id = ${intent.id}`;
    this.kit.scheduler.arm(at);
  }

  /** Payment messages written while their transfer was pending: asks the payer's wallet, and tells everyone once it is final. */
  private async followPendingPayments(): Promise<void> {
    this.statusCheckedAt = Date.now();
    for (const p of this.messages.pendingPayments(INTENTS_PER_RUN)) {
      const status = await this.wallets(p.sender_wallet).transactionStatus(p.transaction_id);
      if (status !== "succeeded" && status !== "failed") continue;
      const written = await this.whenFree(() =>
        this.kit.unitOfWork.run(() => {
          if (!this.messages.finishPayment(p.id, status)) return null;
          const members = this.roster.members().map((m) => m.wallet_id);
          return this.mailboxes.post(members, "chat.updated", { conversation_id: this.conversationId(), message: this.messages.byId(p.id)! });
        }),
      );
      if (written) await this.mailboxes.deliver(written);
    }
  }

  /**
   * Shares recorded while their transfer was pending: once it is final, a delivered one is only
   * forgotten; one that came back takes its payer out of `paid_by` (the request open again if it
   * was paid) and every member receives chat.updated, in the unit of work that says so.
   */
  private async followPendingShares(): Promise<void> {
    const pending = this.kit.sql<{ request_id: string; payer_wallet: string; attempt: number; payer_username: string; transaction_id: string }>`
      SELECT request_id, payer_wallet, attempt, payer_username, transaction_id FROM share_transfers WHERE status = 'pending' LIMIT ${INTENTS_PER_RUN}`;
    for (const p of pending) {
      const status = await this.wallets(p.payer_wallet).transactionStatus(p.transaction_id);
      if (status === "succeeded") {
        this.kit.sql`DELETE FROM share_transfers WHERE request_id = ${p.request_id} AND payer_wallet = ${p.payer_wallet} AND attempt = ${p.attempt} AND status = 'pending'`;
        continue;
      }
      if (status !== "failed") continue;
      const written = await this.whenFree(() =>
        this.kit.unitOfWork.run(() => {
          const changed = this.kit.sqlWrite`UPDATE share_transfers SET status = 'failed'
            WHERE request_id = ${p.request_id} AND payer_wallet = ${p.payer_wallet} AND attempt = ${p.attempt} AND status = 'pending'`;
          if (changed === 0) return null;
          this.messages.removePaidBy(p.request_id, p.payer_username);
          const members = this.roster.members().map((m) => m.wallet_id);
          return this.mailboxes.post(members, "chat.updated", { conversation_id: this.conversationId(), message: this.messages.byId(p.request_id)! });
        }),
      );
      if (written) await this.mailboxes.deliver(written);
    }
  }
}
