import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { solvencyShard, solvencyShardFor } from "../durable/env";
import {
  addTotals,
  lndBalanceMsat,
  solvencyReport,
  solvencyShardOf,
  sumSnapshots,
  SOLVENCY_PUSH_DELAY_MS,
  SOLVENCY_SHARDS,
  walletBooksProblems,
  walletSnapshot,
  type SnapshotTotals,
  type WalletSnapshot,
} from "../src/solvency";
import { api, auditOf, createAccount, fund, newKey, pay, testEnv, waitFor, walletStub, type TestAccount, simLnd as lnd } from "./helpers";

const ADMIN_KEY = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
const solvency = (token = ADMIN_KEY) => api("GET", "/v1/admin/solvency", { token });

const sim = (path: string, body: unknown) =>
  testEnv.LND_SIM!.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

/** Every test leaves the simulator as it found it. */
afterEach(async () => {
  await sim("/sim/knobs", {});
});

const fakeWalletId = () => `wal_${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
const snapshotOf = (wallet_id: string, version: number, figures: Partial<WalletSnapshot> = {}): WalletSnapshot => ({
  wallet_id,
  version,
  balance_msat: 0,
  holds_msat: 0,
  in_flight_msat: 0,
  peers_msat: 0,
  books_balanced: true,
  ...figures,
});

/** Every snapshot of every shard (a test's storage may hold other tests' wallets too). */
async function allSnapshots(): Promise<WalletSnapshot[]> {
  const all: WalletSnapshot[] = [];
  for (let n = 0; n < SOLVENCY_SHARDS; n++) {
    for (let after: string | null = null; ; ) {
      const page: WalletSnapshot[] = await solvencyShard(testEnv, n).snapshots(after, 1000);
      all.push(...page);
      if (page.length < 1000) break;
      after = page.at(-1)!.wallet_id;
    }
  }
  return all;
}

/**
 * The route's answer and the snapshots it was summed from, read while no snapshot changed (another
 * wallet's push between the reads is retried; the suites' wallets push on their own timers).
 */
async function stableReport() {
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = await allSnapshots();
    const r = await solvency();
    const after = await allSnapshots();
    if (JSON.stringify(before) === JSON.stringify(after)) return { report: r, snapshots: after };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("the shards kept changing");
}

/** Lets every transfer of these wallets be acknowledged (the outbox's alarm), then pushes each one's snapshot. */
async function settleAndPush(accounts: readonly TestAccount[]) {
  for (const a of accounts) while ((await auditOf(a.wallet_id)).undelivered_transfers > 0) await runDurableObjectAlarm(walletStub(a.wallet_id));
  for (const a of accounts) await walletStub(a.wallet_id).pushSolvency();
}

describe("solvency: the pure parts (src/solvency.ts)", () => {
  it("a wallet's shard is a stable hash of its id, spread over every shard", () => {
    const ids = Array.from({ length: 2000 }, fakeWalletId);
    const counts = new Array<number>(SOLVENCY_SHARDS).fill(0);
    for (const id of ids) {
      const shard = solvencyShardOf(id);
      expect(shard).toBe(solvencyShardOf(id));
      expect(Number.isInteger(shard) && shard >= 0 && shard < SOLVENCY_SHARDS).toBe(true);
      counts[shard]!++;
    }
    // 125 expected per shard; far from any of them would mean a poor hash.
    for (const c of counts) expect(c).toBeGreaterThan(60);
  });

  it("a wallet's books balance when its accounts sum to zero, nothing is negative, and memory agrees", () => {
    const balanced = { balances: { wallet: 700, faucet: -1000, in_flight: 100, peers: 200 }, memory_balance_msat: 700 };
    expect(walletBooksProblems(balanced)).toEqual([]);
    expect(walletBooksProblems({ balances: {}, memory_balance_msat: null })).toEqual([]);
    expect(walletBooksProblems({ ...balanced, balances: { ...balanced.balances, faucet: -999 } })).toEqual(["the ledger's accounts sum to 1, not 0"]);
    expect(walletBooksProblems({ balances: { wallet: -5, faucet: 5 }, memory_balance_msat: null })).toEqual(["negative wallet -5"]);
    expect(walletBooksProblems({ balances: { wallet: 10, holds: -10 }, memory_balance_msat: null })).toEqual(["negative holds -10"]);
    expect(walletBooksProblems({ ...balanced, memory_balance_msat: 701 })).toEqual(["balance in memory 701 ≠ stored 700"]);
    expect(walletSnapshot("wal_x", 7, balanced)).toEqual({ wallet_id: "wal_x", version: 7, balance_msat: 700, holds_msat: 0, in_flight_msat: 100, peers_msat: 200, books_balanced: true });
    expect(walletSnapshot("wal_x", 7, { ...balanced, memory_balance_msat: 1 }).books_balanced).toBe(false);
  });

  it("sums the newest snapshot of each wallet once, whatever arrives twice or late", () => {
    const [a, b] = [fakeWalletId(), fakeWalletId()];
    const newest = [snapshotOf(a, 5, { balance_msat: 500, peers_msat: 100 }), snapshotOf(b, 3, { balance_msat: 300, holds_msat: 20, in_flight_msat: 10, books_balanced: false })];
    const expected: SnapshotTotals = { wallets: 2, unbalanced_wallets: 1, balance_msat: 800, holds_msat: 20, in_flight_msat: 10, peers_msat: 100 };
    expect(sumSnapshots(newest)).toEqual(expected);
    // Redelivered and out of order: an older version of a before and after the newest, b twice.
    expect(sumSnapshots([snapshotOf(a, 4, { balance_msat: 1 }), newest[1]!, newest[0]!, newest[1]!, snapshotOf(a, 2, { balance_msat: 9 })])).toEqual(expected);
    expect(addTotals(sumSnapshots([newest[0]!]), sumSnapshots([newest[1]!]))).toEqual(expected);
    expect(addTotals()).toEqual(sumSnapshots([]));
  });

  it("liabilities are balances, what is reserved, less what was received and not yet acknowledged; ok needs balanced books and, outside development, LND covering them", () => {
    // A transfer of 100 received but not yet acknowledged to its sender: in flight at the sender, −100 peers at the receiver.
    const totals: SnapshotTotals = { wallets: 2, unbalanced_wallets: 0, balance_msat: 1_000, holds_msat: 50, in_flight_msat: 100, peers_msat: -100 };
    expect(solvencyReport(totals, 1_050, false)).toEqual({ liabilities_msat: 1_050, in_flight_msat: 150, lnd_balance_msat: 1_050, books_balanced: true, ok: true, wallets: 2, unbalanced_wallets: 0 });
    expect(solvencyReport(totals, 1_049, false)).toMatchObject({ books_balanced: true, ok: false });
    // Development: the faucet's money is not in LND; only the books count.
    expect(solvencyReport(totals, 0, true)).toMatchObject({ books_balanced: true, ok: true });
    const unbalanced = { ...totals, unbalanced_wallets: 1 };
    expect(solvencyReport(unbalanced, 10_000, false)).toMatchObject({ books_balanced: false, ok: false, unbalanced_wallets: 1 });
    expect(solvencyReport(unbalanced, 10_000, true)).toMatchObject({ books_balanced: false, ok: false });
    expect(solvencyReport(addTotals(), 0, false)).toMatchObject({ liabilities_msat: 0, in_flight_msat: 0, books_balanced: true, ok: true });
  });

  it("LND's balance: local, HTLCs in flight both ways, channels opening, confirmed coins", () => {
    const amount = (msat: number) => ({ sat: Math.floor(msat / 1000), msat });
    const channels = {
      local_balance: amount(1_000_000),
      remote_balance: amount(9_999_999),
      unsettled_local_balance: amount(20_000),
      unsettled_remote_balance: amount(3_000),
      pending_open_local_balance: amount(400),
      pending_open_remote_balance: amount(77),
    };
    const onchain = { total_balance: 12, confirmed_balance: 10, unconfirmed_balance: 2, locked_balance: 0, reserved_balance_anchor_chan: 1 };
    expect(lndBalanceMsat(channels, onchain)).toBe(1_000_000 + 20_000 + 3_000 + 400 + 10_000);
  });
});

describe("GET /v1/admin/solvency", () => {
  it("takes the admin key alone: none, garbage and an account's token are 401, and the admin key is no account credential", async () => {
    const a = await createAccount("solv");
    for (const token of [undefined, "garbage", a.access_token, `${ADMIN_KEY}x`]) {
      const r = await api("GET", "/v1/admin/solvency", { token });
      expect(r.status, String(token)).toBe(401);
      expect(r.json.error.code).toBe("unauthorized");
      expect(JSON.stringify(r.json)).not.toContain("liabilities");
    }
    const key = await api("POST", "/v1/api-keys", { body: { name: "ops?", scopes: ["read", "receive", "send"] }, token: a.access_token });
    expect(key.status).toBe(201);
    expect((await solvency(key.json.key)).status).toBe(401);
    expect((await api("GET", "/v1/wallet", { token: ADMIN_KEY })).status).toBe(401);
    const r = await solvency();
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(["books_balanced", "in_flight_msat", "liabilities_msat", "lnd_balance_msat", "ok", "unbalanced_wallets", "wallets"]);
  });

  it("after a concurrent workload with a Lightning payment in flight, the aggregate is the sum of the wallets", async () => {
    const accounts = await Promise.all(Array.from({ length: 12 }, () => createAccount("solv")));
    await Promise.all(accounts.map((a, i) => fund(a, 10_000 + i * 1_000)));
    // One payment out through LND that stays in flight: its hold counts in the liabilities and in flight.
    await sim("/sim/knobs", { payment_in_flight_ms: 20_000 });
    const invoice = await api("POST", "/dev/sim/invoices", { body: { amount_sat: 2_000, memo: "solvency" } });
    expect(invoice.status).toBe(200);
    const lightning = api("POST", "/v1/payments/lightning", { body: { payment_request: invoice.json.payment_request }, token: accounts[0]!.access_token, key: newKey() });
    // Concurrent payments between them, some refused for want of money, some sent twice with one key.
    const payments = Array.from({ length: 150 }, (_, n) => {
      const from = accounts[n % accounts.length]!;
      const to = accounts[(n * 7 + 3) % accounts.length]!;
      return { from, to: to === from ? accounts[(n + 1) % accounts.length]! : to, sat: n % 10 === 0 ? 50_000 : 1 + ((n * 37) % 900), key: newKey() };
    });
    const replies = await Promise.all([...payments, ...payments.slice(0, 20)].map((p) => pay(p.from, p.to.username, p.sat, p.key)));
    expect(replies.every((r) => r.status === 200 || r.status === 422), JSON.stringify(replies.map((r) => r.status))).toBe(true);
    expect((await lightning).json.status).toBe("pending");

    await settleAndPush(accounts);
    const wallets = await Promise.all(accounts.map((a) => api("GET", "/v1/wallet", { token: a.access_token }).then((r) => r.json)));
    const books = await Promise.all(accounts.map((a) => auditOf(a.wallet_id)));
    expect(books.map((b) => b.problems)).toEqual(accounts.map(() => []));
    expect(wallets[0].pending_out_msat).toBeGreaterThanOrEqual(2_000_000); // the hold: amount and fee reserve

    const { report, snapshots } = await stableReport();
    expect(report.status).toBe(200);
    // The route answers the sum of every shard's snapshots...
    expect(report.json).toEqual(solvencyReport(sumSnapshots(snapshots), report.json.lnd_balance_msat, true));
    // ...and the snapshots of these wallets are what each wallet says, read directly.
    const mine = accounts.map((a) => snapshots.find((s) => s.wallet_id === a.wallet_id));
    mine.forEach((s, i) => {
      expect(s, accounts[i]!.wallet_id).toMatchObject({
        balance_msat: books[i]!.balance_msat,
        holds_msat: books[i]!.holds_msat,
        in_flight_msat: books[i]!.in_flight_msat,
        peers_msat: books[i]!.peers_msat,
        books_balanced: true,
      });
      expect(s!.balance_msat).toBe(wallets[i].balance_msat);
      expect(s!.holds_msat + s!.in_flight_msat).toBe(wallets[i].pending_out_msat);
    });
    // Their part of the report: liabilities are Σ balances + Σ pending out (every transfer between them acknowledged), in flight Σ pending out.
    const theirs = solvencyReport(sumSnapshots(mine as WalletSnapshot[]), 0, true);
    const sum = (f: (w: any) => number) => wallets.reduce((s, w) => s + f(w), 0);
    expect(theirs.in_flight_msat).toBe(sum((w) => w.pending_out_msat));
    expect(theirs.liabilities_msat).toBe(sum((w) => w.balance_msat + w.pending_out_msat));
    expect(theirs.liabilities_msat).toBe(books.reduce((s, b) => s - b.faucet_msat - b.lnd_msat - b.fees_msat, 0));
    // LND's balance as the node answers it now (the payment's HTLC still in flight, counted).
    const [channels, onchain] = await Promise.all([lnd.channelBalance(), lnd.walletBalance()]);
    expect(channels.unsettled_remote_balance.msat + channels.unsettled_local_balance.msat).toBeGreaterThanOrEqual(2_000_000);
    expect(report.json.lnd_balance_msat).toBe(lndBalanceMsat(channels, onchain));
    // Development (the suites' ENVIRONMENT): ok is the books' balance alone.
    expect(report.json.ok).toBe(report.json.books_balanced);
  });

  it("a snapshot delivered again, or after a newer one, changes nothing; a newer one replaces it", async () => {
    const id = fakeWalletId();
    const shard = solvencyShardFor(testEnv, id);
    const v2 = snapshotOf(id, 2, { balance_msat: 5_000, holds_msat: 7, in_flight_msat: 11, peers_msat: -3 });
    expect(await shard.record(v2)).toEqual({ ok: true, applied: true });
    const totals = await shard.totals();
    expect(await shard.record(v2)).toEqual({ ok: true, applied: false });
    expect(await shard.record(snapshotOf(id, 1, { balance_msat: 9_999_999 }))).toEqual({ ok: true, applied: false });
    expect(await shard.record(snapshotOf(id, 2, { balance_msat: 1 }))).toEqual({ ok: true, applied: false });
    expect(await shard.snapshot(id)).toEqual(v2);
    expect(await shard.totals()).toEqual(totals);
    const v3 = snapshotOf(id, 3);
    expect(await shard.record(v3)).toEqual({ ok: true, applied: true });
    expect(await shard.snapshot(id)).toEqual(v3);
    const after = await shard.totals();
    expect(after.wallets).toBe(totals.wallets);
    expect(after.balance_msat).toBe(totals.balance_msat - 5_000);
    // What no wallet would send is refused.
    expect(await shard.record({ ...v3, version: 4, wallet_id: "acc_1" })).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await shard.record({ ...v3, version: 4, balance_msat: 1.5 })).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await shard.snapshot(id)).toEqual(v3);
  });

  it("a wallet's pushes of the same money are one row; a wallet whose books do not balance makes the report say so", async () => {
    const a = await createAccount("solv");
    await fund(a, 1_000);
    const first = await walletStub(a.wallet_id).pushSolvency();
    const again = await walletStub(a.wallet_id).pushSolvency();
    expect(first.pushed).toMatchObject({ wallet_id: a.wallet_id, balance_msat: 1_000_000, books_balanced: true });
    expect(again).toEqual({ pushed: first.pushed, applied: false });
    const shard = solvencyShardFor(testEnv, a.wallet_id);
    expect(await shard.snapshot(a.wallet_id)).toEqual(first.pushed);

    // Books broken behind the ledger's back (a balance that no journal made): the snapshot says so, and so does the report.
    await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => {
      state.storage.sql.exec("UPDATE balances SET balance_msat = balance_msat - 1 WHERE account = 'faucet'");
    });
    await fund(a, 1); // a change of money: a newer version
    const broken = await walletStub(a.wallet_id).pushSolvency();
    expect(broken).toMatchObject({ applied: true, pushed: { books_balanced: false } });
    const r = (await stableReport()).report;
    expect(r.json).toMatchObject({ books_balanced: false, ok: false });
    expect(r.json.unbalanced_wallets).toBeGreaterThanOrEqual(1);

    // Mended: the next snapshot balances again.
    await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => {
      state.storage.sql.exec("UPDATE balances SET balance_msat = balance_msat + 1 WHERE account = 'faucet'");
    });
    await fund(a, 1);
    expect(await walletStub(a.wallet_id).pushSolvency()).toMatchObject({ applied: true, pushed: { books_balanced: true } });
    expect((await shard.snapshot(a.wallet_id))!.books_balanced).toBe(true);
  });

  it("without a flush: payments in a burst make one push, within the debounce delay", async () => {
    const [a, b] = [await createAccount("solv"), await createAccount("solv")];
    const stub = walletStub(a.wallet_id);
    const shard = solvencyShardFor(testEnv, a.wallet_id);
    let pushes = 0;
    await runInDurableObject(stub, (actor: WalletActor) => {
      const feed = actor.solvency as unknown as { send: (force: boolean) => Promise<unknown> };
      const send = feed.send.bind(feed);
      vi.spyOn(feed, "send").mockImplementation((force) => {
        pushes++;
        return send(force);
      });
    });
    const start = Date.now();
    await fund(a, 5_000);
    for (let i = 0; i < 20; i++) expect((await pay(a, b.username, 10)).status).toBe(200);
    const burst = Date.now() - start;
    // Nothing pushed yet (on a machine quick enough to pay twenty times within the delay): the debounce holds it.
    if (Date.now() - start < SOLVENCY_PUSH_DELAY_MS - 1_000) expect(await shard.snapshot(a.wallet_id)).toBeNull();
    await waitFor(async () => (await shard.snapshot(a.wallet_id)) !== null, "the debounced push", SOLVENCY_PUSH_DELAY_MS + 5_000);
    const books = await auditOf(a.wallet_id);
    expect(await shard.snapshot(a.wallet_id)).toMatchObject({ version: books.max_seq, balance_msat: books.balance_msat, in_flight_msat: books.in_flight_msat });
    // One push for the whole burst (two if the burst outlasted the delay).
    expect(pushes).toBeGreaterThanOrEqual(1);
    expect(pushes).toBeLessThanOrEqual(1 + Math.floor(burst / SOLVENCY_PUSH_DELAY_MS));
  });

  it("the push is on the wallet's alarm; a wallet that lost it owes the push again when it wakes up", async () => {
    const a = await createAccount("solv");
    await fund(a, 3_000);
    const shard = solvencyShardFor(testEnv, a.wallet_id);
    const alarm = await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + SOLVENCY_PUSH_DELAY_MS);
    expect(await shard.snapshot(a.wallet_id)).toBeNull();
    // The alarm is lost and the instance goes (nothing in memory says a push is owed): the stored version does.
    await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => state.storage.deleteAlarm());
    await evictDurableObject(walletStub(a.wallet_id));
    const woken = Date.now();
    const owed = await runInDurableObject(walletStub(a.wallet_id), async (actor: WalletActor, state) => ({ due: actor.solvency.tasks[0]!.nextDueAt(), alarm: await state.storage.getAlarm() }));
    expect(owed.due).not.toBeNull();
    expect(owed.due!).toBeLessThanOrEqual(woken + SOLVENCY_PUSH_DELAY_MS + 1_000);
    expect(owed.alarm).not.toBeNull();
    expect(owed.alarm!).toBeLessThanOrEqual(owed.due!);
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    expect(await shard.snapshot(a.wallet_id)).toMatchObject({ balance_msat: 3_000_000, books_balanced: true });
    // Acknowledged and stored: waking up again owes nothing.
    await evictDurableObject(walletStub(a.wallet_id));
    expect(await walletStub(a.wallet_id).describe()).not.toBeNull();
    expect(await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => actor.solvency.tasks[0]!.nextDueAt())).toBeNull();
  });
});
