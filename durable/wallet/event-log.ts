import type { WalletEvent } from "../../src/wallet-types";
import type { ActorKit, Part } from "../kit/part";
import type { Sockets } from "../kit/sockets";

/**
 * The wallet's event log: gapless `seq` from 1, appended in the unit of work that changed what it
 * reports, pushed to the wallet's sockets once that commits.
 */
export class EventLog implements Part {
  readonly name = "events";
  readonly migrations = [`CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL);`];
  /** The next event's seq, once read (the log is append-only, and only this part writes it). */
  private nextSeq: number | null = null;
  /** Told of every append, inside its unit of work (feeds that forward the log elsewhere, the payment metrics). */
  private readonly listeners: ((event: WalletEvent) => void)[] = [];

  constructor(
    private readonly kit: ActorKit,
    private readonly sockets: Sockets,
  ) {}

  onRollback(): void {
    this.nextSeq = null; // the rolled-back events gave their numbers back
  }

  /** Appends an event inside the caller's unit of work. */
  append(type: string, data: Record<string, unknown>, now: string): WalletEvent {
    this.nextSeq ??= this.kit.sql<{ next: number }>`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM events`[0]!.next;
    const seq = this.nextSeq++;
    this.kit.sql`INSERT INTO events (seq, type, data, created_at) VALUES (${seq}, ${type}, ${JSON.stringify(data)}, ${now})`;
    const event = { seq, type, created_at: now, data };
    this.sockets.pushAfterCommit(JSON.stringify(event));
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Calls `listener` with each event appended from now on (inside the appending unit of work). */
  onAppend(listener: (event: WalletEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The last seq in the log (0 when empty). */
  lastSeq(): number {
    return this.kit.sql<{ s: number | null }>`SELECT MAX(seq) AS s FROM events`[0]?.s ?? 0;
  }

  /** Events with `seq > after`, oldest first. */
  after(after: number, limit: number): WalletEvent[] {
    return this.rows(after, limit).map((r) => ({ seq: r.seq, type: r.type, created_at: r.created_at, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** The same as socket frames (the stored JSON is not parsed and built again). */
  frames(after: number, limit: number): { seq: number; frame: string }[] {
    return this.rows(after, limit).map((r) => ({ seq: r.seq, frame: `{"seq":${r.seq},"type":${JSON.stringify(r.type)},"created_at":${JSON.stringify(r.created_at)},"data":${r.data}}` }));
  }

  /** Count, last seq and the lowest balance any event reported (for the books report). */
  figures(): { event_count: number; max_seq: number; min_event_balance_msat: number | null } {
    const f = this.kit.sql<{ n: number; max_seq: number | null; min_balance: number | null }>`
      SELECT COUNT(*) AS n, MAX(seq) AS max_seq, MIN(json_extract(data, '$.balance_msat')) AS min_balance FROM events`[0]!;
    return { event_count: f.n, max_seq: f.max_seq ?? 0, min_event_balance_msat: f.min_balance };
  }

  private rows(after: number, limit: number) {
    return this.kit.sql<{ seq: number; type: string; data: string; created_at: string }>`
      SELECT seq, type, data, created_at FROM events WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`;
  }
}
