import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { WALLET_LEGACY_SCHEMA } from "../durable/wallet/legacy-schema";
import { auditOf, balanceOf, createAccount, expectConsistentBooks, walletStub } from "./helpers";

/** How actors migrated before the kit: one list of steps, numbered in `_migrations`. */
function migrateTheOldWay(storage: DurableObjectStorage, steps: readonly string[]): void {
  storage.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  steps.forEach((step, i) => {
    storage.sql.exec(step);
    storage.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", i + 1, new Date().toISOString());
  });
}

/** The last wallet schema step whose shape the data below is written in (outbox and receipts as tables). */
const OLD_STEPS = 4;

describe("wallet schema migrations", () => {
  it("a wallet written by the step-4 schema keeps its books, its undelivered transfer, its receipts and its replays", async () => {
    const b = await createAccount("b");
    const walletId = `wal_${crypto.randomUUID().replaceAll("-", "")}`;
    const stub = walletStub(walletId);
    const now = new Date().toISOString();
    const payload = { transfer_id: "tr_out", from: { wallet_id: walletId, username: "old_wallet" }, amount_msat: 4000, memo: "before the upgrade" };

    await runInDurableObject(stub, (_actor: WalletActor, state) => {
      const sql = state.storage.sql;
      // Start again from nothing and build the wallet as the old code left it.
      for (const { name } of sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
        sql.exec(`DROP TABLE "${name}"`);
      }
      migrateTheOldWay(state.storage, WALLET_LEGACY_SCHEMA.steps.slice(0, OLD_STEPS));
      sql.exec("INSERT INTO wallet (id, wallet_id, account_id, username, opened_at) VALUES (1, ?, 'acc_old', 'old_wallet', ?)", walletId, now);
      const tx = (id: string, kind: string, direction: string, amount: number, status: string) =>
        sql.exec("INSERT INTO transactions (id, kind, direction, amount_msat, fee_msat, status, counterparty, memo, created_at) VALUES (?, ?, ?, ?, 0, ?, NULL, NULL, ?)", id, kind, direction, amount, status, now);
      const entry = (journal: string, account: string, amount: number) =>
        sql.exec("INSERT INTO entries (journal, account, amount_msat, created_at) VALUES (?, ?, ?, ?)", journal, account, amount, now);
      tx("tx_faucet", "faucet", "in", 10_000, "succeeded");
      entry("tx_faucet:faucet", "faucet", -10_000);
      entry("tx_faucet:faucet", "wallet", 10_000);
      tx("tx_in", "intraledger", "in", 3_000, "succeeded");
      entry("tr_in:credit", "peers", -3_000);
      entry("tr_in:credit", "wallet", 3_000);
      sql.exec("INSERT INTO received_transfers (transfer_id, transaction_id, received_at) VALUES ('tr_in', 'tx_in', ?)", now);
      tx("tx_out", "intraledger", "out", 4_000, "pending");
      entry("tr_out:debit", "wallet", -4_000);
      entry("tr_out:debit", "in_flight", 4_000);
      sql.exec("INSERT INTO outbox (transfer_id, transaction_id, to_wallet, payload, next_attempt_at) VALUES ('tr_out', 'tx_out', ?, ?, 0)", b.wallet_id, JSON.stringify(payload));
      void state.storage.setAlarm(Date.now() + 60_000); // the old code's safety net for it
      // (Step 4's trigger kept these from the entries above.)
      sql.exec("INSERT INTO idempotency (key, fingerprint, status, response, transaction_id, created_at) VALUES ('k_out', 'fp_out', 200, ?, 'tx_out', ?)", JSON.stringify({ status: "pending" }), Date.now());
      sql.exec("INSERT INTO idempotency (key, fingerprint, status, response, transaction_id, created_at) VALUES ('k_faucet', 'fp_faucet', 200, ?, 'tx_faucet', ?)", JSON.stringify({ status: "succeeded", balance_msat: 10_000 }), Date.now());
      [["faucet.credited", 10_000], ["transfer.received", 13_000], ["transfer.sent", 9_000]].forEach(([type, balance], i) =>
        sql.exec("INSERT INTO events (seq, type, data, created_at) VALUES (?, ?, ?, ?)", i + 1, type, JSON.stringify({ balance_msat: balance }), now),
      );
      expect(sql.exec<{ b: number }>("SELECT balance_msat AS b FROM balances WHERE account = 'wallet'").one().b).toBe(9_000);
    });
    // The next wake-up runs the remaining steps, as a deploy would.
    await evictDurableObject(stub);
    const migrated = await auditOf(walletId);
    expect(migrated).toMatchObject({ balance_msat: 9_000, in_flight_msat: 4_000, undelivered_transfers: 1, event_count: 3 });
    expectConsistentBooks(migrated);

    // The undelivered transfer goes out and settles; the receipt still recognises a redelivery.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await balanceOf(b)).toBe(4_000);
    const settled = await auditOf(walletId);
    expect(settled).toMatchObject({ balance_msat: 9_000, in_flight_msat: 0, peers_msat: 1_000, undelivered_transfers: 0 });
    expectConsistentBooks(settled);
    expect(await stub.receiveTransfer({ transfer_id: "tr_in", from: { wallet_id: b.wallet_id, username: b.username }, amount_msat: 3_000, memo: null })).toMatchObject({
      ok: true,
      duplicate: true,
      transaction_id: "tx_in",
    });
    // Replays: the payment's answer follows its transaction; the faucet's is the stored one.
    await runInDurableObject(stub, (actor: WalletActor) => {
      expect(actor.idempotency.stored({ key: "k_out", fingerprint: "fp_out" })).toMatchObject({ ok: true, body: { status: "succeeded", transaction: { id: "tx_out" } } });
      expect(actor.idempotency.stored({ key: "k_faucet", fingerprint: "fp_faucet" })).toEqual({ ok: true, status: 200, body: { status: "succeeded", balance_msat: 10_000 } });
    });
    expect(await balanceOf(b)).toBe(4_000);
  });

  it("a wallet migrated from the old single-list schema has the layout the parts make for a new wallet", async () => {
    const fresh = await createAccount("n");
    const oldId = `wal_${crypto.randomUUID().replaceAll("-", "")}`;
    await runInDurableObject(walletStub(oldId), (_actor: WalletActor, state) => {
      for (const { name } of state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
        state.storage.sql.exec(`DROP TABLE "${name}"`);
      }
      migrateTheOldWay(state.storage, WALLET_LEGACY_SCHEMA.steps);
    });
    await evictDurableObject(walletStub(oldId));
    await walletStub(oldId).describe(); // wakes up: adopts the old layout
    const [freshLayout, oldLayout] = await Promise.all([layoutOf(fresh.wallet_id), layoutOf(oldId)]);
    expect(oldLayout).toEqual(freshLayout);
    expect(freshLayout.tables.map((t) => t.name)).toEqual(["_kit_migrations", "amp_payments", "audit_entries", "balances", "chat_inbox", "entries", "events", "idempotency", "invoices", "lightning_payments", "limits_freeze", "limits_level", "limits_usage", "onchain_deposits", "onchain_withdrawals", "socket_epoch", "socket_revocations", "solvency_feed", "transactions", "wallet", "webhook_feed"]);
  });
});

/** Tables (columns, keys, constraints), indexes and triggers of a wallet: what behaviour depends on, not how the DDL was worded. */
async function layoutOf(walletId: string) {
  return runInDurableObject(walletStub(walletId), (_actor: WalletActor, state) => {
    const sql = state.storage.sql;
    const fold = (s: string | null) => (s ?? "").replace(/\s+/g, " ").replace(/"/g, "").trim();
    const objects = sql.exec<{ type: string; name: string; tbl_name: string; sql: string | null }>(
      "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY type, name",
    ).toArray();
    const tables = objects.filter((o) => o.type === "table").map((t) => ({
      name: t.name,
      columns: sql.exec(`PRAGMA table_xinfo("${t.name}")`).toArray(),
      without_rowid: /WITHOUT ROWID/i.test(t.sql ?? ""),
      checks: (t.sql ?? "").match(/CHECK \([^)]*\)/gi) ?? [],
    }));
    const indexes = objects.filter((o) => o.type === "index").map((i) => ({ name: i.name, table: i.tbl_name, sql: fold(i.sql) }));
    const triggers = objects.filter((o) => o.type === "trigger").map((t) => ({ name: t.name, sql: fold(t.sql) }));
    return { tables, indexes, triggers };
  });
}
