import type { z } from "@hono/zod-openapi";
import type { Msat } from "./money";
import type { CarriedChatMessage } from "./chat";
import type { Counterparty, Event } from "./schemas";

/**
 * The contract's objects are the zod schemas' types (src/schemas.ts), re-exported here under the
 * names the actors use; what follows them is internal to the hub.
 */
export type { Counterparty, Invoice, LightningPayment, Transaction } from "./schemas";

/** One entry of a wallet's event log: `seq` is gapless from 1 per wallet. */
export type WalletEvent = z.infer<typeof Event>;

/** What an actor answers for an API call: the HTTP status and body the worker returns. */
export interface ApiAnswer<Body = unknown> {
  ok: true;
  status: number;
  body: Body;
}

/** What the sending wallet passes to the receiving one; the same payload on every retry. */
export interface TransferPayload {
  transfer_id: string;
  from: Counterparty;
  amount_msat: Msat;
  memo: string | null;
  /** Set when the transfer pays a hub invoice internally. */
  payment_hash?: string;
  /** Set when the transfer is a chat payment message: its `chat.message`, written by each wallet with its money. */
  chat?: CarriedChatMessage;
}
