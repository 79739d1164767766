import type { PaymentKind, PaymentStatus } from "./catalog";

/** What a wallet event says about payments, for the metrics: one started, or one ended (with its amount). */
export type PaymentFact = { kind: PaymentKind; started: true } | { kind: PaymentKind; status: PaymentStatus; amount_msat: number };

type Data = Record<string, unknown>;
const amountOf = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const transactionOf = (data: Data) => (data.transaction ?? {}) as { amount_msat?: unknown; counterparty?: unknown };

/**
 * The payment fact of a wallet event, from the payer's side so a payment between two wallets counts
 * once: a transfer sent, delivered or returned (`intraledger`, chat payments included); a Lightning
 * payment held, succeeded or failed (`lightning_send`, whether the invoice was a hub wallet's or the
 * outside world's, and keysend payments); an invoice paid from outside the hub, through LND (`lightning_receive`; one paid by
 * another hub wallet is that wallet's `lightning_send`); an on-chain withdrawal held, sent or failed
 * (`onchain_send`); an on-chain deposit credited once confirmed (`onchain_receive`; one seen unconfirmed
 * or dropped is no payment yet); a reward credited (`reward`). Every other event (the faucet's credits
 * among them): null.
 */
export function paymentFactOf(type: string, data: Data): PaymentFact | null {
  switch (type) {
    case "transfer.sent":
      return { kind: "intraledger", started: true };
    case "transfer.delivered":
      return { kind: "intraledger", status: "succeeded", amount_msat: amountOf(transactionOf(data).amount_msat) };
    case "transfer.failed":
      return { kind: "intraledger", status: "failed", amount_msat: amountOf(transactionOf(data).amount_msat) };
    case "payment.pending":
      return { kind: "lightning_send", started: true };
    case "payment.succeeded":
      return { kind: "lightning_send", status: "succeeded", amount_msat: amountOf(data.amount_msat) };
    case "payment.failed":
      return { kind: "lightning_send", status: "failed", amount_msat: amountOf(data.amount_msat) };
    case "invoice.paid":
      return transactionOf(data).counterparty ? null : { kind: "lightning_receive", status: "succeeded", amount_msat: amountOf(transactionOf(data).amount_msat) };
    case "onchain.withdrawal.pending":
      return { kind: "onchain_send", started: true };
    case "onchain.withdrawal.succeeded":
      return { kind: "onchain_send", status: "succeeded", amount_msat: amountOf(data.amount_msat) };
    case "onchain.withdrawal.failed":
      return { kind: "onchain_send", status: "failed", amount_msat: amountOf(data.amount_msat) };
    case "onchain.received":
      return { kind: "onchain_receive", status: "succeeded", amount_msat: amountOf(transactionOf(data).amount_msat) };
    case "reward.credited":
      return { kind: "reward", status: "succeeded", amount_msat: amountOf(transactionOf(data).amount_msat) };
    default:
      return null;
  }
}
