import type { LedgerAccount } from "../../src/ledger";
import { DoubleEntryLedger } from "../kit/ledger";
import type { ActorKit } from "../kit/part";

/**
 * The wallet's double-entry books (src/ledger.ts accounts). The `wallet` account cannot go negative,
 * and its balance is held in memory once read: the payment path reads it in every unit of work.
 */
export class Ledger extends DoubleEntryLedger<LedgerAccount> {
  constructor(kit: ActorKit) {
    // "ledger" is the name every wallet has recorded its step under.
    super(kit, { name: "ledger", nonNegative: "wallet", remembered: "wallet" });
  }
}
