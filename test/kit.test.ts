import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { MigrationChecksumError, migrateParts, stepChecksum } from "../durable/kit/migrations";
import { Outbox, OUTBOX_SAFETY_NET_MS, type OutboxItem, type OutboxStore } from "../durable/kit/outbox";
import type { ActorKit, Part, Task } from "../durable/kit/part";
import { Scheduler } from "../durable/kit/scheduler";
import { SqlCommentError, sqlFor } from "../durable/kit/sql";
import { RollBack, UnitOfWork } from "../durable/kit/unit-of-work";
import { refuse } from "../src/errors";
import { RETRY_BASE_MS } from "../src/backoff";
import { walletStub } from "./helpers";

/** Runs `fn` inside a throwaway actor of its own (a wallet never opened), on its real storage. */
function inFreshActor<R>(fn: (actor: WalletActor, state: DurableObjectState) => R | Promise<R>): Promise<R> {
  return runInDurableObject(walletStub(`wal_${crypto.randomUUID().replaceAll("-", "")}`), fn);
}

const tables = (storage: DurableObjectStorage) =>
  storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kit_t%' ORDER BY name").toArray().map((r) => r.name);

describe("actor kit: sql helper", () => {
  it("binds every interpolation and refuses a -- comment, which folding would turn into a cut-off statement", () =>
    inFreshActor((_a, state) => {
      const sql = sqlFor(state.storage.sql);
      expect(sql<{ v: string }>`SELECT ${"it's bound"} AS v`).toEqual([{ v: "it's bound" }]);
      expect(() => sql`SELECT 1 -- a comment
                       , 2`).toThrow(SqlCommentError);
    }));
});

describe("actor kit: migrations per part", () => {
  it("applies each part's steps once, in order, and records them with a checksum", () =>
    inFreshActor((_a, state) => {
      const parts = [
        { part: "kit_a", migrations: ["CREATE TABLE kit_ta (x INTEGER)", "ALTER TABLE kit_ta ADD COLUMN y TEXT"] },
        { part: "kit_b", migrations: ["CREATE TABLE kit_tb (z INTEGER)"] },
      ];
      migrateParts(state.storage, parts);
      migrateParts(state.storage, parts); // a second start-up runs nothing again
      expect(tables(state.storage)).toEqual(["kit_ta", "kit_tb"]);
      const recorded = state.storage.sql.exec<{ part: string; step: number; checksum: string }>("SELECT part, step, checksum FROM _kit_migrations WHERE part LIKE 'kit_%' ORDER BY part, step").toArray();
      expect(recorded).toEqual([
        { part: "kit_a", step: 1, checksum: stepChecksum(parts[0]!.migrations[0]!) },
        { part: "kit_a", step: 2, checksum: stepChecksum(parts[0]!.migrations[1]!) },
        { part: "kit_b", step: 1, checksum: stepChecksum(parts[1]!.migrations[0]!) },
      ]);
      // A new step is applied alone.
      migrateParts(state.storage, [{ part: "kit_b", migrations: [...parts[1]!.migrations, "CREATE TABLE kit_tc (w INTEGER)"] }]);
      expect(tables(state.storage)).toEqual(["kit_ta", "kit_tb", "kit_tc"]);
    }));

  it("refuses to start when a shipped step was edited (whitespace aside)", () =>
    inFreshActor((_a, state) => {
      migrateParts(state.storage, [{ part: "kit_e", migrations: ["CREATE TABLE kit_te (x INTEGER)"] }]);
      expect(() => migrateParts(state.storage, [{ part: "kit_e", migrations: ["CREATE   TABLE kit_te\n  (x INTEGER)"] }])).not.toThrow();
      expect(() => migrateParts(state.storage, [{ part: "kit_e", migrations: ["CREATE TABLE kit_te (x INTEGER, y TEXT)"] }])).toThrow(MigrationChecksumError);
    }));

  it("a failing step leaves nothing of itself behind and is tried again at the next start", () =>
    inFreshActor((_a, state) => {
      const broken = { part: "kit_f", migrations: ["CREATE TABLE kit_tf (x INTEGER); INSERT INTO no_such_table VALUES (1)"] };
      expect(() => migrateParts(state.storage, [broken])).toThrow();
      expect(tables(state.storage)).toEqual([]);
      expect(state.storage.sql.exec("SELECT 1 FROM _kit_migrations WHERE part = 'kit_f'").toArray()).toEqual([]);
    }));
});

describe("actor kit: unit of work", () => {
  it("tells every part about a rollback, and only commits are followed by onCommit", () =>
    inFreshActor((_a, state) => {
      const log: string[] = [];
      const part: Part = { name: "p", onRollback: () => log.push("rollback"), onCommit: () => log.push("commit") };
      const uow = new UnitOfWork(state.storage);
      uow.attach([part, { name: "silent" }]);
      state.storage.sql.exec("CREATE TABLE kit_tu (x INTEGER)");
      expect(uow.run(() => (state.storage.sql.exec("INSERT INTO kit_tu VALUES (1)"), "done"))).toBe("done");
      expect(() => uow.run(() => {
        state.storage.sql.exec("INSERT INTO kit_tu VALUES (2)");
        throw new Error("boom");
      })).toThrow("boom");
      expect(uow.run(() => {
        state.storage.sql.exec("INSERT INTO kit_tu VALUES (3)");
        throw new RollBack("refused");
      })).toBe("refused");
      // A nested unit joins the outer one: one commit, one set of hooks.
      uow.run(() => uow.run(() => state.storage.sql.exec("INSERT INTO kit_tu VALUES (4)")));
      expect(log).toEqual(["commit", "rollback", "rollback", "commit"]);
      expect(state.storage.sql.exec<{ x: number }>("SELECT x FROM kit_tu ORDER BY x").toArray().map((r) => r.x)).toEqual([1, 4]);
    }));
});

/** A task whose due time and runs the test controls. */
function fakeTask(name: string, dueAt: number | null, run: () => void = () => {}): Task & { runs: number; due: number | null } {
  const task = {
    name,
    runs: 0,
    due: dueAt,
    nextDueAt: () => task.due,
    run: async () => {
      task.runs++;
      run();
    },
  };
  return task;
}

describe("actor kit: scheduler", () => {
  it("arming only ever moves the one alarm earlier", () =>
    inFreshActor(async (_a, state) => {
      await state.storage.deleteAlarm();
      const scheduler = new Scheduler(state.storage);
      await scheduler.load();
      const t = Date.now() + 60_000;
      scheduler.arm(t + 5_000);
      expect(await state.storage.getAlarm()).toBe(t + 5_000);
      scheduler.arm(t + 9_000); // later: no change
      expect(await state.storage.getAlarm()).toBe(t + 5_000);
      scheduler.arm(t);
      expect(await state.storage.getAlarm()).toBe(t);
      // A new instance reads the stored alarm first, so it cannot push it back either.
      const next = new Scheduler(state.storage);
      await next.load();
      next.arm(t + 1_000);
      expect(await state.storage.getAlarm()).toBe(t);
      await state.storage.deleteAlarm();
    }));

  it("runs the tasks due by the alarm's time, then arms for the earliest one with work left", () =>
    inFreshActor(async (_a, state) => {
      await state.storage.deleteAlarm();
      const now = Date.now();
      const scheduler = new Scheduler(state.storage);
      await scheduler.load();
      const due = fakeTask("due", now - 1, () => (due.due = null));
      const soon = fakeTask("soon", now + 30_000);
      const later = fakeTask("later", now + 90_000);
      const idle = fakeTask("idle", null);
      scheduler.register([due, soon, later, idle]);
      scheduler.arm(now + 10_000);
      await scheduler.fire(); // run early (as a test does): what was due by the alarm's time runs
      expect([due.runs, soon.runs, later.runs, idle.runs]).toEqual([1, 0, 0, 0]);
      expect(await state.storage.getAlarm()).toBe(now + 30_000);
      await scheduler.fire(); // the alarm was for "soon": it runs, "later" does not
      expect([due.runs, soon.runs, later.runs]).toEqual([1, 1, 0]);
      await state.storage.deleteAlarm();
    }));

  it("work added while the alarm runs (by a task, for itself or another, or by a request meanwhile) is not lost", () =>
    inFreshActor(async (_a, state) => {
      await state.storage.deleteAlarm();
      const now = Date.now();
      const scheduler = new Scheduler(state.storage);
      await scheduler.load();
      const earlier = fakeTask("earlier", null, () => (earlier.due = null));
      // What a request enqueues: its task knows the work (an arm is only a hint; nextDueAt is the truth).
      const requested = fakeTask("requested", null);
      const adder = fakeTask("adder", now - 1);
      adder.run = async () => {
        adder.runs++;
        if (adder.runs > 1) return void (adder.due = null);
        await new Promise((r) => setTimeout(r, 5)); // the task waits on I/O; a request arms meanwhile
        requested.due = Date.now() + 20_000;
        scheduler.arm(requested.due);
        earlier.due = Date.now() - 1; // work for a task the loop has passed
        adder.due = Date.now() - 1; // and once more for itself
      };
      scheduler.register([earlier, adder, requested]);
      await scheduler.fire();
      expect([earlier.runs, adder.runs, requested.runs]).toEqual([0, 1, 0]);
      // Due again at once, so the alarm comes back soon (sooner than the request's, and not in a spin).
      const soon = (await state.storage.getAlarm())!;
      expect(soon).toBeGreaterThanOrEqual(now + 100);
      expect(soon).toBeLessThan(requested.due!);
      await state.storage.deleteAlarm(); // the runtime consumes the alarm that fires
      await scheduler.fire();
      expect([earlier.runs, adder.runs, requested.runs]).toEqual([1, 2, 0]);
      // The request's work is still there, and the alarm is set for it.
      expect(await state.storage.getAlarm()).toBe(requested.due);
      await state.storage.deleteAlarm();
    }));

  it("a task that throws does not stop the others and is retried later, not in a loop", () =>
    inFreshActor(async (_a, state) => {
      await state.storage.deleteAlarm();
      const now = Date.now();
      const failures: string[] = [];
      const scheduler = new Scheduler(state.storage, (task, error) => failures.push(`${task}: ${(error as Error).message}`));
      await scheduler.load();
      const failing = fakeTask("failing", now - 1, () => {
        throw new Error("LND unreachable");
      });
      const fine = fakeTask("fine", now - 1, () => (fine.due = null));
      scheduler.register([failing, fine]);
      await scheduler.fire();
      expect([failing.runs, fine.runs]).toEqual([1, 1]);
      expect(failures).toEqual(["failing: LND unreachable"]);
      const alarm = (await state.storage.getAlarm())!;
      expect(alarm).toBeGreaterThanOrEqual(now + 4_000); // backed off, though its work is still due
      await state.storage.deleteAlarm();
    }));
});

/** An outbox store in memory (the kit's protocol does not care where items live). */
class MemoryStore implements OutboxStore {
  readonly items = new Map<string, OutboxItem & { next: number }>();
  find = (id: string) => this.items.get(id) ?? null;
  undelivered = (limit: number) => [...this.items.values()].filter((i) => !i.delivered).sort((a, b) => a.next - b.next).slice(0, limit);
  nextAttemptAt = () => this.undelivered(1)[0]?.next ?? null;
  recordFailedAttempt = (id: string, at: number) => {
    const item = this.items.get(id)!;
    this.items.set(id, { ...item, attempts: item.attempts + 1, next: at });
  };
}

describe("actor kit: outbox", () => {
  it("delivers once, returns on a final refusal, retries with backoff on a retryable one or no answer", () =>
    inFreshActor(async (actor, state) => {
      await state.storage.deleteAlarm();
      const kit: ActorKit = { ...actor.kit, scheduler: new Scheduler(state.storage) };
      await kit.scheduler.load();
      const store = new MemoryStore();
      const answers: Record<string, () => Promise<{ ok: true } | ReturnType<typeof refuse>>> = {
        ok: async () => ({ ok: true }),
        gone: async () => refuse("unknown_recipient", "no such wallet"),
        busy: async () => refuse("internal", "try later"),
        down: async () => {
          throw new Error("network");
        },
      };
      const settled: string[] = [];
      const outbox = new Outbox("test", kit, store, {
        send: (item) => answers[item.destination]!(),
        settle: (item, delivery) => {
          if (store.items.get(item.id)!.delivered) return null;
          store.items.set(item.id, { ...store.items.get(item.id)!, delivered: true });
          settled.push(`${item.id}:${delivery.outcome}`);
          return delivery.outcome;
        },
      });
      const now = Date.now();
      for (const destination of Object.keys(answers)) store.items.set(destination, { id: destination, destination, payload: "{}", attempts: 0, delivered: false, next: now });
      outbox.enqueued();
      expect(await state.storage.getAlarm()).toBeGreaterThanOrEqual(now + OUTBOX_SAFETY_NET_MS);

      expect(await outbox.deliverById("ok")).toEqual({ outcome: "delivered", settled: "delivered" });
      expect(await outbox.deliverById("ok")).toEqual({ outcome: "delivered", settled: null }); // closed: nothing again
      expect(await outbox.deliverById("gone")).toEqual({ outcome: "returned", settled: "returned" });
      expect(await outbox.deliverById("busy")).toEqual({ outcome: "retry", settled: null });
      expect(await outbox.deliverById("down")).toEqual({ outcome: "retry", settled: null });
      expect(settled).toEqual(["ok:delivered", "gone:returned"]);
      const busy = store.items.get("busy")!;
      expect(busy.attempts).toBe(1);
      expect(busy.next).toBeGreaterThanOrEqual(now + RETRY_BASE_MS);
      expect(busy.next).toBeLessThan(now + 2 * RETRY_BASE_MS + 1_000);
      // The retry armed the alarm for itself, sooner than the safety net.
      expect(await state.storage.getAlarm()).toBeLessThanOrEqual(busy.next);
      // The second failure waits twice as long.
      await outbox.deliverById("busy");
      expect(store.items.get("busy")!.next - Date.now()).toBeGreaterThan(RETRY_BASE_MS);

      // The alarm's task delivers what is left once the receiver answers.
      answers.busy = answers.ok!;
      answers.down = answers.ok!;
      await outbox.tasks[0]!.run(Date.now());
      // (The soonest-due first: "down" failed once, "busy" twice.)
      expect(settled).toEqual(["ok:delivered", "gone:returned", "down:delivered", "busy:delivered"]);
      expect(outbox.tasks[0]!.nextDueAt()).toBeNull();
      await state.storage.deleteAlarm();
    }));
});
