import type { ProgramAccount } from "../../src/rewards";
import { DoubleEntryLedger } from "../kit/ledger";
import type { ActorKit } from "../kit/part";

/**
 * A reward program's double-entry books (src/rewards.ts: operator → budget → in flight → paid). The
 * budget can never go negative (a last line of defence behind the claim's own check); no balance is
 * held in memory, each is read from the table.
 */
export class ProgramLedger extends DoubleEntryLedger<ProgramAccount> {
  constructor(kit: ActorKit) {
    // "program-ledger" is the name every program has recorded its step under.
    super(kit, { name: "program-ledger", nonNegative: "budget" });
  }
}
