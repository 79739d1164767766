import { retryDelayMs } from "../../src/backoff";
import { isFinalRefusal, type Refusal } from "../../src/errors";
import type { Part, Task, ActorKit } from "./part";

/** One message this actor owes another actor, as its store describes it. */
export interface OutboxItem {
  readonly id: string;
  /** Whom it goes to (an actor name the protocol's `send` understands). */
  readonly destination: string;
  /** The same JSON on every attempt: the receiver recognises a redelivery by its id inside. */
  readonly payload: string;
  readonly attempts: number;
  readonly delivered: boolean;
}

/** Where an outbox keeps its items: a table of its own, or columns of the row they belong to. */
export interface OutboxStore {
  find(id: string): OutboxItem | null;
  /** Undelivered items, the longest-waiting first. */
  undelivered(limit: number): OutboxItem[];
  /** When the earliest undelivered item is due (null: none). */
  nextAttemptAt(): number | null;
  /** Counts a failed attempt and sets when to try again. */
  recordFailedAttempt(id: string, nextAttemptAt: number): void;
}

/** How an item ended: the receiver acknowledged it, or refused it for good (the sender undoes). */
export type Delivery<Ack> = { outcome: "delivered"; ack: Ack } | { outcome: "returned"; reason: string };

export interface OutboxProtocol<Ack extends { ok: true }, Settled> {
  /** Hands the item to its receiver (an RPC); throwing or a retryable refusal means "try again". */
  send(item: OutboxItem): Promise<Ack | Refusal>;
  /**
   * Closes the item in one unit of work with whatever the outcome changes for the owner; returns
   * null when it was already closed (a redelivery raced another and lost).
   */
  settle(item: OutboxItem, delivery: Delivery<Ack>): Settled | null;
}

export interface DeliveryAttempt<Settled> {
  outcome: "delivered" | "returned" | "retry";
  /** What this attempt's settle returned (null when nothing was settled by this call). */
  settled: Settled | null;
}

/**
 * A crash between the enqueue and its first delivery is covered by an alarm this long after the
 * enqueue. One alarm covers every item enqueued before it fires, so a busy actor writes its alarm
 * about once per this period, not once per message.
 */
export const OUTBOX_SAFETY_NET_MS = 30_000;
/** Items one alarm run tries to deliver; it runs again for the rest. */
const DELIVERIES_PER_RUN = 100;

/**
 * Exactly-once delivery from this actor to others: the owner writes the item in the same unit of
 * work as the change it announces, `deliver` sends it, a final refusal returns it, anything else
 * is retried with backoff from the alarm until the receiver acknowledges. Receivers deduplicate
 * by the id in the payload; settling is a conditional write, so only one of two racing attempts
 * settles.
 */
export class Outbox<Ack extends { ok: true }, Settled> implements Part {
  readonly tasks: readonly Task[];

  constructor(
    readonly name: string,
    private readonly kit: ActorKit,
    private readonly store: OutboxStore,
    private readonly protocol: OutboxProtocol<Ack, Settled>,
  ) {
    this.tasks = [
      {
        name: `${name}:deliveries`,
        nextDueAt: () => this.store.nextAttemptAt(),
        run: async () => {
          await Promise.all(this.store.undelivered(DELIVERIES_PER_RUN).map((item) => this.deliver(item)));
        },
      },
    ];
  }

  /** Call in the unit of work that enqueues: the alarm that redelivers after a crash. */
  enqueued(): void {
    this.kit.scheduler.arm(Date.now() + OUTBOX_SAFETY_NET_MS);
  }

  /** One attempt: delivered and settled, returned and settled, or scheduled for a retry. */
  async deliver(item: OutboxItem): Promise<DeliveryAttempt<Settled>> {
    if (item.delivered) return { outcome: "delivered", settled: null };
    let answer: Ack | Refusal;
    try {
      answer = await this.protocol.send(item);
    } catch {
      this.retryLater(item);
      return { outcome: "retry", settled: null };
    }
    if (answer.ok) return { outcome: "delivered", settled: this.protocol.settle(item, { outcome: "delivered", ack: answer }) };
    if (isFinalRefusal(answer.code)) return { outcome: "returned", settled: this.protocol.settle(item, { outcome: "returned", reason: answer.message }) };
    this.retryLater(item);
    return { outcome: "retry", settled: null };
  }

  /** An attempt for an item known by id (nothing if there is none). */
  async deliverById(id: string): Promise<DeliveryAttempt<Settled> | null> {
    const item = this.store.find(id);
    return item ? this.deliver(item) : null;
  }

  private retryLater(item: OutboxItem): void {
    const at = Date.now() + retryDelayMs(item.attempts);
    this.store.recordFailedAttempt(item.id, at);
    this.kit.scheduler.arm(at);
  }
}
