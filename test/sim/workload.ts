import { Rng } from "./prng";

/**
 * The simulation's workload: a list of operations made from one seed, before anything runs
 * (docs/decisions/0024). Operations name accounts, conversations, requests and invoices by the
 * number of the operation that made them, so any sub-list is still a workload (the shrinker's
 * premise): an operation whose subject was never made, or failed to be made, does nothing.
 *
 * Each operation carries its step `g`: the runner runs steps one after another, and the operations
 * of one step at once (a concurrency group). `n` is the operation's number in the list as made; its
 * Idempotency-Key derives from it, so a replay sends the same keys.
 */

/** Faults of an outgoing Lightning payment, set on the outside invoice it pays (the simulator's per-invoice knobs). */
export type PayOutFault = "none" | "no_route" | "fail" | "in_flight" | "in_flight_fail";
/** Global simulator knobs a window turns on (then off: `{}`). */
export type Knobs = { slow_ms?: number; unreachable?: boolean | "drop"; drop_invoice_events?: boolean };
export type ActorKind = "wallet" | "conversation" | "webhook" | "node";

export type OpBody =
  | { t: "account" }
  | { t: "faucet"; a: number; sat: number }
  | { t: "pay"; a: number; b: number; sat: number; copies: number }
  | { t: "retry"; of: number }
  | { t: "conflict"; of: number }
  | { t: "dm"; a: number; b: number; both: boolean }
  | { t: "group"; members: number[] }
  | { t: "text"; c: number; from: number; copies: number }
  | { t: "chatPay"; c: number; from: number; to: number; sat: number; copies: number }
  | { t: "request"; c: number; from: number; sat: number }
  | { t: "share"; r: number; payer: number; copies: number }
  | { t: "cancel"; r: number }
  | { t: "invoice"; a: number; sat: number | null }
  | { t: "payIn"; inv: number; sat: number; drop: boolean; wait_ms: number }
  | { t: "payInternal"; a: number; inv: number; copies: number }
  | { t: "payOut"; a: number; sat: number; fault: PayOutFault; ms: number; copies: number }
  | { t: "knobs"; knobs: Knobs }
  | { t: "webhook"; a: number; fail_first: number }
  | { t: "rotate"; a: number }
  | { t: "refresh"; a: number }
  | { t: "evict"; actor: ActorKind; i: number; delay_ms: number }
  | { t: "abort"; delay_ms: number }
  | { t: "alarm"; actor: ActorKind; i: number; delay_ms?: never }
  | { t: "wait"; ms: number };

export type Op = OpBody & { n: number; g: number };

export interface WorkloadOptions {
  ops: number;
  /** 0 leaves out evictions and aborts (a check that faults, not the workload, break something). */
  faults?: boolean;
}

/** Operation kinds a retry or a conflict can replay (those sent with an Idempotency-Key). */
export const KEYED: ReadonlySet<OpBody["t"]> = new Set(["faucet", "pay", "text", "chatPay", "request", "share", "payInternal", "payOut"]);

const WEIGHTS = {
  pay: 24,
  faucet: 5,
  retry: 10,
  conflict: 2,
  dm: 4,
  group: 2,
  text: 8,
  chatPay: 10,
  request: 4,
  share: 6,
  cancel: 1,
  invoice: 5,
  payIn: 5,
  payInternal: 3,
  payOut: 7,
  knobs: 2,
  webhook: 2,
  rotate: 1,
  refresh: 2,
  account: 1,
  evict: 3,
  abort: 1,
  alarm: 3,
  wait: 1,
} as const;

/** Makes the workload of `seed`: the same seed and options, the same list. */
export function generate(seed: number, options: WorkloadOptions): Op[] {
  const rng = new Rng(seed);
  const faults = options.faults ?? true;
  const ops: Op[] = [];
  let g = 0;
  const accounts: number[] = [];
  const convs: { n: number; members: number[] }[] = [];
  const requests: { n: number; from: number; payers: number[] }[] = [];
  const invoices: { n: number; a: number; amountless: boolean }[] = [];
  const keyed: number[] = [];
  const webhooks = new Set<number>();
  let knobsOffAt = -1; // the step at which an open knobs window closes

  const push = (body: OpBody, step = g): Op => {
    const op = { ...body, n: ops.length, g: step } as Op;
    ops.push(op);
    if (KEYED.has(body.t)) keyed.push(op.n);
    return op;
  };
  const sat = () => (rng.chance(0.08) ? rng.range(20_000, 90_000) : rng.chance(0.5) ? rng.range(1, 200) : rng.range(1, 3_000));
  const copies = () => (rng.chance(0.15) ? rng.range(2, 3) : 1);
  const account = () => rng.pick(accounts);
  // How long a fault waits into its step: 0 strikes before the step's requests arrive, more lands amid them.
  const faultDelay = () => (rng.chance(0.3) ? 0 : rng.range(1, 40));
  const other = (a: number) => rng.pick(accounts.filter((x) => x !== a));

  // The opening: a few accounts, each funded.
  // (Few: an account costs 600,000 PBKDF2 iterations, docs/decisions/0013; and few accounts share more.)
  const opening = rng.range(3, 5);
  for (let i = 0; i < opening; i++) accounts.push(push({ t: "account" }).n);
  g++;
  for (const a of accounts) push({ t: "faucet", a, sat: rng.range(5_000, 200_000) });
  g++;

  /** One operation of a random kind, on `focus` (an account a concurrent group shares) when it takes one. */
  const one = (focus: number | null): OpBody | null => {
    const kind = rng.weighted(WEIGHTS);
    const a = focus ?? account();
    switch (kind) {
      case "account":
        return accounts.length < 10 ? { t: "account" } : null;
      case "faucet":
        return { t: "faucet", a, sat: rng.range(1_000, 100_000) };
      case "pay":
        return { t: "pay", a, b: other(a), sat: sat(), copies: copies() };
      case "retry":
      case "conflict":
        return keyed.length ? { t: kind, of: rng.pick(keyed.slice(-40)) } : null;
      case "dm":
        return { t: "dm", a, b: other(a), both: rng.chance(0.3) };
      case "group": {
        if (accounts.length < 3) return null;
        const members = [a, ...rng.sample(accounts.filter((x) => x !== a), rng.range(2, Math.min(4, accounts.length - 1)))];
        return { t: "group", members };
      }
      case "text":
      case "chatPay":
      case "request": {
        const mine = convs.filter((c) => c.members.includes(a));
        const conv = mine.length ? rng.pick(mine) : convs.length ? rng.pick(convs) : null;
        if (!conv) return null;
        const from = conv.members.includes(a) ? a : rng.pick(conv.members);
        if (kind === "text") return { t: "text", c: conv.n, from, copies: copies() };
        if (kind === "request") return { t: "request", c: conv.n, from, sat: rng.range(1, 2_000) };
        return { t: "chatPay", c: conv.n, from, to: rng.pick(conv.members.filter((m) => m !== from)), sat: sat(), copies: copies() };
      }
      case "share": {
        const r = requests.length ? rng.pick(requests.slice(-10)) : null;
        return r ? { t: "share", r: r.n, payer: rng.pick(r.payers), copies: copies() } : null;
      }
      case "cancel": {
        const r = requests.length ? rng.pick(requests.slice(-10)) : null;
        return r ? { t: "cancel", r: r.n } : null;
      }
      case "rotate":
        return webhooks.size ? { t: "rotate", a: rng.pick([...webhooks]) } : null;
      case "invoice":
        return { t: "invoice", a, sat: rng.chance(0.2) ? null : rng.range(1, 5_000) };
      case "payIn": {
        const inv = invoices.length ? rng.pick(invoices.slice(-8)) : null;
        if (!inv) return null;
        const drop = rng.chance(0.25);
        return { t: "payIn", inv: inv.n, sat: rng.range(1, 5_000), drop, wait_ms: drop ? rng.range(50, 200) : 800 };
      }
      case "payInternal": {
        const inv = invoices.length ? rng.pick(invoices.slice(-8)) : null;
        return inv ? { t: "payInternal", a: inv.a === a ? other(a) : a, inv: inv.n, copies: copies() } : null;
      }
      case "payOut": {
        const fault = rng.weighted({ none: 5, no_route: 2, fail: 2, in_flight: 1, in_flight_fail: 1 } as Record<PayOutFault, number>);
        return { t: "payOut", a, sat: rng.range(1, 3_000), fault, ms: fault.startsWith("in_flight") ? (rng.chance(0.3) ? rng.range(1_600, 2_000) : rng.range(50, 600)) : 0, copies: copies() };
      }
      case "knobs": {
        if (knobsOffAt >= 0) return null;
        knobsOffAt = g + rng.range(1, 6);
        const which = rng.weighted({ slow: 2, unreachable: 1, drop: 1, dropEvents: 2 });
        if (which === "slow") return { t: "knobs", knobs: { slow_ms: rng.range(20, 150) } };
        if (which === "unreachable") return { t: "knobs", knobs: { unreachable: true } };
        if (which === "drop") return { t: "knobs", knobs: { unreachable: "drop" } };
        return { t: "knobs", knobs: { drop_invoice_events: true } };
      }
      case "webhook":
        if (webhooks.has(a) && rng.chance(0.7)) return null;
        webhooks.add(a);
        return { t: "webhook", a, fail_first: rng.chance(0.5) ? rng.range(1, 3) : 0 };
      case "refresh":
        return { t: "refresh", a };
      case "evict":
      case "alarm": {
        if (kind === "evict" && !faults) return null;
        // The node is not evicted: its invoice streams are requests that never end, so an eviction waits out
        // its drain timeout (seconds); an abort restarts it instead.
        const actor = rng.weighted({ wallet: 5, conversation: convs.length ? 3 : 0, webhook: webhooks.size ? 1 : 0, node: kind === "alarm" ? 1 : 0 } as Record<ActorKind, number>);
        const i = actor === "wallet" ? a : actor === "conversation" ? rng.pick(convs).n : actor === "webhook" ? rng.pick([...webhooks]) : 0;
        return kind === "evict" ? { t: kind, actor, i, delay_ms: faultDelay() } : { t: kind, actor, i };
      }
      case "abort":
        return faults ? { t: "abort", delay_ms: faultDelay() } : null;
      case "wait":
        return { t: "wait", ms: rng.range(5, 60) };
    }
  };

  while (ops.length < options.ops) {
    if (knobsOffAt >= 0 && g >= knobsOffAt) {
      push({ t: "knobs", knobs: {} });
      knobsOffAt = -1;
      g++;
      continue;
    }
    // A step: one operation, or several at once (often on the same account: its actor sees them concurrently).
    const size = rng.chance(0.55) ? 1 : rng.range(2, 5);
    const focus = size > 1 && rng.chance(0.6) ? account() : null;
    for (let k = 0; k < size && ops.length < options.ops; k++) {
      const body = one(focus);
      if (!body) continue;
      const op = push(body);
      if (op.t === "account") accounts.push(op.n);
      if (op.t === "dm") convs.push({ n: op.n, members: [op.a, op.b] });
      if (op.t === "group") convs.push({ n: op.n, members: op.members });
      if (op.t === "request") requests.push({ n: op.n, from: op.from, payers: convs.find((c) => c.n === op.c)!.members.filter((m) => m !== op.from) });
      if (op.t === "invoice") invoices.push({ n: op.n, a: op.a, amountless: op.sat === null });
    }
    g++;
  }
  if (knobsOffAt >= 0) push({ t: "knobs", knobs: {} }, g++);
  return ops;
}

/** The operations as steps (groups run at once), in order. */
export function steps(ops: readonly Op[]): Op[][] {
  const byStep = new Map<number, Op[]>();
  for (const op of ops) byStep.set(op.g, [...(byStep.get(op.g) ?? []), op]);
  return [...byStep.keys()].sort((x, y) => x - y).map((g) => byStep.get(g)!);
}

/** One line per operation, as a failure prints them (and as `--ops` would read them back). */
export function describeOps(ops: readonly Op[]): string {
  return ops.map((op) => JSON.stringify(op)).join("\n");
}
