import { formatAmount, parseAmount } from "./amount";
import { InvalidInvoiceError } from "./errors";
import { networkFromPrefix, prefixForNetwork } from "./network";
import type { Network } from "./types";

/** The human-readable part: "ln" + currency prefix + optional amount. */
export function parseHumanReadablePart(hrp: string): { network: Network; amount_msat: number | null } {
  // The currency prefix is letters only and the amount starts with a digit, so cutting at the
  // first digit separates them (e.g. "lnbcrt25m" -> "bcrt" + "25m").
  const match = /^ln([a-z]+)([0-9][0-9a-z]*)?$/.exec(hrp);
  if (!match) throw new InvalidInvoiceError(`"${hrp}" is not a lightning invoice prefix`);
  const network = networkFromPrefix(match[1] as string);
  if (!network) throw new InvalidInvoiceError(`unknown network prefix "ln${match[1]}"`);
  return { network, amount_msat: parseAmount(match[2] ?? "") };
}

export function formatHumanReadablePart(network: Network, amountMsat: number | null): string {
  return `ln${prefixForNetwork(network)}${amountMsat === null ? "" : formatAmount(amountMsat)}`;
}
