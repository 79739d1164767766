import { boundedMessage, isRefusal, refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import { journals } from "../../src/ledger";
import type { Msat } from "../../src/money";
import { MSAT_PER_SAT } from "../../src/money";
import type { OnchainPayment } from "../../src/onchain-schemas";
import type { ApiAnswer, Transaction } from "../../src/wallet-types";
import type { Idempotency } from "../kit/idempotency";
import type { ActorKit, Part, Task } from "../kit/part";
import { RollBack } from "../kit/unit-of-work";
import type { LightningNodePort, OnchainDepositUpdate, OnchainSendState, PayOnchainRequest } from "../ports";
import type { EventLog } from "./event-log";
import { newTransaction, type History } from "./history";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";
import type { Limits } from "./limits";

interface DepositRow {
  outpoint: string;
  txid: string;
  vout: number;
  address: string;
  amount_msat: number;
  status: "pending" | "credited" | "dropped";
  confirmations: number;
  version: number;
  transaction_id: string;
}

interface WithdrawalRow {
  withdrawal_id: string;
  address: string;
  amount_msat: number;
  reserved_msat: number;
  fee_rate_sat_vb: number | null;
  fee_msat: number;
  status: OnchainPayment["status"];
  txid: string | null;
  failure_reason: string | null;
  transaction_id: string;
  created_at: string;
}

/** How soon a new withdrawal is first followed up, and how often while LND has not confirmed it. */
const FIRST_FOLLOW_UP_MS = 2_000;
export const WITHDRAWAL_FOLLOW_UP_MS = 10_000;
/** Pending withdrawals one follow-up run asks the node about. */
const WITHDRAWALS_PER_RUN = 20;

/**
 * On-chain money through LND's wallet (docs/decisions/0023). Deposits: the node actor delivers each
 * deposit's state (its outbox, keyed by `txid:vout`); the first sight writes a pending history row and
 * `onchain.pending` (no money), the threshold credits `chain → wallet` with `onchain.received`, once,
 * in one unit of work; a re-org before that marks it dropped (`onchain.dropped`). Withdrawals: amount +
 * the fee held (`wallet → holds`), SendCoins by the node actor (once per withdrawal id), settled at the
 * real fee when LND reports the transaction confirmed (`holds → chain`, the rest back), released whole
 * if LND refused it; followed up by a task until then.
 */
export class OnchainWallet implements Part {
  readonly name = "onchain";
  readonly migrations = [
    `CREATE TABLE onchain_deposits (
       outpoint TEXT PRIMARY KEY, txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL, amount_msat INTEGER NOT NULL,
       status TEXT NOT NULL CHECK (status IN ('pending', 'credited', 'dropped')), confirmations INTEGER NOT NULL, version INTEGER NOT NULL,
       transaction_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
     CREATE TABLE onchain_withdrawals (
       withdrawal_id TEXT PRIMARY KEY, address TEXT NOT NULL, amount_msat INTEGER NOT NULL, reserved_msat INTEGER NOT NULL,
       fee_rate_sat_vb INTEGER, fee_msat INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
       txid TEXT, failure_reason TEXT, transaction_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
     CREATE INDEX onchain_withdrawals_pending ON onchain_withdrawals (status) WHERE status = 'pending';`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "onchain:withdrawals",
      nextDueAt: () => (this.hasPending() ? this.followedAt + WITHDRAWAL_FOLLOW_UP_MS : null),
      run: () => this.followUp(),
    },
  ];
  /** When the follow-up last ran in this instance (0: not since wake-up, so it is due). */
  private followedAt = 0;
  /** Withdrawals this instance is asking the node about right now. */
  private readonly asking = new Set<string>();

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly history: History,
    private readonly events: EventLog,
    private readonly idempotency: Idempotency,
    private readonly limits: Limits,
    private readonly node: () => DurableObjectStub<LightningNodePort>,
  ) {}

  // ── Deposits ───────────────────────────────────────────────────────────────

  /** Applies a deposit's state (any number of times, in any order: an older version changes nothing). */
  receiveDeposit(update: OnchainDepositUpdate): { ok: true; transaction_id: string; status: string } | Refusal {
    if (!this.identity.get()) return refuse("unknown_recipient", "no such wallet");
    if (!Number.isSafeInteger(update.amount_msat) || update.amount_msat <= 0) return refuse("invalid_request", "amount out of range");
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      let row = this.deposit(update.outpoint);
      if (!row) {
        // First sight (or a credit whose earlier states were never delivered): the pending row and its event first.
        const transaction = newTransaction({ kind: "onchain", direction: "in", amount_msat: update.amount_msat, status: "pending", counterparty: null, memo: null }, now);
        this.history.insert(transaction);
        this.kit.sql`INSERT INTO onchain_deposits (outpoint, txid, vout, address, amount_msat, status, confirmations, version, transaction_id, created_at, updated_at)
                     VALUES (${update.outpoint}, ${update.txid}, ${update.vout}, ${update.address}, ${update.amount_msat}, 'pending',
                             ${update.confirmations}, ${update.version}, ${transaction.id}, ${now}, ${now})`;
        row = this.deposit(update.outpoint)!;
        this.events.append("onchain.pending", this.depositEvent(row), now);
      } else if (row.status === "credited" || update.version < row.version) {
        return { ok: true as const, transaction_id: row.transaction_id, status: row.status };
      }
      if (update.state === "confirmed") {
        this.kit.sql`UPDATE onchain_deposits SET status = 'credited', confirmations = ${update.confirmations}, version = ${update.version}, updated_at = ${now}
                     WHERE outpoint = ${row.outpoint}`;
        this.history.finish(row.transaction_id, "succeeded");
        this.ledger.post(`${row.outpoint}:credit`, journals.onchainCredit(row.amount_msat), now);
        this.events.append("onchain.received", this.depositEvent(this.deposit(row.outpoint)!), now);
      } else if (update.state === "dropped") {
        if (row.status === "pending") {
          this.kit.sql`UPDATE onchain_deposits SET status = 'dropped', confirmations = 0, version = ${update.version}, updated_at = ${now} WHERE outpoint = ${row.outpoint}`;
          this.history.finish(row.transaction_id, "failed");
          this.events.append("onchain.dropped", this.depositEvent(this.deposit(row.outpoint)!), now);
        }
      } else if (row.status === "dropped") {
        // Back from a re-org (in the mempool or a block again): pending once more.
        this.kit.sql`UPDATE onchain_deposits SET status = 'pending', confirmations = ${update.confirmations}, version = ${update.version}, updated_at = ${now}
                     WHERE outpoint = ${row.outpoint}`;
        this.kit.sql`UPDATE transactions SET status = 'pending' WHERE id = ${row.transaction_id}`;
        this.events.append("onchain.pending", this.depositEvent(this.deposit(row.outpoint)!), now);
      } else {
        this.kit.sql`UPDATE onchain_deposits SET confirmations = ${update.confirmations}, version = ${update.version}, updated_at = ${now} WHERE outpoint = ${row.outpoint}`;
      }
      const after = this.deposit(row.outpoint)!;
      return { ok: true as const, transaction_id: after.transaction_id, status: after.status };
    });
  }

  private deposit(outpoint: string): DepositRow | null {
    return this.kit.sql<DepositRow>`SELECT * FROM onchain_deposits WHERE outpoint = ${outpoint}`[0] ?? null;
  }

  private depositEvent(row: DepositRow): Record<string, unknown> {
    return {
      transaction: this.history.byId(row.transaction_id),
      txid: row.txid,
      vout: row.vout,
      address: row.address,
      confirmations: row.confirmations,
      balance_msat: this.ledger.balanceOf("wallet"),
    };
  }

  // ── Withdrawals ────────────────────────────────────────────────────────────

  /** Withdraws: holds amount + the fee held, hands it to the node actor, answers as it stands. */
  async pay(request: PayOnchainRequest): Promise<ApiAnswer<OnchainPayment> | Refusal> {
    return this.idempotency.once(
      request.idempotency,
      async () => {
        if (!this.identity.get()) return refuse("not_found", "wallet not opened");
        const held = this.hold(request);
        if (isRefusal(held)) return held;
        await this.handOver(held.withdrawal_id);
        return { ok: true, status: 200, body: this.byId(held.withdrawal_id)! };
      },
      { checkFirst: true },
    ) as Promise<ApiAnswer<OnchainPayment> | Refusal>;
  }

  /**
   * One unit of work: the key, the freeze and the rolling `withdrawal` limit, the balance, the
   * withdrawal and its history row, the hold, `onchain.withdrawal.pending`. Refusals change nothing.
   */
  hold(request: PayOnchainRequest): { ok: true; withdrawal_id: string } | Refusal {
    const now = new Date().toISOString();
    const withdrawal_id = newId("wd");
    const reserved = request.amount_msat + request.max_fee_msat;
    return this.kit.unitOfWork.run(() => {
      const transaction = newTransaction({ kind: "onchain", direction: "out", amount_msat: request.amount_msat, status: "pending", counterparty: null, memo: null }, now);
      this.idempotency.claim(request.idempotency, transaction.id, { ok: true, status: 200, body: null });
      const overLimit = this.limits.check("withdrawal", request.amount_msat, Date.parse(now));
      if (overLimit) throw new RollBack(overLimit);
      const balance = this.ledger.balanceOf("wallet");
      if (balance < reserved) throw new RollBack(refuse("insufficient_balance", `balance ${balance} msat is less than ${reserved} msat (amount + the fee held)`));
      this.history.insert(transaction);
      this.limits.record("withdrawal", request.amount_msat, transaction);
      this.kit.sql`INSERT INTO onchain_withdrawals (withdrawal_id, address, amount_msat, reserved_msat, fee_rate_sat_vb, status, transaction_id, created_at, updated_at)
                   VALUES (${withdrawal_id}, ${request.address}, ${request.amount_msat}, ${reserved}, ${request.fee_rate_sat_vb}, 'pending', ${transaction.id}, ${now}, ${now})`;
      this.ledger.post(`${withdrawal_id}:hold`, journals.paymentHold(reserved), now);
      this.events.append("onchain.withdrawal.pending", { ...this.byId(withdrawal_id)!, balance_msat: this.ledger.balanceOf("wallet") }, now);
      this.kit.scheduler.arm(Date.now() + FIRST_FOLLOW_UP_MS);
      return { ok: true as const, withdrawal_id };
    });
  }

  /** A withdrawal as the API shows it, or null. */
  byId(withdrawal_id: string): OnchainPayment | null {
    const w = this.kit.sql<WithdrawalRow>`SELECT * FROM onchain_withdrawals WHERE withdrawal_id = ${withdrawal_id}`[0];
    return w ? this.toPayment(w) : null;
  }

  /** The withdrawal a history row belongs to, as the API shows it; null for a row of another kind. */
  byTransaction(transaction_id: string): OnchainPayment | null {
    const w = this.kit.sql<WithdrawalRow>`SELECT * FROM onchain_withdrawals WHERE transaction_id = ${transaction_id}`[0];
    return w ? this.toPayment(w) : null;
  }

  /** Amounts (not fees) of withdrawals whose hold is still open (for the books report). */
  pendingHoldsAmount(): Msat {
    return this.kit.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM onchain_withdrawals WHERE status = 'pending'`[0]?.s ?? 0;
  }

  private toPayment(w: WithdrawalRow): OnchainPayment {
    const answer: OnchainPayment = {
      status: w.status,
      withdrawal_id: w.withdrawal_id,
      txid: w.txid,
      address: w.address,
      amount_msat: w.amount_msat,
      fee_msat: w.fee_msat,
      reserved_msat: w.status === "pending" ? w.reserved_msat : 0,
      transaction: this.history.byId(w.transaction_id) as Transaction,
    };
    if (w.failure_reason) answer.failure_reason = boundedMessage(w.failure_reason);
    return answer;
  }

  private hasPending(): boolean {
    return this.kit.sql`SELECT 1 FROM onchain_withdrawals WHERE status = 'pending' LIMIT 1`.length > 0;
  }

  /** The follow-up task: asks the node where each pending withdrawal stands (sending it if LND never got it). */
  async followUp(): Promise<void> {
    this.followedAt = Date.now();
    const pending = this.kit.sql<{ withdrawal_id: string }>`
      SELECT withdrawal_id FROM onchain_withdrawals WHERE status = 'pending' ORDER BY updated_at LIMIT ${WITHDRAWALS_PER_RUN}`;
    await Promise.all(pending.map((w) => this.handOver(w.withdrawal_id)));
  }

  /** Asks the node actor to send (once per withdrawal id) and applies what it says; unreachable: tried again later. */
  async handOver(withdrawal_id: string): Promise<void> {
    const w = this.kit.sql<WithdrawalRow>`SELECT * FROM onchain_withdrawals WHERE withdrawal_id = ${withdrawal_id}`[0];
    if (!w || w.status !== "pending" || this.asking.has(withdrawal_id)) return;
    const identity = this.identity.get();
    if (!identity) return;
    this.asking.add(withdrawal_id);
    try {
      const state = await this.node().sendOnchain({
        withdrawal_id,
        wallet_id: identity.wallet_id,
        address: w.address,
        amount_sat: w.amount_msat / MSAT_PER_SAT,
        fee_rate_sat_vb: w.fee_rate_sat_vb,
      });
      if (!isRefusal(state)) this.apply(withdrawal_id, state);
    } catch {
      // The node actor could not be reached: the hold stays, the follow-up asks again.
    } finally {
      this.asking.delete(withdrawal_id);
    }
  }

  /** LND's word on a withdrawal: its txid once sent; settled at the real fee once confirmed; released if refused. */
  private apply(withdrawal_id: string, state: OnchainSendState): void {
    const now = new Date().toISOString();
    this.kit.unitOfWork.run(() => {
      const w = this.kit.sql<WithdrawalRow>`SELECT * FROM onchain_withdrawals WHERE withdrawal_id = ${withdrawal_id}`[0];
      if (!w || w.status !== "pending") return;
      if (state.state === "failed") {
        this.ledger.post(`${withdrawal_id}:released`, journals.paymentReleased(w.reserved_msat), now);
        this.kit.sql`UPDATE onchain_withdrawals SET status = 'failed', failure_reason = ${state.reason}, updated_at = ${now} WHERE withdrawal_id = ${withdrawal_id}`;
        this.history.finish(w.transaction_id, "failed");
        this.limits.release({ id: w.transaction_id, created_at: w.created_at });
        this.events.append("onchain.withdrawal.failed", { ...this.byId(withdrawal_id)!, balance_msat: this.ledger.balanceOf("wallet") }, now);
        return;
      }
      if (state.txid && state.txid !== w.txid) {
        this.kit.sql`UPDATE onchain_withdrawals SET txid = ${state.txid}, updated_at = ${now} WHERE withdrawal_id = ${withdrawal_id}`;
      }
      if (state.state !== "confirmed") return;
      // The real fee, charged from the hold and, beyond it, from the balance as far as it goes (docs/decisions/0023).
      const real = (state.fee_sat ?? 0) * MSAT_PER_SAT;
      const fee = Math.min(real, w.reserved_msat - w.amount_msat + this.ledger.balanceOf("wallet"));
      if (fee < real) console.warn(`withdrawal ${withdrawal_id}: fee ${real} msat above the hold and the balance; ${real - fee} msat not charged`);
      this.ledger.post(`${withdrawal_id}:settled`, journals.withdrawalSettled(w.reserved_msat, w.amount_msat, fee), now);
      this.kit.sql`UPDATE onchain_withdrawals SET status = 'succeeded', fee_msat = ${fee}, updated_at = ${now} WHERE withdrawal_id = ${withdrawal_id}`;
      this.history.finish(w.transaction_id, "succeeded", fee);
      this.events.append("onchain.withdrawal.succeeded", { ...this.byId(withdrawal_id)!, balance_msat: this.ledger.balanceOf("wallet") }, now);
    });
  }
}
