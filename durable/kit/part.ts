import type { Sql, SqlWrite } from "./sql";
import type { Scheduler } from "./scheduler";
import type { UnitOfWork } from "./unit-of-work";

/**
 * Timed work of a part, multiplexed on the actor's one alarm: the part says when it next has
 * work (from its own state), and the scheduler runs it when that time has come.
 */
export interface Task {
  readonly name: string;
  /** When this task next has work to do (epoch ms), or null for none. */
  nextDueAt(): number | null;
  /**
   * Does the work due by `dueBy` (the time the alarm was set for, or now if later: a test may run
   * the alarm early); what is left is found again by `nextDueAt`.
   */
  run(dueBy: number): Promise<void>;
}

/**
 * A piece of an actor that owns some tables, their migrations, and its timers. Parts are plain
 * objects composed by an actor; the hooks are named for when they run.
 */
export interface Part {
  /** Names the part's migrations in `_kit_migrations`: never rename one that has shipped. */
  readonly name: string;
  /** The part's schema steps, in order; append-only. */
  readonly migrations?: readonly string[];
  /** Work this part schedules on the actor's alarm. */
  readonly tasks?: readonly Task[];
  /** After every part's migrations, before the first request of this wake-up. */
  onStart?(): void | Promise<void>;
  /** The unit of work was rolled back: forget what was cached or queued in it. */
  onRollback?(): void;
  /** The unit of work committed: act on what it made durable (push events, …). */
  onCommit?(): void;
}

/** What an actor hands its parts: its storage and the kit's shared services. */
export interface ActorKit {
  readonly ctx: DurableObjectState;
  readonly sql: Sql;
  readonly sqlWrite: SqlWrite;
  readonly unitOfWork: UnitOfWork;
  readonly scheduler: Scheduler;
}
