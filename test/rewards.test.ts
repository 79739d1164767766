import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RewardProgramActor } from "../durable/reward-program-actor";
import { verifyAuditChain } from "../src/audit";
import { requestFingerprint } from "../src/idempotency";
import { checkRewardsPaid, type RewardPayload } from "../src/rewards";
import { rewardDirectory, rewardProgramActor } from "../workers/env";
import { api, auditOf, balanceOf, createAccount, expectConservation, expectConsistentBooks, newKey, testEnv, uniqueName, walletStub, type TestAccount } from "./helpers";

const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
const programStub = (program_id: string) => rewardProgramActor(testEnv, program_id);
const errorOf = (r: { status: number; json: any }) => [r.status, r.json?.error?.code];

interface NewProgram {
  name?: string;
  amount_sat?: number;
  budget_sat?: number;
  ends_at?: string;
}

async function createProgram(p: NewProgram = {}, key?: string) {
  const body = { name: p.name ?? uniqueName("reward"), amount_sat: p.amount_sat ?? 100, budget_sat: p.budget_sat ?? 1000, ...(p.ends_at ? { ends_at: p.ends_at } : {}) };
  const r = await api("POST", "/v1/admin/rewards", { body, token: ADMIN, key });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json as { program_id: string; name: string; amount_msat: number; budget_msat: number; remaining_msat: number };
}

const claim = (a: TestAccount, program_id: string, key = newKey()) => api("POST", `/v1/rewards/${program_id}/claim`, { token: a.access_token, key });

/** The program's books: consistent (funded = paid + in flight + remaining, every journal balanced, each claim paid once). */
async function programBooks(program_id: string) {
  const books = await programStub(program_id).books();
  expect(books).not.toBeNull();
  expect(books!.problems).toEqual([]);
  expect(books!.funded_msat).toBe(books!.paid_msat + books!.in_flight_msat + books!.remaining_msat);
  return books!;
}

async function rewardTransactions(a: TestAccount) {
  const history = await api("GET", "/v1/wallet/transactions?limit=100", { token: a.access_token });
  return history.json.transactions.filter((t: any) => t.kind === "reward");
}

/** Every page of GET /v1/rewards for an account. */
async function listedPrograms(a: TestAccount): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const r: any = await api("GET", `/v1/rewards?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: a.access_token });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    all.push(...r.json.programs);
    cursor = r.json.next_cursor;
  } while (cursor);
  return all;
}

/** Runs only step 1 of a claim (the program's commit: claim row, budget → in flight, outbox), as if the actor crashed right after. */
async function recordOnly(program_id: string, a: TestAccount, key = newKey()) {
  // The key as the actor keeps it (the claimant's), with the route's fingerprint: the same request's replay finds it.
  const idempotency = { key: `${a.account_id}:${key}`, fingerprint: await requestFingerprint("POST /v1/rewards/{program_id}/claim", { program_id }) };
  const stub = programStub(program_id) as unknown as DurableObjectStub<RewardProgramActor>;
  const recorded = await runInDurableObject(stub, (actor: RewardProgramActor) =>
    actor.claims.record(actor.program.get()!, { account_id: a.account_id, wallet_id: a.wallet_id, idempotency, frozen: false }),
  );
  if (!recorded.ok) throw new Error(`claim refused: ${recorded.message}`);
  return { claim_id: recorded.item.id, payload: JSON.parse(recorded.item.payload) as RewardPayload };
}

describe("reward programs: creation (operator only)", () => {
  it("takes only the admin key: no key, garbage, an account's token or API key are 401 and create nothing", async () => {
    const a = await createAccount("rw");
    const apiKey = (await api("POST", "/v1/api-keys", { body: { name: "all", scopes: ["read", "receive", "send"] }, token: a.access_token })).json.key;
    const name = uniqueName("refused");
    for (const token of [undefined, "garbage", a.access_token, apiKey, ADMIN.slice(0, -1) + (ADMIN.endsWith("0") ? "1" : "0")]) {
      const r = await api("POST", "/v1/admin/rewards", { body: { name, amount_sat: 10, budget_sat: 100 }, token });
      expect(errorOf(r), String(token).slice(0, 12)).toEqual([401, "unauthorized"]);
    }
    expect((await listedPrograms(a)).filter((p) => p.name === name)).toEqual([]);
  });

  it("creates a funded program: its books, its audit entry, listed for accounts", async () => {
    const a = await createAccount("rw");
    const ends_at = new Date(Date.now() + 3_600_000).toISOString();
    const p = await createProgram({ amount_sat: 21, budget_sat: 2100, ends_at });
    expect(p).toMatchObject({ amount_msat: 21_000, budget_msat: 2_100_000, remaining_msat: 2_100_000, in_flight_msat: 0, paid_msat: 0, claims: 0, ends_at, status: "open" });
    expect(p.program_id).toMatch(/^rwp_[0-9a-f]{32}$/);
    const books = await programBooks(p.program_id);
    expect(books).toMatchObject({ funded_msat: 2_100_000, remaining_msat: 2_100_000, paid_msat: 0, in_flight_msat: 0 });

    const detail = await api("GET", `/v1/admin/rewards/${p.program_id}`, { token: ADMIN });
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({ program_id: p.program_id, books_balanced: true, problems: [] });
    expect(detail.json.audit).toHaveLength(1);
    expect(detail.json.audit[0]).toMatchObject({ chain: "reward_program", seq: 1, type: "reward_program.created", data: { program_id: p.program_id, name: p.name, amount_sat: 21, budget_sat: 2100, ends_at } });
    expect(verifyAuditChain(detail.json.audit).ok).toBe(true);
    expect(errorOf(await api("GET", `/v1/admin/rewards/${p.program_id}`, { token: a.access_token }))).toEqual([401, "unauthorized"]);
    expect(errorOf(await api("GET", `/v1/admin/rewards/rwp_${"0".repeat(32)}`, { token: ADMIN }))).toEqual([404, "not_found"]);

    const listed = (await listedPrograms(a)).find((l) => l.program_id === p.program_id);
    expect(listed).toMatchObject({ name: p.name, amount_msat: 21_000, budget_msat: 2_100_000, remaining_msat: 2_100_000, status: "open", claimed: false, claim: null });
  });

  it("with an Idempotency-Key: a retry answers the same program; the key with another body is 409; no key, a new program each time", async () => {
    const key = newKey();
    const name = uniqueName("idem");
    const first = await createProgram({ name, budget_sat: 500 }, key);
    const again = await createProgram({ name, budget_sat: 500 }, key);
    expect(again.program_id).toBe(first.program_id);
    expect((await programBooks(first.program_id)).funded_msat).toBe(500_000); // funded once
    const other = await api("POST", "/v1/admin/rewards", { body: { name, amount_sat: 100, budget_sat: 600 }, token: ADMIN, key });
    expect(errorOf(other)).toEqual([409, "idempotency_conflict"]);
    const [x, y] = [await createProgram({ name }), await createProgram({ name })];
    expect(x.program_id).not.toBe(y.program_id);
  });

  it("bad input is 400 invalid_request and creates nothing", async () => {
    const a = await createAccount("rw");
    const name = uniqueName("bad");
    const bodies: unknown[] = [
      { name, amount_sat: 0, budget_sat: 100 },
      { name, amount_sat: 100, budget_sat: 99 },
      { name, amount_sat: 1.5, budget_sat: 100 },
      { name, amount_sat: -1, budget_sat: 100 },
      { name, amount_sat: 10, budget_sat: 1e13 },
      { name: "", amount_sat: 10, budget_sat: 100 },
      { name: "   ", amount_sat: 10, budget_sat: 100 },
      { name: "x".repeat(101), amount_sat: 10, budget_sat: 100 },
      { name, amount_sat: 10 },
      { name, amount_sat: 10, budget_sat: 100, extra: true },
      { name, amount_sat: "10", budget_sat: 100 },
      { name, amount_sat: 10, budget_sat: 100, ends_at: "tomorrow" },
      { name, amount_sat: 10, budget_sat: 100, ends_at: new Date(Date.now() - 1000).toISOString() },
    ];
    for (const body of bodies) {
      const r = await api("POST", "/v1/admin/rewards", { body, token: ADMIN });
      expect(errorOf(r), JSON.stringify(body)).toEqual([400, "invalid_request"]);
      expect(typeof r.json.error.message).toBe("string");
    }
    expect(errorOf(await api("POST", "/v1/admin/rewards", { raw: "{not json", token: ADMIN }))).toEqual([400, "invalid_request"]);
    expect((await listedPrograms(a)).filter((p) => p.name === name || p.name === "x".repeat(101))).toEqual([]);
  });
});

describe("claims", () => {
  it("credit the wallet once (a reward transaction and reward.credited); the same key replays; a new key is already_claimed", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 100, budget_sat: 1000 });
    const key = newKey();
    const first = await claim(a, p.program_id, key);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json).toMatchObject({ program_id: p.program_id, amount_msat: 100_000, status: "succeeded" });
    expect(first.json.claim_id).toMatch(/^rwc_[0-9a-f]{32}$/);
    expect(first.json.transaction_id).toMatch(/^tx_[0-9a-f]{32}$/);
    expect(await balanceOf(a)).toBe(100_000);

    const replay = await claim(a, p.program_id, key);
    expect(replay.status).toBe(200);
    expect(replay.json).toEqual(first.json);
    const second = await claim(a, p.program_id);
    expect(errorOf(second)).toEqual([409, "already_claimed"]);
    expect(await balanceOf(a)).toBe(100_000);

    const txs = await rewardTransactions(a);
    expect(txs).toHaveLength(1);
    expect(txs[0]).toMatchObject({ id: first.json.transaction_id, kind: "reward", direction: "in", amount_msat: 100_000, fee_msat: 0, status: "succeeded", counterparty: null, memo: p.name });
    const events = (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events;
    expect(events.map((e: any) => e.type)).toEqual(["reward.credited"]);
    expect(events[0].data).toMatchObject({ balance_msat: 100_000, program_id: p.program_id, claim_id: first.json.claim_id, transaction: { id: first.json.transaction_id, kind: "reward" } });

    const books = await programBooks(p.program_id);
    expect(books).toMatchObject({ funded_msat: 1_000_000, paid_msat: 100_000, in_flight_msat: 0, remaining_msat: 900_000, claims_succeeded: 1 });
    const wallet = await auditOf(a.wallet_id);
    expectConsistentBooks(wallet);
    expect(wallet.rewards_msat).toBe(-100_000);
    expectConservation([wallet]);
    expect(checkRewardsPaid([books], [wallet])).toEqual([]);

    const listed = (await listedPrograms(a)).find((l) => l.program_id === p.program_id);
    expect(listed).toMatchObject({ remaining_msat: 900_000, status: "open", claimed: true, claim: { claim_id: first.json.claim_id, status: "succeeded", credited_at: expect.any(String) } });
    const other = await createAccount("rw");
    expect((await listedPrograms(other)).find((l) => l.program_id === p.program_id)).toMatchObject({ claimed: false, claim: null });
  });

  it("100 concurrent claims from 100 accounts against a budget for 10: exactly 10 credited, 90 budget_spent, budget 0, money conserved", async () => {
    const accounts: TestAccount[] = [];
    for (let i = 0; i < 100; i += 25) accounts.push(...(await Promise.all(Array.from({ length: 25 }, () => createAccount("rc")))));
    const p = await createProgram({ amount_sat: 250, budget_sat: 2500 });
    const replies = await Promise.all(accounts.map((a) => claim(a, p.program_id)));
    const statuses = replies.map((r) => (r.status === 200 ? `200 ${r.json.status}` : `${r.status} ${r.json.error.code}`));
    expect(statuses.filter((s) => s === "200 succeeded")).toHaveLength(10);
    expect(statuses.filter((s) => s === "422 budget_spent")).toHaveLength(90);

    const books = await programBooks(p.program_id);
    expect(books).toMatchObject({ funded_msat: 2_500_000, remaining_msat: 0, in_flight_msat: 0, paid_msat: 2_500_000, claims_succeeded: 10, claims_pending: 0, claims_failed: 0 });
    const wallets = await Promise.all(accounts.map((a) => auditOf(a.wallet_id)));
    const credited = wallets.filter((w) => w.balance_msat > 0);
    expect(credited).toHaveLength(10);
    for (const w of credited) expect(w).toMatchObject({ balance_msat: 250_000, rewards_msat: -250_000, event_count: 1, max_seq: 1 });
    expectConservation(wallets); // gapless event logs, consistent books, Σ balances = Σ rewards credited
    expect(checkRewardsPaid([books], wallets)).toEqual([]);
    // Those who were refused got nothing: no transaction, no event.
    for (const [i, r] of replies.entries()) if (r.status !== 200) expect(wallets[i]).toMatchObject({ balance_msat: 0, event_count: 0, history_sum_msat: 0 });
    expect((await listedPrograms(accounts[0]!)).find((l) => l.program_id === p.program_id)).toMatchObject({ remaining_msat: 0, status: "spent" });
  });

  it("an ended program is refused (410 program_ended), nothing moves", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 10, budget_sat: 100, ends_at: new Date(Date.now() + 1200).toISOString() });
    await new Promise((r) => setTimeout(r, 1300));
    expect(errorOf(await claim(a, p.program_id))).toEqual([410, "program_ended"]);
    expect(await balanceOf(a)).toBe(0);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 100_000, paid_msat: 0, claims_pending: 0, claims_succeeded: 0 });
    expect((await listedPrograms(a)).find((l) => l.program_id === p.program_id)).toMatchObject({ status: "ended", claimed: false });
  });

  it("bad claims are 4xx in the contract's shape and change nothing", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 10, budget_sat: 100 });
    expect(errorOf(await api("POST", `/v1/rewards/${p.program_id}/claim`, { token: a.access_token }))).toEqual([400, "invalid_request"]); // no Idempotency-Key
    expect(errorOf(await api("POST", `/v1/rewards/${p.program_id}/claim`, { token: a.access_token, key: "bad key!" }))).toEqual([400, "invalid_request"]);
    expect(errorOf(await claim(a, "not-a-program"))).toEqual([400, "invalid_request"]);
    expect(errorOf(await claim(a, `rwp_${"0".repeat(32)}`))).toEqual([404, "not_found"]);
    expect(errorOf(await api("POST", `/v1/rewards/${p.program_id}/claim`, { key: newKey() }))).toEqual([401, "unauthorized"]);
    const readKey = (await api("POST", "/v1/api-keys", { body: { name: "read", scopes: ["read"] }, token: a.access_token })).json.key;
    expect(errorOf(await api("POST", `/v1/rewards/${p.program_id}/claim`, { token: readKey, key: newKey() }))).toEqual([403, "forbidden"]);
    expect(errorOf(await api("GET", "/v1/rewards?limit=0", { token: a.access_token }))).toEqual([400, "invalid_request"]);
    expect(errorOf(await api("GET", "/v1/rewards?cursor=abc", { token: a.access_token }))).toEqual([400, "invalid_request"]);
    expect(await balanceOf(a)).toBe(0);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 100_000, claims_pending: 0, claims_succeeded: 0, claims_failed: 0 });
    // A key with the receive scope claims.
    const receiveKey = (await api("POST", "/v1/api-keys", { body: { name: "receive", scopes: ["receive"] }, token: a.access_token })).json.key;
    expect((await api("POST", `/v1/rewards/${p.program_id}/claim`, { token: receiveKey, key: newKey() })).json.status).toBe("succeeded");
  });

  it("another account's Idempotency-Key of the same text is its own key", async () => {
    const [a, b] = [await createAccount("rw"), await createAccount("rw")];
    const p = await createProgram({ amount_sat: 10, budget_sat: 100 });
    const key = newKey();
    const [ra, rb] = [await claim(a, p.program_id, key), await claim(b, p.program_id, key)];
    expect([ra.json.status, rb.json.status]).toEqual(["succeeded", "succeeded"]);
    expect(ra.json.claim_id).not.toBe(rb.json.claim_id);
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([10_000, 10_000]);
  });

  it("a frozen account cannot claim (403 account_frozen); a claim made before the freeze is still credited", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 10, budget_sat: 100 });
    expect((await api("POST", `/v1/admin/accounts/${a.account_id}/freeze`, { body: { reason: "review" }, token: ADMIN })).status).toBe(200);
    expect(errorOf(await claim(a, p.program_id))).toEqual([403, "account_frozen"]);
    expect(await balanceOf(a)).toBe(0);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 100_000, claims_pending: 0, claims_succeeded: 0 });
    expect((await api("POST", `/v1/admin/accounts/${a.account_id}/unfreeze`, { token: ADMIN })).status).toBe(200);
    expect((await claim(a, p.program_id)).json.status).toBe("succeeded");

    // Claimed, then frozen before the credit arrived: receiving goes on.
    const b = await createAccount("rw");
    await recordOnly(p.program_id, b);
    expect((await api("POST", `/v1/admin/accounts/${b.account_id}/freeze`, { token: ADMIN })).status).toBe(200);
    expect(await runDurableObjectAlarm(programStub(p.program_id))).toBe(true);
    expect(await balanceOf(b)).toBe(10_000);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 80_000, paid_msat: 20_000, in_flight_msat: 0 });
  });
});

describe("claim faults: the wallet is credited exactly once", () => {
  it("the program's actors aborted between the claim's commit and its delivery: the stored alarm delivers, and the key replays it", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 30, budget_sat: 300 });
    const key = newKey();
    const { claim_id } = await recordOnly(p.program_id, a, key);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 270_000, in_flight_msat: 30_000, paid_msat: 0, claims_pending: 1 });
    await abortAllDurableObjects();
    expect(await balanceOf(a)).toBe(0);
    expect(await runDurableObjectAlarm(programStub(p.program_id))).toBe(true);
    expect(await balanceOf(a)).toBe(30_000);
    expect(await programBooks(p.program_id)).toMatchObject({ remaining_msat: 270_000, in_flight_msat: 0, paid_msat: 30_000, claims_succeeded: 1 });
    // The request's key (as the route namespaces it) replays the claim, now succeeded; a new key is refused.
    const replay = await claim(a, p.program_id, key);
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ claim_id, status: "succeeded" });
    expect(errorOf(await claim(a, p.program_id))).toEqual([409, "already_claimed"]);
    expect(await rewardTransactions(a)).toHaveLength(1);
    const wallet = await auditOf(a.wallet_id);
    expectConservation([wallet]);
  });

  it("the program evicted after the wallet credited but before it heard back: redelivery credits nothing twice", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 40, budget_sat: 400 });
    const { payload } = await recordOnly(p.program_id, a);
    const credited = await walletStub(a.wallet_id).receiveReward(payload);
    expect(credited).toMatchObject({ ok: true, duplicate: false });
    expect(await walletStub(a.wallet_id).receiveReward(payload)).toMatchObject({ ok: true, duplicate: true, transaction_id: (credited as any).transaction_id });
    await evictDurableObject(programStub(p.program_id));
    expect(await runDurableObjectAlarm(programStub(p.program_id))).toBe(true);
    expect(await balanceOf(a)).toBe(40_000);
    const txs = await rewardTransactions(a);
    expect(txs).toHaveLength(1);
    expect(await programBooks(p.program_id)).toMatchObject({ paid_msat: 40_000, in_flight_msat: 0, claims_succeeded: 1 });
    const listed = (await listedPrograms(a)).find((l) => l.program_id === p.program_id);
    expect(listed.claim).toMatchObject({ status: "succeeded", transaction_id: txs[0].id });
    expectConservation([await auditOf(a.wallet_id)]);
  });

  it("the wallet evicted before delivery: the alarm retries until it answers, credited once", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 50, budget_sat: 500 });
    await recordOnly(p.program_id, a);
    await evictDurableObject(walletStub(a.wallet_id));
    await runDurableObjectAlarm(programStub(p.program_id));
    await runDurableObjectAlarm(programStub(p.program_id));
    expect(await balanceOf(a)).toBe(50_000);
    expect(await rewardTransactions(a)).toHaveLength(1);
    expectConservation([await auditOf(a.wallet_id)]);
  });

  it("a program created while the directory was unreachable is listed by its alarm", async () => {
    const a = await createAccount("rw");
    const p = await createProgram({ amount_sat: 10, budget_sat: 100 });
    // As if the listing had not arrived: the program's row says unlisted; the alarm lists it (once: the id is unique).
    await runInDurableObject(programStub(p.program_id), (_a, state) => state.storage.sql.exec("UPDATE program SET listed_at = NULL"));
    expect(await runDurableObjectAlarm(programStub(p.program_id))).toBe(true);
    const listed = (await listedPrograms(a)).filter((l) => l.program_id === p.program_id);
    expect(listed).toHaveLength(1);
    const page = await rewardDirectory(testEnv).page(100, null);
    expect(page.program_ids.filter((id) => id === p.program_id)).toHaveLength(1);
  });
});
