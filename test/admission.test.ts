// The admission gate at the edge entry (src/admission.ts, workers/admission.ts, docs/decisions/0026):
// at most `limit` requests at work, the rest served first come first served, a turn given back when
// its request ends or after `holdMs`, a full queue refused with 503 before any work.

import fc from "fast-check";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AdmissionGate, admissionOptions, DEFAULT_ADMISSION, type Leave } from "../src/admission";
import { admitted } from "../workers/admission";
import worker from "../workers/index";
import type { Env } from "../workers/env";

/** Timers the test fires by hand: `fire()` runs every timer still set, as if `holdMs` had passed. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    set: (fn: () => void) => {
      pending.set(++next, fn);
      return next;
    },
    clear: (handle: unknown) => void pending.delete(handle as number),
    fire: () => {
      const due = [...pending.values()];
      pending.clear();
      for (const fn of due) fn();
    },
    get count() {
      return pending.size;
    },
  };
}

const turnOf = async (turn: Promise<Leave> | Leave | null): Promise<Leave> => {
  if (turn === null) throw new Error("refused");
  return typeof turn === "function" ? turn : await turn;
};

describe("AdmissionGate", () => {
  it("lets `limit` in at once; the next ones wait and get their turn in arrival order", async () => {
    const gate = new AdmissionGate({ limit: 2, maxWaiting: 10, holdMs: 1000 }, manualTimers());
    const a = await turnOf(gate.enter());
    const b = await turnOf(gate.enter());
    expect(gate.active).toBe(2);
    const order: string[] = [];
    const waiters = ["c", "d", "e"].map((name) => (gate.enter() as Promise<Leave>).then((leave) => (order.push(name), leave)));
    expect(gate.waiting).toBe(3);
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    const c = await waiters[0]!;
    expect(order).toEqual(["c"]);
    expect(gate.active).toBe(2);
    b();
    c();
    await Promise.all(waiters.slice(1)).then((leaves) => leaves.forEach((l) => l()));
    expect(order).toEqual(["c", "d", "e"]);
    expect(gate.active).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it("a request still running after holdMs gives its turn back; leaving later changes nothing", async () => {
    const timers = manualTimers();
    const gate = new AdmissionGate({ limit: 1, maxWaiting: 10, holdMs: 1000 }, timers);
    const slow = await turnOf(gate.enter());
    const next = gate.enter() as Promise<Leave>;
    timers.fire(); // the slow request's hold ends: the waiter is let in
    const nextLeave = await next;
    expect(gate.active).toBe(1);
    slow(); // the slow one ends at last: its turn was given back already
    slow();
    expect(gate.active).toBe(1);
    nextLeave();
    expect(gate.active).toBe(0);
    expect(timers.count).toBe(0);
  });

  it("refuses when maxWaiting are waiting, taking nothing; limit 0 is no gate", async () => {
    const gate = new AdmissionGate({ limit: 1, maxWaiting: 1, holdMs: 1000 }, manualTimers());
    await turnOf(gate.enter());
    const waiting = gate.enter();
    expect(waiting).toBeInstanceOf(Promise);
    expect(gate.enter()).toBeNull();
    expect(gate.active).toBe(1);
    expect(gate.waiting).toBe(1);
    const open = new AdmissionGate({ limit: 0, maxWaiting: 0, holdMs: 1000 }, manualTimers());
    for (let i = 0; i < 100; i++) expect(typeof open.enter()).toBe("function");
    expect(open.active).toBe(0);
  });

  it("ADMISSION_LIMIT: unset is the default, a whole number sets the limit, anything else is null", () => {
    expect(admissionOptions(undefined)).toEqual(DEFAULT_ADMISSION);
    expect(admissionOptions("")).toEqual(DEFAULT_ADMISSION);
    expect(admissionOptions("0")).toEqual({ ...DEFAULT_ADMISSION, limit: 0 });
    expect(admissionOptions("16")).toEqual({ ...DEFAULT_ADMISSION, limit: 16 });
    for (const bad of ["-1", "1.5", "many", "1e400"]) expect(admissionOptions(bad)).toBeNull();
  });

  it("property: never more than `limit` at work, waiters served in arrival order, everyone served once", async () => {
    const step = fc.oneof(
      fc.constant({ kind: "arrive" as const }),
      fc.record({ kind: fc.constant("leave" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("leave-twice" as const), pick: fc.nat() }),
      fc.constant({ kind: "hold-ends" as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 80 }), async (limit, steps) => {
        const timers = manualTimers();
        const gate = new AdmissionGate({ limit, maxWaiting: 1000, holdMs: 1000 }, timers);
        let arrived = 0;
        const admittedOrder: number[] = [];
        const holding: Leave[] = [];
        const all: Promise<void>[] = [];
        const settle = () => new Promise((r) => setTimeout(r, 0));
        for (const s of steps) {
          if (s.kind === "arrive") {
            const id = arrived++;
            all.push(turnOf(gate.enter()).then((leave) => void (admittedOrder.push(id), holding.push(leave))));
          } else if (s.kind === "hold-ends") timers.fire();
          else if (holding.length) {
            const [leave] = holding.splice(s.pick % holding.length, 1);
            leave!();
            if (s.kind === "leave-twice") leave!();
          }
          await settle();
          expect(gate.active).toBeLessThanOrEqual(limit);
          expect(gate.active + gate.waiting).toBeLessThanOrEqual(arrived);
        }
        // Let everyone through: end every turn until nobody waits.
        while (gate.waiting > 0 || holding.length) {
          for (const leave of holding.splice(0)) leave();
          await settle();
        }
        await Promise.all(all);
        expect(admittedOrder).toEqual([...Array(arrived).keys()]);
        expect(gate.active).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the edge entry behind the gate", () => {
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

  it("a full queue is refused with 503 overloaded and Retry-After before any work; LndHub's shape under /lndhub/", async () => {
    const gate = new AdmissionGate({ limit: 1, maxWaiting: 0, holdMs: 60_000 });
    let release!: () => void;
    let calls = 0;
    const fetch = admitted(
      async () => {
        calls++;
        await new Promise<void>((r) => (release = r));
        return new Response("done");
      },
      () => gate,
    );
    const first = fetch(new Request("http://hub.test/v1/wallet"), env as Env, ctx);
    const refused = await fetch(new Request("http://hub.test/v1/wallet"), env as Env, ctx);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect(await refused.json()).toEqual({ error: { code: "overloaded", message: expect.stringContaining("overloaded") } });
    const lndhub = await fetch(new Request("http://hub.test/lndhub/balance"), env as Env, ctx);
    expect(lndhub.status).toBe(503);
    expect(await lndhub.json()).toMatchObject({ error: true, code: 7 });
    expect(calls).toBe(1);
    release();
    expect(await (await first).text()).toBe("done");
    expect(gate.active).toBe(0);
  });

  it("the hub's worker answers every request of a burst far above its limit, and gives every turn back", async () => {
    const small = { ...(env as Env), ADMISSION_LIMIT: "2" };
    const answers = await Promise.all(Array.from({ length: 40 }, () => worker.fetch(new Request("http://hub.test/health"), small, ctx)));
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    // The gate is free again: one more goes straight through.
    expect((await worker.fetch(new Request("http://hub.test/health"), small, ctx)).status).toBe(200);
  });
});
