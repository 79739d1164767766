import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { ConversationActor } from "../../durable/conversation-actor";
import { api, PASSWORD, testEnv, uniqueName, walletStub } from "../helpers";
import { type ActorKind, type Op, steps } from "./workload";
import { checkpoint, finalChecks, type Violation } from "./invariants";

/**
 * Runs a workload (test/sim/workload.ts) against the hub on fresh accounts: steps one after another,
 * the operations of a step at once; checks the invariants every `checkEvery` steps and, after
 * quiescence, at the end (test/sim/invariants.ts). Records what the hub answered, for the checks.
 */

export interface Account {
  n: number;
  account_id: string;
  wallet_id: string;
  username: string;
  access_token: string;
  refresh_token: string;
}

/** A request sent with an Idempotency-Key, and every answer it got. */
export interface Keyed {
  op: Op;
  key: string;
  who: number;
  method: string;
  path: string;
  body: unknown;
  /** What identifies the answer's subject (transaction or message) in a 2xx answer. */
  identity: (json: any) => string | null;
  answers: Answer[];
}

export interface Answer {
  status: number;
  json: any;
  /** The call threw or answered 5xx: its outcome is not known (the client sends it again). */
  uncertain: boolean;
  /** A replay sent after quiescence (its answer tells the final state). */
  final?: boolean;
  step: number;
}

export interface Conversation {
  n: number;
  id: string;
  members: number[];
  direct: boolean;
}

export interface Endpoint {
  account: number;
  id: string;
  /** Every secret the endpoint had (a rotated one keeps signing for 24 h). */
  secrets: string[];
  token: string;
  fail_first: number;
  /** Every event after this seq must reach the endpoint. */
  after_seq: number;
}

export interface Stats {
  ops: number;
  by_type: Record<string, number>;
  faults: Record<string, number>;
  statuses: Record<string, number>;
  /** Wall time per operation type, and of checkpoints and quiescence (ms). */
  ms: Record<string, number>;
  checkpoints: number;
  conservation_checked: number;
  conservation_skipped: number;
  /** Runs whose every balance was compared with what the final answers moved (none left unknown). */
  balances_checked: number;
}

export interface RunOptions {
  /** Steps between two checkpoints (0: only the final checks). */
  checkEvery: number;
  /** A label for the run's usernames and webhook tokens. */
  label: string;
  /** Runs after the last step, before quiescence: the self-test plants faults here that the checks must see. */
  plant?: (world: World) => Promise<void>;
}

export interface World {
  accounts: Map<number, Account>;
  conversations: Map<number, Conversation>;
  requests: Map<number, { conversation: number; message_id: string; from: number }>;
  invoices: Map<number, { account: number; payment_request: string; payment_hash: string; amountless: boolean }>;
  /** Invoices the outside world paid (or holds an HTLC for), and the amount it says it paid. */
  paidIn: Map<string, { account: number; amount_msat: number; status: string }>;
  keyed: Map<string, Keyed>;
  endpoints: Endpoint[];
  /** Every event each account's log showed, by seq (a later read must show the same). */
  logs: Map<number, any[]>;
  /** Messages the hub answered 201 for, by id: their conversation. */
  messages: Map<string, number>;
  /** Refresh tokens possibly spent by an attempt whose answer was lost: the account logs in again instead. */
  spentRefresh: Set<number>;
  /** Each account's refreshes, one after another. */
  refreshing: Map<number, Promise<void>>;
  violations: Violation[];
  stats: Stats;
  /** When the last payment held in flight by the simulator resolves. */
  inFlightUntil: number;
  label: string;
  /** The step after which the first violation was seen (null: none, or only after quiescence). */
  failedAtStep: number | null;
}

/**
 * The simulated outside world (the simulator's control routes). An abort restarts the simulator's own
 * Durable Object too, so a call may throw: the outside world then tries again, as a client on a flaky
 * network would; status 0 if it never got through.
 */
const sim = async (path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await testEnv.LND_SIM!.fetch(`http://sim${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json().catch(() => null)) as any };
    } catch (e) {
      if (attempt >= 4) return { status: 0, json: { error: { code: "thrown", message: String(e) } } };
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }
};
export const resetKnobs = () => sim("/sim/knobs", {});

export const conversationStub = (id: string) => testEnv.CONVERSATION.get(testEnv.CONVERSATION.idFromName(id)) as unknown as DurableObjectStub;
export const webhookStub = (account_id: string) => testEnv.WEBHOOKS.get(testEnv.WEBHOOKS.idFromName(`webhooks:${account_id}`));
export const nodeStub = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName("default"));

/** The hub's answer, or status 0 when the call itself threw. */
async function call(method: string, path: string, opts: Parameters<typeof api>[2] = {}) {
  try {
    return await api(method, path, opts);
  } catch (e) {
    return { status: 0, json: { error: { code: "thrown", message: String(e) } }, headers: new Headers() };
  }
}

const txId = (j: any) => j?.transaction?.id ?? null;
const messageId = (j: any) => j?.message?.id ?? null;

export function newWorld(label: string): World {
  return {
    accounts: new Map(),
    conversations: new Map(),
    requests: new Map(),
    invoices: new Map(),
    paidIn: new Map(),
    keyed: new Map(),
    endpoints: [],
    logs: new Map(),
    messages: new Map(),
    spentRefresh: new Set(),
    refreshing: new Map(),
    violations: [],
    stats: { ops: 0, by_type: {}, faults: {}, statuses: {}, ms: {}, checkpoints: 0, conservation_checked: 0, conservation_skipped: 0, balances_checked: 0 },
    inFlightUntil: 0,
    label,
    failedAtStep: null,
  };
}

async function timed(world: World, what: string, fn: () => Promise<void>) {
  const t = Date.now();
  await fn();
  bump(world.stats.ms, what, Date.now() - t);
}

const bump = (m: Record<string, number>, k: string, by = 1) => void (m[k] = (m[k] ?? 0) + by);

/** Runs `ops` on a fresh world and returns it (violations included); never throws for what the hub does. */
export async function runWorkload(ops: readonly Op[], options: RunOptions): Promise<World> {
  const world = newWorld(options.label);
  await resetKnobs();
  try {
    const all = steps(ops);
    for (let s = 0; s < all.length; s++) {
      const step = all[s]!;
      const faulty = step.some((op) => op.t === "abort" || op.t === "evict");
      await Promise.all(
        step.map(async (op) => {
          const t = Date.now();
          await runOp(world, op, faulty);
          bump(world.stats.ms, op.t === "evict" || op.t === "alarm" ? `${op.t} ${op.actor}` : op.t, Date.now() - t);
        }),
      );
      if (options.checkEvery > 0 && (s + 1) % options.checkEvery === 0) await timed(world, "checkpoint", () => checkpoint(world));
      if (world.violations.length && world.failedAtStep === null) world.failedAtStep = step[0]!.g;
    }
    if (options.plant) await options.plant(world);
    await timed(world, "quiescence", () => settle(world));
    await timed(world, "final checks", () => finalChecks(world));
  } catch (e) {
    world.violations.push({ invariant: "harness", detail: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  } finally {
    await resetKnobs();
  }
  return world;
}

function answerOf(world: World, op: Op, faulty: boolean, r: { status: number; json: any }): Answer {
  bump(world.stats.statuses, r.status >= 400 || r.status === 0 ? `${r.status} ${r.json?.error?.code ?? ""}` : String(r.status));
  // A 500 with no fault in its step is the hub failing on its own. An answer a crash did not prevent is an
  // answer: only a thrown call or a 5xx leaves the outcome unknown.
  if (r.status === 500 && !faulty) world.violations.push({ invariant: "no internal errors", detail: `op ${op.n} (${op.t}) answered 500: ${JSON.stringify(r.json)}` });
  return { status: r.status, json: r.json, uncertain: r.status === 0 || r.status >= 500, step: op.g };
}

/** Sends a keyed request `copies` times at once, recording every answer under its key. */
async function sendKeyed(world: World, op: Op, faulty: boolean, k: Omit<Keyed, "answers" | "op">, copies = 1) {
  const rec = world.keyed.get(k.key) ?? { ...k, op, answers: [] };
  world.keyed.set(k.key, rec);
  const account = world.accounts.get(k.who);
  if (!account) return [];
  const replies = await Promise.all(Array.from({ length: copies }, () => call(k.method, k.path, { body: k.body, token: account.access_token, key: k.key })));
  const answers = replies.map((r) => answerOf(world, op, faulty, r));
  rec.answers.push(...answers);
  return answers;
}

const keyOf = (n: number) => `sim-${n}`;

async function runOp(world: World, op: Op, faulty: boolean): Promise<void> {
  world.stats.ops++;
  bump(world.stats.by_type, op.t);
  const acct = (n: number) => world.accounts.get(n);
  switch (op.t) {
    case "account": {
      const username = uniqueName(`s${op.n}`);
      const r = await call("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
      answerOf(world, op, faulty, r);
      if (r.status === 201) world.accounts.set(op.n, { n: op.n, ...r.json });
      return;
    }
    case "faucet":
      await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.a, method: "POST", path: "/dev/faucet", body: { amount_sat: op.sat }, identity: txId });
      return;
    case "pay": {
      const to = acct(op.b);
      if (!to) return;
      await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.a, method: "POST", path: "/v1/payments/intraledger", body: { to: to.username, amount_sat: op.sat }, identity: txId }, op.copies);
      return;
    }
    case "retry":
    case "conflict": {
      const rec = world.keyed.get(keyOf(op.of));
      if (!rec) return;
      if (op.t === "retry") {
        await sendKeyed(world, op, faulty, rec, 1);
        return;
      }
      const body = alter(rec.body);
      if (body === null) return;
      const account = acct(rec.who);
      if (!account) return;
      const before = rec.answers.filter((a) => !a.uncertain && a.status >= 200 && a.status < 300);
      const r = answerOf(world, op, faulty, await call(rec.method, rec.path, { body, token: account.access_token, key: rec.key }));
      // Taken by this body (the key had no answer stored: a refusal, or never sent): it is a request of its own.
      if (r.status >= 200 && r.status < 300) world.keyed.set(`${rec.key}#${op.n}`, { ...rec, body, answers: [r] });
      // A key that has an answer is taken by its request: another body with it is 409, never a second payment.
      if (before.length && !r.uncertain && r.status !== 409) {
        world.violations.push({ invariant: "idempotency", detail: `op ${op.n}: key ${rec.key} (op ${rec.op.n}, answered ${before[0]!.status}) with another body answered ${r.status} ${JSON.stringify(r.json)}` });
      }
      return;
    }
    case "dm": {
      const [a, b] = [acct(op.a), acct(op.b)];
      if (!a || !b) return;
      const tries = [call("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token })];
      if (op.both) tries.push(call("POST", "/v1/conversations", { body: { members: [a.username] }, token: b.access_token }));
      const replies = (await Promise.all(tries)).map((r) => ({ r, answer: answerOf(world, op, faulty, r) }));
      const ids = new Set(replies.filter(({ r }) => r.status === 200 || r.status === 201).map(({ r }) => r.json.conversation_id as string));
      if (ids.size > 1) world.violations.push({ invariant: "direct conversation once", detail: `op ${op.n}: two ids ${[...ids]}` });
      const [id] = ids;
      if (id) world.conversations.set(op.n, { n: op.n, id, members: [op.a, op.b], direct: true });
      return;
    }
    case "group": {
      const members = op.members.map(acct);
      if (members.some((m) => !m)) return;
      const r = await call("POST", "/v1/conversations", { body: { members: members.slice(1).map((m) => m!.username), title: `g${op.n}` }, token: members[0]!.access_token });
      answerOf(world, op, faulty, r);
      if (r.status === 201) world.conversations.set(op.n, { n: op.n, id: r.json.conversation_id, members: op.members, direct: false });
      return;
    }
    case "text":
    case "chatPay":
    case "request": {
      const conv = world.conversations.get(op.c);
      if (!conv) return;
      const body =
        op.t === "text"
          ? { text: `m${op.n}` }
          : op.t === "request"
            ? { request: { amount_sat: op.sat, text: `r${op.n}` } }
            : { payment: { amount_sat: op.sat, text: `p${op.n}`, ...(conv.direct ? {} : { to: acct(op.to)?.username ?? "nobody" }) } };
      const answers = await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.from, method: "POST", path: `/v1/conversations/${conv.id}/messages`, body, identity: messageId }, op.t === "request" ? 1 : op.copies);
      for (const a of answers) {
        if (a.status !== 201) continue;
        world.messages.set(a.json.message.id, op.c);
        if (op.t === "request") world.requests.set(op.n, { conversation: op.c, message_id: a.json.message.id, from: op.from });
      }
      return;
    }
    case "share": {
      const req = world.requests.get(op.r);
      const conv = req && world.conversations.get(req.conversation);
      if (!req || !conv) return;
      await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.payer, method: "POST", path: `/v1/conversations/${conv.id}/messages/${req.message_id}/pay`, body: undefined, identity: messageId }, op.copies);
      return;
    }
    case "cancel": {
      const req = world.requests.get(op.r);
      const conv = req && world.conversations.get(req.conversation);
      const from = req && acct(req.from);
      if (!req || !conv || !from) return;
      answerOf(world, op, faulty, await call("POST", `/v1/conversations/${conv.id}/messages/${req.message_id}/cancel`, { token: from.access_token }));
      return;
    }
    case "rotate": {
      const a = acct(op.a);
      const endpoint = world.endpoints.find((e) => e.account === op.a);
      if (!a || !endpoint) return;
      const r = await call("POST", `/v1/webhooks/${endpoint.id}/rotate-secret`, { token: a.access_token });
      answerOf(world, op, faulty, r);
      if (r.status === 200) endpoint.secrets.push(r.json.secret);
      return;
    }
    case "invoice": {
      const a = acct(op.a);
      if (!a) return;
      const r = await call("POST", "/v1/invoices", { body: op.sat === null ? { memo: `i${op.n}` } : { amount_sat: op.sat, memo: `i${op.n}` }, token: a.access_token });
      answerOf(world, op, faulty, r);
      if (r.status === 201) world.invoices.set(op.n, { account: op.a, payment_request: r.json.payment_request, payment_hash: r.json.payment_hash, amountless: op.sat === null });
      return;
    }
    case "payIn": {
      const inv = world.invoices.get(op.inv);
      if (!inv) return;
      if (op.drop) bump(world.stats.faults, "invoice event dropped");
      const r = await sim("/sim/pay", { payment_request: inv.payment_request, wait_ms: op.wait_ms, drop_invoice_events: op.drop, ...(inv.amountless ? { amount_sat: op.sat } : {}) });
      bump(world.stats.statuses, `sim/pay ${r.json?.status ?? r.json?.error?.code ?? r.status}`);
      if (r.status === 200 && (r.json.status === "succeeded" || r.json.status === "pending")) {
        world.paidIn.set(inv.payment_hash, { account: inv.account, amount_msat: r.json.amount_msat, status: r.json.status });
      }
      return;
    }
    case "payInternal": {
      const inv = world.invoices.get(op.inv);
      if (!inv) return;
      await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.a, method: "POST", path: "/v1/payments/lightning", body: { payment_request: inv.payment_request, ...(inv.amountless ? { amount_sat: 7 } : {}) }, identity: txId }, op.copies);
      return;
    }
    case "payOut": {
      if (!acct(op.a)) return;
      const knobs =
        op.fault === "no_route"
          ? { no_route: true }
          : op.fault === "fail"
            ? { payment_outcome: "fail" }
            : op.fault === "in_flight" || op.fault === "in_flight_fail"
              ? { payment_in_flight_ms: op.ms, payment_outcome: op.fault === "in_flight" ? "succeed" : "fail" }
              : undefined;
      if (op.fault !== "none") bump(world.stats.faults, `payment ${op.fault}`);
      const inv = await sim("/sim/invoices", { amount_sat: op.sat, memo: `o${op.n}`, ...(knobs ? { knobs } : {}) });
      if (inv.status === 0) return; // the outside world never got its invoice made
      if (inv.status !== 200) {
        world.violations.push({ invariant: "harness", detail: `op ${op.n}: the simulator refused an invoice: ${JSON.stringify(inv.json)}` });
        return;
      }
      if (op.ms) world.inFlightUntil = Math.max(world.inFlightUntil, Date.now() + op.ms + 200);
      await sendKeyed(world, op, faulty, { key: keyOf(op.n), who: op.a, method: "POST", path: "/v1/payments/lightning", body: { payment_request: inv.json.payment_request }, identity: txId }, op.copies);
      return;
    }
    case "knobs": {
      if (Object.keys(op.knobs).length) bump(world.stats.faults, `knobs ${Object.keys(op.knobs).join(",")}`);
      const r = await sim("/sim/knobs", op.knobs);
      if (r.status !== 200) world.violations.push({ invariant: "harness", detail: `op ${op.n}: knobs refused: ${JSON.stringify(r.json)}` });
      return;
    }
    case "webhook": {
      const a = acct(op.a);
      if (!a) return;
      if (op.fail_first) bump(world.stats.faults, "webhook receiver failing");
      const token = `${world.label}-${op.n}-${uniqueName("h")}`;
      const url = `http://127.0.0.1:9999/hooks/${token}${op.fail_first ? `?fail_first=${op.fail_first}` : ""}`;
      const r = await call("POST", "/v1/webhooks", { body: { url, events: ["*"] }, token: a.access_token });
      answerOf(world, op, faulty, r);
      if (r.status !== 201) return;
      // Every event committed after the endpoint exists reaches it: those after the log's end as it is now.
      const after_seq = (await walletStub(a.wallet_id).books()).max_seq;
      world.endpoints.push({ account: op.a, id: r.json.id, secrets: [r.json.secret], token, fail_first: op.fail_first, after_seq });
      return;
    }
    case "refresh": {
      const a = acct(op.a);
      if (!a) return;
      // A client refreshes one at a time (two refreshes at once present the same token, which is its reuse:
      // the hub then revokes the session, as it should): this account's refreshes wait for each other.
      const before = world.refreshing.get(op.a) ?? Promise.resolve();
      const mine = before.then(() => refresh(world, op, a, faulty));
      world.refreshing.set(op.a, mine);
      await mine;
      return;
    }
    case "evict":
    case "alarm": {
      const stub = stubOf(world, op.actor, op.i);
      if (!stub) return;
      if (op.t === "evict") bump(world.stats.faults, `evict ${op.actor}`);
      if (op.delay_ms) await new Promise((r) => setTimeout(r, op.delay_ms));
      try {
        if (op.t === "evict") await evictDurableObject(stub);
        else await runDurableObjectAlarm(stub);
      } catch (e) {
        bump(world.stats.statuses, `${op.t} ${op.actor} threw: ${String(e).slice(0, 100)}`);
        if (op.t === "alarm" && !faulty) world.violations.push({ invariant: "alarms do not throw", detail: `op ${op.n}: ${op.actor} alarm threw ${String(e)}` });
      }
      return;
    }
    case "abort":
      bump(world.stats.faults, "abort all");
      if (op.delay_ms) await new Promise((r) => setTimeout(r, op.delay_ms));
      try {
        await abortAllDurableObjects();
      } catch {
        bump(world.stats.statuses, "abort threw");
      }
      return;
    case "wait":
      await new Promise((r) => setTimeout(r, op.ms));
      return;
  }
}

async function refresh(world: World, op: Op & { t: "refresh" }, a: Account, faulty: boolean): Promise<void> {
  if (world.spentRefresh.has(op.a)) {
    const login = await call("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } });
    answerOf(world, op, faulty, login);
    if (login.status === 200) {
      Object.assign(a, { access_token: login.json.access_token, refresh_token: login.json.refresh_token });
      world.spentRefresh.delete(op.a);
    }
    return;
  }
  const r = await call("POST", "/v1/auth/refresh", { body: { refresh_token: a.refresh_token } });
  const answer = answerOf(world, op, faulty, r);
  if (r.status === 200) {
    Object.assign(a, { access_token: r.json.access_token, refresh_token: r.json.refresh_token });
    const check = await call("GET", "/v1/wallet", { token: a.access_token });
    if (check.status !== 200 && !faulty) world.violations.push({ invariant: "token refresh", detail: `op ${op.n}: the refreshed access token answered ${check.status}` });
  } else if (answer.uncertain) {
    world.spentRefresh.add(op.a);
  } else {
    world.violations.push({ invariant: "token refresh", detail: `op ${op.n}: an unspent refresh token answered ${r.status} ${JSON.stringify(r.json)}` });
    world.spentRefresh.add(op.a);
  }
}

/** The same request with another body (a conflict), or null when it has none to change. */
function alter(body: unknown): unknown {
  if (!body || typeof body !== "object") return null;
  const b = body as Record<string, any>;
  if ("amount_sat" in b) return { ...b, amount_sat: b.amount_sat + 1 };
  if ("text" in b) return { ...b, text: `${b.text}!` };
  if (b.payment) return { payment: { ...b.payment, amount_sat: b.payment.amount_sat + 1 } };
  if (b.request) return { request: { ...b.request, amount_sat: b.request.amount_sat + 1 } };
  if (b.payment_request) return { ...b, max_fee_sat: 1 };
  return null;
}

function stubOf(world: World, kind: ActorKind, i: number): DurableObjectStub | null {
  if (kind === "node") return nodeStub();
  if (kind === "conversation") {
    const c = world.conversations.get(i);
    return c ? conversationStub(c.id) : null;
  }
  const a = world.accounts.get(i);
  if (!a) return null;
  if (kind === "wallet") return walletStub(a.wallet_id) as unknown as DurableObjectStub;
  return world.endpoints.some((e) => e.account === i) ? webhookStub(a.account_id) : null;
}

/**
 * Quiescence: the simulator's faults off, payments held in flight resolved, every request whose
 * answer was lost sent once more, then every actor touched woken by its alarm until nothing is left
 * to do (transfers delivered, payments final, chat intents and mailboxes empty, webhooks delivered).
 */
export async function settle(world: World): Promise<void> {
  await resetKnobs();
  const wait = world.inFlightUntil - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // A request whose every answer was lost (a crash in its step, a 5xx): the client sends it again.
  for (const rec of world.keyed.values()) {
    if (rec.answers.length && rec.answers.every((a) => a.uncertain)) {
      const account = world.accounts.get(rec.who);
      if (!account) continue;
      const r = await call(rec.method, rec.path, { body: rec.body, token: account.access_token, key: rec.key });
      rec.answers.push({ status: r.status, json: r.json, uncertain: r.status === 0 || r.status >= 500, step: Number.MAX_SAFE_INTEGER });
      if (r.status === 201 && r.json?.message?.id && rec.path.endsWith("/messages")) world.messages.set(r.json.message.id, rec.op.t === "text" || rec.op.t === "chatPay" || rec.op.t === "request" ? rec.op.c : -1);
    }
  }
  for (let round = 0; round < 40; round++) {
    const stubs: DurableObjectStub[] = [nodeStub()];
    for (const a of world.accounts.values()) stubs.push(walletStub(a.wallet_id) as unknown as DurableObjectStub);
    for (const c of world.conversations.values()) stubs.push(conversationStub(c.id));
    for (const id of new Set(world.endpoints.map((e) => world.accounts.get(e.account)!.account_id))) stubs.push(webhookStub(id));
    for (const stub of stubs) await runDurableObjectAlarm(stub).catch(() => undefined);
    if (await quiet(world)) return;
    await new Promise((r) => setTimeout(r, round < 10 ? 20 : 200));
  }
  world.violations.push({ invariant: "quiescence", detail: `still busy after 40 rounds: ${await busy(world)}` });
}

async function quiet(world: World): Promise<boolean> {
  return (await busy(world)) === "";
}

/** What is still to be done, in words ("" when nothing). */
export async function busy(world: World): Promise<string> {
  const left: string[] = [];
  for (const a of world.accounts.values()) {
    const b = await walletStub(a.wallet_id).books();
    if (b.undelivered_transfers || b.in_flight_msat || b.holds_msat) left.push(`wallet #${a.n}: ${b.undelivered_transfers} undelivered, ${b.in_flight_msat} in flight, ${b.holds_msat} held`);
  }
  for (const c of world.conversations.values()) {
    const state: { intents: number; mail: number } = await runInDurableObject(conversationStub(c.id) as unknown as DurableObjectStub<ConversationActor>, (actor: ConversationActor) => ({
      intents: actor.payments.pendingIntents(),
      mail: actor.mailboxes.undelivered(),
    }));
    if (state.intents || state.mail) left.push(`conversation #${c.n}: ${state.intents} intents, ${state.mail} undelivered`);
  }
  for (const e of world.endpoints) {
    const a = world.accounts.get(e.account)!;
    const pending = await call("GET", `/v1/webhooks/${e.id}/deliveries?status=pending&limit=100`, { token: a.access_token });
    if (pending.status === 200 && pending.json.deliveries.length) left.push(`endpoint of #${e.account}: ${pending.json.deliveries.length} pending deliveries`);
  }
  return left.join("; ");
}
