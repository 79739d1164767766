import { DurableObject } from "cloudflare:workers";
import { migrateParts, type LegacySchema } from "./migrations";
import type { ActorKit, Part } from "./part";
import { Scheduler } from "./scheduler";
import { sqlFor, sqlWriteFor } from "./sql";
import { UnitOfWork } from "./unit-of-work";

/**
 * Base of every actor: it hosts parts. Before the first request of a wake-up, every part's tables
 * are brought up to date (per part, checksummed), the parts' tasks share the one alarm through the
 * scheduler, and each part's `onStart` runs, then the actor's. Units of work tell every part when
 * they roll back or commit.
 */
export abstract class Actor<Env = unknown> extends DurableObject<Env> {
  /** Storage, units of work and the scheduler, shared by the parts (not reachable over RPC: an instance field). */
  readonly kit: ActorKit;
  /** The parts, in migration order (a part that extends another's table comes after it). */
  protected abstract readonly parts: readonly Part[];
  /** The single-list schema of actors written before the kit, if this actor had one. */
  protected readonly legacySchema?: LegacySchema;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = ctx.storage;
    this.kit = { ctx, sql: sqlFor(storage.sql), sqlWrite: sqlWriteFor(storage.sql), unitOfWork: new UnitOfWork(storage), scheduler: new Scheduler(storage) };
    // Subclass fields (the parts) exist only after this constructor returns; this runs after it.
    ctx.blockConcurrencyWhile(async () => {
      const schemas = this.parts.filter((p) => p.migrations?.length).map((p) => ({ part: p.name, migrations: p.migrations! }));
      migrateParts(storage, schemas, this.legacySchema);
      this.kit.unitOfWork.attach(this.parts);
      this.kit.scheduler.register(this.parts.flatMap((p) => p.tasks ?? []));
      await this.kit.scheduler.load();
      for (const part of this.parts) await part.onStart?.();
      await this.onStart();
    });
  }

  /** Runs once per wake-up, after the parts have started, before any request. */
  protected onStart(): void | Promise<void> {}

  /** The one alarm: the scheduler runs the parts' tasks that are due. */
  override async alarm(): Promise<void> {
    await this.kit.scheduler.fire();
  }

  /** Shorthands for the kit's bound-parameter SQL. */
  protected get sql() {
    return this.kit.sql;
  }

  /** One SQLite transaction across the parts (see UnitOfWork). */
  protected transaction<T>(body: () => T): T {
    return this.kit.unitOfWork.run(body);
  }
}
