import { checkBooks, type BooksReport, type WalletBooks } from "../../src/books";
import type { Part } from "../kit/part";
import type { EventLog } from "./event-log";
import type { History } from "./history";
import type { Ledger } from "./ledger";
import type { LightningPayments } from "./lightning-payments";
import type { OnchainWallet } from "./onchain";
import type { Transfers } from "./transfers";

/**
 * The books report: what the ledger, the history and the event log each say, and the invariants
 * (src/books.ts) they break. Owns no table; it reads the other parts.
 */
export class Books implements Part {
  readonly name = "books";

  constructor(
    private readonly ledger: Ledger,
    private readonly history: History,
    private readonly events: EventLog,
    private readonly transfers: Transfers,
    private readonly lightning: LightningPayments,
    private readonly onchain: OnchainWallet,
  ) {}

  report(): BooksReport {
    const l = this.ledger;
    const figures: WalletBooks = {
      // From the table, not the in-memory copy: the report checks the stored cache against the entries.
      balance_msat: l.storedBalance("wallet"),
      memory_balance_msat: l.memoryBalance(),
      entries_balance_msat: l.entriesSum("wallet"),
      in_flight_msat: l.entriesSum("in_flight"),
      faucet_msat: l.entriesSum("faucet"),
      peers_msat: l.entriesSum("peers"),
      holds_msat: l.entriesSum("holds"),
      lnd_msat: l.entriesSum("lnd"),
      fees_msat: l.entriesSum("fees"),
      rewards_msat: l.entriesSum("rewards"),
      chain_msat: l.entriesSum("chain"),
      pending_holds_amount_msat: this.lightning.pendingHoldsAmount() + this.onchain.pendingHoldsAmount(),
      unbalanced_journals: l.unbalancedJournals(),
      history_sum_msat: this.history.sum(),
      ...this.events.figures(),
      undelivered_transfers: this.transfers.undeliveredCount(),
    };
    return { ...figures, problems: checkBooks(figures) };
  }
}
