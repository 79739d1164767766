import { RETRY_BASE_MS } from "../../src/backoff";
import { refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import type { Msat } from "../../src/money";
import type { RewardClaim } from "../../src/reward-schemas";
import { programJournals, programStatus, type RewardPayload } from "../../src/rewards";
import type { Idempotency, IdempotencyTag } from "../kit/idempotency";
import { Outbox, type Delivery, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import { RollBack } from "../kit/unit-of-work";
import type { WalletPort } from "../ports";
import type { ProgramDefinition } from "./program";
import type { ProgramLedger } from "./program-ledger";

/** What a claimant's wallet acknowledges a reward with: the `reward` transaction it wrote (or had written). */
export type RewardAck = { ok: true; transaction_id: string };

/** Who claims, as the gateway authenticated them, and whether the operator froze their account. */
export interface ClaimRequest {
  account_id: string;
  wallet_id: string;
  idempotency: IdempotencyTag;
  frozen: boolean;
}

interface ClaimRow {
  account_id: string;
  claim_id: string;
  wallet_id: string;
  amount_msat: number;
  status: RewardClaim["status"];
  transaction_id: string | null;
  created_at: string;
  settled_at: string | null;
  payload: string;
  attempts: number;
}

/**
 * The claims of one program, one row per account (the primary key is the once-per-account rule),
 * and their delivery to the claimants' wallets (docs/decisions/0002's protocol, the kit's outbox):
 * a claim takes its amount from the budget into `in_flight` in one unit of work with its row, the
 * request's Idempotency-Key and the outbox columns; the wallet credits once per claim id; the
 * acknowledgement moves it to `paid`. Until then the alarm redelivers with backoff.
 */
export class Claims implements Part {
  readonly name = "claims";
  readonly migrations = [
    `CREATE TABLE claims (
       account_id TEXT PRIMARY KEY, claim_id TEXT NOT NULL UNIQUE, wallet_id TEXT NOT NULL, amount_msat INTEGER NOT NULL,
       status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')), transaction_id TEXT, created_at TEXT NOT NULL, settled_at TEXT,
       payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER) WITHOUT ROWID;
     CREATE INDEX claims_unsettled ON claims (next_attempt_at) WHERE settled_at IS NULL;`,
  ];
  readonly outbox: Outbox<RewardAck, RewardClaim>;
  readonly tasks: readonly Task[];

  constructor(
    private readonly kit: ActorKit,
    private readonly ledger: ProgramLedger,
    private readonly idempotency: Idempotency,
    wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {
    this.outbox = new Outbox("claims", kit, new ClaimColumns(kit), {
      send: (item) => wallets(item.destination).receiveReward(JSON.parse(item.payload) as RewardPayload) as Promise<RewardAck | Refusal>,
      settle: (item, delivery) => this.settle(item.id, delivery),
    });
    this.tasks = this.outbox.tasks;
  }

  /**
   * Step 1, one unit of work: the key is claimed first (a replay gets its answer even once the budget
   * is spent), then the refusals in order — frozen, claimed before, ended, budget spent — then the
   * claim's row with its outbox columns and `budget → in_flight`. Refusals change nothing.
   */
  record(program: ProgramDefinition, request: ClaimRequest): { ok: true; item: OutboxItem } | Refusal {
    const now = new Date();
    const created_at = now.toISOString();
    const claim_id = newId("rwc");
    return this.kit.unitOfWork.run(() => {
      this.idempotency.claim(request.idempotency, claim_id, { ok: true, status: 200, body: null });
      if (request.frozen) throw new RollBack(refuse("account_frozen", "this account is frozen: it cannot claim rewards"));
      if (this.byAccount(request.account_id)) throw new RollBack(refuse("already_claimed", "this account has claimed this reward already"));
      const remaining = this.ledger.balanceOf("budget");
      const status = programStatus(program, remaining, now.getTime());
      if (status === "ended") throw new RollBack(refuse("program_ended", `this reward program ended at ${program.ends_at}`));
      if (status === "spent") throw new RollBack(refuse("budget_spent", "this reward program's budget is spent"));
      const payload: RewardPayload = { claim_id, program_id: program.program_id, name: program.name, amount_msat: program.amount_msat };
      const json = JSON.stringify(payload);
      this.kit.sql`INSERT INTO claims (account_id, claim_id, wallet_id, amount_msat, status, created_at, payload, next_attempt_at)
                   VALUES (${request.account_id}, ${claim_id}, ${request.wallet_id}, ${program.amount_msat}, 'pending', ${created_at}, ${json}, ${Date.now() + RETRY_BASE_MS})`;
      this.ledger.post(`${claim_id}:claimed`, programJournals.claimed(program.amount_msat), created_at);
      this.outbox.enqueued();
      return { ok: true as const, item: { id: claim_id, destination: request.wallet_id, payload: json, attempts: 0, delivered: false } };
    });
  }

  /** An account's claim of this program, or null. */
  byAccount(account_id: string): RewardClaim | null {
    const row = this.kit.sql<ClaimRow>`SELECT * FROM claims WHERE account_id = ${account_id}`[0];
    return row ? toClaim(row) : null;
  }

  /** A claim by its id, as it stands (what a replay of its request answers). */
  byId(claim_id: string): RewardClaim | null {
    const row = this.kit.sql<ClaimRow>`SELECT * FROM claims WHERE claim_id = ${claim_id}`[0];
    return row ? toClaim(row) : null;
  }

  /** The claims by status (for the books). */
  counts(): Record<RewardClaim["status"], number> {
    const counts = { pending: 0, succeeded: 0, failed: 0 };
    for (const r of this.kit.sql<{ status: RewardClaim["status"]; n: number }>`SELECT status, COUNT(*) AS n FROM claims GROUP BY status`) counts[r.status] = r.n;
    return counts;
  }

  /**
   * Step 3, one unit of work: the outbox columns are closed (only the first of two racing attempts
   * gets the row back) and the amount leaves `in_flight`: to `paid`, or back to the budget when the
   * wallet refused it for good (the claim is then `failed`, and the account has had its claim).
   */
  private settle(claim_id: string, delivery: Delivery<RewardAck>): RewardClaim | null {
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      const delivered = delivery.outcome === "delivered";
      const row = this.kit.sql<ClaimRow>`
        UPDATE claims SET status = ${delivered ? "succeeded" : "failed"}, settled_at = ${now},
                          transaction_id = ${delivered ? delivery.ack.transaction_id : null}
        WHERE claim_id = ${claim_id} AND settled_at IS NULL RETURNING *`[0];
      if (!row) return null;
      this.ledger.post(`${claim_id}:${delivery.outcome}`, delivered ? programJournals.delivered(row.amount_msat) : programJournals.returned(row.amount_msat), now);
      return toClaim(row);
    });
  }
}

const toClaim = (r: ClaimRow): RewardClaim => ({
  claim_id: r.claim_id,
  program_id: (JSON.parse(r.payload) as RewardPayload).program_id,
  amount_msat: r.amount_msat as Msat,
  status: r.status,
  transaction_id: r.transaction_id,
  created_at: r.created_at,
  credited_at: r.status === "succeeded" ? r.settled_at : null,
});

/** The claims' outbox over their rows' columns. */
class ClaimColumns implements OutboxStore {
  constructor(private readonly kit: ActorKit) {}

  find(id: string): OutboxItem | null {
    const row = this.kit.sql<ClaimRow>`SELECT * FROM claims WHERE claim_id = ${id}`[0];
    return row ? toItem(row) : null;
  }

  undelivered(limit: number): OutboxItem[] {
    return this.kit.sql<ClaimRow>`SELECT * FROM claims WHERE settled_at IS NULL ORDER BY next_attempt_at LIMIT ${limit}`.map(toItem);
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM claims WHERE settled_at IS NULL`[0]?.at ?? null;
  }

  recordFailedAttempt(id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE claims SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE claim_id = ${id}`;
  }
}

const toItem = (r: ClaimRow): OutboxItem => ({ id: r.claim_id, destination: r.wallet_id, payload: r.payload, attempts: r.attempts, delivered: r.settled_at !== null });
