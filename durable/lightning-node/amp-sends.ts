import { refuse, type Refusal } from "../../src/errors";
import type { ActorKit, Part } from "../kit/part";
import type { PaymentRoute, WalletPort } from "../ports";

/**
 * An unresolved claim this old is checked with its wallet before it blocks another send: long enough
 * that a wallet between its claim and its hold (one RPC) has held or given up.
 */
export const AMP_CLAIM_CONFIRM_AFTER_MS = 60_000;

interface SendRow {
  payment_id: string;
  payment_addr: string;
  wallet_id: string;
  set_id: string | null;
  resolved: number;
  claimed_at: number;
}

/**
 * Paying AMP invoices (docs/decisions/0025). Every payment of an AMP invoice carries the invoice's payment
 * address, and LND names each by a set id it draws; until the first answer names it, a send is known only
 * by that shared address. So the node admits one *unresolved* send per payment address at a time (a claim:
 * wallet, payment id, when) and a second one meanwhile gets a retryable `conflict`; the claim resolves once
 * the send's set id is known (or it ended before reaching LND). A send whose first answer was lost is then
 * unambiguous: among LND's payments of that invoice, the one whose set id no other hub send has.
 */
export class AmpSends implements Part {
  readonly name = "amp-sends";
  readonly migrations = [
    `CREATE TABLE amp_sends (
       payment_id TEXT PRIMARY KEY, payment_addr TEXT NOT NULL, wallet_id TEXT NOT NULL, set_id TEXT,
       resolved INTEGER NOT NULL DEFAULT 0, claimed_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE UNIQUE INDEX amp_sends_unresolved ON amp_sends (payment_addr) WHERE resolved = 0;
     CREATE INDEX amp_sends_by_addr ON amp_sends (payment_addr, set_id);`,
  ];

  constructor(
    private readonly kit: ActorKit,
    private readonly wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {}

  /** Claims the payment address for this send, unless another send of it is unresolved. */
  async claim(payment_addr: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal> {
    for (;;) {
      const open = this.kit.sql<SendRow>`SELECT * FROM amp_sends WHERE payment_addr = ${payment_addr} AND resolved = 0`[0];
      if (!open || open.payment_id === payment_id) break;
      if (!(await this.isStale(open))) {
        return refuse("conflict", "another payment of this AMP invoice is being started right now: try again in a moment");
      }
      // Resolved now (its wallet had its set id, or never held it), unless another send claimed meanwhile: look again.
    }
    const now = Date.now();
    this.kit.sql`INSERT INTO amp_sends (payment_id, payment_addr, wallet_id, resolved, claimed_at, updated_at)
                 VALUES (${payment_id}, ${payment_addr}, ${wallet_id}, 0, ${now}, ${now}) ON CONFLICT (payment_id) DO NOTHING`;
    return { route: "external" };
  }

  /** The send's set id is known, or it ended with none reaching LND: it no longer blocks the address. */
  resolve(payment_addr: string, payment_id: string, set_id: string | null): void {
    this.kit.sql`UPDATE amp_sends SET resolved = 1, set_id = COALESCE(set_id, ${set_id}), updated_at = ${Date.now()}
                 WHERE payment_id = ${payment_id} AND payment_addr = ${payment_addr}`;
  }

  /** The set ids of the hub's other sends to this address. */
  setIds(payment_addr: string, payment_id: string): string[] {
    return this.kit.sql<{ set_id: string }>`
      SELECT set_id FROM amp_sends WHERE payment_addr = ${payment_addr} AND payment_id <> ${payment_id} AND set_id IS NOT NULL`.map((r) => r.set_id);
  }

  /** A claim left unresolved by a wallet that died before holding (or before telling us the set id): ask it. */
  private async isStale(claim: SendRow): Promise<boolean> {
    if (Date.now() - claim.claimed_at < AMP_CLAIM_CONFIRM_AFTER_MS) return false;
    const { status, set_id } = await this.wallets(claim.wallet_id).ampSendState(claim.payment_id);
    // Pending with no set id: its answer is still being looked for; it stays the one unresolved send.
    if (status === "pending" && set_id === null) return false;
    this.resolve(claim.payment_addr, claim.payment_id, set_id);
    return true;
  }
}
