import type { Msat } from "./money";

/** What one wallet's ledger, history and event log each say: the figures its invariants compare. */
export interface WalletBooks {
  balance_msat: Msat;
  /** The balance this instance holds in memory (null if not read since wake-up); must equal the stored one. */
  memory_balance_msat: Msat | null;
  entries_balance_msat: Msat;
  in_flight_msat: Msat;
  faucet_msat: Msat;
  peers_msat: Msat;
  holds_msat: Msat;
  lnd_msat: Msat;
  fees_msat: Msat;
  /** Rewards credited to this wallet by operator programs (negative: the `rewards` source account, docs/decisions/0021). */
  rewards_msat: Msat;
  /** On-chain money through LND's wallet: − deposits credited, + withdrawals sent with their fees (docs/decisions/0023). */
  chain_msat: Msat;
  /** Amounts (not fees) of outgoing Lightning payments and on-chain withdrawals whose hold is still open. */
  pending_holds_amount_msat: Msat;
  unbalanced_journals: number;
  history_sum_msat: Msat;
  min_event_balance_msat: Msat | null;
  event_count: number;
  max_seq: number;
  undelivered_transfers: number;
}

/** The books report: the figures and every invariant they break (none when the books are right). */
export interface BooksReport extends WalletBooks {
  problems: string[];
}

/** The invariants of one wallet's books; returns what is wrong, in words (empty: consistent). */
export function checkBooks(b: WalletBooks): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  expect(b.unbalanced_journals === 0, `${b.unbalanced_journals} journals do not sum to zero`);
  expect(b.balance_msat === b.entries_balance_msat, `balance ${b.balance_msat} ≠ sum of its entries ${b.entries_balance_msat}`);
  expect(b.memory_balance_msat === null || b.memory_balance_msat === b.balance_msat, `balance in memory ${b.memory_balance_msat} ≠ stored ${b.balance_msat}`);
  // Pending sends are already debited (their fee once known), so the history (less failed rows) sums
  // to the balance plus what a hold reserves beyond the amount for the fee not yet known.
  const expectedHistory = b.balance_msat + b.holds_msat - b.pending_holds_amount_msat;
  expect(b.history_sum_msat === expectedHistory, `history sums to ${b.history_sum_msat}, the ledger says ${expectedHistory}`);
  expect(b.balance_msat >= 0, `negative balance ${b.balance_msat}`);
  expect(b.min_event_balance_msat === null || b.min_event_balance_msat >= 0, `an event shows a negative balance ${b.min_event_balance_msat}`);
  expect(b.max_seq === b.event_count, `event log has gaps: ${b.event_count} events up to seq ${b.max_seq}`);
  return problems;
}

/**
 * Conservation over a set of wallets (all the wallets that exchanged money), each consistent:
 * what moved between them sums to zero, and Σ balances + Σ holds + Σ in-flight = faucet + rewards + received − sent − fees
 * (faucet and rewards credits, Lightning and on-chain received less sent).
 */
export function checkConservation(books: readonly WalletBooks[]): string[] {
  const problems = books.flatMap((b, i) => checkBooks(b).map((p) => `wallet #${i}: ${p}`));
  const sum = (f: (b: WalletBooks) => number) => books.reduce((s, b) => s + f(b), 0);
  const peers = sum((b) => b.peers_msat);
  if (peers !== 0) problems.push(`transfers between the wallets do not cancel out: ${peers} msat`);
  const held = sum((b) => b.balance_msat + b.holds_msat + b.in_flight_msat);
  const sources = -sum((b) => b.faucet_msat) - sum((b) => b.rewards_msat) - sum((b) => b.lnd_msat) - sum((b) => b.fees_msat) - sum((b) => b.chain_msat);
  if (held !== sources) problems.push(`wallets hold ${held} msat, faucet + rewards + Lightning + on-chain − fees say ${sources}`);
  return problems;
}
