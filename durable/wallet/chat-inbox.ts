import { refuse, type Refusal } from "../../src/errors";
import type { ActorKit, Part } from "../kit/part";
import type { ChatMessage } from "../../src/chat";
import type { ChatDelivery } from "../ports";
import type { EventLog } from "./event-log";
import type { Identity } from "./identity";

/** Event types that count as activity in a conversation (a read receipt does not reorder the list). */
const ACTIVITY = new Set(["chat.created", "chat.message", "chat.updated"]);

/**
 * The conversations this wallet's owner is in, and how far each one's mailbox has been delivered:
 * a conversation's events arrive numbered, in order; a number seen before is not appended twice,
 * so a redelivery changes nothing. The list orders conversations by their latest activity.
 */
export class ChatInbox implements Part {
  readonly name = "chat-inbox";
  readonly migrations = [
    `CREATE TABLE chat_inbox (
       conversation_id TEXT PRIMARY KEY, delivered_through INTEGER NOT NULL, last_activity_at TEXT NOT NULL) WITHOUT ROWID;
     CREATE INDEX chat_inbox_by_activity ON chat_inbox (last_activity_at, conversation_id);`,
  ];

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly events: EventLog,
  ) {}

  /** Appends the events numbered after what was delivered before, in order, in one unit of work. */
  receive(delivery: ChatDelivery): { ok: true; through: number } | Refusal {
    if (!this.identity.get()) return refuse("unknown_recipient", "no such wallet");
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      // The usual delivery starts right after what is here: one statement moves the mark, then the events are appended.
      const upTo = delivery.first_n + delivery.events.length - 1;
      if (delivery.events.length && delivery.first_n > 1) {
        const activity = delivery.events.some((e) => ACTIVITY.has(e.type)) ? now : null;
        const moved = this.kit.sql`
          UPDATE chat_inbox SET delivered_through = ${upTo}, last_activity_at = COALESCE(${activity}, last_activity_at)
          WHERE conversation_id = ${delivery.conversation_id} AND delivered_through = ${delivery.first_n - 1} RETURNING delivered_through`;
        if (moved.length) {
          for (const event of delivery.events) this.events.append(event.type, event.data, now);
          return { ok: true as const, through: upTo };
        }
      }
      const row = this.kit.sql<{ delivered_through: number; last_activity_at: string }>`
        SELECT delivered_through, last_activity_at FROM chat_inbox WHERE conversation_id = ${delivery.conversation_id}`[0];
      const through = row?.delivered_through ?? 0;
      // The sender starts from what it knows was acknowledged, never past what was delivered.
      if (delivery.first_n > through + 1) return refuse("internal", `mailbox gap: have ${through}, got from ${delivery.first_n}`);
      let n = delivery.first_n;
      let active = false;
      for (const event of delivery.events) {
        if (n > through) {
          this.events.append(event.type, event.data, now);
          active ||= ACTIVITY.has(event.type);
        }
        n++;
      }
      const last = Math.max(through, n - 1);
      const activity = active || !row ? now : row.last_activity_at;
      this.kit.sql`INSERT INTO chat_inbox (conversation_id, delivered_through, last_activity_at) VALUES (${delivery.conversation_id}, ${last}, ${activity})
                   ON CONFLICT (conversation_id) DO UPDATE SET delivered_through = excluded.delivered_through, last_activity_at = excluded.last_activity_at`;
      return { ok: true as const, through: last };
    });
  }

  /**
   * A payment message carried by its transfer (inside the transfer's unit of work): appended if it is
   * event `n` of the conversation's mailbox and everything before it is here; a number already here
   * is not appended again, and one after a gap is left to the mailbox. Returns how far the mailbox is
   * delivered now.
   */
  carry(conversation_id: string, n: number, message: ChatMessage, now: string): number {
    const next = this.kit.sql<{ through: number }>`
      UPDATE chat_inbox SET delivered_through = ${n}, last_activity_at = ${now}
      WHERE conversation_id = ${conversation_id} AND delivered_through = ${n - 1} RETURNING delivered_through AS through`[0];
    if (!next) return this.kit.sql<{ through: number }>`SELECT delivered_through AS through FROM chat_inbox WHERE conversation_id = ${conversation_id}`[0]?.through ?? 0;
    this.events.append("chat.message", { conversation_id, message }, now);
    return n;
  }

  /** Conversation ids, most recent activity first; `cursor` is the previous page's `next_cursor`. */
  page(limit: number, cursor: string | null): { conversation_ids: string[]; next_cursor: string | null } {
    const [at, id] = cursor ? (JSON.parse(atob(cursor)) as [string, string]) : ["9999", ""];
    const rows = this.kit.sql<{ conversation_id: string; last_activity_at: string }>`
      SELECT conversation_id, last_activity_at FROM chat_inbox
      WHERE last_activity_at < ${at} OR (last_activity_at = ${at} AND conversation_id < ${id})
      ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ${limit + 1}`;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      conversation_ids: page.map((r) => r.conversation_id),
      next_cursor: rows.length > limit && last ? btoa(JSON.stringify([last.last_activity_at, last.conversation_id])) : null,
    };
  }
}
