import type { Refusal } from "../../src/errors";
import { Outbox, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { ChatDelivery, WalletPort } from "../ports";

/** Events one delivery carries to a member at most. */
const BATCH = 100;

/** What a member's wallet acknowledges: every event up to `through` is in its log. */
type Ack = { ok: true; through: number };

/**
 * One mailbox per member: the conversation's events for that member, numbered 1, 2, 3… in the
 * conversation's order, delivered to the member's wallet through the kit's outbox (exactly once:
 * the wallet appends only numbers it has not seen, in order). A delivery carries everything not yet
 * acknowledged, oldest first, so a retry or a race can neither lose nor reorder an event.
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
  readonly outbox: Outbox<Ack, number>;
  readonly tasks: readonly Task[];

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

  /** Puts one event in each recipient's mailbox (inside the caller's unit of work). */
  post(recipients: readonly string[], type: string, data: Record<string, unknown>): void {
    const json = JSON.stringify(data);
    const now = Date.now();
    for (const wallet_id of recipients) {
      this.kit.sql`INSERT INTO mailboxes (wallet_id, next_n, next_attempt_at) VALUES (${wallet_id}, 1, ${now}) ON CONFLICT (wallet_id) DO NOTHING`;
      this.kit.sql`INSERT INTO mail (wallet_id, n, type, data) SELECT ${wallet_id}, next_n, ${type}, ${json} FROM mailboxes WHERE wallet_id = ${wallet_id}`;
      this.kit.sql`UPDATE mailboxes SET next_n = next_n + 1, next_attempt_at = COALESCE(next_attempt_at, ${now}) WHERE wallet_id = ${wallet_id}`;
    }
    if (recipients.length) this.outbox.enqueued();
  }

  /** Delivers what these members' mailboxes hold now (after the unit of work that posted it committed). */
  async deliver(recipients: readonly string[]): Promise<void> {
    await Promise.all(recipients.map((wallet_id) => this.drain(wallet_id)));
  }

  /** Events not yet acknowledged, over all mailboxes (for tests and reports). */
  undelivered(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM mail`[0]!.n;
  }

  /** Delivers until the mailbox is empty or an attempt fails (then the outbox retries later). */
  private async drain(wallet_id: string): Promise<void> {
    for (let rounds = 0; rounds < 10; rounds++) {
      const attempt = await this.outbox.deliverById(wallet_id);
      if (!attempt || attempt.outcome === "retry" || attempt.settled === null) return;
    }
  }

  /**
   * Records an acknowledgement (or, on a final refusal, gives the mailbox up: a wallet that was never
   * opened will not take mail). Returns the number acknowledged through, or null if nothing changed.
   */
  private settle(item: OutboxItem, through: number | null): number | null {
    return this.kit.unitOfWork.run(() => {
      const box = this.kit.sql<{ next_n: number; acked_n: number }>`SELECT next_n, acked_n FROM mailboxes WHERE wallet_id = ${item.destination}`[0];
      if (!box) return null;
      const upTo = through ?? box.next_n - 1;
      if (upTo <= box.acked_n) return null;
      const more = upTo < box.next_n - 1;
      this.kit.sql`UPDATE mailboxes SET acked_n = ${upTo}, attempts = 0, next_attempt_at = ${more ? Date.now() : null} WHERE wallet_id = ${item.destination}`;
      this.kit.sql`DELETE FROM mail WHERE wallet_id = ${item.destination} AND n <= ${upTo}`;
      return upTo;
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
