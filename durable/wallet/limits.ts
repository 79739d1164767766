import {
  DEFAULT_ACCOUNT_LEVEL,
  LIMIT_WINDOW_MS,
  isAccountLevel,
  limitRefusal,
  limitsReport,
  noUsage,
  type AccountLevel,
  type LimitUsage,
  type LimitsReport,
  type SpendKind,
} from "../../src/limits";
import { refuse, type Refusal } from "../../src/errors";
import type { Msat } from "../../src/money";
import type { AuditTrail } from "../kit/audit-trail";
import type { ActorKit, Part, Task } from "../kit/part";

/** A payment's use of the limits: one row per outgoing payment, keyed by its time and its history row. */
interface UsageRow {
  at_ms: number;
  transaction_id: string;
  kind: SpendKind;
  amount_msat: Msat;
}

/** The payment a usage row belongs to: its history row (the row's time is the transaction's `created_at`). */
export interface Spend {
  id: string;
  created_at: string;
}

/** Rows the window reads from the table at a time (the oldest of the window: those that expire next). */
const BATCH = 256;
/** Rows of the window held in memory at most, beyond which newer rows are read back when the older have expired. */
const QUEUE_CAP = 1024;
/** Expired rows are deleted at most this long after they leave the window: one task run per hour, not per row. */
const EXPIRY_SLACK_MS = 60 * 60 * 1000;
/** The clock going back by more than this makes the window read again from the table. */
const CLOCK_SKEW_MS = 1000;

/**
 * What was spent in the rolling window, held in memory: the sums per kind of every row after
 * `cutoff`, and the oldest of those rows (every row in `(cutoff, through]`, oldest first), which
 * are subtracted as the window moves past them. Rows after `through` are read from the table when
 * the queue has emptied, a batch at a time, so a busy wallet holds a bounded number of rows.
 */
interface UsageWindow {
  sums: LimitUsage;
  cutoff: number;
  queue: UsageRow[];
  /** Every row with `at_ms` in `(cutoff, through]` is in the queue (Infinity: every row after `cutoff`). */
  through: number;
}

/**
 * Account levels and rolling 24 h limits (docs/decisions/0012-limits.md). Checked and recorded
 * inside the unit of work of every outgoing payment (`Transfers.debit`, `LightningPayments.hold`):
 * the actor runs one unit of work at a time, so concurrent payments cannot exceed a limit together.
 * A payment that fails or comes back gives its amount back to the window (`release`, in the
 * unit of work that settles it). The window's sums are kept in memory like the ledger's balance:
 * one insert per payment, forgotten when a unit of work that changed them rolls back.
 */
export class Limits implements Part {
  readonly name = "limits";
  // One b-tree for usage: the key is the time (the window is a range of it) and the payment.
  readonly migrations = [
    `CREATE TABLE limits_level (id INTEGER PRIMARY KEY CHECK (id = 1), level INTEGER NOT NULL, set_at TEXT NOT NULL);
     CREATE TABLE limits_usage (
       at_ms INTEGER NOT NULL, transaction_id TEXT NOT NULL, kind TEXT NOT NULL, amount_msat INTEGER NOT NULL,
       PRIMARY KEY (at_ms, transaction_id)) WITHOUT ROWID;`,
    // An operator's freeze: no money leaves the wallet while it is on (checked with the limits).
    `CREATE TABLE limits_freeze (id INTEGER PRIMARY KEY CHECK (id = 1), frozen INTEGER NOT NULL CHECK (frozen IN (0, 1)), reason TEXT, changed_at TEXT NOT NULL);`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "limits:expiry",
      nextDueAt: () => {
        const oldest = this.oldestAt();
        return oldest === null ? null : oldest + LIMIT_WINDOW_MS + EXPIRY_SLACK_MS;
      },
      run: async () => this.expire(Date.now()),
    },
  ];
  /** The window, once read (null: read it at the next use). */
  private window: UsageWindow | null = null;
  /** The level, once read. */
  private level: AccountLevel | null = null;
  /** Whether the operator froze the account, once read. */
  private frozen: boolean | null = null;
  /** The oldest usage row's time (null: none; undefined: not read). */
  private oldest: number | null | undefined = undefined;
  /** The open unit of work changed what is held in memory: a rollback forgets it. */
  private changed = false;
  /** Nothing is checked or counted: the benchmark's limits on/off comparison (`LIMITS=off`, development only; the actor sets it). */
  switchedOff = false;

  constructor(
    private readonly kit: ActorKit,
    /** Level changes and freezes are audited in their unit of work (the wallet chain, docs/decisions/0016). */
    private readonly audit: AuditTrail,
  ) {}

  onRollback(): void {
    if (this.changed) {
      this.window = null;
      this.level = null;
      this.frozen = null;
      this.oldest = undefined;
    }
    this.changed = false;
  }

  onCommit(): void {
    this.changed = false;
  }

  /**
   * `account_frozen` if the operator froze the account, else `limit_exceeded` if a payment of
   * `amount_msat` of `kind` at `now` (epoch ms) would go over its kind's or the `send` limit; null if it may go.
   */
  check(kind: SpendKind, amount_msat: Msat, now: number): Refusal | null {
    if (this.isFrozen()) return refuse("account_frozen", "this account is frozen: it can read, not move money");
    if (this.switchedOff) return null;
    return limitRefusal(this.currentLevel(), this.advance(now).sums, kind, amount_msat);
  }

  /** Counts a payment against the limits (inside its unit of work, after `check`). */
  record(kind: SpendKind, amount_msat: Msat, spend: Spend): void {
    if (this.switchedOff) return;
    const row: UsageRow = { at_ms: Date.parse(spend.created_at), transaction_id: spend.id, kind, amount_msat };
    this.kit.sql`INSERT INTO limits_usage (at_ms, transaction_id, kind, amount_msat) VALUES (${row.at_ms}, ${row.transaction_id}, ${kind}, ${amount_msat})`;
    this.changed = true;
    if (this.oldest === null) this.oldest = row.at_ms;
    // A no-op whenever the alarm is due sooner (the idempotency expiry of the same payment is).
    this.kit.scheduler.arm(row.at_ms + LIMIT_WINDOW_MS + EXPIRY_SLACK_MS);
    const w = this.window;
    if (!w || row.at_ms <= w.cutoff) return;
    w.sums[kind] += amount_msat;
    if (w.through === Infinity && w.queue.length >= QUEUE_CAP) {
      const last = w.queue[w.queue.length - 1]!.at_ms;
      // Rows after the last one held are read back from the table once the queue has emptied.
      if (row.at_ms > last) w.through = last;
    }
    if (row.at_ms <= w.through) insertInOrder(w.queue, row);
  }

  /** A payment failed or came back: its amount no longer counts (inside the unit of work that settles it). */
  release(spend: Spend): void {
    const at_ms = Date.parse(spend.created_at);
    const gone = this.kit.sql<{ kind: SpendKind; amount_msat: Msat }>`
      DELETE FROM limits_usage WHERE at_ms = ${at_ms} AND transaction_id = ${spend.id} RETURNING kind, amount_msat`[0];
    if (!gone) return;
    this.changed = true;
    const w = this.window;
    if (!w || at_ms <= w.cutoff) return;
    w.sums[gone.kind] -= gone.amount_msat;
    if (at_ms <= w.through) {
      const i = w.queue.findIndex((r) => r.at_ms === at_ms && r.transaction_id === spend.id);
      if (i >= 0) w.queue.splice(i, 1);
    }
  }

  /** The level and the limits with what was used in the window ending at `now`. */
  report(now: number): LimitsReport {
    return limitsReport(this.currentLevel(), this.advance(now).sums);
  }

  /** The operator sets the account's level; its limits apply at once, to what was already spent in the window. Audited when it changes. */
  setLevel(level: number, now: number): LimitsReport | Refusal {
    if (!isAccountLevel(level)) return refuse("invalid_request", "level must be 0, 1 or 2");
    return this.kit.unitOfWork.run(() => {
      const from = this.currentLevel();
      this.kit.sql`INSERT INTO limits_level (id, level, set_at) VALUES (1, ${level}, ${new Date(now).toISOString()})
                   ON CONFLICT (id) DO UPDATE SET level = excluded.level, set_at = excluded.set_at`;
      this.changed = true;
      this.level = level;
      if (from !== level) this.audit.append("level.changed", { from, to: level }, new Date(now));
      return this.report(now);
    });
  }

  /** Whether the operator froze the account. */
  isFrozen(): boolean {
    this.frozen ??= this.kit.sql<{ frozen: number }>`SELECT frozen FROM limits_freeze WHERE id = 1`[0]?.frozen === 1;
    return this.frozen;
  }

  /**
   * The operator freezes (or unfreezes) the account: from the next unit of work on, every payment
   * out is refused (`account_frozen`); reading and receiving go on. Audited when it changes
   * anything (a repeat is a no-op); `changed` says whether it did.
   */
  setFrozen(frozen: boolean, reason: string | null, now: number): { frozen: boolean; changed: boolean } {
    return this.kit.unitOfWork.run(() => {
      if (this.isFrozen() === frozen) return { frozen, changed: false };
      this.kit.sql`INSERT INTO limits_freeze (id, frozen, reason, changed_at) VALUES (1, ${frozen ? 1 : 0}, ${reason}, ${new Date(now).toISOString()})
                   ON CONFLICT (id) DO UPDATE SET frozen = excluded.frozen, reason = excluded.reason, changed_at = excluded.changed_at`;
      this.changed = true;
      this.frozen = frozen;
      this.audit.append(frozen ? "account.frozen" : "account.unfrozen", { reason }, new Date(now));
      return { frozen, changed: true };
    });
  }

  private currentLevel(): AccountLevel {
    if (this.level === null) {
      const stored = this.kit.sql<{ level: number }>`SELECT level FROM limits_level WHERE id = 1`[0]?.level;
      this.level = isAccountLevel(stored) ? stored : DEFAULT_ACCOUNT_LEVEL;
    }
    return this.level;
  }

  /** The window ending at `now`: read once, then moved forward, subtracting the rows it leaves behind. */
  private advance(now: number): UsageWindow {
    const cutoff = now - LIMIT_WINDOW_MS;
    let w = this.window;
    if (!w || cutoff < w.cutoff - CLOCK_SKEW_MS) w = this.window = this.load(cutoff);
    if (cutoff <= w.cutoff) return w;
    w.cutoff = cutoff;
    for (;;) {
      while (w.queue.length && w.queue[0]!.at_ms <= cutoff) {
        const row = w.queue.shift()!;
        w.sums[row.kind] -= row.amount_msat;
      }
      if (w.queue.length || w.through >= cutoff) return w;
      const next = this.batchAfter(w.through);
      w.queue = next.rows;
      w.through = next.through;
    }
  }

  private load(cutoff: number): UsageWindow {
    const first = this.batchAfter(cutoff);
    const sums = noUsage();
    if (first.through === Infinity) {
      for (const r of first.rows) sums[r.kind] += r.amount_msat;
    } else {
      for (const r of this.kit.sql<{ kind: SpendKind; s: number }>`
        SELECT kind, SUM(amount_msat) AS s FROM limits_usage WHERE at_ms > ${cutoff} GROUP BY kind`) sums[r.kind] = r.s;
    }
    return { sums, cutoff, queue: first.rows, through: first.through };
  }

  /** The oldest rows after `after`: every row up to `through` (a batch never splits rows of the same millisecond). */
  private batchAfter(after: number): { rows: UsageRow[]; through: number } {
    const rows = this.kit.sql<UsageRow>`
      SELECT at_ms, transaction_id, kind, amount_msat FROM limits_usage WHERE at_ms > ${after} ORDER BY at_ms LIMIT ${BATCH + 1}`;
    if (rows.length <= BATCH) return { rows, through: Infinity };
    const next = rows[BATCH]!.at_ms;
    const taken = rows.filter((r) => r.at_ms < next);
    if (taken.length) return { rows: taken, through: next - 1 };
    return { rows: this.kit.sql<UsageRow>`SELECT at_ms, transaction_id, kind, amount_msat FROM limits_usage WHERE at_ms = ${next}`, through: next };
  }

  private oldestAt(): number | null {
    if (this.oldest === undefined) this.oldest = this.kit.sql<{ at: number | null }>`SELECT MIN(at_ms) AS at FROM limits_usage`[0]?.at ?? null;
    return this.oldest;
  }

  /** The expiry task: rows that left the window are deleted (the window in memory has moved past them first). */
  private expire(now: number): void {
    if (this.window) this.advance(now);
    this.kit.sql`DELETE FROM limits_usage WHERE at_ms <= ${now - LIMIT_WINDOW_MS}`;
    this.oldest = undefined;
  }
}

/** Inserts a row keeping the queue oldest first (a new row is nearly always the newest). */
function insertInOrder(queue: UsageRow[], row: UsageRow): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1]!.at_ms > row.at_ms) i--;
  queue.splice(i, 0, row);
}
