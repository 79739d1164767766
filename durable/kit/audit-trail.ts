import { AUDIT_GENESIS_HASH, auditEntryHash, checkAuditData, type AuditChain, type AuditData, type AuditEntry, type OperatorAuditChain } from "../../src/audit";
import type { ActorKit, Part } from "./part";

interface AuditRow {
  seq: number;
  type: string;
  data: string;
  created_at: string;
  prev_hash: string;
  hash: string;
}

/**
 * This actor's chain of the account's audit trail (docs/decisions/0016): entries appended in the
 * unit of work of what they record — so an entry exists exactly when its change committed — each
 * hashed over the one before (`src/audit.ts`). The table refuses UPDATE and DELETE (triggers): the
 * trail is append-only for the code too, and a change made around them shows in the hashes.
 */
export class AuditTrail<Chain extends AuditChain | OperatorAuditChain = AuditChain> implements Part {
  readonly name = "audit-trail";
  readonly migrations = [
    `CREATE TABLE audit_entries (
       seq INTEGER PRIMARY KEY CHECK (seq >= 1), type TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL,
       prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
     CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
     CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;`,
  ];

  /** The newest entry's seq and hash, once read (null: read at the next append). */
  private head: { seq: number; hash: string } | null = null;
  /** The open unit of work appended: a rollback forgets the head. */
  private appended = false;

  constructor(
    private readonly kit: ActorKit,
    /** Which chain of the account's trail this actor keeps. */
    readonly chain: Chain,
  ) {}

  onRollback(): void {
    if (this.appended) this.head = null;
    this.appended = false;
  }

  onCommit(): void {
    this.appended = false;
  }

  /**
   * Appends an entry in the unit of work under way (or in one of its own): call it beside the
   * change it records. Data with a field named like a secret is refused (throws: a bug).
   */
  append(type: string, data: AuditData, now: Date = new Date()): AuditEntry<Chain> {
    checkAuditData(type, data);
    return this.kit.unitOfWork.run(() => {
      const head = (this.head ??= this.readHead());
      const entry = { chain: this.chain, seq: head.seq + 1, type, data, created_at: now.toISOString(), prev_hash: head.hash };
      const full: AuditEntry<Chain> = { ...entry, hash: auditEntryHash(entry.prev_hash, entry) };
      this.kit.sql`INSERT INTO audit_entries (seq, type, data, created_at, prev_hash, hash)
                   VALUES (${full.seq}, ${type}, ${JSON.stringify(data)}, ${full.created_at}, ${full.prev_hash}, ${full.hash})`;
      this.appended = true;
      this.head = { seq: full.seq, hash: full.hash };
      return full;
    });
  }

  /** The newest entries below seq `before` (all: null), newest first, at most `limit`. */
  entries(before: number | null, limit: number): AuditEntry<Chain>[] {
    return this.kit
      .sql<AuditRow>`SELECT seq, type, data, created_at, prev_hash, hash FROM audit_entries
                     WHERE seq < ${before ?? Number.MAX_SAFE_INTEGER} ORDER BY seq DESC LIMIT ${limit}`
      .map((r) => ({ chain: this.chain, seq: r.seq, type: r.type, data: JSON.parse(r.data) as AuditData, created_at: r.created_at, prev_hash: r.prev_hash, hash: r.hash }));
  }

  private readHead(): { seq: number; hash: string } {
    return this.kit.sql<{ seq: number; hash: string }>`SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1`[0] ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
  }
}
