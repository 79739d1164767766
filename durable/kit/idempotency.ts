import { IDEMPOTENCY_TTL_MS } from "../../src/idempotency";
import { refuse, type Refusal } from "../../src/errors";
import type { ApiAnswer } from "../../src/wallet-types";
import type { ActorKit, Part, Task } from "./part";

/** How a money-moving call identifies itself for replay (see src/idempotency.ts). */
export interface IdempotencyTag {
  key: string;
  fingerprint: string;
}

/** Thrown by `claim` when the key already holds a live answer: `once` replays that instead. */
class KeyTaken {}

export const idempotencyConflict = (): Refusal => refuse("idempotency_conflict", "this Idempotency-Key was used with a different request");

/**
 * Idempotency keys of one actor: a call runs at most once per key, a stored answer is replayed, the
 * same key with another request is a conflict, and a concurrent duplicate waits for the first.
 * Refusals are not stored (nothing changed), so a retry after the cause is fixed can succeed.
 */
export class Idempotency implements Part {
  readonly name = "idempotency";
  readonly migrations = [
    `CREATE TABLE idempotency (
       key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,
       transaction_id TEXT, answer_follows_transaction INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE INDEX idempotency_by_age ON idempotency (created_at);`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "idempotency:expiry",
      // Due when the oldest record expires: expired records are deleted, the next one sets the time.
      nextDueAt: () => {
        const oldest = this.kit.sql<{ at: number | null }>`SELECT MIN(created_at) AS at FROM idempotency`[0]?.at;
        return oldest == null ? null : oldest + IDEMPOTENCY_TTL_MS;
      },
      run: async () => {
        this.kit.sql`DELETE FROM idempotency WHERE created_at <= ${Date.now() - IDEMPOTENCY_TTL_MS}`;
      },
    },
  ];
  /** Calls under way, by key: a concurrent duplicate awaits the first. */
  private readonly running = new Map<string, { fingerprint: string; answer: Promise<ApiAnswer | Refusal> }>();

  /**
   * @param follow builds the current answer for a record stored with a `null` body (one that
   *   follows its transaction, e.g. a payment replayed as it stands now).
   */
  constructor(
    private readonly kit: ActorKit,
    private readonly follow: (transaction_id: string) => unknown,
  ) {}

  /**
   * Runs `run` at most once per key. With `checkFirst: false` the call's first write must be the
   * unit of work that `claim`s the key: a taken key rolls it back and the stored answer is replayed.
   */
  async once(tag: IdempotencyTag | null, run: () => Promise<ApiAnswer | Refusal>, options: { checkFirst: boolean } = { checkFirst: false }): Promise<ApiAnswer | Refusal> {
    if (!tag) return run();
    const running = this.running.get(tag.key);
    if (running) return running.fingerprint === tag.fingerprint ? running.answer : idempotencyConflict();
    if (options.checkFirst) {
      const stored = this.stored(tag);
      if (stored) return stored;
    }
    const answer = run().catch((error: unknown) => {
      if (error instanceof KeyTaken) return this.stored(tag) ?? idempotencyConflict();
      throw error;
    });
    this.running.set(tag.key, { fingerprint: tag.fingerprint, answer });
    try {
      return await answer;
    } finally {
      this.running.delete(tag.key);
    }
  }

  /** The live stored answer for a key: the answer for the same request, a conflict for another, or null. */
  stored(tag: IdempotencyTag): ApiAnswer | Refusal | null {
    const stored = this.kit.sql<{ fingerprint: string; status: number; response: string; transaction_id: string | null; answer_follows_transaction: number; created_at: number }>`
      SELECT fingerprint, status, response, transaction_id, answer_follows_transaction, created_at FROM idempotency WHERE key = ${tag.key}`[0];
    if (!stored || stored.created_at <= Date.now() - IDEMPOTENCY_TTL_MS) return null;
    if (stored.fingerprint !== tag.fingerprint) return idempotencyConflict();
    const body = stored.answer_follows_transaction ? this.follow(stored.transaction_id!) : JSON.parse(stored.response);
    return { ok: true, status: stored.status, body };
  }

  /** Gives a claimed key back (inside the caller's unit of work): what it claimed for did not happen. */
  release(tag: IdempotencyTag | null): void {
    if (tag) this.kit.sql`DELETE FROM idempotency WHERE key = ${tag.key} AND fingerprint = ${tag.fingerprint}`;
  }

  /**
   * Claims a key and stores its answer, inside the caller's unit of work. A key that holds a live
   * answer throws (rolling the unit back; `once` replays); an expired one is reused. A `null` body
   * means the answer is read from the transaction when replayed, so settling never rewrites it.
   */
  claim<A extends ApiAnswer<unknown>>(tag: IdempotencyTag | null, transaction_id: string, answer: A): A {
    if (!tag) return answer;
    const now = Date.now();
    const claimed = this.kit.sqlWrite`
      INSERT INTO idempotency (key, fingerprint, status, response, transaction_id, answer_follows_transaction, created_at)
      VALUES (${tag.key}, ${tag.fingerprint}, ${answer.status}, ${answer.body === null ? "" : JSON.stringify(answer.body)}, ${transaction_id},
              ${answer.body === null ? 1 : 0}, ${now})
      ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, response = excluded.response,
        transaction_id = excluded.transaction_id, answer_follows_transaction = excluded.answer_follows_transaction, created_at = excluded.created_at
      WHERE idempotency.created_at <= ${now - IDEMPOTENCY_TTL_MS}`;
    if (claimed === 0) throw new KeyTaken();
    // The expiry sweep is due when this record expires (a no-op when the alarm is due sooner).
    this.kit.scheduler.arm(now + IDEMPOTENCY_TTL_MS);
    return answer;
  }
}
