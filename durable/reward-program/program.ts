import { RETRY_BASE_MS } from "../../src/backoff";
import type { Refusal } from "../../src/errors";
import { MSAT_PER_SAT, type Msat } from "../../src/money";
import { programJournals } from "../../src/rewards";
import type { AuditTrail } from "../kit/audit-trail";
import { Outbox, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { RewardDirectoryPort } from "../ports";
import type { ProgramLedger } from "./program-ledger";

/** What the operator set up: a program never changes after it is created. */
export interface ProgramDefinition {
  program_id: string;
  name: string;
  amount_msat: Msat;
  budget_msat: Msat;
  ends_at: string | null;
  created_at: string;
}

/** What the directory is told of a new program (the same JSON on every attempt). */
interface ListingPayload {
  program_id: string;
  created_at: string;
}

/**
 * The program itself (one row), funded in the unit of work that creates it (`operator → budget`),
 * audited there (`reward_program.created`), and listed in the rewards directory through the kit's
 * outbox: the listing is a column of the row, delivered after commit and redelivered by the alarm
 * until the directory acknowledges (it lists a program once, by id).
 */
export class Program implements Part {
  readonly name = "program";
  readonly migrations = [
    `CREATE TABLE program (
       id INTEGER PRIMARY KEY CHECK (id = 1), program_id TEXT NOT NULL, name TEXT NOT NULL,
       amount_msat INTEGER NOT NULL CHECK (amount_msat > 0), budget_msat INTEGER NOT NULL CHECK (budget_msat >= amount_msat),
       ends_at TEXT, created_at TEXT NOT NULL, fingerprint TEXT,
       listed_at TEXT, list_attempts INTEGER NOT NULL DEFAULT 0, list_next_attempt_at INTEGER);`,
  ];
  readonly listing: Outbox<{ ok: true }, true>;
  readonly tasks: readonly Task[];
  /** The program once read (undefined: not read since wake-up or a rollback); it never changes. */
  private cached: ProgramDefinition | null | undefined;

  constructor(
    private readonly kit: ActorKit,
    private readonly ledger: ProgramLedger,
    private readonly audit: AuditTrail<"reward_program">,
    directory: () => DurableObjectStub<RewardDirectoryPort>,
  ) {
    this.listing = new Outbox("program-listing", kit, new ListingColumns(kit), {
      send: (item) => {
        const { program_id, created_at } = JSON.parse(item.payload) as ListingPayload;
        return directory().register(program_id, created_at) as Promise<{ ok: true } | Refusal>;
      },
      settle: () => (this.kit.sqlWrite`UPDATE program SET listed_at = ${new Date().toISOString()} WHERE listed_at IS NULL` > 0 ? true : null),
    });
    this.tasks = this.listing.tasks;
  }

  onRollback(): void {
    this.cached = undefined;
  }

  /** The program, or null if this actor holds none (an id that was never created). */
  get(): ProgramDefinition | null {
    if (this.cached === undefined) {
      this.cached = this.kit.sql<ProgramDefinition>`SELECT program_id, name, amount_msat, budget_msat, ends_at, created_at FROM program WHERE id = 1`[0] ?? null;
    }
    return this.cached;
  }

  /**
   * Creates and funds the program in one unit of work, with its audit entry and its listing. If this
   * actor holds a program already: `created: false`, and whether it was made by the same request
   * (`fingerprint`, for an operator's retry with the same Idempotency-Key).
   */
  create(program: ProgramDefinition, fingerprint: string | null): { created: boolean; same: boolean; program: ProgramDefinition } {
    return this.kit.unitOfWork.run(() => {
      const existing = this.kit.sql<{ fingerprint: string | null }>`SELECT fingerprint FROM program WHERE id = 1`[0];
      if (existing) return { created: false, same: fingerprint !== null && existing.fingerprint === fingerprint, program: this.get()! };
      const p = program;
      this.kit.sql`INSERT INTO program (id, program_id, name, amount_msat, budget_msat, ends_at, created_at, fingerprint, list_next_attempt_at)
                   VALUES (1, ${p.program_id}, ${p.name}, ${p.amount_msat}, ${p.budget_msat}, ${p.ends_at}, ${p.created_at}, ${fingerprint}, ${Date.now() + RETRY_BASE_MS})`;
      this.ledger.post(`${p.program_id}:funded`, programJournals.funded(p.budget_msat), p.created_at);
      this.audit.append(
        "reward_program.created",
        { program_id: p.program_id, name: p.name, amount_sat: p.amount_msat / MSAT_PER_SAT, budget_sat: p.budget_msat / MSAT_PER_SAT, ends_at: p.ends_at },
        new Date(p.created_at),
      );
      this.listing.enqueued();
      this.cached = { ...p };
      return { created: true, same: true, program: this.cached };
    });
  }

  /** Lists the program in the directory now (after the creating unit of work committed); the alarm retries a failure. */
  async list(): Promise<void> {
    await this.listing.deliverById(this.get()!.program_id);
  }
}

/** The listing's outbox over the program row's columns. */
class ListingColumns implements OutboxStore {
  constructor(private readonly kit: ActorKit) {}

  find(id: string): OutboxItem | null {
    return this.rows(id)[0] ?? null;
  }

  undelivered(limit: number): OutboxItem[] {
    return this.rows(null).filter((i) => !i.delivered).slice(0, limit);
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT list_next_attempt_at AS at FROM program WHERE listed_at IS NULL`[0]?.at ?? null;
  }

  recordFailedAttempt(_id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE program SET list_attempts = list_attempts + 1, list_next_attempt_at = ${nextAttemptAt}`;
  }

  private rows(id: string | null): OutboxItem[] {
    return this.kit
      .sql<{ program_id: string; created_at: string; list_attempts: number; listed_at: string | null }>`
        SELECT program_id, created_at, list_attempts, listed_at FROM program WHERE ${id} IS NULL OR program_id = ${id}`
      .map((r) => ({
        id: r.program_id,
        destination: "directory",
        payload: JSON.stringify({ program_id: r.program_id, created_at: r.created_at } satisfies ListingPayload),
        attempts: r.list_attempts,
        delivered: r.listed_at !== null,
      }));
  }
}
