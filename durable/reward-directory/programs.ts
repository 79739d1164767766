import type { ActorKit, Part } from "../kit/part";

/**
 * The reward programs there are, in the order they were listed: each program's actor lists itself
 * here after it was created (through its outbox, so a redelivery lists nothing twice: the id is unique).
 */
export class ProgramList implements Part {
  readonly name = "program-list";
  readonly migrations = [`CREATE TABLE programs (seq INTEGER PRIMARY KEY, program_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);`];

  constructor(private readonly kit: ActorKit) {}

  /** Lists a program (a repeat changes nothing). */
  add(program_id: string, created_at: string): void {
    this.kit.sql`INSERT INTO programs (program_id, created_at) VALUES (${program_id}, ${created_at}) ON CONFLICT (program_id) DO NOTHING`;
  }

  /** A page of program ids, newest listed first; `cursor` is the previous page's `next_cursor`. */
  page(limit: number, cursor: string | null): { program_ids: string[]; next_cursor: string | null } {
    const before = cursor === null ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const rows = this.kit.sql<{ seq: number; program_id: string }>`SELECT seq, program_id FROM programs WHERE seq < ${before} ORDER BY seq DESC LIMIT ${limit + 1}`;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { program_ids: page.map((r) => r.program_id), next_cursor: rows.length > limit && last ? String(last.seq) : null };
  }
}
