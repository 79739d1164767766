import type { ChatMember, Conversation, ConversationKind } from "../../src/chat";
import type { ActorKit, Part } from "../kit/part";

interface MemberRow {
  wallet_id: string;
  username: string;
  read_seq: number;
  left_at: string | null;
}

/**
 * Who is in the conversation: its kind and title, its members (in the order they joined), each
 * member's read position, and who has left (a left member receives nothing more).
 */
export class Roster implements Part {
  readonly name = "roster";
  readonly migrations = [
    `CREATE TABLE conversation (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       conversation_id TEXT NOT NULL, kind TEXT NOT NULL, title TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL);
     CREATE TABLE members (
       position INTEGER PRIMARY KEY, wallet_id TEXT NOT NULL UNIQUE, username TEXT NOT NULL,
       read_seq INTEGER NOT NULL DEFAULT 0, joined_at TEXT NOT NULL, left_at TEXT);`,
  ];
  private conversation: Omit<Conversation, "members"> | null = null;
  /** Active members by wallet id, in joining order (read once per wake-up, kept by this part). */
  private active: Map<string, ChatMember> | null = null;

  constructor(private readonly kit: ActorKit) {}

  onStart(): void {
    const row = this.kit.sql<{ conversation_id: string; kind: ConversationKind; title: string | null; created_at: string }>`
      SELECT conversation_id, kind, title, created_at FROM conversation`[0];
    this.conversation = row ?? null;
    this.active = null;
  }

  onRollback(): void {
    this.onStart(); // creation or a leave rolled back: read again what is stored
  }

  /** Creates the conversation once; later calls change nothing. Returns whether this call created it. */
  create(c: { conversation_id: string; kind: ConversationKind; title: string | null; members: ChatMember[]; created_by: string }, now: string): boolean {
    if (this.conversation) return false;
    this.kit.sql`INSERT INTO conversation (id, conversation_id, kind, title, created_by, created_at)
                 VALUES (1, ${c.conversation_id}, ${c.kind}, ${c.title}, ${c.created_by}, ${now})`;
    for (const m of c.members) {
      this.kit.sql`INSERT INTO members (wallet_id, username, joined_at) VALUES (${m.wallet_id}, ${m.username}, ${now})`;
    }
    this.conversation = { conversation_id: c.conversation_id, kind: c.kind, title: c.title, created_at: now };
    this.active = null;
    return true;
  }

  /** The conversation with its active members, or null if it was never created. */
  describe(): Conversation | null {
    return this.conversation ? { ...this.conversation, members: this.members() } : null;
  }

  get kind(): ConversationKind | null {
    return this.conversation?.kind ?? null;
  }

  /** Active members, in joining order. */
  members(): ChatMember[] {
    return [...this.activeMembers().values()];
  }

  /** An active member by wallet, or null (never created, not a member, or left). */
  member(wallet_id: string): ChatMember | null {
    return this.activeMembers().get(wallet_id) ?? null;
  }

  /** An active member by username (case-insensitive), or null. */
  memberNamed(username: string): ChatMember | null {
    const wanted = username.toLowerCase();
    for (const m of this.activeMembers().values()) if (m.username.toLowerCase() === wanted) return m;
    return null;
  }

  /** How far a member has read (0: nothing). */
  readSeq(wallet_id: string): number {
    return this.kit.sql<{ read_seq: number }>`SELECT read_seq FROM members WHERE wallet_id = ${wallet_id}`[0]?.read_seq ?? 0;
  }

  /** Moves a member's read position forward (never back); returns the position now. */
  markRead(wallet_id: string, seq: number): number {
    this.kit.sql`UPDATE members SET read_seq = MAX(read_seq, ${seq}) WHERE wallet_id = ${wallet_id}`;
    return this.readSeq(wallet_id);
  }

  /** A member leaves (inside the caller's unit of work). */
  leave(wallet_id: string, now: string): void {
    this.kit.sql`UPDATE members SET left_at = ${now} WHERE wallet_id = ${wallet_id} AND left_at IS NULL`;
    this.activeMembers().delete(wallet_id);
  }

  private activeMembers(): Map<string, ChatMember> {
    if (!this.active) {
      const rows = this.kit.sql<MemberRow>`SELECT wallet_id, username, read_seq, left_at FROM members WHERE left_at IS NULL ORDER BY position`;
      this.active = new Map(rows.map((r) => [r.wallet_id, { username: r.username, wallet_id: r.wallet_id }]));
    }
    return this.active;
  }
}
