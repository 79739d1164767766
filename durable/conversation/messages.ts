import type { ChatMember, ChatMessage } from "../../src/chat";
import { newId } from "../../src/ids";
import type { Msat } from "../../src/money";
import type { ActorKit, Part } from "../kit/part";

interface MessageRow {
  seq: number;
  id: string;
  sender_wallet: string;
  sender: string;
  kind: ChatMessage["kind"];
  text: string | null;
  ciphertext: string | null;
  amount_msat: number | null;
  to_wallet: string | null;
  to_username: string | null;
  payment_status: "pending" | "succeeded" | "failed" | null;
  transaction_id: string | null;
  request_from: string | null;
  request_paid_by: string | null;
  request_status: "open" | "paid" | "canceled" | null;
  created_at: string;
}

/** A message to append: everything but its seq and time. */
export interface MessageDraft {
  id?: string;
  /** The seq a payment message took with its intent (it must be the next one); else the next one is given. */
  seq?: number;
  sender: ChatMember;
  kind: ChatMessage["kind"];
  text: string | null;
  ciphertext: string | null;
  payment?: { amount_msat: Msat; to: ChatMember; status: "pending" | "succeeded" | "failed"; transaction_id: string };
  request?: { amount_msat: Msat; from: ChatMember[] };
}

/** A payment request as stored: whom it asks (with wallets), who paid, where it stands. */
export interface StoredRequest {
  message_id: string;
  seq: number;
  sender: ChatMember;
  amount_msat: Msat;
  from: ChatMember[];
  paid_by: string[];
  status: "open" | "paid" | "canceled";
}

/** The conversation's messages: a gapless `seq` from 1, appended in the unit of work that decides them. */
export class Messages implements Part {
  readonly name = "messages";
  readonly migrations = [
    `CREATE TABLE messages (
       seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sender_wallet TEXT NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL,
       text TEXT, ciphertext TEXT,
       amount_msat INTEGER, to_wallet TEXT, to_username TEXT, payment_status TEXT, transaction_id TEXT,
       request_from TEXT, request_paid_by TEXT, request_status TEXT,
       created_at TEXT NOT NULL);
     CREATE INDEX messages_pending_payments ON messages (payment_status) WHERE payment_status = 'pending';`,
  ];
  /** The next seq, once read (only this part appends). */
  private nextSeq: number | null = null;

  constructor(
    private readonly kit: ActorKit,
    private readonly conversationId: () => string,
  ) {}

  onRollback(): void {
    this.nextSeq = null;
  }

  /** Appends a message inside the caller's unit of work and returns it as the contract shows it. */
  append(draft: MessageDraft, now: string): ChatMessage {
    const seq = this.nextSeqNumber();
    if (draft.seq !== undefined && draft.seq !== seq) throw new Error(`message ${draft.id} took seq ${draft.seq}, but the next one is ${seq}`);
    const p = draft.payment;
    const r = draft.request;
    const row: MessageRow = {
      seq,
      id: draft.id ?? newId("msg"),
      sender_wallet: draft.sender.wallet_id,
      sender: draft.sender.username,
      kind: draft.kind,
      text: draft.text,
      ciphertext: draft.ciphertext,
      amount_msat: p?.amount_msat ?? r?.amount_msat ?? null,
      to_wallet: p?.to.wallet_id ?? null,
      to_username: p?.to.username ?? null,
      payment_status: p?.status ?? null,
      transaction_id: p?.transaction_id ?? null,
      request_from: r ? JSON.stringify(r.from) : null,
      request_paid_by: r ? "[]" : null,
      request_status: r ? "open" : null,
      created_at: now,
    };
    this.kit.sql`INSERT INTO messages (seq, id, sender_wallet, sender, kind, text, ciphertext, amount_msat, to_wallet, to_username, payment_status, transaction_id,
                                       request_from, request_paid_by, request_status, created_at)
      VALUES (${row.seq}, ${row.id}, ${row.sender_wallet}, ${row.sender}, ${row.kind}, ${row.text}, ${row.ciphertext},
              ${row.amount_msat}, ${row.to_wallet}, ${row.to_username}, ${row.payment_status}, ${row.transaction_id},
              ${row.request_from}, ${row.request_paid_by}, ${row.request_status}, ${row.created_at})`;
    this.nextSeq = seq + 1;
    return this.render(row);
  }

  /** The seq the next message gets (a payment message takes it with its intent; nothing else appends until it is written or dropped). */
  nextSeqNumber(): number {
    this.nextSeq ??= this.lastSeq() + 1;
    return this.nextSeq;
  }

  lastSeq(): number {
    return this.kit.sql<{ s: number | null }>`SELECT MAX(seq) AS s FROM messages`[0]?.s ?? 0;
  }

  byId(id: string): ChatMessage | null {
    const row = this.kit.sql<MessageRow>`SELECT * FROM messages WHERE id = ${id}`[0];
    return row ? this.render(row) : null;
  }

  bySeq(seq: number): ChatMessage | null {
    const row = this.kit.sql<MessageRow>`SELECT * FROM messages WHERE seq = ${seq}`[0];
    return row ? this.render(row) : null;
  }

  /** The newest message, or null. */
  last(): ChatMessage | null {
    const row = this.kit.sql<MessageRow>`SELECT * FROM messages ORDER BY seq DESC LIMIT 1`[0];
    return row ? this.render(row) : null;
  }

  /** Messages after `after`, oldest first; or the newest (below `before`), newest first, with the cursor of the next older page. */
  page(q: { before: number | null; after: number | null; limit: number }): { messages: ChatMessage[]; next_cursor: string | null } {
    if (q.after !== null) {
      const rows = this.kit.sql<MessageRow>`SELECT * FROM messages WHERE seq > ${q.after} ORDER BY seq LIMIT ${q.limit + 1}`;
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return { messages: page.map((r) => this.render(r)), next_cursor: rows.length > q.limit && last ? String(last.seq) : null };
    }
    const before = q.before ?? Number.MAX_SAFE_INTEGER;
    const rows = this.kit.sql<MessageRow>`SELECT * FROM messages WHERE seq < ${before} ORDER BY seq DESC LIMIT ${q.limit}`;
    const oldest = rows[rows.length - 1];
    return { messages: rows.map((r) => this.render(r)), next_cursor: oldest && oldest.seq > 1 ? String(oldest.seq) : null };
  }

  /** Messages others sent after a member's read position. */
  unreadFor(wallet_id: string, read_seq: number): number {
    return this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM messages WHERE seq > ${read_seq} AND sender_wallet <> ${wallet_id}`[0]!.n;
  }

  /** Payment messages whose transfer was not final when they were written. */
  pendingPayments(limit: number): { id: string; sender_wallet: string; transaction_id: string }[] {
    return this.kit.sql<{ id: string; sender_wallet: string; transaction_id: string }>`
      SELECT id, sender_wallet, transaction_id FROM messages WHERE payment_status = 'pending' ORDER BY seq LIMIT ${limit}`;
  }

  hasPendingPayments(): boolean {
    return this.kit.sql`SELECT 1 FROM messages WHERE payment_status = 'pending' LIMIT 1`.length > 0;
  }

  /** A pending payment became final; false if it was not pending any more. */
  finishPayment(id: string, status: "succeeded" | "failed"): boolean {
    return this.kit.sqlWrite`UPDATE messages SET payment_status = ${status} WHERE id = ${id} AND payment_status = 'pending'` > 0;
  }

  /** A request message with its wallets, or null if there is no such request. */
  request(id: string): StoredRequest | null {
    const row = this.kit.sql<MessageRow>`SELECT * FROM messages WHERE id = ${id} AND kind = 'request'`[0];
    if (!row) return null;
    return {
      message_id: row.id,
      seq: row.seq,
      sender: { wallet_id: row.sender_wallet, username: row.sender },
      amount_msat: row.amount_msat!,
      from: JSON.parse(row.request_from!) as ChatMember[],
      paid_by: JSON.parse(row.request_paid_by!) as string[],
      status: row.request_status!,
    };
  }

  /** Records a payer's share; the request is paid once everyone asked has paid. */
  addPaidBy(id: string, username: string): void {
    const r = this.request(id)!;
    if (r.paid_by.includes(username)) return;
    const paid_by = [...r.paid_by, username];
    const everyone = r.from.every((m) => paid_by.includes(m.username));
    const status = r.status === "open" && everyone ? "paid" : r.status;
    this.kit.sql`UPDATE messages SET request_paid_by = ${JSON.stringify(paid_by)}, request_status = ${status} WHERE id = ${id}`;
  }

  /** A payer's share came back: the payer is taken out, and a request that was paid is open again. */
  removePaidBy(id: string, username: string): void {
    const r = this.request(id)!;
    if (!r.paid_by.includes(username)) return;
    const paid_by = r.paid_by.filter((u) => u !== username);
    const status = r.status === "paid" ? "open" : r.status;
    this.kit.sql`UPDATE messages SET request_paid_by = ${JSON.stringify(paid_by)}, request_status = ${status} WHERE id = ${id}`;
  }

  cancelRequest(id: string): void {
    this.kit.sql`UPDATE messages SET request_status = 'canceled' WHERE id = ${id} AND request_status = 'open'`;
  }

  private render(r: MessageRow): ChatMessage {
    return {
      id: r.id,
      conversation_id: this.conversationId(),
      seq: r.seq,
      sender: r.sender,
      kind: r.kind,
      text: r.text,
      ciphertext: r.ciphertext,
      payment:
        r.kind === "payment"
          ? { amount_msat: r.amount_msat!, to: r.to_username!, status: r.payment_status!, transaction_id: r.transaction_id! }
          : null,
      request:
        r.kind === "request"
          ? {
              amount_msat: r.amount_msat!,
              from: (JSON.parse(r.request_from!) as ChatMember[]).map((m) => m.username),
              paid_by: JSON.parse(r.request_paid_by!) as string[],
              status: r.request_status!,
            }
          : null,
      created_at: r.created_at,
    };
  }
}
