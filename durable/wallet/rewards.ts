import { refuse, type Refusal } from "../../src/errors";
import { journals } from "../../src/ledger";
import { isPaymentAmount } from "../../src/money";
import { MAX_REWARD_AMOUNT_SAT, type RewardPayload } from "../../src/rewards";
import type { ActorKit, Part } from "../kit/part";
import type { EventLog } from "./event-log";
import { newTransaction } from "./history";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";
import type { Transfers } from "./transfers";

/**
 * Rewards this wallet receives from operator programs (docs/decisions/0021): a program's claim is
 * delivered like a transfer (docs/decisions/0002) and credited once per claim id, whose history row
 * is the receipt (the transfers' unique `transfer_id` column). The credit comes out of the wallet's
 * `rewards` account (`rewards → wallet`), so its books stay balanced, and writes `reward.credited`
 * in the same unit of work. A frozen account is credited too: receiving goes on (decision 0016).
 * Owns no table.
 */
export class RewardCredits implements Part {
  readonly name = "reward-credits";

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly events: EventLog,
    private readonly transfers: Transfers,
  ) {}

  /** Credits a claim; a claim seen before writes nothing and is only acknowledged (with its transaction). */
  receive(payload: RewardPayload): { ok: true; transaction_id: string; duplicate: boolean } | Refusal {
    if (!this.identity.get()) return refuse("unknown_recipient", "no such wallet");
    if (!isPaymentAmount(payload.amount_msat, MAX_REWARD_AMOUNT_SAT)) return refuse("invalid_request", "amount out of range");
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      const transaction = newTransaction({ kind: "reward", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: null, memo: payload.name }, now);
      if (!this.transfers.insertIncoming(transaction, payload.claim_id)) return { ok: true as const, transaction_id: this.transfers.seen(payload.claim_id)!, duplicate: true };
      this.ledger.post(`${payload.claim_id}:reward`, journals.rewardCredit(payload.amount_msat), now);
      const balance_msat = this.ledger.balanceOf("wallet");
      this.events.append("reward.credited", { transaction, balance_msat, program_id: payload.program_id, claim_id: payload.claim_id }, now);
      return { ok: true as const, transaction_id: transaction.id, duplicate: false };
    });
  }
}
