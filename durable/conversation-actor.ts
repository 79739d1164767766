import { Actor } from "./kit/actor";
import { Idempotency, type IdempotencyTag } from "./kit/idempotency";
import { walletActor, type Env } from "./env";
import type { ConversationPort, CreateConversationRequest, MessagesQuery } from "./ports";
import { ChatPayments } from "./conversation/chat-payments";
import { Mailboxes } from "./conversation/mailboxes";
import { Messages, type MessageDraft } from "./conversation/messages";
import { Roster } from "./conversation/roster";
import type { ChatMember, ChatMessage, Conversation, ConversationSummary, NewMessage } from "../src/chat";
import { refuse, type Refusal } from "../src/errors";
import type { ApiAnswer } from "../src/wallet-types";

type MessageAnswer = ApiAnswer<{ message: ChatMessage }>;

const notMember = () => refuse("not_found", "no such conversation");

/**
 * One per conversation (`direct` for two members, `group` for up to 100): its members, its messages
 * with a gapless `seq`, its payment requests and read positions. Every event reaches every member's
 * wallet event log through the member's mailbox (exactly once, in order); money moves with the
 * ordinary transfer protocol, as one fact with its message (durable/conversation/chat-payments.ts).
 */
export class ConversationActor extends Actor<Env> implements ConversationPort {
  readonly roster = new Roster(this.kit);
  readonly log = new Messages(this.kit, () => this.conversationId());
  readonly mailboxes = new Mailboxes(this.kit, () => this.conversationId(), (wallet_id) => walletActor(this.env, wallet_id));
  /** A stored answer follows its message: a replay shows the message as it stands now. */
  readonly idempotency = new Idempotency(this.kit, (message_id) => ({ message: this.log.byId(message_id) }));
  readonly payments = new ChatPayments(this.kit, this.roster, this.log, this.mailboxes, this.idempotency, (wallet_id) => walletActor(this.env, wallet_id), () => this.conversationId());
  protected readonly parts = [this.roster, this.log, this.mailboxes, this.idempotency, this.payments];

  /** Creates the conversation (201), or returns it as it is if it exists (200): a pair's direct conversation is found again. */
  async create(request: CreateConversationRequest): Promise<ApiAnswer<Conversation>> {
    const now = new Date().toISOString();
    const created = this.transaction(() => {
      const fresh = this.roster.create({ ...request, created_by: request.members[0]!.wallet_id }, now);
      if (fresh) this.mailboxes.post(request.members.map((m) => m.wallet_id), "chat.created", { conversation_id: request.conversation_id, conversation: this.roster.describe() });
      return fresh;
    });
    if (created) await this.mailboxes.deliver(request.members.map((m) => m.wallet_id));
    return { ok: true, status: created ? 201 : 200, body: this.roster.describe()! };
  }

  /** The conversation as one member's list shows it, or null for a non-member. */
  async summary(member: string): Promise<ConversationSummary | null> {
    const conversation = this.roster.describe();
    if (!conversation || !this.roster.member(member)) return null;
    const { created_at: _created, ...rest } = conversation;
    return { ...rest, last_message: this.log.last(), unread_count: this.log.unreadFor(member, this.roster.readSeq(member)) };
  }

  /** Posts a message: text, ciphertext, a payment (money and message as one fact) or a request. */
  async postMessage(member: string, message: NewMessage, idempotency: IdempotencyTag | null): Promise<MessageAnswer | Refusal> {
    const sender = this.roster.member(member);
    if (!sender) return notMember();
    switch (message.kind) {
      case "payment": {
        const to = message.to === null ? this.onlyOther(sender) : this.roster.memberNamed(message.to);
        if (message.to === null && this.roster.kind === "group") return refuse("invalid_request", "`to` is required in a group");
        if (!to) return refuse("invalid_request", `${message.to ?? "the recipient"} is not a member of this conversation`);
        if (to.wallet_id === sender.wallet_id) return refuse("self_payment", "a wallet cannot pay itself");
        return this.payments.sendPayment(sender, to, message.amount_msat, message.body, idempotency);
      }
      case "request": {
        const from = message.from === null ? this.roster.members().filter((m) => m.wallet_id !== sender.wallet_id) : message.from.map((u) => this.roster.memberNamed(u));
        const unknown = message.from?.find((_u, i) => !from[i]);
        if (unknown !== undefined) return refuse("invalid_request", `${unknown} is not a member of this conversation`);
        const payers = dedupe(from as ChatMember[]);
        if (payers.some((m) => m.wallet_id === sender.wallet_id)) return refuse("invalid_request", "a request cannot ask its sender");
        if (!payers.length) return refuse("invalid_request", "a request needs someone to pay it");
        return this.appendOnce(idempotency, sender, { kind: "request", text: message.body.text ?? null, ciphertext: message.body.ciphertext ?? null, request: { amount_msat: message.amount_msat, from: payers } });
      }
      case "text":
        return this.appendOnce(idempotency, sender, { kind: "text", text: message.text, ciphertext: null });
      case "encrypted":
        return this.appendOnce(idempotency, sender, { kind: "encrypted", text: null, ciphertext: message.ciphertext });
    }
  }

  /** Pays the caller's share of a request (once per payer). */
  async payRequest(member: string, message_id: string, idempotency: IdempotencyTag | null): Promise<MessageAnswer | Refusal> {
    const payer = this.roster.member(member);
    if (!payer) return notMember();
    return this.payments.payShare(payer, message_id, idempotency);
  }

  /** The sender cancels an open request; everyone receives `chat.updated`. */
  async cancelRequest(member: string, message_id: string): Promise<MessageAnswer | Refusal> {
    const caller = this.roster.member(member);
    if (!caller) return notMember();
    const request = this.log.request(message_id);
    if (!request) return refuse("not_found", "no such request in this conversation");
    if (request.sender.wallet_id !== caller.wallet_id) return refuse("forbidden", "only the sender cancels a request");
    if (request.status !== "open") return refuse("conflict", `this request is ${request.status}`);
    if (this.payments.hasSharesInFlight(message_id)) return refuse("conflict", "a share of this request is being paid");
    const { message, recipients } = await this.payments.whenFree(() =>
      this.transaction(() => {
        this.log.cancelRequest(message_id);
        const message = this.log.byId(message_id)!;
        return { message, recipients: this.mailboxes.post(this.roster.members().map((m) => m.wallet_id), "chat.updated", { conversation_id: this.conversationId(), message }) };
      }),
    );
    await this.mailboxes.deliver(recipients);
    return { ok: true, status: 200, body: { message } };
  }

  /** A page of messages (see Messages.page). */
  async messages(member: string, query: MessagesQuery): Promise<ApiAnswer<{ messages: ChatMessage[]; next_cursor: string | null }> | Refusal> {
    if (!this.roster.member(member)) return notMember();
    return { ok: true, status: 200, body: this.log.page(query) };
  }

  /** Moves the caller's read position; the other members receive `chat.read`. */
  async markRead(member: string, seq: number): Promise<ApiAnswer<{ conversation_id: string; seq: number }> | Refusal> {
    const reader = this.roster.member(member);
    if (!reader) return notMember();
    const upTo = Math.min(seq, this.log.lastSeq());
    const before = this.roster.readSeq(member);
    if (upTo <= before) return { ok: true, status: 200, body: { conversation_id: this.conversationId(), seq: before } };
    const others = await this.payments.whenFree(() =>
      this.transaction(() => {
        this.roster.markRead(member, upTo);
        const others = this.roster.members().filter((m) => m.wallet_id !== member).map((m) => m.wallet_id);
        return this.mailboxes.post(others, "chat.read", { conversation_id: this.conversationId(), username: reader.username, seq: upTo });
      }),
    );
    await this.mailboxes.deliver(others);
    return { ok: true, status: 200, body: { conversation_id: this.conversationId(), seq: upTo } };
  }

  /** Leaves a group: the others receive `chat.left`; the member receives nothing more from it. */
  async leave(member: string): Promise<ApiAnswer<{ conversation_id: string; left: true }> | Refusal> {
    const leaving = this.roster.member(member);
    if (!leaving) return notMember();
    if (this.roster.kind !== "group") return refuse("invalid_request", "only a group can be left");
    const others = await this.payments.whenFree(() =>
      this.transaction(() => {
        this.roster.leave(member, new Date().toISOString());
        const others = this.roster.members().filter((m) => m.wallet_id !== member).map((m) => m.wallet_id);
        return this.mailboxes.post(others, "chat.left", { conversation_id: this.conversationId(), username: leaving.username });
      }),
    );
    await this.mailboxes.deliver(others);
    return { ok: true, status: 200, body: { conversation_id: this.conversationId(), left: true } };
  }

  /** Appends a message without money, once per idempotency key, and delivers it to every member. */
  private async appendOnce(tag: IdempotencyTag | null, sender: ChatMember, draft: Omit<MessageDraft, "sender">): Promise<MessageAnswer | Refusal> {
    return this.idempotency.once(tag, async () => {
      const { message, recipients } = await this.payments.whenFree(() =>
        this.transaction(() => {
          const message = this.log.append({ ...draft, sender }, new Date().toISOString());
          this.idempotency.claim(tag, message.id, { ok: true, status: 201, body: null });
          return { message, recipients: this.mailboxes.post(this.roster.members().map((m) => m.wallet_id), "chat.message", { conversation_id: this.conversationId(), message }) };
        }),
      );
      await this.mailboxes.deliver(recipients);
      return { ok: true, status: 201, body: { message } };
    }) as Promise<MessageAnswer | Refusal>;
  }

  /** In a direct conversation, the member who is not `me`. */
  private onlyOther(me: ChatMember): ChatMember | null {
    return this.roster.kind === "direct" ? (this.roster.members().find((m) => m.wallet_id !== me.wallet_id) ?? null) : null;
  }

  private conversationId(): string {
    return this.roster.describe()?.conversation_id ?? "";
  }
}

function dedupe(members: ChatMember[]): ChatMember[] {
  return [...new Map(members.map((m) => [m.wallet_id, m])).values()];
}
