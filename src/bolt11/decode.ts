import { bytesToHex } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";
import { InvalidInvoiceError } from "./errors";
import { parseHumanReadablePart } from "./hrp";
import { readTaggedFields } from "./read-fields";
import { SIGNATURE_BYTES, isSignedBy, recoverSigner, signingDigest } from "./signature";
import { DEFAULT_EXPIRY_S, DEFAULT_MIN_FINAL_CLTV_EXPIRY, splitTaggedFields } from "./tagged-fields";
import type { DecodedInvoice } from "./types";
import { wordsToBigInt, wordsToBytes } from "./words";

/**
 * BOLT 11 lifts BIP 173's 90-character limit; this cap only bounds the work spent on hostile
 * input (real invoices, even with many route hints, are a few thousand characters at most).
 */
export const MAX_INVOICE_LENGTH = 8192;

const TIMESTAMP_WORDS = 7; // 35 bits
const SIGNATURE_WORDS = 104; // 520 bits
/** The largest time a JS Date can hold, in seconds. */
const MAX_DATE_SECONDS = 8.64e12;

function stripUriScheme(paymentRequest: string): string {
  const trimmed = paymentRequest.trim();
  return /^lightning:/i.test(trimmed) ? trimmed.slice("lightning:".length) : trimmed;
}

function decodeBech32(text: string): { prefix: string; words: number[] } {
  try {
    // Rejects mixed case and bad checksums; returns the prefix lowercased.
    return bech32.decode(text, MAX_INVOICE_LENGTH);
  } catch (error) {
    throw new InvalidInvoiceError(`not a valid bech32 string: ${(error as Error).message}`);
  }
}

/** The payee: the `n` field when present (the signature must verify against it), else recovered. */
function authenticatePayee(signature: Uint8Array, digest: Uint8Array, statedPayee: Uint8Array | null): Uint8Array {
  const recoveryFlag = signature[64] as number;
  if (recoveryFlag > 3) throw new InvalidInvoiceError(`invalid signature recovery flag ${recoveryFlag}`);
  if (statedPayee) {
    if (!isSignedBy(signature, digest, statedPayee)) {
      throw new InvalidInvoiceError("signature does not match the payee (n field)");
    }
    return statedPayee;
  }
  try {
    return recoverSigner(signature, digest);
  } catch {
    throw new InvalidInvoiceError("signature is not recoverable");
  }
}

/** Decodes and verifies a BOLT 11 payment request; throws InvalidInvoiceError when it is not valid. */
export function decodeInvoice(paymentRequest: string): DecodedInvoice {
  if (typeof paymentRequest !== "string") throw new InvalidInvoiceError("payment request must be a string");
  const { prefix: hrp, words } = decodeBech32(stripUriScheme(paymentRequest));
  const { network, amount_msat } = parseHumanReadablePart(hrp);
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) throw new InvalidInvoiceError("invoice is too short");

  const dataWords = words.slice(0, -SIGNATURE_WORDS);
  const timestamp = Number(wordsToBigInt(dataWords.slice(0, TIMESTAMP_WORDS)));
  const fields = readTaggedFields(splitTaggedFields(dataWords.slice(TIMESTAMP_WORDS)));

  const signature = wordsToBytes(words.slice(-SIGNATURE_WORDS), "trim");
  if (signature.length !== SIGNATURE_BYTES) throw new InvalidInvoiceError("signature has the wrong length");
  const payee = authenticatePayee(signature, signingDigest(hrp, dataWords), fields.payee);

  if (!fields.payment_hash) throw new InvalidInvoiceError("invoice has no payment hash (p field)");
  if (!fields.payment_secret) throw new InvalidInvoiceError("invoice has no payment secret (s field)");
  // Writers must include exactly one of d and h; LND rejects both and neither alike.
  if (fields.description === null && fields.description_hash === null) {
    throw new InvalidInvoiceError("invoice has neither a description (d) nor a description hash (h)");
  }
  if (fields.description !== null && fields.description_hash !== null) {
    throw new InvalidInvoiceError("invoice has both a description (d) and a description hash (h)");
  }

  const expiry_s = fields.expiry_s ?? DEFAULT_EXPIRY_S;
  if (timestamp + expiry_s > MAX_DATE_SECONDS) throw new InvalidInvoiceError("expiry is too far in the future");

  return {
    network,
    amount_msat,
    payment_hash: bytesToHex(fields.payment_hash),
    description: fields.description,
    description_hash: fields.description_hash ? bytesToHex(fields.description_hash) : null,
    payee: bytesToHex(payee),
    created_at: new Date(timestamp * 1000).toISOString(),
    timestamp,
    expiry_s,
    expires_at: new Date((timestamp + expiry_s) * 1000).toISOString(),
    min_final_cltv_expiry: fields.min_final_cltv_expiry ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY,
    payment_secret: bytesToHex(fields.payment_secret),
    features: fields.features ?? [],
    route_hints: fields.route_hints,
    fallback_addresses: fields.fallback_addresses,
    payment_metadata: fields.payment_metadata ? bytesToHex(fields.payment_metadata) : null,
    signature: bytesToHex(signature.subarray(0, 64)),
    recovery_flag: signature[64] as number,
  };
}
