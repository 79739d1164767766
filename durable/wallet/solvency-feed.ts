import { retryDelayMs } from "../../src/backoff";
import { isRefusal } from "../../src/errors";
import { isEmptySnapshot, SOLVENCY_PUSH_DELAY_MS, walletSnapshot, walletBooksProblems, type WalletSnapshot } from "../../src/solvency";
import type { ActorKit, Part, Task } from "../kit/part";
import type { SolvencyPush, SolvencyShardPort } from "../ports";
import type { EventLog } from "./event-log";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";

/**
 * Feeds the solvency aggregate (docs/decisions/0020): after a unit of work that moved money commits,
 * the wallet owes its shard a snapshot of its books — absolute figures at a version (the event log's
 * last seq), so a shard that gets one twice or late keeps the newest. The push is debounced on the
 * wallet's alarm: the first change after a push arms it SOLVENCY_PUSH_DELAY_MS ahead (the changes
 * after it, until the push, arm nothing), and the snapshot is read when it fires; so a wallet pushes
 * at most once per that delay however many payments it makes. No payment waits on a push or makes a
 * call for it: what a payment's unit of work pays is one comparison, and one alarm write per push.
 *
 * Nothing is lost with the instance: the alarm is durable, and the version last acknowledged is
 * stored, so a wallet that wakes up with its log ahead of it owes the push again (within the delay).
 */
export class SolvencyFeed implements Part {
  readonly name = "solvency-feed";
  readonly migrations = [`CREATE TABLE solvency_feed (id INTEGER PRIMARY KEY CHECK (id = 1), pushed_version INTEGER NOT NULL, pushed_at INTEGER NOT NULL);`];
  readonly tasks: readonly Task[];
  /** The version the shard acknowledged last (or, for a wallet not in its shard, the last one found without money). */
  private pushedVersion = 0;
  /** Whether the shard has a row for this wallet (a wallet that never had money is not sent). */
  private inShard = false;
  /** The ledger's postings as of the last commit seen. */
  private seenPostings = 0;
  /** When the push owed is due (null: none owed). */
  private dueAt: number | null = null;
  private pushing: Promise<SolvencyPush> | null = null;
  /** Failed pushes in a row (their retries back off). */
  private failures = 0;
  private stub: DurableObjectStub<SolvencyShardPort> | null = null;

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly events: EventLog,
    private readonly shardFor: (wallet_id: string) => DurableObjectStub<SolvencyShardPort>,
    private readonly delayMs = SOLVENCY_PUSH_DELAY_MS,
  ) {
    this.tasks = [
      {
        name: "solvency-feed:push",
        nextDueAt: () => this.dueAt,
        run: async () => {
          if (this.pushing) return; // due again when it is done, if more is owed
          await this.push(false).catch(() => {}); // a failure has set its retry
        },
      },
    ];
  }

  onStart(): void {
    const row = this.kit.sql<{ pushed_version: number }>`SELECT pushed_version FROM solvency_feed`[0];
    this.inShard = row !== undefined;
    this.pushedVersion = row?.pushed_version ?? 0;
    this.seenPostings = this.ledger.postings;
    // What committed after the last acknowledgement (an instance that went before its push) is owed now.
    if (this.events.lastSeq() <= this.pushedVersion) return;
    const snapshot = this.inShard ? null : this.snapshot();
    if (snapshot && isEmptySnapshot(snapshot)) this.pushedVersion = snapshot.version;
    // As after a change: within the delay. (Not at once: an alarm moved to now would cut short a run of the
    // alarm that woke the wallet, for the tasks due between now and when that alarm was set for.)
    else this.owe(this.delayMs);
  }

  onCommit(): void {
    if (this.ledger.postings === this.seenPostings) return;
    this.seenPostings = this.ledger.postings;
    this.owe(this.delayMs);
  }

  /** The wallet's snapshot as of now (read in one synchronous stretch: figures and version agree); null for a wallet never opened. */
  snapshot(): WalletSnapshot | null {
    const wallet_id = this.identity.get()?.wallet_id;
    if (!wallet_id) return null;
    const figures = { balances: this.ledger.storedBalances(), memory_balance_msat: this.ledger.memoryBalance() };
    const problems = walletBooksProblems(figures);
    if (problems.length) console.error(`wallet ${wallet_id}: books do not balance: ${problems.join("; ")}`);
    return walletSnapshot(wallet_id, this.events.lastSeq(), figures);
  }

  /**
   * Pushes the snapshot now, whether or not one is owed (`pushSolvency`: tests, an operator making the
   * aggregate current), after any push in flight. Throws when the shard cannot be reached (retried).
   */
  async pushNow(): Promise<SolvencyPush> {
    while (this.pushing) await this.pushing.catch(() => null);
    return this.push(true);
  }

  /** A push is owed in `delayMs`: the alarm is armed for it, once while one is owed (a sooner retry moves it earlier). */
  private owe(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.dueAt !== null && this.dueAt <= at) return;
    this.dueAt = at;
    this.kit.scheduler.arm(at);
  }

  private async push(force: boolean): Promise<SolvencyPush> {
    this.dueAt = null; // what commits from here on is owed again
    const pushing = (this.pushing = this.send(force));
    try {
      const result = await pushing;
      this.failures = 0;
      return result;
    } catch (error) {
      this.failures++;
      console.warn(`solvency snapshot not pushed (attempt ${this.failures}); retrying: ${(error as Error)?.message ?? String(error)}`);
      this.owe(retryDelayMs(this.failures - 1));
      throw error;
    } finally {
      this.pushing = null;
    }
  }

  private async send(force: boolean): Promise<SolvencyPush> {
    const snapshot = this.snapshot();
    if (!snapshot) return { pushed: null, applied: false };
    if (!force && (snapshot.version <= this.pushedVersion || (!this.inShard && isEmptySnapshot(snapshot)))) {
      // Nothing the shard lacks: the same version is the same money, and a wallet without money is not counted.
      this.pushedVersion = Math.max(this.pushedVersion, snapshot.version);
      return { pushed: null, applied: false };
    }
    this.stub ??= this.shardFor(snapshot.wallet_id);
    let answer: Awaited<ReturnType<SolvencyShardPort["record"]>>;
    try {
      answer = await this.stub.record(snapshot);
    } catch (error) {
      this.stub = null; // a stub may be broken by a failed call
      throw error;
    }
    if (isRefusal(answer)) {
      // Only a snapshot no wallet should make is refused: retrying would not change that.
      console.error(`wallet ${snapshot.wallet_id}: its shard refused the solvency snapshot: ${answer.message}`);
      return { pushed: null, applied: false };
    }
    this.acknowledged(snapshot.version);
    return { pushed: snapshot, applied: answer.applied };
  }

  /** The shard has the snapshot at `version`: stored, so a new instance knows what it still owes. */
  private acknowledged(version: number): void {
    this.kit.sql`INSERT INTO solvency_feed (id, pushed_version, pushed_at) VALUES (1, ${version}, ${Date.now()})
                 ON CONFLICT (id) DO UPDATE SET pushed_version = excluded.pushed_version, pushed_at = excluded.pushed_at
                 WHERE excluded.pushed_version >= solvency_feed.pushed_version`;
    this.pushedVersion = Math.max(this.pushedVersion, version);
    this.inShard = true;
  }
}
