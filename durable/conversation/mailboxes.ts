import type { Refusal } from "../../src/errors";
import { Outbox, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { ChatDelivery, WalletPort } from "../ports";

/** Events one delivery carries to a member at most. */
const BATCH = 100;
/** Deliveries one drain makes at most; mail left after them waits for the outbox's alarm. */
const ROUNDS = 10;

/** What a member's wallet acknowledges: every event up to `through` is in its log. */
type Ack = { ok: true; through: number };
/** What an acknowledgement changed: whether mail is left in the mailbox after it. */
type Settled = { mail_left: boolean };

/**
 * One mailbox per member: the conversation's events for that member, numbered 1, 2, 3… in the
 * conversation's order, delivered to the member's wallet through the kit's outbox (exactly once:
 * the wallet appends only numbers it has not seen, in order). A delivery carries everything not yet
 * acknowledged, oldest first, so a retry or a race can neither lose nor reorder an event. One drain
 * per member runs at a time and takes in mail posted meanwhile, so overlapping requests do not send
 * the same unacknowledged events twice.
 */
export class Mailboxes implements Part {
  readonly name = "mailboxes";
  readonly migrations = [
    `CREATE TABLE mailboxes (
       wallet_id TEXT PRIMARY KEY, next_n INTEGER NOT NULL DEFAULT 1, acked_n INTEGER NOT NULL DEFAULT 0,
       attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER) WITHOUT ROWID;
     CREATE TABLE mail (wallet_id TEXT NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (wallet_id, n)) WITHOUT ROWID;
     CREATE INDEX mailboxes_due ON mailboxes (next_attempt_at) WHERE next_attempt_at IS NOT NULL;`,
  ];
  readonly outbox: Outbox<Ack, Settled>;
  readonly tasks: readonly Task[];
  /** The drain under way for each member. */
  private readonly draining = new Map<string, Promise<void>>();
  /** Members whose drain was asked for again while it ran (mail posted after its last read). */
  private readonly drainAgain = new Set<string>();

  constructor(
    private readonly kit: ActorKit,
    conversationId: () => string,
    wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {
    this.outbox = new Outbox("mailboxes", kit, new MailboxStore(kit, conversationId), {
      send: async (item) => (await wallets(item.destination).receiveChatEvents(JSON.parse(item.payload) as ChatDelivery)) as Ack | Refusal,
      settle: (item, delivery) => this.settle(item, delivery.outcome === "delivered" ? delivery.ack.through : null),
    });
    this.tasks = this.outbox.tasks;
  }

  /**
   * Puts one event in each recipient's mailbox (inside the caller's unit of work) and returns the
   * recipients it must still be delivered to. `carried`: recipients whose number was taken before
   * (it must be the mailbox's next one), with how far their wallet has the mailbox if it says so:
   * a wallet that has the event already (its transfer carried it) is acknowledged here, not sent it.
   */
  post(recipients: readonly string[], type: string, data: Record<string, unknown>, carried?: ReadonlyMap<string, { n: number; through: number | null }>): string[] {
    let json: string | null = null;
    const now = Date.now();
    const undelivered: string[] = [];
    for (const wallet_id of recipients) {
      const taken = carried?.get(wallet_id);
      if (taken && taken.through !== null && taken.through >= taken.n) {
        // Already in the wallet, and everything before it acknowledged: the number is taken and acknowledged at once.
        const acked = this.kit.sql`
          UPDATE mailboxes SET next_n = ${taken.n + 1}, acked_n = ${taken.n}
          WHERE wallet_id = ${wallet_id} AND next_n = ${taken.n} AND acked_n = ${taken.n - 1} RETURNING next_n`;
        if (acked.length) continue;
      }
      // The mailbox's next number is taken (the mailbox made on its first event), then the event stored under it.
      const { n } = this.kit.sql<{ n: number }>`
        INSERT INTO mailboxes (wallet_id, next_n, next_attempt_at) VALUES (${wallet_id}, 2, ${now})
        ON CONFLICT (wallet_id) DO UPDATE SET next_n = next_n + 1, next_attempt_at = COALESCE(next_attempt_at, excluded.next_attempt_at)
        RETURNING next_n - 1 AS n`[0]!;
      if (taken && n !== taken.n) throw new Error(`mailbox of ${wallet_id}: event ${taken.n} was taken, but the next number is ${n}`);
      json ??= JSON.stringify(data);
      this.kit.sql`INSERT INTO mail (wallet_id, n, type, data) VALUES (${wallet_id}, ${n}, ${type}, ${json})`;
      undelivered.push(wallet_id);
    }
    if (undelivered.length) this.outbox.enqueued();
    return undelivered;
  }

  /** The number the next event of each of two members' mailboxes gets (1 for a mailbox not made yet). */
  nextNumbers(a: string, b: string): [number, number] {
    const rows = this.kit.sql<{ wallet_id: string; next_n: number }>`SELECT wallet_id, next_n FROM mailboxes WHERE wallet_id IN (${a}, ${b})`;
    const next = (w: string) => rows.find((r) => r.wallet_id === w)?.next_n ?? 1;
    return [next(a), next(b)];
  }

  /** Delivers what these members' mailboxes hold now (after the unit of work that posted it committed). */
  async deliver(recipients: readonly string[]): Promise<void> {
    await Promise.all(recipients.map((wallet_id) => this.drain(wallet_id)));
  }

  /** Events not yet acknowledged, over all mailboxes (for tests and reports). */
  undelivered(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM mail`[0]!.n;
  }

  /**
   * Delivers a member's mail until none is left or an attempt fails (then the outbox retries later).
   * A drain already under way for the member is joined, and told to look again before it stops.
   */
  private drain(wallet_id: string): Promise<void> {
    const running = this.draining.get(wallet_id);
    if (running) {
      this.drainAgain.add(wallet_id);
      return running;
    }
    const drained = this.drainNow(wallet_id);
    this.draining.set(wallet_id, drained);
    return drained;
  }

  private async drainNow(wallet_id: string): Promise<void> {
    try {
      for (let round = 0; round < ROUNDS; round++) {
        this.drainAgain.delete(wallet_id);
        const attempt = await this.outbox.deliverById(wallet_id);
        if (!attempt || attempt.outcome === "retry") return;
        if (!attempt.settled?.mail_left && !this.drainAgain.has(wallet_id)) return;
      }
    } finally {
      // In the same turn as the decision to stop: a request that joins after it starts a new drain.
      this.draining.delete(wallet_id);
      this.drainAgain.delete(wallet_id);
    }
  }

  /**
   * Records an acknowledgement (or, on a final refusal, gives the mailbox up: a wallet that was never
   * opened will not take mail). Returns whether mail is left, or null if nothing changed.
   */
  private settle(item: OutboxItem, through: number | null): Settled | null {
    const wallet_id = item.destination;
    return this.kit.unitOfWork.run(() => {
      const upTo = through ?? this.kit.sql<{ last: number }>`SELECT next_n - 1 AS last FROM mailboxes WHERE wallet_id = ${wallet_id}`[0]?.last;
      if (upTo === undefined) return null;
      const box = this.kit.sql<{ next_n: number }>`
        UPDATE mailboxes SET acked_n = ${upTo}, attempts = 0, next_attempt_at = CASE WHEN next_n - 1 > ${upTo} THEN ${Date.now()} END
        WHERE wallet_id = ${wallet_id} AND acked_n < ${upTo} RETURNING next_n`[0];
      if (!box) return null;
      this.kit.sql`DELETE FROM mail WHERE wallet_id = ${wallet_id} AND n <= ${upTo}`;
      return { mail_left: box.next_n - 1 > upTo };
    });
  }
}

/** The outbox store over the mailboxes: an item is a member's mailbox with what it holds. */
class MailboxStore implements OutboxStore {
  constructor(
    private readonly kit: ActorKit,
    private readonly conversationId: () => string,
  ) {}

  find(wallet_id: string): OutboxItem | null {
    const box = this.kit.sql<{ wallet_id: string; next_n: number; acked_n: number; attempts: number }>`
      SELECT wallet_id, next_n, acked_n, attempts FROM mailboxes WHERE wallet_id = ${wallet_id}`[0];
    if (!box) return null;
    const mail = this.kit.sql<{ n: number; type: string; data: string }>`
      SELECT n, type, data FROM mail WHERE wallet_id = ${wallet_id} AND n > ${box.acked_n} ORDER BY n LIMIT ${BATCH}`;
    const delivery: ChatDelivery = {
      conversation_id: this.conversationId(),
      first_n: box.acked_n + 1,
      events: mail.map((m) => ({ type: m.type, data: JSON.parse(m.data) as Record<string, unknown> })),
    };
    return { id: wallet_id, destination: wallet_id, payload: JSON.stringify(delivery), attempts: box.attempts, delivered: mail.length === 0 };
  }

  undelivered(limit: number): OutboxItem[] {
    const due = this.kit.sql<{ wallet_id: string }>`SELECT wallet_id FROM mailboxes WHERE next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT ${limit}`;
    return due.flatMap((r) => {
      const item = this.find(r.wallet_id);
      if (item && !item.delivered) return [item];
      // Nothing left in it: not due any more (else the alarm would keep coming back for it).
      this.kit.sql`UPDATE mailboxes SET next_attempt_at = NULL WHERE wallet_id = ${r.wallet_id} AND acked_n >= next_n - 1`;
      return [];
    });
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM mailboxes WHERE next_attempt_at IS NOT NULL`[0]?.at ?? null;
  }

  recordFailedAttempt(wallet_id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE mailboxes SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE wallet_id = ${wallet_id}`;
  }
}
