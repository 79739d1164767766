import type { ChannelBalance, WalletBalance } from "./lightning";
import type { LedgerAccount } from "./ledger";
import { MSAT_PER_SAT, type Msat } from "./money";

/**
 * The solvency aggregate (GET /v1/admin/solvency, docs/decisions/0020): each wallet pushes an
 * absolute snapshot of its books to one of SOLVENCY_SHARDS shard actors, at most once per
 * SOLVENCY_PUSH_DELAY_MS after its money changed; the shard keeps the newest snapshot per wallet;
 * the route sums the shards. The wallets stay the truth: a snapshot is a copy, never a delta.
 */

/**
 * How many shard actors hold the snapshots. A wallet's shard is a hash of its id, so changing this
 * would leave rows in the shards they no longer belong to (and count them twice): never change it
 * without moving the rows.
 */
export const SOLVENCY_SHARDS = 16;

/**
 * How long after a change of money a wallet pushes its snapshot, on its alarm (the pushes are
 * debounced: at most one per wallet per this period, whatever the payments in it). The aggregate lags
 * the wallets by about this much, more only while a shard cannot be reached (retried with backoff).
 */
export const SOLVENCY_PUSH_DELAY_MS = 5_000;

/** The shard a wallet's snapshot goes to (FNV-1a of its id): 0 ≤ shard < SOLVENCY_SHARDS. */
export function solvencyShardOf(wallet_id: string, shards = SOLVENCY_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < wallet_id.length; i++) {
    hash ^= wallet_id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** One wallet's books as its shard keeps them: absolute figures, newest `version` wins. */
export interface WalletSnapshot {
  wallet_id: string;
  /**
   * The wallet's last event seq when the snapshot was read: every change of money appends an event in
   * its own unit of work, so a higher version is newer money and the same version the same money.
   */
  version: number;
  /** The user's balance (`wallet` account). */
  balance_msat: Msat;
  /** Reserved for outgoing Lightning payments not yet final. */
  holds_msat: Msat;
  /** Sent to another wallet of the hub, not yet acknowledged by it. */
  in_flight_msat: Msat;
  /** Clearing with other wallets: + delivered, − received (sums to 0 over the hub once deliveries are acknowledged). */
  peers_msat: Msat;
  /** The wallet's own books hold together (walletBooksProblems is empty). */
  books_balanced: boolean;
}

/** What a wallet's balance table says, and the balance its instance holds in memory (null: not read). */
export interface WalletBalances {
  balances: Partial<Record<LedgerAccount, Msat>>;
  memory_balance_msat: Msat | null;
}

/**
 * The invariants of one wallet's books that are cheap enough to check on every snapshot (a handful of
 * rows, not the entries): every journal balances, so the account balances sum to zero; the balance,
 * what is in flight and what is held are never negative; the balance in memory is the stored one.
 * The full report (src/books.ts `checkBooks`, the wallet's `books()`) also reads every entry.
 */
export function walletBooksProblems(b: WalletBalances): string[] {
  const problems: string[] = [];
  const of = (account: LedgerAccount) => b.balances[account] ?? 0;
  const sum = Object.values(b.balances).reduce<number>((s, v) => s + (v ?? 0), 0);
  if (sum !== 0) problems.push(`the ledger's accounts sum to ${sum}, not 0`);
  for (const account of ["wallet", "holds", "in_flight"] as const) if (of(account) < 0) problems.push(`negative ${account} ${of(account)}`);
  if (b.memory_balance_msat !== null && b.memory_balance_msat !== of("wallet")) problems.push(`balance in memory ${b.memory_balance_msat} ≠ stored ${of("wallet")}`);
  for (const [account, v] of Object.entries(b.balances)) if (!Number.isSafeInteger(v)) problems.push(`${account} is not a whole amount: ${v}`);
  return problems;
}

/** A wallet's snapshot from its balance table, at `version`. */
export function walletSnapshot(wallet_id: string, version: number, b: WalletBalances): WalletSnapshot {
  const of = (account: LedgerAccount) => b.balances[account] ?? 0;
  return {
    wallet_id,
    version,
    balance_msat: of("wallet"),
    holds_msat: of("holds"),
    in_flight_msat: of("in_flight"),
    peers_msat: of("peers"),
    books_balanced: walletBooksProblems(b).length === 0,
  };
}

/** A snapshot with nothing in it: a wallet that never had money need not be counted. */
export const isEmptySnapshot = (s: WalletSnapshot): boolean =>
  s.balance_msat === 0 && s.holds_msat === 0 && s.in_flight_msat === 0 && s.peers_msat === 0 && s.books_balanced;

/** Sums of a set of snapshots (one shard's, or every shard's). */
export interface SnapshotTotals {
  wallets: number;
  unbalanced_wallets: number;
  balance_msat: Msat;
  holds_msat: Msat;
  in_flight_msat: Msat;
  peers_msat: Msat;
}

export const EMPTY_TOTALS: SnapshotTotals = { wallets: 0, unbalanced_wallets: 0, balance_msat: 0, holds_msat: 0, in_flight_msat: 0, peers_msat: 0 };

/** Adds totals (the shards' answers). */
export function addTotals(...totals: readonly SnapshotTotals[]): SnapshotTotals {
  const sum = { ...EMPTY_TOTALS };
  for (const t of totals) for (const k of Object.keys(sum) as (keyof SnapshotTotals)[]) sum[k] += t[k];
  return sum;
}

/** The totals of snapshots, the newest per wallet counted once (what a shard's table holds). */
export function sumSnapshots(snapshots: readonly WalletSnapshot[]): SnapshotTotals {
  const newest = new Map<string, WalletSnapshot>();
  for (const s of snapshots) if ((newest.get(s.wallet_id)?.version ?? -1) < s.version) newest.set(s.wallet_id, s);
  const sum = { ...EMPTY_TOTALS };
  for (const s of newest.values()) {
    sum.wallets += 1;
    if (!s.books_balanced) sum.unbalanced_wallets += 1;
    sum.balance_msat += s.balance_msat;
    sum.holds_msat += s.holds_msat;
    sum.in_flight_msat += s.in_flight_msat;
    sum.peers_msat += s.peers_msat;
  }
  return sum;
}

/**
 * LND's funds as the hub counts them: the channels' local balance, HTLCs in flight on them (incoming
 * ones are the hub's invoices held until it settles, outgoing ones its payments not yet final: both
 * still count in the wallets, as balances and holds), channels being opened, and confirmed coins on
 * chain. A node that forwarded payments would count a forwarded HTLC on both sides; the hub's does not.
 */
export function lndBalanceMsat(channels: ChannelBalance, onchain: WalletBalance): Msat {
  return (
    channels.local_balance.msat +
    channels.unsettled_local_balance.msat +
    channels.unsettled_remote_balance.msat +
    channels.pending_open_local_balance.msat +
    onchain.confirmed_balance * MSAT_PER_SAT
  );
}

/** GET /v1/admin/solvency's answer. */
export interface SolvencyReport {
  /**
   * What the hub owes its users: their balances, what is reserved for their payments not yet final
   * (a payment may still fail and come back), less transfers the receiver has credited and the sender
   * not yet seen acknowledged (Σ peers: else counted on both sides). Over the hub this is the faucet's
   * credits plus what came in through Lightning, less what went out and its fees.
   */
  liabilities_msat: Msat;
  /** The part of it reserved for payments not yet final: transfers not acknowledged, Lightning holds (each wallet's `pending_out_msat`). */
  in_flight_msat: Msat;
  lnd_balance_msat: Msat;
  /** Every wallet's own books hold together (walletBooksProblems). */
  books_balanced: boolean;
  /** The books balance and, outside development (where the faucet issues unbacked money), LND covers the liabilities. */
  ok: boolean;
  /** Wallets with a snapshot (wallets that never had money are not counted). */
  wallets: number;
  unbalanced_wallets: number;
}

/** The report from the shards' totals and LND's balance; `development`: the faucet's money is not backed by LND. */
export function solvencyReport(totals: SnapshotTotals, lnd_balance_msat: Msat, development: boolean): SolvencyReport {
  const in_flight_msat = totals.holds_msat + totals.in_flight_msat;
  const liabilities_msat = totals.balance_msat + in_flight_msat + totals.peers_msat;
  const books_balanced = totals.unbalanced_wallets === 0;
  const covered = lnd_balance_msat >= liabilities_msat;
  return {
    liabilities_msat,
    in_flight_msat,
    lnd_balance_msat,
    books_balanced,
    ok: books_balanced && (development || covered),
    wallets: totals.wallets,
    unbalanced_wallets: totals.unbalanced_wallets,
  };
}
