import type { Part } from "./part";

/** Thrown inside a unit of work to roll all of it back and make `run` return `result` instead. */
export class RollBack<T> {
  constructor(readonly result: T) {}
}

/**
 * One SQLite transaction across the parts of an actor: on rollback every part forgets what it
 * cached in memory from it; after commit every part may act on what became durable.
 */
export class UnitOfWork {
  private parts: readonly Part[] = [];
  private depth = 0;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** The parts whose hooks run around each unit of work (set once at start-up). */
  attach(parts: readonly Part[]): void {
    this.parts = parts.filter((p) => p.onRollback || p.onCommit);
  }

  /** Runs `body` as one transaction; a nested call joins the one already open. */
  run<T>(body: () => T): T {
    if (this.depth > 0) return body();
    let result: T;
    this.depth++;
    try {
      result = this.storage.transactionSync(body);
    } catch (error) {
      for (const part of this.parts) part.onRollback?.();
      if (error instanceof RollBack) return error.result as T;
      throw error;
    } finally {
      this.depth--;
    }
    for (const part of this.parts) part.onCommit?.();
    return result;
  }
}
