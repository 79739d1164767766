import { DurableObject } from "cloudflare:workers";
import { migrate, sqlFor, sqlWriteFor, type Sql, type SqlWrite } from "./sql";

/**
 * Base of every actor: SQLite schema brought up to date before the first request, a bound-
 * parameter `sql` helper, and an `onStart` hook for what a subclass restores on wake-up.
 */
export abstract class Actor<Env = unknown> extends DurableObject<Env> {
  protected readonly sql: Sql;
  protected readonly sqlWrite: SqlWrite;
  protected abstract readonly schema: readonly string[];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = sqlFor(ctx.storage.sql);
    this.sqlWrite = sqlWriteFor(ctx.storage.sql);
    // Subclass fields (the schema) exist only after this constructor returns.
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, this.schema);
      await this.onStart();
    });
  }

  /** Runs once per wake-up, after migrations, before any request. */
  protected onStart(): void | Promise<void> {}
}
