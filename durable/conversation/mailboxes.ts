import { retryDelayMs } from "../../src/backoff";
import { isFinalRefusal, type Refusal } from "../../src/errors";
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
/** One delivery to a member, ready to send. */
interface Parcel {
  wallet_id: string;
  delivery: ChatDelivery;
  attempts: number;
}
/** How a delivery ended: acknowledged (and whether mail is left), given up, or to be retried later. */
type Outcome = { outcome: "delivered" | "returned" | "retry"; mail_left: boolean };

/**
 * One mailbox per member: the conversation's events for that member, numbered 1, 2, 3… in the
 * conversation's order, delivered to the member's wallet through the kit's outbox (exactly once:
 * the wallet appends only numbers it has not seen, in order). A delivery carries everything not yet
 * acknowledged, oldest first, so a retry or a race can neither lose nor reorder an event. One drain
 * per member runs at a time and takes in mail posted meanwhile, so overlapping requests do not send
 * the same unacknowledged events twice. A fan-out sends to every member at once and records their
 * acknowledgements in one unit of work; an event that is a member's only unacknowledged mail is sent
 * as posted, without reading it back.
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
  /** Deliveries as posted, for members whose mailbox held nothing else unacknowledged (forgotten on rollback). */
  private readonly fresh = new Map<string, Parcel>();
  /** Each mailbox's next number as this part last wrote it (only this part writes it; forgotten on rollback). */
  private readonly nextN = new Map<string, number>();
  private readonly store: MailboxStore;

  constructor(
    private readonly kit: ActorKit,
    private readonly conversationId: () => string,
    private readonly wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {
    this.store = new MailboxStore(kit, conversationId);
    // The alarm's redeliveries (after a crash or a failed attempt) go through the kit's outbox.
    this.outbox = new Outbox("mailboxes", kit, this.store, {
      send: (item) => this.send(JSON.parse(item.payload) as ChatDelivery, item.destination),
      settle: (item, delivery) => this.settle(item.destination, delivery.outcome === "delivered" ? delivery.ack.through : null),
    });
    this.tasks = this.outbox.tasks;
  }

  onRollback(): void {
    this.fresh.clear();
    this.nextN.clear();
  }

  /**
   * Puts one event in each recipient's mailbox (inside the caller's unit of work) and returns the
   * recipients it must still be delivered to. `carried`: recipients whose number was taken before
   * (it must be the mailbox's next one), with how far their wallet has the mailbox if it says so:
   * a wallet that has the event already (its transfer carried it) is acknowledged here, not sent it.
   */
  post(recipients: readonly string[], type: string, data: Record<string, unknown>, carried?: ReadonlyMap<string, { n: number; through: number | null }>): string[] {
    const acked = this.acknowledgeCarried(carried);
    const to = acked.size ? recipients.filter((w) => !acked.has(w)) : recipients;
    if (!to.length) return [];
    // Every recipient's next number is taken at once (a mailbox is made on its first event), then the event stored under each.
    const taken = this.kit.sql<{ wallet_id: string; n: number; acked_n: number }>`
      INSERT INTO mailboxes (wallet_id, next_n, next_attempt_at) SELECT value, 2, ${Date.now()} FROM json_each(${JSON.stringify(to)}) WHERE true
      ON CONFLICT (wallet_id) DO UPDATE SET next_n = next_n + 1, next_attempt_at = COALESCE(next_attempt_at, excluded.next_attempt_at)
      RETURNING wallet_id, next_n - 1 AS n, acked_n`;
    const numbers: [string, number][] = [];
    for (const { wallet_id, n, acked_n } of taken) {
      const expected = carried?.get(wallet_id)?.n;
      if (expected !== undefined && n !== expected) throw new Error(`mailbox of ${wallet_id}: event ${expected} was taken, but the next number is ${n}`);
      this.nextN.set(wallet_id, n + 1);
      numbers.push([wallet_id, n]);
      // Its only unacknowledged mail: the delivery is this event as posted (else it is read back with the rest).
      if (acked_n === n - 1) this.fresh.set(wallet_id, { wallet_id, delivery: { conversation_id: this.conversationId(), first_n: n, events: [{ type, data }] }, attempts: 0 });
      else this.fresh.delete(wallet_id);
    }
    this.kit.sql`INSERT INTO mail (wallet_id, n, type, data) SELECT value ->> 0, value ->> 1, ${type}, ${JSON.stringify(data)} FROM json_each(${JSON.stringify(numbers)})`;
    const undelivered = numbers.map(([w]) => w);
    if (undelivered.length) this.outbox.enqueued();
    return undelivered;
  }

  /**
   * Takes and acknowledges at once the numbers of carried events their wallets have, where
   * everything before was acknowledged (else the event is stored and delivered like any other, and
   * the wallet recognises it). Returns the wallets acknowledged.
   */
  private acknowledgeCarried(carried: ReadonlyMap<string, { n: number; through: number | null }> | undefined): Set<string> {
    const acked = new Set<string>();
    const have = [...(carried ?? [])].filter(([, t]) => t.through !== null && t.through >= t.n);
    for (let i = 0; i < have.length; i += 2) {
      const [w1, t1] = have[i]!;
      const [w2, t2] = have[i + 1] ?? have[i]!;
      const rows = this.kit.sql<{ wallet_id: string; next_n: number }>`
        UPDATE mailboxes SET next_n = next_n + 1, acked_n = next_n
        WHERE wallet_id IN (${w1}, ${w2}) AND next_n = (CASE wallet_id WHEN ${w1} THEN ${t1.n} ELSE ${t2.n} END) AND acked_n = next_n - 1
        RETURNING wallet_id, next_n`;
      for (const r of rows) {
        acked.add(r.wallet_id);
        this.nextN.set(r.wallet_id, r.next_n);
      }
    }
    return acked;
  }

  /** The number the next event of each of two members' mailboxes gets (1 for a mailbox not made yet). */
  nextNumbers(a: string, b: string): [number, number] {
    const [na, nb] = [this.nextN.get(a), this.nextN.get(b)];
    if (na !== undefined && nb !== undefined) return [na, nb];
    const rows = this.kit.sql<{ wallet_id: string; next_n: number }>`SELECT wallet_id, next_n FROM mailboxes WHERE wallet_id IN (${a}, ${b})`;
    const next = (w: string) => rows.find((r) => r.wallet_id === w)?.next_n ?? 1;
    return [next(a), next(b)];
  }

  /**
   * Delivers what these members' mailboxes hold now (after the unit of work that posted it
   * committed): one round to all of them at once, whose acknowledgements are recorded in one unit of
   * work, then each member with mail left on its own. A member whose drain is under way joins it.
   */
  async deliver(recipients: readonly string[]): Promise<void> {
    const drains: Promise<void>[] = [];
    const starting: string[] = [];
    for (const wallet_id of recipients) {
      const running = this.draining.get(wallet_id);
      if (running) {
        this.drainAgain.add(wallet_id);
        drains.push(running);
      } else starting.push(wallet_id);
    }
    if (starting.length) {
      const first = this.round(starting);
      for (const wallet_id of starting) {
        const drained = this.drainNow(wallet_id, first);
        this.draining.set(wallet_id, drained);
        drains.push(drained);
      }
    }
    await Promise.all(drains);
  }

  /** Events not yet acknowledged, over all mailboxes (for tests and reports). */
  undelivered(): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM mail`[0]!.n;
  }

  /**
   * Delivers a member's mail until none is left or an attempt fails (then the alarm retries later),
   * starting with its part of a fan-out's first round; told to look again (`drainAgain`) by a
   * request that joined it, it does before it stops.
   */
  private async drainNow(wallet_id: string, first: Promise<Map<string, Outcome>>): Promise<void> {
    try {
      for (let round = 0; round < ROUNDS; round++) {
        this.drainAgain.delete(wallet_id);
        const attempt = (await (round === 0 ? first : this.round([wallet_id]))).get(wallet_id);
        if (!attempt || attempt.outcome === "retry") return;
        if (!attempt.mail_left && !this.drainAgain.has(wallet_id)) return;
      }
    } finally {
      // In the same turn as the decision to stop: a request that joins after it starts a new drain.
      this.draining.delete(wallet_id);
      this.drainAgain.delete(wallet_id);
    }
  }

  /**
   * One delivery to each of these members (what they have not acknowledged, oldest first), sent at
   * once; the answers are recorded in one unit of work. Members with nothing to deliver have no outcome.
   */
  private async round(wallet_ids: readonly string[]): Promise<Map<string, Outcome>> {
    const parcels: Parcel[] = [];
    for (const wallet_id of wallet_ids) {
      const parcel = this.fresh.get(wallet_id) ?? this.store.parcel(wallet_id);
      this.fresh.delete(wallet_id);
      if (parcel?.delivery.events.length) parcels.push(parcel);
    }
    const answers = await Promise.all(parcels.map((p) => this.send(p.delivery, p.wallet_id).catch(() => null)));
    return this.kit.unitOfWork.run(() => {
      const outcomes = new Map(parcels.map((p, i) => [p.wallet_id, this.conclude(p, answers[i]!)]));
      const acks = parcels.flatMap((p, i) => (answers[i]?.ok ? [[p.wallet_id, (answers[i] as Ack).through] as [string, number]] : []));
      for (const [wallet_id, mail_left] of this.acknowledge(acks)) outcomes.set(wallet_id, { outcome: "delivered", mail_left });
      return outcomes;
    });
  }

  /**
   * Records acknowledgements (inside the caller's unit of work), all in two statements: each mailbox
   * acknowledged up to its wallet's `through` (never back), its delivered mail deleted. Returns
   * whether mail is left, by member, for those whose mark moved.
   */
  private acknowledge(acks: readonly [string, number][]): Map<string, boolean> {
    const left = new Map<string, boolean>();
    if (!acks.length) return left;
    const json = JSON.stringify(acks);
    const moved = this.kit.sql<{ wallet_id: string; mail_left: number }>`
      UPDATE mailboxes SET acked_n = a.through, attempts = 0, next_attempt_at = CASE WHEN mailboxes.next_n - 1 > a.through THEN ${Date.now()} END
      FROM (SELECT value ->> 0 AS wallet_id, value ->> 1 AS through FROM json_each(${json})) AS a
      WHERE mailboxes.wallet_id = a.wallet_id AND mailboxes.acked_n < a.through
      RETURNING mailboxes.wallet_id AS wallet_id, mailboxes.next_n - 1 > mailboxes.acked_n AS mail_left`;
    if (!moved.length) return left;
    this.kit.sql`DELETE FROM mail WHERE wallet_id IN (SELECT value ->> 0 FROM json_each(${json}))
                 AND n <= (SELECT acked_n FROM mailboxes WHERE mailboxes.wallet_id = mail.wallet_id)`;
    for (const m of moved) left.set(m.wallet_id, m.mail_left === 1);
    return left;
  }

  private async send(delivery: ChatDelivery, wallet_id: string): Promise<Ack | Refusal> {
    return (await this.wallets(wallet_id).receiveChatEvents(delivery)) as Ack | Refusal;
  }

  /** Records one answer (inside the round's unit of work): acknowledged, given up on a final refusal, or retried later. */
  private conclude(parcel: Parcel, answer: Ack | Refusal | null): Outcome {
    // Acknowledged: recorded with the others by `acknowledge` (mail left only if its mark moved and mail is left).
    if (answer?.ok) return { outcome: "delivered", mail_left: false };
    if (answer && isFinalRefusal(answer.code)) {
      this.settle(parcel.wallet_id, null);
      return { outcome: "returned", mail_left: false };
    }
    const at = Date.now() + retryDelayMs(parcel.attempts);
    this.store.recordFailedAttempt(parcel.wallet_id, at);
    this.kit.scheduler.arm(at);
    return { outcome: "retry", mail_left: true };
  }

  /**
   * Records an acknowledgement (or, on a final refusal, gives the mailbox up: a wallet that was never
   * opened will not take mail). Returns whether mail is left, or null if nothing changed.
   */
  private settle(wallet_id: string, through: number | null): Settled | null {
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
    const parcel = this.parcel(wallet_id);
    if (!parcel) return null;
    return { id: wallet_id, destination: wallet_id, payload: JSON.stringify(parcel.delivery), attempts: parcel.attempts, delivered: parcel.delivery.events.length === 0 };
  }

  /** What a member has not acknowledged, oldest first (null: no mailbox). */
  parcel(wallet_id: string): Parcel | null {
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
    return { wallet_id, delivery, attempts: box.attempts };
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
