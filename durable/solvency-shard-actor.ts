import { Actor } from "./kit/actor";
import type { Env } from "./env";
import type { SolvencyShardPort } from "./ports";
import { WalletSnapshots } from "./solvency/wallet-snapshots";
import type { Refusal } from "../src/errors";
import type { SnapshotTotals, WalletSnapshot } from "../src/solvency";

/**
 * One of SOLVENCY_SHARDS (`solvency:<n>`, src/solvency.ts): the newest snapshot of each wallet whose
 * id hashes to it, pushed by the wallet at most once per SOLVENCY_PUSH_DELAY_MS after its money
 * changed (docs/decisions/0020). No payment waits on a shard: the wallets stay the truth, and the
 * shards are their copy, summed when the operator asks (GET /v1/admin/solvency).
 */
export class SolvencyShardActor extends Actor<Env> implements SolvencyShardPort {
  readonly snapshotsTable = new WalletSnapshots(this.kit);
  protected readonly parts = [this.snapshotsTable];

  /** Keeps a wallet's snapshot unless the shard has a version as new or newer (redelivered or late snapshots change nothing). */
  async record(snapshot: WalletSnapshot): Promise<{ ok: true; applied: boolean } | Refusal> {
    return this.snapshotsTable.record(snapshot, Date.now());
  }

  /** The sums over the shard's wallets. */
  async totals(): Promise<SnapshotTotals> {
    return this.snapshotsTable.totals();
  }

  /** One wallet's snapshot as the shard keeps it, or null. */
  async snapshot(wallet_id: string): Promise<WalletSnapshot | null> {
    return this.snapshotsTable.get(wallet_id);
  }

  /** The shard's snapshots by wallet id after `after` (null: from the first), at most `limit` (at most 1,000). */
  async snapshots(after: string | null, limit: number): Promise<WalletSnapshot[]> {
    return this.snapshotsTable.page(after, Math.max(1, Math.min(1_000, Math.trunc(limit) || 1)));
  }
}
