import type { Msat } from "./money";

/** A row of the user-visible payment history (the contract's transaction object). */
export interface Transaction {
  id: string;
  kind: "intraledger" | "lightning" | "onchain" | "reward" | "faucet";
  direction: "in" | "out";
  amount_msat: Msat;
  fee_msat: Msat;
  status: "pending" | "succeeded" | "failed";
  counterparty: Counterparty | null;
  memo: string | null;
  created_at: string;
}

export interface Counterparty {
  wallet_id: string;
  username: string;
}

/** One entry of a wallet's event log: `seq` is gapless from 1 per wallet. */
export interface WalletEvent {
  seq: number;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

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
}

/** A hold invoice the wallet issued (the contract's invoice object). */
export interface Invoice {
  payment_hash: string;
  payment_request: string;
  amount_msat: Msat | null;
  memo: string | null;
  status: "open" | "paid" | "expired" | "canceled";
  expires_at: string;
  created_at: string;
  paid_at: string | null;
  paid_msat: Msat | null;
}

/** The contract's answer to POST /v1/payments/lightning. */
export interface LightningPayment {
  status: "succeeded" | "pending" | "failed";
  payment_hash: string;
  amount_msat: Msat;
  fee_msat: Msat;
  preimage?: string;
  failure_reason?: string;
  transaction: Transaction;
}
