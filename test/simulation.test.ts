import { runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { walletStub } from "./helpers";
import { deriveSeed, Rng } from "./sim/prng";
import { runWorkload, type World } from "./sim/runner";
import { shrink } from "./sim/shrink";
import { describeOps, generate, type Op } from "./sim/workload";

/**
 * Deterministic simulation (issue 16; docs/decisions/0024): a seeded random workload with faults,
 * every invariant checked every few steps and after quiescence, a failure shrunk to the shortest
 * operation list found and printed with the command that replays it.
 *
 * `npm test` runs the default seeds below. `npm run sim -- --seed N [--ops M] [--only 3,17,25]`
 * replays one (scripts/sim.mjs passes its options through vitest.sim.config.ts's `provide`);
 * `npm run sim -- --soak 600` runs fresh seeds for ten minutes.
 */
interface SimConfig {
  seeds: number[];
  ops: number;
  only: number[] | null;
  soak_s: number;
  base: number;
  check_every: number;
  shrink_s: number;
}

const DEFAULTS: SimConfig = { seeds: [1, 2, 3, 4], ops: 500, only: null, soak_s: 0, base: 0, check_every: 25, shrink_s: 120 };
const provided = (inject as (key: string) => unknown)("sim");
const config: SimConfig = { ...DEFAULTS, ...(typeof provided === "string" && provided ? (JSON.parse(provided) as Partial<SimConfig>) : {}) };

interface Outcome {
  seed: number;
  world: World;
  ms: number;
}

async function runSeed(seed: number, ops: number, only: number[] | null): Promise<Outcome> {
  const all = generate(seed, { ops });
  const list = only ? all.filter((op) => only.includes(op.n)) : all;
  const started = Date.now();
  const world = await runWorkload(list, { checkEvery: config.check_every, label: `sim${seed}` });
  return { seed, world, ms: Date.now() - started };
}

/** Shrinks a failing run to the shortest list found that breaks the same invariant, and says how to replay it. */
async function report(outcome: Outcome, ops: number): Promise<string> {
  const { seed, world } = outcome;
  const names = new Set(world.violations.map((v) => v.invariant));
  const all = generate(seed, { ops });
  const list = config.only ? all.filter((op) => config.only!.includes(op.n)) : all;
  let shrunk: Op[] = list;
  let tries = 0;
  if (config.shrink_s > 0) {
    const until = Date.now() + config.shrink_s * 1000;
    const fails = async (candidate: readonly Op[]) => {
      const w = await runWorkload(candidate, { checkEvery: config.check_every, label: `shrink${seed}` });
      tries++;
      return w.violations.some((v) => names.has(v.invariant));
    };
    // Seen at a checkpoint: what came after it is not needed, if the prefix alone still fails.
    const failedAt = world.failedAtStep;
    const prefix = failedAt === null ? list : list.filter((op) => op.g <= failedAt);
    const start = prefix.length < list.length && (await fails(prefix)) ? prefix : list;
    const result = await shrink(start, fails, { tries: 200, until });
    shrunk = result.ops;
  }
  return [
    `simulation seed ${seed} (${ops} operations) broke: ${[...names].join(", ")}`,
    ...world.violations.slice(0, 20).map((v) => `  [${v.invariant}] ${v.detail}`),
    world.violations.length > 20 ? `  … ${world.violations.length - 20} more` : "",
    `shortest operation list found (${shrunk.length} of ${list.length}, ${tries} shrinking runs):`,
    describeOps(shrunk),
    `replay: npm run sim -- --seed ${seed} --ops ${ops} --only ${ranges(shrunk.map((op) => op.n))}`,
    `replay the whole run: npm run sim -- --seed ${seed} --ops ${ops}`,
  ].join("\n");
}

/** Operation numbers as ranges: 0-62,314,320-499. */
function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(j > i ? `${ns[i]}-${ns[j]}` : `${ns[i]}`);
    i = j + 1;
  }
  return out.join(",");
}

function summary(outcomes: Outcome[]): string {
  const total = (f: (w: World) => number) => outcomes.reduce((s, o) => s + f(o.world), 0);
  const ms = outcomes.reduce((s, o) => s + o.ms, 0);
  const faults: Record<string, number> = {};
  for (const o of outcomes) for (const [k, v] of Object.entries(o.world.stats.faults)) faults[k] = (faults[k] ?? 0) + v;
  const ops = total((w) => w.stats.ops);
  const time: Record<string, number> = {};
  for (const o of outcomes) for (const [k, v] of Object.entries(o.world.stats.ms)) time[k] = (time[k] ?? 0) + v;
  const statuses: Record<string, number> = {};
  for (const o of outcomes) for (const [k, v] of Object.entries(o.world.stats.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return [
    `simulation: ${outcomes.length} seeds (${outcomes.map((o) => o.seed).join(", ")}), ${ops} operations in ${(ms / 1000).toFixed(1)} s: ${((ops * 1000) / ms).toFixed(1)} operations/s`,
    `  faults injected: ${Object.values(faults).reduce((s, v) => s + v, 0)} (${Object.entries(faults).sort().map(([k, v]) => `${k} ${v}`).join(", ")})`,
    `  time by operation (s, summed over concurrent ones): ${Object.entries(time).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(", ")}`,
    `  answers: ${Object.entries(statuses).sort().map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `  checkpoints ${total((w) => w.stats.checkpoints)}, conservation checked ${total((w) => w.stats.conservation_checked)} times (skipped ${total((w) => w.stats.conservation_skipped)} while money moved), balances against the answers in ${total((w) => w.stats.balances_checked)} of ${outcomes.length} runs`,
  ].join("\n");
}

describe("deterministic simulation", () => {
  it("a seed is its workload: the same list every time, another seed another list", () => {
    expect(generate(7, { ops: 300 })).toEqual(generate(7, { ops: 300 }));
    expect(generate(7, { ops: 300 })).not.toEqual(generate(8, { ops: 300 }));
    // A longer run of a seed begins as the shorter one does.
    expect(generate(7, { ops: 600 }).slice(0, 250)).toEqual(generate(7, { ops: 300 }).slice(0, 250));
    const r = new Rng(1);
    expect([r.next(), r.next()]).toEqual([new Rng(1).next(), (() => { const x = new Rng(1); x.next(); return x.next(); })()]);
    expect(deriveSeed(5, 0)).not.toBe(deriveSeed(5, 1));
    expect(ranges([0, 1, 2, 5, 7, 8])).toBe("0-2,5,7-8");
  });

  it("the shrinker finds the operations a failure needs", async () => {
    const ops = generate(3, { ops: 120 });
    const needed = [ops[17]!.n, ops[64]!.n, ops[101]!.n];
    const { ops: found } = await shrink(ops, async (c) => needed.every((n) => c.some((op) => op.n === n)), { tries: 500, until: Date.now() + 10_000 });
    expect(found.map((op) => op.n)).toEqual(needed);
  });

  it("the checks see what they are for: money made behind the answers' back, an event rewritten, a chat message logged twice", async () => {
    // A small hand-made workload: two accounts, funded, a conversation with a text and a payment, a transfer.
    const ops: Op[] = [
      { t: "account", n: 0, g: 0 },
      { t: "account", n: 1, g: 0 },
      { t: "faucet", a: 0, sat: 5_000, n: 2, g: 1 },
      { t: "dm", a: 0, b: 1, both: false, n: 3, g: 2 },
      { t: "text", c: 3, from: 1, copies: 1, n: 4, g: 3 },
      { t: "chatPay", c: 3, from: 0, to: 1, sat: 100, copies: 1, n: 5, g: 3 },
      { t: "pay", a: 0, b: 1, sat: 7, copies: 2, n: 6, g: 4 },
    ];
    const clean = await runWorkload(ops, { checkEvery: 1, label: "clean" });
    expect(clean.violations).toEqual([]);
    const planted = await runWorkload(ops, {
      checkEvery: 1,
      label: "planted",
      plant: async (world) => {
        const [a, b] = [world.accounts.get(0)!, world.accounts.get(1)!];
        // Money no answer said was credited.
        await walletStub(a.wallet_id).creditFromFaucet(1_000, null);
        await runInDurableObject(walletStub(b.wallet_id) as unknown as DurableObjectStub<WalletActor>, (actor: WalletActor, state) => {
          // An event already seen, rewritten in place; and a chat message appended a second time.
          state.storage.sql.exec("UPDATE events SET data = '{\"rewritten\":true}' WHERE seq = 1");
          const message = state.storage.sql.exec<{ data: string }>("SELECT data FROM events WHERE type = 'chat.message' LIMIT 1").one().data;
          actor.kit.unitOfWork.run(() => actor.events.append("chat.message", JSON.parse(message), new Date().toISOString()));
        });
      },
    });
    const names = new Set(planted.violations.map((v) => v.invariant));
    expect([...names].sort()).toEqual(expect.arrayContaining(["chat delivered once", "conservation", "event log never rewritten"]));
  });

  if (config.soak_s > 0) {
    it(`soak: fresh seeds for ${config.soak_s} s`, async () => {
      const until = Date.now() + config.soak_s * 1000;
      const outcomes: Outcome[] = [];
      for (let i = 0; Date.now() < until; i++) {
        const seed = deriveSeed(config.base, i);
        const outcome = await runSeed(seed, config.ops, null);
        outcomes.push(outcome);
        if (outcome.world.violations.length) {
          console.log(summary(outcomes));
          expect.fail(`soak base seed ${config.base}, run ${i} (replays with the runs before it: npm run sim -- --soak ${config.soak_s} --seed ${config.base})\n${await report(outcome, config.ops)}`);
        }
      }
      console.log(summary(outcomes));
    }, (config.soak_s + 600) * 1000);
  } else {
    const outcomes: Outcome[] = [];
    for (const seed of config.seeds) {
      it(`seed ${seed}: ${config.only ? `${config.only.length} of ` : ""}${config.ops} operations, every invariant`, async () => {
        const outcome = await runSeed(seed, config.ops, config.only);
        outcomes.push(outcome);
        if (outcome.world.violations.length) {
          console.log(summary([outcome]));
          expect.fail(await report(outcome, config.ops));
        }
        if (outcomes.length === config.seeds.length) console.log(summary(outcomes));
      }, 600_000);
    }
  }
});
