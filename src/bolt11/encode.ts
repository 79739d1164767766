import { bech32 } from "@scure/base";
import { formatHumanReadablePart } from "./hrp";
import { publicKeyOf, signDigest, signingDigest } from "./signature";
import type { InvoiceFields } from "./types";
import { bytesToWords, uintToWords } from "./words";
import { writeTaggedFields } from "./write-fields";

const MAX_TIMESTAMP = 2 ** 35 - 1;

/**
 * Builds and signs a BOLT 11 invoice (lowercase). Invalid fields throw TypeError or RangeError:
 * they are the caller's bug, unlike an invalid invoice handed to decodeInvoice.
 */
export function encodeInvoice(fields: InvoiceFields, privateKey: Uint8Array): string {
  if (!Number.isInteger(fields.timestamp) || fields.timestamp < 0 || fields.timestamp > MAX_TIMESTAMP) {
    throw new RangeError(`timestamp must be unix seconds within 35 bits, got ${fields.timestamp}`);
  }
  const hrp = formatHumanReadablePart(fields.network, fields.amount_msat ?? null);
  const dataWords = [...uintToWords(fields.timestamp, 7), ...writeTaggedFields(fields, publicKeyOf(privateKey))];
  const signature = signDigest(signingDigest(hrp, dataWords), privateKey);
  // 65 signature bytes are exactly 104 words, so no padding enters the signature.
  return bech32.encode(hrp, [...dataWords, ...bytesToWords(signature)], false);
}
