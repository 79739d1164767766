import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/** A part's schema: ordered steps, append-only (never edit one that has shipped: add another). */
export interface PartSchema {
  readonly part: string;
  readonly migrations: readonly string[];
}

/**
 * The single-list schema actors had before the kit (`_migrations (version)`): an actor written by
 * that code runs the rest of its old steps, then its parts' first steps are recorded as applied
 * (`adopts`: part → how many of its steps the finished old layout already holds).
 */
export interface LegacySchema {
  readonly steps: readonly string[];
  readonly adopts: Readonly<Record<string, number>>;
}

export class MigrationChecksumError extends Error {
  constructor(part: string, step: number) {
    super(`migration ${part}#${step} was edited after it shipped: add a new step instead`);
    this.name = "MigrationChecksumError";
  }
}

const LEDGER = "_kit_migrations";

/** Whitespace does not count: re-indenting a shipped step is not an edit. */
export const stepChecksum = (step: string): string => bytesToHex(sha256(utf8ToBytes(step.replace(/\s+/g, " ").trim())));

/**
 * Brings every part's tables up to date, each step in its own transaction with its record.
 * A recorded step whose text changed since is refused (the actor does not start).
 */
export function migrateParts(storage: DurableObjectStorage, parts: readonly PartSchema[], legacy?: LegacySchema): void {
  const sql = storage.sql;
  sql.exec(`CREATE TABLE IF NOT EXISTS ${LEDGER} (part TEXT NOT NULL, step INTEGER NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (part, step)) WITHOUT ROWID`);
  if (legacy) adoptLegacy(storage, parts, legacy);
  const applied = new Map<string, string>();
  for (const row of sql.exec<{ part: string; step: number; checksum: string }>(`SELECT part, step, checksum FROM ${LEDGER}`)) applied.set(`${row.part}#${row.step}`, row.checksum);
  for (const { part, migrations } of parts) {
    migrations.forEach((text, i) => {
      const step = i + 1;
      const checksum = stepChecksum(text);
      const recorded = applied.get(`${part}#${step}`);
      if (recorded !== undefined) {
        if (recorded !== checksum) throw new MigrationChecksumError(part, step);
        return;
      }
      storage.transactionSync(() => {
        sql.exec(text);
        sql.exec(`INSERT INTO ${LEDGER} (part, step, checksum, applied_at) VALUES (?, ?, ?, ?)`, part, step, checksum, new Date().toISOString());
      });
    });
  }
}

/** Finishes an old single-list schema and records the part steps its layout already holds. */
function adoptLegacy(storage: DurableObjectStorage, parts: readonly PartSchema[], legacy: LegacySchema): void {
  const sql = storage.sql;
  if (!sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").one().n) return;
  const done = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one().v ?? 0;
  for (let version = done + 1; version <= legacy.steps.length; version++) {
    storage.transactionSync(() => {
      sql.exec(legacy.steps[version - 1]!);
      sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", version, new Date().toISOString());
    });
  }
  storage.transactionSync(() => {
    const now = new Date().toISOString();
    for (const { part, migrations } of parts) {
      for (let step = 1; step <= (legacy.adopts[part] ?? 0); step++) {
        sql.exec(`INSERT OR IGNORE INTO ${LEDGER} (part, step, checksum, applied_at) VALUES (?, ?, ?, ?)`, part, step, stepChecksum(migrations[step - 1]!), now);
      }
    }
    sql.exec("DROP TABLE _migrations");
  });
}
