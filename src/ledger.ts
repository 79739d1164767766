import type { Msat } from "./money";

/**
 * The books each wallet actor keeps. Amounts are signed millisatoshis; every journal
 * (one business event) has entries that sum to zero, so money only moves, never appears.
 *
 *  wallet     what the hub owes the user (their balance); may never go negative
 *  faucet     the development faucet: credits come out of it, so it runs negative
 *  in_flight  sent to another wallet, not yet acknowledged by it (the outbox)
 *  peers      clearing with other wallets: + what this wallet delivered, − what it received
 *  holds      reserved for an outgoing Lightning payment (amount + maximum fee) until it is final
 *  lnd        the hub's LND node: − what came in through it, + what went out through it
 *  fees       routing fees paid to the Lightning network
 *  rewards    operator reward programs: a claim's credit comes out of it, so it runs negative (docs/decisions/0021)
 *  chain      the hub's on-chain funds in LND's wallet: − deposits credited, + withdrawals sent, miners' fees included (docs/decisions/0023)
 */
export type LedgerAccount = "wallet" | "faucet" | "in_flight" | "peers" | "holds" | "lnd" | "fees" | "rewards" | "chain";

export interface Entry<Account extends string = LedgerAccount> {
  account: Account;
  amount_msat: Msat;
}

/** Throws unless the entries form a valid journal: whole msat, non-zero legs, sum zero (a wallet's, or a reward program's books). */
export function assertBalanced(entries: readonly Entry<string>[]): void {
  if (entries.length < 2) throw new Error("a journal needs at least two entries");
  let sum = 0;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.amount_msat) || e.amount_msat === 0) throw new Error(`bad entry amount ${e.amount_msat}`);
    sum += e.amount_msat;
  }
  if (sum !== 0) throw new Error(`journal does not balance: sums to ${sum}`);
}

/** The journals of an intraledger transfer, from each side's books. */
export const journals = {
  faucetCredit: (amount: Msat): Entry[] => [
    { account: "faucet", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  transferDebit: (amount: Msat): Entry[] => [
    { account: "wallet", amount_msat: -amount },
    { account: "in_flight", amount_msat: amount },
  ],
  transferDelivered: (amount: Msat): Entry[] => [
    { account: "in_flight", amount_msat: -amount },
    { account: "peers", amount_msat: amount },
  ],
  transferReturned: (amount: Msat): Entry[] => [
    { account: "in_flight", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  transferCredit: (amount: Msat): Entry[] => [
    { account: "peers", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  /** A reward program's claim, delivered to this wallet (the program's own books: src/rewards.ts). */
  rewardCredit: (amount: Msat): Entry[] => [
    { account: "rewards", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  invoiceCredit: (amount: Msat): Entry[] => [
    { account: "lnd", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  /** A deposit credited at ONCHAIN_CONFIRMATIONS (docs/decisions/0023). */
  onchainCredit: (amount: Msat): Entry[] => [
    { account: "chain", amount_msat: -amount },
    { account: "wallet", amount_msat: amount },
  ],
  /**
   * A withdrawal LND confirmed: the hold (amount + the fee held) leaves for the chain at the real fee,
   * what was held beyond it comes back; a fee above the hold is taken from the balance (a negative refund).
   */
  withdrawalSettled: (reserved: Msat, amount: Msat, fee: Msat): Entry[] => {
    const entries: Entry[] = [
      { account: "holds", amount_msat: -reserved },
      { account: "chain", amount_msat: amount + fee },
    ];
    if (reserved - amount - fee !== 0) entries.push({ account: "wallet", amount_msat: reserved - amount - fee });
    return entries;
  },
  paymentHold: (reserved: Msat): Entry[] => [
    { account: "wallet", amount_msat: -reserved },
    { account: "holds", amount_msat: reserved },
  ],
  paymentReleased: (reserved: Msat): Entry[] => [
    { account: "holds", amount_msat: -reserved },
    { account: "wallet", amount_msat: reserved },
  ],
  /** Settles a hold at the real fee; what was reserved beyond amount + fee goes back to the wallet. */
  paymentSettled: (reserved: Msat, amount: Msat, fee: Msat): Entry[] => {
    if (amount + fee > reserved) throw new Error(`fee ${fee} exceeds the hold of ${reserved} for ${amount}`);
    const entries: Entry[] = [
      { account: "holds", amount_msat: -reserved },
      { account: "lnd", amount_msat: amount },
    ];
    if (fee > 0) entries.push({ account: "fees", amount_msat: fee });
    if (reserved - amount - fee > 0) entries.push({ account: "wallet", amount_msat: reserved - amount - fee });
    return entries;
  },
};
