import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { auditOf, createAccount, expectConsistentBooks, fund, newKey, pay, walletStub } from "./helpers";

const ACCOUNTS = 30;
const TRANSFERS = 1000;
const DUPLICATED = 150; // of the transfers, this many are sent twice at once with the same key

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe("concurrency", () => {
  it(`conserves money across ${TRANSFERS} concurrent random transfers between ${ACCOUNTS} accounts`, async () => {
    const random = rng(42);
    const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, () => createAccount("c")));
    const faucetSat = accounts.map(() => 20_000 + Math.floor(random() * 40_000));
    await Promise.all(accounts.map((a, i) => fund(a, faucetSat[i]!)));

    const plans = Array.from({ length: TRANSFERS }, (_, n) => {
      const from = Math.floor(random() * ACCOUNTS);
      let to = Math.floor(random() * (ACCOUNTS - 1));
      if (to >= from) to++;
      // Some amounts are far above any balance; most are small enough to chain.
      const sat = random() < 0.1 ? 50_000 + Math.floor(random() * 50_000) : 1 + Math.floor(random() * 3000);
      return { from, to, sat, key: newKey(), copies: n < DUPLICATED ? 2 : 1 };
    });
    const replies = await Promise.all(
      plans.flatMap((p) =>
        Array.from({ length: p.copies }, () => pay(accounts[p.from]!, accounts[p.to]!.username, p.sat, p.key).then((r) => ({ plan: p, reply: r }))),
      ),
    );

    // Every reply is a success or a clean refusal; never a 5xx.
    const statuses = new Map<number, number>();
    for (const { reply } of replies) statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    expect([...statuses.keys()].every((s) => s === 200 || s === 422), JSON.stringify([...statuses])).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(TRANSFERS / 2);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(0);

    // Duplicates executed once: both copies carry the same answer, or both were refused.
    for (const p of plans.slice(0, DUPLICATED)) {
      const pair = replies.filter((r) => r.plan === p).map((r) => r.reply);
      expect(pair).toHaveLength(2);
      if (pair[0]!.status === 200 && pair[1]!.status === 200) expect(pair[0]!.json.transaction.id).toBe(pair[1]!.json.transaction.id);
      else expect(pair.map((r) => r.status)).toEqual([422, 422]);
    }

    // Let any pending deliveries finish, then check the books.
    for (const a of accounts) while ((await auditOf(a.wallet_id)).undelivered_transfers > 0) await runDurableObjectAlarm(walletStub(a.wallet_id));
    const audits = await Promise.all(accounts.map((a) => auditOf(a.wallet_id)));
    audits.forEach(expectConsistentBooks);
    const sum = (f: (a: (typeof audits)[number]) => number) => audits.reduce((s, a) => s + f(a), 0);
    const faucetMsat = faucetSat.reduce((s, x) => s + x, 0) * 1000;
    expect(sum((a) => a.balance_msat) + sum((a) => a.in_flight_msat)).toBe(faucetMsat);
    expect(sum((a) => -a.faucet_msat)).toBe(faucetMsat);
    expect(sum((a) => a.peers_msat)).toBe(0);

    // Each successful distinct key moved its amount exactly once: recompute every balance from the plan.
    const succeededKeys = new Set(replies.filter((r) => r.reply.status === 200).map((r) => r.plan.key));
    const expected = faucetSat.map((sat) => sat * 1000);
    for (const p of plans) {
      if (!succeededKeys.has(p.key)) continue;
      expected[p.from]! -= p.sat * 1000;
      expected[p.to]! += p.sat * 1000;
    }
    expect(audits.map((a) => a.balance_msat)).toEqual(expected);
  });
});
