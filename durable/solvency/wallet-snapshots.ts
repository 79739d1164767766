import { refuse, type Refusal } from "../../src/errors";
import { isWalletId } from "../../src/identifiers";
import { EMPTY_TOTALS, type SnapshotTotals, type WalletSnapshot } from "../../src/solvency";
import type { ActorKit, Part } from "../kit/part";

interface Row {
  wallet_id: string;
  version: number;
  balance_msat: number;
  holds_msat: number;
  in_flight_msat: number;
  peers_msat: number;
  books_balanced: number;
}

/**
 * The newest snapshot of each wallet of one shard (docs/decisions/0020): one row per wallet, replaced
 * only by a higher version, so a snapshot delivered again or late changes nothing.
 */
export class WalletSnapshots implements Part {
  readonly name = "wallet-snapshots";
  readonly migrations = [
    `CREATE TABLE wallet_snapshots (
       wallet_id TEXT PRIMARY KEY, version INTEGER NOT NULL,
       balance_msat INTEGER NOT NULL, holds_msat INTEGER NOT NULL, in_flight_msat INTEGER NOT NULL, peers_msat INTEGER NOT NULL,
       books_balanced INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
  ];

  constructor(private readonly kit: ActorKit) {}

  /** Keeps the snapshot unless this wallet's row is as new or newer; `applied` says whether it was kept. */
  record(s: WalletSnapshot, now: number): { ok: true; applied: boolean } | Refusal {
    const bad = invalid(s);
    if (bad) return bad;
    const written = this.kit.sqlWrite`
      INSERT INTO wallet_snapshots (wallet_id, version, balance_msat, holds_msat, in_flight_msat, peers_msat, books_balanced, updated_at)
      VALUES (${s.wallet_id}, ${s.version}, ${s.balance_msat}, ${s.holds_msat}, ${s.in_flight_msat}, ${s.peers_msat}, ${s.books_balanced ? 1 : 0}, ${now})
      ON CONFLICT (wallet_id) DO UPDATE SET
        version = excluded.version, balance_msat = excluded.balance_msat, holds_msat = excluded.holds_msat,
        in_flight_msat = excluded.in_flight_msat, peers_msat = excluded.peers_msat,
        books_balanced = excluded.books_balanced, updated_at = excluded.updated_at
      WHERE excluded.version > wallet_snapshots.version`;
    return { ok: true, applied: written > 0 };
  }

  /** The sums over every wallet of the shard (one pass over its rows). */
  totals(): SnapshotTotals {
    const t = this.kit.sql<{ [K in keyof SnapshotTotals]: number | null }>`
      SELECT COUNT(*) AS wallets, SUM(books_balanced = 0) AS unbalanced_wallets, SUM(balance_msat) AS balance_msat,
             SUM(holds_msat) AS holds_msat, SUM(in_flight_msat) AS in_flight_msat, SUM(peers_msat) AS peers_msat
      FROM wallet_snapshots`[0];
    const totals = { ...EMPTY_TOTALS };
    for (const k of Object.keys(totals) as (keyof SnapshotTotals)[]) totals[k] = t?.[k] ?? 0;
    return totals;
  }

  /** One wallet's snapshot as kept, or null. */
  get(wallet_id: string): WalletSnapshot | null {
    const row = this.kit.sql<Row>`
      SELECT wallet_id, version, balance_msat, holds_msat, in_flight_msat, peers_msat, books_balanced FROM wallet_snapshots WHERE wallet_id = ${wallet_id}`[0];
    return row ? { ...row, books_balanced: row.books_balanced === 1 } : null;
  }

  /** Snapshots by wallet id, after `after` (null: from the first), at most `limit`. */
  page(after: string | null, limit: number): WalletSnapshot[] {
    return this.kit.sql<Row>`
      SELECT wallet_id, version, balance_msat, holds_msat, in_flight_msat, peers_msat, books_balanced FROM wallet_snapshots
      WHERE wallet_id > ${after ?? ""} ORDER BY wallet_id LIMIT ${limit}`.map((row) => ({ ...row, books_balanced: row.books_balanced === 1 }));
  }
}

/** A snapshot only a wallet of the hub could have sent: its id, whole amounts, a version. */
function invalid(s: WalletSnapshot): Refusal | null {
  if (typeof s !== "object" || s === null || typeof s.wallet_id !== "string" || !isWalletId(s.wallet_id)) return refuse("invalid_request", "not a wallet id");
  if (!Number.isSafeInteger(s.version) || s.version < 0) return refuse("invalid_request", "version: not a whole number");
  for (const k of ["balance_msat", "holds_msat", "in_flight_msat", "peers_msat"] as const) {
    if (!Number.isSafeInteger(s[k])) return refuse("invalid_request", `${k}: not a whole amount`);
  }
  if (typeof s.books_balanced !== "boolean") return refuse("invalid_request", "books_balanced: not a boolean");
  return null;
}
