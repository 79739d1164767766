import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DoubleEntryLedger, ledgerSchema } from "../durable/kit/ledger";
import { stepChecksum } from "../durable/kit/migrations";
import type { ActorKit } from "../durable/kit/part";
import type { RewardProgramActor } from "../durable/reward-program-actor";
import { ProgramLedger } from "../durable/reward-program/program-ledger";
import type { WalletActor } from "../durable/wallet-actor";
import { Ledger } from "../durable/wallet/ledger";
import { rewardProgramActor } from "../workers/env";
import { api, balanceOf, createAccount, fund, testEnv, uniqueName, walletStub } from "./helpers";

/**
 * Step 1 as each actor shipped it, before the two ledgers became one kit part (durable/wallet/ledger.ts
 * and durable/reward-program/program-ledger.ts at 4e6e784). Existing actors recorded these checksums:
 * never edit these texts; a ledger step that no longer matches them would stop those actors starting.
 */
const SHIPPED = {
  ledger: `CREATE TABLE balances (
       account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
       CHECK (account <> 'wallet' OR balance_msat >= 0)) WITHOUT ROWID;
     CREATE TABLE entries (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
     CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
       INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
       UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
     END;`,
  "program-ledger": `CREATE TABLE balances (
       account TEXT PRIMARY KEY, balance_msat INTEGER NOT NULL,
       CHECK (account <> 'budget' OR balance_msat >= 0)) WITHOUT ROWID;
     CREATE TABLE entries (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount_msat INTEGER NOT NULL, created_at TEXT NOT NULL);
     CREATE TRIGGER entries_update_balances AFTER INSERT ON entries BEGIN
       INSERT OR IGNORE INTO balances (account, balance_msat) VALUES (NEW.account, 0);
       UPDATE balances SET balance_msat = balance_msat + NEW.amount_msat WHERE account = NEW.account;
     END;`,
};
const LONG_AGO = "2025-01-01T00:00:00.000Z";
const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
const programStub = (program_id: string) => rewardProgramActor(testEnv, program_id) as unknown as DurableObjectStub<RewardProgramActor>;

/** The ledger part's records in `_kit_migrations`. */
const recorded = (storage: DurableObjectStorage, part: string) =>
  storage.sql.exec<{ part: string; step: number; checksum: string; applied_at: string }>("SELECT part, step, checksum, applied_at FROM _kit_migrations WHERE part = ? ORDER BY step", part).toArray();

/** Makes the ledger's record the one an actor of the old code wrote (its part name, the shipped text's checksum, long ago) in place of the one the current part wrote. */
function recordAsShipped(storage: DurableObjectStorage, current: string, part: keyof typeof SHIPPED): void {
  storage.sql.exec("DELETE FROM _kit_migrations WHERE part = ?", current);
  storage.sql.exec("INSERT INTO _kit_migrations (part, step, checksum, applied_at) VALUES (?, 1, ?, ?)", part, stepChecksum(SHIPPED[part]), LONG_AGO);
}

describe("ledger kit part", () => {
  it("each host keeps its part name and the exact step it shipped (the checksum its actors recorded)", () => {
    const kit = {} as ActorKit; // the constructors only keep it
    for (const ledger of [new Ledger(kit), new ProgramLedger(kit)]) {
      const shipped = SHIPPED[ledger.name as keyof typeof SHIPPED];
      expect(shipped, ledger.name).toBeDefined();
      expect(ledger.migrations.map(stepChecksum)).toEqual([stepChecksum(shipped)]);
    }
  });

  it("an existing wallet and program wake on their recorded step: nothing re-run, books as they were", async () => {
    const a = await createAccount("lg");
    await fund(a, 700);
    const created = await api("POST", "/v1/admin/rewards", { body: { name: uniqueName("ledger"), amount_sat: 10, budget_sat: 100 }, token: ADMIN });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const program_id = created.json.program_id as string;
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor, state) => recordAsShipped(state.storage, actor.ledger.name, "ledger"));
    await runInDurableObject(programStub(program_id), (actor: RewardProgramActor, state) => recordAsShipped(state.storage, actor.ledger.name, "program-ledger"));

    // A deploy: the next wake-up migrates with the shared part.
    await evictDurableObject(walletStub(a.wallet_id));
    await evictDurableObject(programStub(program_id));
    expect(await balanceOf(a)).toBe(700_000);
    expect(await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => recorded(state.storage, "ledger"))).toEqual([
      { part: "ledger", step: 1, checksum: stepChecksum(SHIPPED.ledger), applied_at: LONG_AGO },
    ]);
    const books = await programStub(program_id).books();
    expect(books).toMatchObject({ funded_msat: 100_000, remaining_msat: 100_000, budget_balance_msat: 100_000, problems: [] });
    expect(await runInDurableObject(programStub(program_id), (_actor: RewardProgramActor, state) => recorded(state.storage, "program-ledger"))).toEqual([
      { part: "program-ledger", step: 1, checksum: stepChecksum(SHIPPED["program-ledger"]), applied_at: LONG_AGO },
    ]);
  });

  it("a program's books: balanced journals only, the budget never negative, no balance held in memory", () =>
    runInDurableObject(programStub(`rp_${crypto.randomUUID()}`), (actor: RewardProgramActor, state) => {
      const l = actor.ledger;
      const now = new Date().toISOString();
      l.post("fund", [{ account: "operator", amount_msat: -1_000 }, { account: "budget", amount_msat: 1_000 }], now);
      expect(l.balanceOf("budget")).toBe(1_000);
      expect(() => l.post("bogus", [{ account: "budget", amount_msat: -5 }, { account: "paid", amount_msat: 4 }], now)).toThrow(/does not balance/);
      expect(() => actor.kit.unitOfWork.run(() => l.post("overdraw", [{ account: "budget", amount_msat: -1_001 }, { account: "in_flight", amount_msat: 1_001 }], now))).toThrow(/CHECK constraint/);
      // Read from the table every time: an entry the part did not post shows at once.
      state.storage.sql.exec("INSERT INTO entries (journal, account, amount_msat, created_at) VALUES ('direct', 'budget', -400, ?), ('direct', 'paid', 400, ?)", now, now);
      expect(l.balanceOf("budget")).toBe(600);
      expect(l.memoryBalance()).toBeNull();
      expect({ budget: l.entriesSum("budget"), paid: l.entriesSum("paid"), unbalanced: l.unbalancedJournals() }).toEqual({ budget: 600, paid: 400, unbalanced: 0 });
      expect(l.storedBalances()).toEqual({ operator: -1_000, budget: 600, paid: 400 });
    }));

  it("the account written into the schema must be a plain word (DDL takes no bound parameters)", () => {
    expect(() => ledgerSchema("wallet' OR 1=1 --")).toThrow(/plain word/);
    expect(() => new DoubleEntryLedger({} as ActorKit, { name: "x", nonNegative: "Budget" })).toThrow(/plain word/);
  });
});
