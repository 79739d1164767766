import { z } from "@hono/zod-openapi";
import { CONVERSATION_MEMBERS, CONVERSATION_TITLE_MAX, MESSAGE_TEXT } from "./chat";
import { USERNAME_PATTERN } from "./identifiers";
import { MAX_PAYMENT_SAT } from "./money";
import { NIP44_MAX_PAYLOAD_CHARS, isNip44Payload } from "./nip44";
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

export const ChatMember = z.object({ username: z.string(), wallet_id: z.string() });
export const ChatMessage = z
  .object({
    id: z.string(),
    conversation_id: z.string(),
    seq: z.number().int(),
    sender: z.string(),
    kind: z.enum(["text", "encrypted", "payment", "request"]),
    text: z.string().nullable(),
    ciphertext: z.string().nullable(),
    payment: z.object({ amount_msat: z.number().int(), to: z.string(), status: z.enum(["pending", "succeeded", "failed"]), transaction_id: z.string() }).nullable(),
    request: z
      .object({ amount_msat: z.number().int(), from: z.array(z.string()), paid_by: z.array(z.string()), status: z.enum(["open", "paid", "canceled"]) })
      .nullable(),
    created_at: z.string(),
  })
  .openapi("ChatMessage");
export const Conversation = z
  .object({ conversation_id: z.string(), kind: z.enum(["direct", "group"]), members: z.array(ChatMember), title: z.string().nullable(), created_at: z.string() })
  .openapi("Conversation");
export const ConversationSummary = z
  .object({
    conversation_id: z.string(),
    kind: z.enum(["direct", "group"]),
    members: z.array(ChatMember),
    title: z.string().nullable(),
    // A union, not ChatMessage.nullable(): that would carry the component's name and be registered as
    // ChatMessage itself, making every message nullable in the document.
    last_message: z.union([ChatMessage, z.null()]),
    unread_count: z.number().int(),
  })
  .openapi("ConversationSummary");
export const ConversationPage = z.object({ conversations: z.array(ConversationSummary), next_cursor: z.string().nullable() }).openapi("ConversationPage");
export const MessageResult = z.object({ message: ChatMessage }).openapi("MessageResult");
export const MessagePage = z.object({ messages: z.array(ChatMessage), next_cursor: z.string().nullable() }).openapi("MessagePage");
export const ReadResult = z.object({ conversation_id: z.string(), seq: z.number().int() }).openapi("ReadResult");
export const LeaveResult = z.object({ conversation_id: z.string(), left: z.literal(true) }).openapi("LeaveResult");

