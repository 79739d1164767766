/** What an isolate learnt of an account, and when it asked. */
export interface Learnt<T> {
  value: T;
  learntAt: number;
}

/**
 * What this isolate last learnt of each account, trusted for a TTL (`sessionEpochTtlMs`) and
 * bounded (the oldest learnt goes first): the session epoch here, the TOTP settings in
 * workers/services/totp.ts. An entry is dated when it was asked for, not when the answer arrived
 * (the conservative end); `merge` chooses between what was known and an answer (by default the
 * answer asked for last: one asked earlier that arrives late does not replace a newer one).
 */
export class AccountCache<T> {
  private readonly byAccount = new Map<string, Learnt<T>>();

  constructor(
    private readonly capacity: number,
    private readonly merge: (known: Learnt<T>, learnt: Learnt<T>) => T = (known, learnt) => (learnt.learntAt >= known.learntAt ? learnt.value : known.value),
  ) {}

  /** What was learnt less than `ttlMs` before `nowMs`, or undefined (ask the account). */
  fresh(accountId: string, nowMs: number, ttlMs: number): T | undefined {
    const known = this.byAccount.get(accountId);
    return known && nowMs - known.learntAt < ttlMs ? known.value : undefined;
  }

  /** Remembers what the account answered when asked at `nowMs`. */
  learn(accountId: string, value: T, nowMs: number): void {
    const known = this.byAccount.get(accountId);
    this.byAccount.delete(accountId);
    if (!known && this.byAccount.size >= this.capacity) this.byAccount.delete(this.byAccount.keys().next().value!);
    const learnt = { value, learntAt: nowMs };
    this.byAccount.set(accountId, known ? { value: this.merge(known, learnt), learntAt: Math.max(known.learntAt, nowMs) } : learnt);
  }

  get size(): number {
    return this.byAccount.size;
  }
}
