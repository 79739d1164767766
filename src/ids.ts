import { bytesToHex, randomBytes } from "@noble/hashes/utils.js";

/** Random identifiers: 128 bits of entropy, lowercase hex, with a short prefix saying what they name. */
export const randomHex = (bytes: number): string => bytesToHex(randomBytes(bytes));

export const newId = (prefix: string): string => `${prefix}_${randomHex(16)}`;
