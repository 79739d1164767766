import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { InvalidInvoiceError } from "./errors";
import type { FallbackAddress } from "./types";
import { bytesToWords, wordsToBytes } from "./words";

/** `f` field versions: 0-16 segwit witness versions, 17 P2PKH, 18 P2SH; 19-31 are reserved and skipped. */
const P2PKH = 17;
const P2SH = 18;

/** Length rules of BIP 141 (witness programs) and of hash160 addresses. */
function isValidProgramLength(version: number, length: number): boolean {
  if (version === P2PKH || version === P2SH) return length === 20;
  if (version === 0) return length === 20 || length === 32;
  return length >= 2 && length <= 40;
}

/** Reads one `f` field; undefined for a version this reader must skip. */
export function readFallbackAddress(words: readonly number[]): FallbackAddress | undefined {
  const version = words[0];
  if (version === undefined || version > P2SH) return undefined;
  const program = wordsToBytes(words.slice(1), "trim");
  if (!isValidProgramLength(version, program.length)) {
    throw new InvalidInvoiceError(`fallback address of version ${version} has an invalid length (${program.length} bytes)`);
  }
  return { version, program: bytesToHex(program) };
}

export function writeFallbackAddress(address: FallbackAddress): number[] {
  const program = hexToBytes(address.program);
  if (!Number.isInteger(address.version) || address.version < 0 || address.version > P2SH) {
    throw new RangeError(`fallback address version must be 0-18, got ${address.version}`);
  }
  if (!isValidProgramLength(address.version, program.length)) {
    throw new RangeError(`fallback address of version ${address.version} cannot be ${program.length} bytes`);
  }
  return [address.version, ...bytesToWords(program)];
}
