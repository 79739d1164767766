import { refuse, type Refusal } from "../../src/errors";
import type { ActorKit, Part } from "../kit/part";
import type { PaymentRoute, WalletPort } from "../ports";

/** A claim left `in_flight` this long is checked with its wallet before it blocks another payment. */
const CLAIM_CONFIRM_AFTER_MS = 60_000;

interface Claim {
  payment_id: string;
  wallet_id: string;
  state: string;
  updated_at: number;
}

/** The guard that makes the hub pay any outside payment hash at most once, whichever wallet asks. */
export class PaymentClaims implements Part {
  readonly name = "payment-claims";
  // state: in_flight | succeeded | failed
  readonly migrations = [
    `CREATE TABLE payments (
       payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, payment_id TEXT NOT NULL,
       state TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  ];

  constructor(
    private readonly kit: ActorKit,
    private readonly wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {}

  /** Claims an outside hash for one payment of one wallet, unless a live claim of another payment holds it. */
  async claim(payment_hash: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal> {
    for (;;) {
      const claim = this.kit.sql<Claim>`SELECT payment_id, wallet_id, state, updated_at FROM payments WHERE payment_hash = ${payment_hash}`[0];
      if (!claim || claim.payment_id === payment_id || claim.state === "failed") break;
      if (!(await this.isStale(claim))) return refuse("already_paid", claim.state === "succeeded" ? "this invoice was already paid" : "this invoice is being paid");
      // The stale claim is failed now, unless another payment claimed the hash while its wallet was asked: look again.
    }
    this.kit.sql`INSERT OR REPLACE INTO payments (payment_hash, wallet_id, payment_id, state, updated_at)
                 VALUES (${payment_hash}, ${wallet_id}, ${payment_id}, 'in_flight', ${Date.now()})`;
    return { route: "external" };
  }

  /** Records how an outside payment ended; a failed one frees its hash for another try. */
  finish(payment_hash: string, payment_id: string, state: "succeeded" | "failed"): void {
    this.kit.sql`UPDATE payments SET state = ${state}, updated_at = ${Date.now()} WHERE payment_hash = ${payment_hash} AND payment_id = ${payment_id}`;
  }

  /**
   * A claim left `in_flight` by a wallet that crashed before holding the funds (or before telling
   * us the outcome) would block its hash forever: after a while, ask that wallet what it knows.
   */
  private async isStale(claim: Claim): Promise<boolean> {
    if (claim.state !== "in_flight" || Date.now() - claim.updated_at < CLAIM_CONFIRM_AFTER_MS) return false;
    const state = await this.wallets(claim.wallet_id).lightningPaymentState(claim.payment_id);
    if (state === "pending") return false;
    this.kit.sql`UPDATE payments SET state = ${state === "succeeded" ? "succeeded" : "failed"}, updated_at = ${Date.now()} WHERE payment_id = ${claim.payment_id}`;
    return state !== "succeeded";
  }
}
