import { z } from "@hono/zod-openapi";
import { CONVERSATION_MEMBERS, CONVERSATION_TITLE_MAX, MESSAGE_TEXT } from "./chat";
import { USERNAME_PATTERN } from "./identifiers";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT } from "./money";
import { NIP44_MAX_PAYLOAD_CHARS, isNip44Payload } from "./nip44";
import { CountOut, TimestampOut, UsernameOut, WalletIdOut, hubId } from "./response-bounds";
import { amountSat } from "./schemas";

/** Chat's request and response schemas (the contract's "Chat" section); they also make /openapi.json. */

const Username = z.string().regex(USERNAME_PATTERN, "a username").max(32);

export const MessageText = z
  .string()
  .min(MESSAGE_TEXT.min, "text must not be empty")
  .max(MESSAGE_TEXT.max, `text is limited to ${MESSAGE_TEXT.max} characters`)
  .openapi({ example: "lunch?" });

/** A NIP-44 v2 payload: the hub checks its shape only, and never decrypts it. */
export const Ciphertext = z
  .string()
  .max(NIP44_MAX_PAYLOAD_CHARS, `ciphertext is limited to ${NIP44_MAX_PAYLOAD_CHARS} characters`)
  .refine(isNip44Payload, "ciphertext must be a NIP-44 version 2 payload (base64, version byte 2, at least 99 bytes)")
  .openapi({ description: "NIP-44 v2 payload, base64" });

/** Text or ciphertext, or neither (for a payment or a request), never both. */
const optionalBody = { text: MessageText.optional(), ciphertext: Ciphertext.optional() };
const notBoth = (b: { text?: string; ciphertext?: string }) => !(b.text !== undefined && b.ciphertext !== undefined);

export const CreateConversationBody = z
  .object({
    members: z
      .array(Username)
      .min(1, "name at least one other member")
      .max(CONVERSATION_MEMBERS.max, `at most ${CONVERSATION_MEMBERS.max} members`)
      .openapi({ description: "usernames; the caller is a member anyway", example: ["bob"] }),
    title: z.string().min(1).max(CONVERSATION_TITLE_MAX).optional(),
  })
  .strict();

export const MessageBodySchema = z
  .object({
    text: MessageText.optional(),
    ciphertext: Ciphertext.optional(),
    payment: z
      .object({ amount_sat: amountSat(MAX_PAYMENT_SAT), to: Username.optional(), ...optionalBody })
      .strict()
      .refine(notBoth, "a payment carries text or ciphertext, not both")
      .optional(),
    request: z
      .object({
        amount_sat: amountSat(MAX_PAYMENT_SAT),
        from: z.array(Username).min(1).max(CONVERSATION_MEMBERS.max).optional(),
        ...optionalBody,
      })
      .strict()
      .refine(notBoth, "a request carries text or ciphertext, not both")
      .optional(),
  })
  .strict()
  .refine((b) => [b.text, b.ciphertext, b.payment, b.request].filter((x) => x !== undefined).length === 1, "exactly one of text, ciphertext, payment, request");

export const ReadBody = z.object({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();

export const MessagesQuery = z.object({
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export const ConversationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(50).default(20),
  cursor: z.string().max(200).optional(),
});

// Answers' bounds (src/response-bounds.ts): as each value was checked or made.
const ConversationIdOut = hubId("conv"); // CONVERSATION_ID_PATTERN: a group's random id, or a direct pair's hash cut to 32 hex
/** A payment's or request's amount: an amountSat(MAX_PAYMENT_SAT) of the message that made it, in msat. */
const ChatAmountMsatOut = z.number().int().openapi({ minimum: MSAT_PER_SAT, maximum: MAX_PAYMENT_SAT * MSAT_PER_SAT });
/** A page's next_cursor: a message's seq. */
const SeqCursorOut = z.string().openapi({ pattern: "^\\d{1,16}$", maxLength: 16 });

export const ChatMember = z.object({ username: UsernameOut, wallet_id: WalletIdOut });
export const ChatMessage = z
  .object({
    id: hubId("msg"),
    conversation_id: ConversationIdOut,
    seq: CountOut,
    sender: UsernameOut,
    kind: z.enum(["text", "encrypted", "payment", "request"]),
    text: z.string().openapi({ maxLength: MESSAGE_TEXT.max }).nullable(),
    ciphertext: z.string().openapi({ maxLength: NIP44_MAX_PAYLOAD_CHARS }).nullable(),
    payment: z
      .object({
        amount_msat: ChatAmountMsatOut,
        to: UsernameOut,
        status: z.enum(["pending", "succeeded", "failed"]),
        // The payer's history row; "" while the payment is pending.
        transaction_id: z.string().openapi({ pattern: "^(tx_[0-9a-f]{32})?$", maxLength: 35 }),
      })
      .nullable(),
    request: z
      .object({
        amount_msat: ChatAmountMsatOut,
        from: z.array(UsernameOut),
        paid_by: z.array(UsernameOut),
        status: z.enum(["open", "paid", "canceled"]),
      })
      .nullable(),
    created_at: TimestampOut,
  })
  .openapi("ChatMessage");
const ConversationTitleOut = z.string().openapi({ maxLength: CONVERSATION_TITLE_MAX });
/**
 * The conversations' next_cursor (durable/wallet/chat-inbox.ts): base64 of the JSON
 * `["<last activity, ISO>", "<conversation id>"]`, at most 71 characters, so at most 96.
 */
const ConversationCursorOut = z.string().openapi({ pattern: "^[A-Za-z0-9+/]+=*$", maxLength: 96 });
export const Conversation = z
  .object({ conversation_id: ConversationIdOut, kind: z.enum(["direct", "group"]), members: z.array(ChatMember), title: ConversationTitleOut.nullable(), created_at: TimestampOut })
  .openapi("Conversation");
export const ConversationSummary = z
  .object({
    conversation_id: ConversationIdOut,
    kind: z.enum(["direct", "group"]),
    members: z.array(ChatMember),
    title: ConversationTitleOut.nullable(),
    // A union, not ChatMessage.nullable(): that would carry the component's name and be registered as
    // ChatMessage itself, making every message nullable in the document.
    last_message: z.union([ChatMessage, z.null()]),
    unread_count: CountOut,
  })
  .openapi("ConversationSummary");
export const ConversationPage = z.object({ conversations: z.array(ConversationSummary), next_cursor: ConversationCursorOut.nullable() }).openapi("ConversationPage");
export const MessageResult = z.object({ message: ChatMessage }).openapi("MessageResult");
export const MessagePage = z.object({ messages: z.array(ChatMessage), next_cursor: SeqCursorOut.nullable() }).openapi("MessagePage");
export const ReadResult = z.object({ conversation_id: ConversationIdOut, seq: CountOut }).openapi("ReadResult");
export const LeaveResult = z.object({ conversation_id: ConversationIdOut, left: z.literal(true) }).openapi("LeaveResult");

