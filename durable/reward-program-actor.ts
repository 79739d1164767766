import { Actor } from "./kit/actor";
import { AuditTrail } from "./kit/audit-trail";
import { Idempotency, idempotencyConflict } from "./kit/idempotency";
import { rewardDirectory, walletActor, type Env } from "./env";
import type { CreateRewardProgramRequest, RewardProgramPort } from "./ports";
import { Claims, type ClaimRequest } from "./reward-program/claims";
import { Program } from "./reward-program/program";
import { ProgramLedger } from "./reward-program/program-ledger";
import type { AuditEntry } from "../src/audit";
import { refuse, type Refusal } from "../src/errors";
import type { Reward, RewardClaim, RewardProgram, RewardProgramDetail } from "../src/reward-schemas";
import { checkProgramBooks, programStatus, type ProgramBooks } from "../src/rewards";
import type { ApiAnswer } from "../src/wallet-types";

const noProgram = (): Refusal => refuse("not_found", "no such reward program");

/**
 * One per reward program (docs/decisions/0021): the only writer of its budget. It owns the program,
 * its double-entry books (operator → budget → in flight → paid), the claims (one per account) and
 * their delivery to the claimants' wallets, and the program's audit trail. The work is done by the
 * parts in durable/reward-program/; this file is the RPC surface and the wiring.
 */
export class RewardProgramActor extends Actor<Env> implements RewardProgramPort {
  readonly ledger = new ProgramLedger(this.kit);
  /** The operator's record of the program: its creation, hash-chained (docs/decisions/0016). */
  readonly audit = new AuditTrail(this.kit, "reward_program");
  /** A claim's key replays the claim as it stands now (pending, then succeeded). */
  readonly idempotency = new Idempotency(this.kit, (claim_id) => this.claims.byId(claim_id));
  readonly program = new Program(this.kit, this.ledger, this.audit, () => rewardDirectory(this.env));
  readonly claims: Claims = new Claims(this.kit, this.ledger, this.idempotency, (wallet_id) => walletActor(this.env, wallet_id));

  protected readonly parts = [this.program, this.ledger, this.claims, this.idempotency, this.audit];

  /**
   * Operator: creates and funds the program (once per actor), then lists it in the directory. The
   * same request again (same fingerprint: an operator's retry with its Idempotency-Key) answers the
   * program as it stands; another request for an existing program is `idempotency_conflict`.
   */
  async create(request: CreateRewardProgramRequest): Promise<ApiAnswer<RewardProgram> | Refusal> {
    const { fingerprint, ...definition } = request;
    const created = this.program.create({ ...definition, created_at: new Date().toISOString() }, fingerprint);
    if (!created.same) return idempotencyConflict();
    await this.program.list();
    return { ok: true, status: 201, body: this.operatorView()! };
  }

  /** The program as an account sees it (what is left, whether it claimed), or null if there is none. */
  async view(account_id: string): Promise<Reward | null> {
    const p = this.program.get();
    if (!p) return null;
    const remaining_msat = this.ledger.balanceOf("budget");
    const claim = this.claims.byAccount(account_id);
    return { ...p, remaining_msat, status: programStatus(p, remaining_msat, Date.now()), claimed: claim !== null, claim };
  }

  /**
   * An account claims the program's amount: once per account (its Idempotency-Key replays the claim as
   * it stands), refused when frozen, claimed before, ended or spent; the wallet is credited exactly once
   * (now, or by the alarm's redelivery). `succeeded` when the credit completed within the request.
   */
  async claim(request: ClaimRequest): Promise<ApiAnswer<RewardClaim> | Refusal> {
    const program = this.program.get();
    if (!program) return noProgram();
    // Keys are the claimant's: another account's key of the same text is another key here.
    const idempotency = { ...request.idempotency, key: `${request.account_id}:${request.idempotency.key}` };
    return this.idempotency.once(idempotency, async () => {
      const recorded = this.claims.record(program, { ...request, idempotency });
      if (!recorded.ok) return recorded;
      const delivery = await this.claims.outbox.deliver(recorded.item);
      return { ok: true, status: 200, body: delivery.settled ?? this.claims.byId(recorded.item.id)! };
    }) as Promise<ApiAnswer<RewardClaim> | Refusal>;
  }

  /** Operator: the program, its books and their invariants, and its audit trail (newest first), or null. */
  async details(): Promise<RewardProgramDetail | null> {
    const view = this.operatorView();
    if (!view) return null;
    const books = this.booksFigures();
    const problems = checkProgramBooks(books);
    return { ...view, books_balanced: problems.length === 0, problems, audit: this.audit.entries(null, 100) };
  }

  /** The books' figures and the invariants they break (none when right); null if there is no program. */
  async books(): Promise<(ProgramBooks & { problems: string[] }) | null> {
    if (!this.program.get()) return null;
    const books = this.booksFigures();
    return { ...books, problems: checkProgramBooks(books) };
  }

  /** The program's audit trail: the newest entries below seq `before` (null: from the newest), newest first. */
  async auditEntries(before: number | null, limit: number): Promise<AuditEntry<"reward_program">[]> {
    return this.audit.entries(before, limit);
  }

  private operatorView(): RewardProgram | null {
    const p = this.program.get();
    if (!p) return null;
    const remaining_msat = this.ledger.balanceOf("budget");
    const counts = this.claims.counts();
    return {
      ...p,
      remaining_msat,
      status: programStatus(p, remaining_msat, Date.now()),
      in_flight_msat: this.ledger.balanceOf("in_flight"),
      paid_msat: this.ledger.balanceOf("paid"),
      claims: counts.pending + counts.succeeded + counts.failed,
    };
  }

  private booksFigures(): ProgramBooks {
    const l = this.ledger;
    const counts = this.claims.counts();
    return {
      funded_msat: -l.entriesSum("operator"),
      remaining_msat: l.entriesSum("budget"),
      in_flight_msat: l.entriesSum("in_flight"),
      paid_msat: l.entriesSum("paid"),
      budget_balance_msat: l.balanceOf("budget"),
      unbalanced_journals: l.unbalancedJournals(),
      claims_pending: counts.pending,
      claims_succeeded: counts.succeeded,
      claims_failed: counts.failed,
      amount_msat: this.program.get()?.amount_msat ?? 0,
    };
  }
}
