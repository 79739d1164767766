import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Msat } from "./money";

/** A conversation holds 2 to 100 members, the creator included; two is a direct one. */
export const CONVERSATION_MEMBERS = { min: 2, max: 100 } as const;
/** Plain text messages: 1 to 4,000 characters. */
export const MESSAGE_TEXT = { min: 1, max: 4_000 } as const;
export const CONVERSATION_TITLE_MAX = 100;
export const CONVERSATION_ID_PATTERN = /^conv_[0-9a-f]{32}$/;
export const MESSAGE_ID_PATTERN = /^msg_[0-9a-f]{32}$/;

/** The one direct conversation of a pair: its id follows from the pair, so both sides find the same actor. */
export function directConversationId(walletA: string, walletB: string): string {
  const [x, y] = [walletA, walletB].sort();
  return `conv_${bytesToHex(sha256(utf8ToBytes(`direct:${x}:${y}`))).slice(0, 32)}`;
}

export interface ChatMember {
  username: string;
  wallet_id: string;
}

export type ConversationKind = "direct" | "group";

/** A message as the contract shows it (usernames, not wallet ids). */
export interface ChatMessage {
  id: string;
  conversation_id: string;
  seq: number;
  sender: string;
  kind: "text" | "encrypted" | "payment" | "request";
  text: string | null;
  ciphertext: string | null;
  payment: { amount_msat: Msat; to: string; status: "pending" | "succeeded" | "failed"; transaction_id: string } | null;
  request: { amount_msat: Msat; from: string[]; paid_by: string[]; status: "open" | "paid" | "canceled" } | null;
  created_at: string;
}

export interface Conversation {
  conversation_id: string;
  kind: ConversationKind;
  members: ChatMember[];
  title: string | null;
  created_at: string;
}

export interface ConversationSummary extends Omit<Conversation, "created_at"> {
  last_message: ChatMessage | null;
  unread_count: number;
}

/** The body of a message: plain text or a NIP-44 ciphertext (the hub never reads the latter). */
export type MessageBody = { text: string; ciphertext?: undefined } | { ciphertext: string; text?: undefined } | { text?: undefined; ciphertext?: undefined };

/** What a member posts (resolved to wallets by the worker). */
export type NewMessage =
  | { kind: "text"; text: string }
  | { kind: "encrypted"; ciphertext: string }
  | { kind: "payment"; amount_msat: Msat; to: string | null; body: MessageBody }
  | { kind: "request"; amount_msat: Msat; from: string[] | null; body: MessageBody };

/**
 * A payment message carried by its transfer (docs/decisions/0007): the payee's wallet writes its
 * `chat.message` in the commit that credits it, the payer's in the commit that settles the transfer,
 * each only if it is the next event of that member's mailbox (else the mailbox delivers it).
 */
export interface CarriedChatMessage {
  conversation_id: string;
  /** The event's number in the payer's and in the payee's mailbox. */
  payer_n: number;
  payee_n: number;
  /** The message as the conversation records it; its payment's status and transaction the wallets fill in. */
  message: ChatMessage;
}

/** What the wallets answer for a carried message: how far each one's mailbox of the conversation is delivered (null: not known). */
export interface CarriedChatThrough {
  payer_through: number | null;
  payee_through: number | null;
}

/** A carried payment message with its transfer's outcome. */
export function paymentOutcome(message: ChatMessage, status: "pending" | "succeeded" | "failed", transaction_id: string): ChatMessage {
  return { ...message, payment: { ...message.payment!, status, transaction_id } };
}
