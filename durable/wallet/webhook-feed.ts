import { Outbox, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { WebhookFeedDelivery, WebhookPort } from "../ports";
import type { EventLog } from "./event-log";
import type { Identity } from "./identity";

/** Events one round of a push carries at most, and rounds one push makes at most (the alarm does the rest). */
const BATCH = 100;
const MAX_ROUNDS = 10;
const FEED = "webhooks";

/**
 * Forwards the wallet's event log to the account's webhook actor, once the account has an endpoint:
 * the events after the last one the webhook actor acknowledged, in order, through the kit's outbox
 * (docs/decisions/0010). Reading from the log itself is what makes it impossible to skip an event:
 * whatever was committed is pushed, after the commit, again until acknowledged.
 */
export class WebhookFeed implements Part {
  readonly name = "webhook-feed";
  readonly migrations = [
    `CREATE TABLE webhook_feed (
       id INTEGER PRIMARY KEY CHECK (id = 1), enabled_at TEXT NOT NULL, acked_seq INTEGER NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER);`,
  ];
  readonly outbox: Outbox<{ ok: true; through: number }, number>;
  private readonly store: FeedStore;
  readonly tasks: readonly Task[];
  /** Whether the account has turned webhooks on (read at wake-up; once on, never off). */
  private enabled = false;
  /** The unit of work under way appended events: push them once it commits. */
  private appended = false;
  /** The push in flight (one per wallet: a second would carry the same unacknowledged events again). */
  private pushing: Promise<void> | null = null;
  /** Events were committed (or the alarm came) while a push was in flight: it makes one more round. */
  private pushAgain = false;
  /** The webhook actor's stub, made once per instance (not per push); dropped after a failed call (a stub may be broken by it). */
  private stub: DurableObjectStub<WebhookPort> | null = null;
  /**
   * The last seq the webhook actor acknowledged. The table's `acked_seq` may lag behind it: an
   * acknowledgement is written by the next unit of work that appends events (no commit of its own per
   * push), or by the alarm's round. Lagging is safe: events after the table's value are pushed again
   * after a restart, and the webhook actor takes each seq once.
   */
  private acked = 0;
  /** What the table holds (as far as this instance wrote or read it). */
  private ackedStored = 0;
  /** The acknowledgement the unit of work under way writes (stored once it commits). */
  private ackWriting: number | null = null;

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly events: EventLog,
    webhooks: (account_id: string) => DurableObjectStub<WebhookPort>,
  ) {
    this.store = new FeedStore(kit, identity, events, () => this.acked);
    this.outbox = new Outbox("webhook-feed", kit, this.store, {
      send: async (item) => {
        this.stub ??= webhooks(this.identity.get()!.account_id);
        try {
          return (await this.stub.receiveEvents(JSON.parse(item.payload) as WebhookFeedDelivery)) as { ok: true; through: number };
        } catch (error) {
          this.stub = null;
          throw error;
        }
      },
      settle: (_item, delivery) => this.settle(delivery.outcome === "delivered" ? delivery.ack.through : null),
    });
    // The alarm's retry goes through push() too, so it never runs beside a push in flight; then it writes
    // the acknowledgement down (the table says the feed is due while it lags).
    this.tasks = this.outbox.tasks.map((task) => ({
      ...task,
      run: async () => {
        await this.push();
        this.storeAck();
      },
    }));
    events.onAppend(() => {
      if (!this.enabled) return;
      this.appended = true;
      this.outbox.enqueued(); // the safety net, armed in the same unit of work as the events
      if (this.acked > this.ackedStored && this.ackWriting === null) {
        this.kit.sql`UPDATE webhook_feed SET acked_seq = ${this.acked} WHERE acked_seq < ${this.acked}`;
        this.ackWriting = this.acked;
      }
    });
  }

  onStart(): void {
    const row = this.kit.sql<{ acked_seq: number }>`SELECT acked_seq FROM webhook_feed`[0];
    this.enabled = row !== undefined;
    this.acked = this.ackedStored = row?.acked_seq ?? 0;
  }

  onRollback(): void {
    this.appended = false;
    this.ackWriting = null;
  }

  onCommit(): void {
    if (this.ackWriting !== null) this.ackedStored = Math.max(this.ackedStored, this.ackWriting);
    this.ackWriting = null;
    if (!this.appended) return;
    this.appended = false;
    this.kit.ctx.waitUntil(this.push());
  }

  /** Turns the feed on (idempotent): events from now on reach the webhook actor. */
  enable(): void {
    if (this.enabled) return;
    const from = this.events.lastSeq();
    this.kit.sql`INSERT OR IGNORE INTO webhook_feed (id, enabled_at, acked_seq) VALUES (1, ${new Date().toISOString()}, ${from})`;
    this.enabled = true;
    this.acked = this.ackedStored = from;
  }

  /**
   * Pushes what is not yet acknowledged, one push at a time: a call while one is in flight asks it for
   * one more round and waits for it. A failure is retried by the outbox's task.
   */
  push(): Promise<void> {
    if (this.pushing) {
      this.pushAgain = true;
      return this.pushing;
    }
    this.pushing = this.pushRounds().finally(() => {
      this.pushing = null;
    });
    return this.pushing;
  }

  /**
   * Rounds while more was asked for (events committed during a round), or a full round (BATCH events)
   * was acknowledged (the log may go on). A round that carried the log's end, with nothing committed
   * meanwhile, is the last: no round is spent reading the log again to find nothing. (Events committed
   * by an instance that died before pushing them are the alarm's: the feed is due while the log is ahead.)
   */
  private async pushRounds(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      this.pushAgain = false;
      const attempt = await this.outbox.deliverById(FEED).catch(() => null);
      const acknowledged = attempt?.outcome === "delivered" && attempt.settled !== null;
      if (!this.pushAgain && !(acknowledged && this.store.carried === BATCH)) return;
    }
    // Rounds used up with events still behind: the alarm takes over when they are due (now, after progress).
    const due = this.store.nextAttemptAt();
    if (due !== null) this.kit.scheduler.arm(Math.max(due, Date.now()));
  }

  /**
   * Moves the acknowledgement forward (never back: a late answer to an older round changes nothing), in
   * memory; the table follows with the next append or the alarm, or at once after failed attempts
   * (their count and retry time are reset).
   */
  private settle(through: number | null): number | null {
    // A final refusal cannot happen (the webhook actor always takes events); if it did, skip what was refused.
    const upTo = through ?? this.events.lastSeq();
    if (upTo <= this.acked) return null;
    this.acked = upTo;
    if (this.store.failedAttempts > 0) this.storeAck();
    return upTo;
  }

  /** Writes the acknowledgement down now, if the table lags behind it. */
  private storeAck(): void {
    if (this.acked <= this.ackedStored) return;
    // (next_attempt_at NULL: due at once whenever the log is ahead; see FeedStore.nextAttemptAt.)
    this.kit.sql`UPDATE webhook_feed SET acked_seq = ${this.acked}, attempts = 0, next_attempt_at = NULL WHERE acked_seq <= ${this.acked}`;
    this.ackedStored = this.acked;
  }
}

/** The outbox store over the feed: one item, the events after the acknowledged seq. */
class FeedStore implements OutboxStore {
  /** Events the item last found carried (BATCH: the log may go on after them). */
  carried = 0;
  /** Failed attempts the item last found counted. */
  failedAttempts = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly events: EventLog,
    /** The acknowledgement as the feed knows it (the table's may lag behind). */
    private readonly acked: () => number,
  ) {}

  find(id: string): OutboxItem | null {
    const feed = this.kit.sql<{ acked_seq: number; attempts: number }>`SELECT acked_seq, attempts FROM webhook_feed`[0];
    const identity = this.identity.get();
    if (id !== FEED || !feed || !identity) return null;
    const after = Math.max(feed.acked_seq, this.acked());
    // The log's stored JSON as it is (a WebhookFeedDelivery), not parsed and serialised again.
    const events = this.events.frames(after, BATCH);
    this.carried = events.length;
    this.failedAttempts = feed.attempts;
    const payload = `{"account_id":${JSON.stringify(identity.account_id)},"first_seq":${after + 1},"events":[${events.map((e) => e.frame).join(",")}]}`;
    return { id: FEED, destination: identity.account_id, payload, attempts: feed.attempts, delivered: events.length === 0 };
  }

  undelivered(): OutboxItem[] {
    const item = this.find(FEED);
    return item && !item.delivered ? [item] : [];
  }

  /** Due whenever the log is ahead of what was acknowledged (derived: a crash cannot lose it). */
  nextAttemptAt(): number | null {
    const feed = this.kit.sql<{ acked_seq: number; next_attempt_at: number | null }>`SELECT acked_seq, next_attempt_at FROM webhook_feed`[0];
    if (!feed || feed.acked_seq >= this.events.lastSeq()) return null;
    return feed.next_attempt_at ?? 0;
  }

  recordFailedAttempt(_id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE webhook_feed SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt}`;
  }
}
