import type { Entry } from "./ledger";
import { MAX_PAYMENT_SAT, type Msat } from "./money";

/**
 * Reward programs (docs/decisions/0021): the operator funds a program's budget from its own ledger
 * account, and each account may claim the program's amount once, while the budget lasts and before
 * its end. The budget, the claims and the program's books live in one actor per program.
 */

/** A claim pays at most what one payment may move. */
export const MAX_REWARD_AMOUNT_SAT = MAX_PAYMENT_SAT;
/** A budget of at most 10,000 BTC: its msat stay far inside safe integers. */
export const MAX_REWARD_BUDGET_SAT = 1_000_000_000_000;
/** A program's name (what the operator calls it; the memo of every reward it pays). */
export const REWARD_NAME_MAX_LENGTH = 100;

/**
 * A reward program's books (double entry, integer msat, every journal sums to zero):
 *
 *  operator   the operator's own account the budget is funded from: runs negative by what was funded
 *  budget     what is left to pay (never negative: a claim beyond it is refused)
 *  in_flight  claimed, on its way to the claimant's wallet (the claim's outbox)
 *  paid       delivered: credited to the claimant's wallet (its `rewards` account, src/ledger.ts)
 */
export type ProgramAccount = "operator" | "budget" | "in_flight" | "paid";

export const programJournals = {
  funded: (budget: Msat): Entry<ProgramAccount>[] => [
    { account: "operator", amount_msat: -budget },
    { account: "budget", amount_msat: budget },
  ],
  claimed: (amount: Msat): Entry<ProgramAccount>[] => [
    { account: "budget", amount_msat: -amount },
    { account: "in_flight", amount_msat: amount },
  ],
  delivered: (amount: Msat): Entry<ProgramAccount>[] => [
    { account: "in_flight", amount_msat: -amount },
    { account: "paid", amount_msat: amount },
  ],
  /** The wallet refused the claim for good (no such wallet): the amount goes back to the budget. */
  returned: (amount: Msat): Entry<ProgramAccount>[] => [
    { account: "in_flight", amount_msat: -amount },
    { account: "budget", amount_msat: amount },
  ],
};

/** What a program's ledger and claims each say: the figures its invariants compare. */
export interface ProgramBooks {
  /** What the operator funded (the `operator` account, as a positive amount). */
  funded_msat: Msat;
  remaining_msat: Msat;
  in_flight_msat: Msat;
  paid_msat: Msat;
  /** The budget's balance as its cache table holds it (must equal the sum of its entries, `remaining_msat`). */
  budget_balance_msat: Msat;
  unbalanced_journals: number;
  /** The claims by status, and what each claim paid. */
  claims_pending: number;
  claims_succeeded: number;
  claims_failed: number;
  amount_msat: Msat;
}

/** The invariants of a program's books (empty: consistent): funded = paid + in flight + remaining, each claim paid once. */
export function checkProgramBooks(b: ProgramBooks): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  expect(b.unbalanced_journals === 0, `${b.unbalanced_journals} journals do not sum to zero`);
  expect(b.funded_msat === b.paid_msat + b.in_flight_msat + b.remaining_msat, `funded ${b.funded_msat} ≠ paid ${b.paid_msat} + in flight ${b.in_flight_msat} + remaining ${b.remaining_msat}`);
  expect(b.remaining_msat >= 0, `negative budget ${b.remaining_msat}`);
  expect(b.budget_balance_msat === b.remaining_msat, `budget balance ${b.budget_balance_msat} ≠ sum of its entries ${b.remaining_msat}`);
  expect(b.paid_msat === b.claims_succeeded * b.amount_msat, `paid ${b.paid_msat} ≠ ${b.claims_succeeded} delivered claims × ${b.amount_msat}`);
  expect(b.in_flight_msat === b.claims_pending * b.amount_msat, `in flight ${b.in_flight_msat} ≠ ${b.claims_pending} pending claims × ${b.amount_msat}`);
  return problems;
}

/**
 * Rewards across programs and the wallets that claimed from them (every claimant's wallet): what the
 * programs paid is what the wallets were credited from their `rewards` account.
 */
export function checkRewardsPaid(programs: readonly Pick<ProgramBooks, "paid_msat">[], wallets: readonly { rewards_msat: Msat }[]): string[] {
  const paid = programs.reduce((s, p) => s + p.paid_msat, 0);
  const credited = -wallets.reduce((s, w) => s + w.rewards_msat, 0);
  return paid === credited ? [] : [`programs paid ${paid} msat, wallets were credited ${credited} msat`];
}

/** Where a program stands for a claim made at `now` (ms). */
export type ProgramStatus = "open" | "spent" | "ended";
export function programStatus(p: { ends_at: string | null; amount_msat: Msat }, remaining_msat: Msat, now: number): ProgramStatus {
  if (p.ends_at !== null && Date.parse(p.ends_at) <= now) return "ended";
  return remaining_msat < p.amount_msat ? "spent" : "open";
}

/** What a program hands a claimant's wallet: the same payload on every attempt; the wallet credits once per `claim_id`. */
export interface RewardPayload {
  claim_id: string;
  program_id: string;
  /** The program's name: the memo of the wallet's `reward` transaction. */
  name: string;
  amount_msat: Msat;
}
