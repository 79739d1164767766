import { sha256 } from "@noble/hashes/sha2.js";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { MAX_PAYMENT_SAT, MSAT_PER_SAT, type Msat } from "./money";

/**
 * On-chain money through LND's wallet (docs/decisions/0023): the rules the gateway, the wallets and
 * the node actor share. Runtime-free.
 */

/** The networks the hub may run on (BITCOIN_NETWORK), as the contract names them. */
export const BITCOIN_NETWORKS = ["bitcoin", "testnet", "signet", "regtest"] as const;
export type BitcoinNetwork = (typeof BITCOIN_NETWORKS)[number];

/** Confirmations at which a deposit is credited (ONCHAIN_CONFIRMATIONS overrides; at least 1). */
export const DEFAULT_ONCHAIN_CONFIRMATIONS = 3;
export const MAX_ONCHAIN_CONFIRMATIONS = 100;

/** ONCHAIN_CONFIRMATIONS as configured, or the default when unset or not a whole number from 1 to 100. */
export function onchainConfirmations(configured: string | number | undefined): number {
  const n = Number(configured);
  return Number.isInteger(n) && n >= 1 && n <= MAX_ONCHAIN_CONFIRMATIONS ? n : DEFAULT_ONCHAIN_CONFIRMATIONS;
}

/** The smallest withdrawal: below this an output is dust to LND (P2TR's 330 sat is the largest dust limit; rounded up). */
export const MIN_WITHDRAWAL_SAT = 1_000;
/** The largest withdrawal, as any payment. */
export const MAX_WITHDRAWAL_SAT = MAX_PAYMENT_SAT;
/** A fee rate the caller may ask for, sat/vB (LND refuses more than its max fee rate anyway). */
export const MAX_FEE_RATE_SAT_VB = 10_000;
/** How many blocks the default fee estimate targets (LND's EstimateFee `target_conf`). */
export const WITHDRAWAL_TARGET_CONF = 6;

/**
 * What a withdrawal holds for the miners' fee: the estimate twice over (coin selection at send time
 * may pick more inputs than at the estimate's), at least the estimate plus 1,000 sat. The real fee
 * is settled when LND reports the transaction, and the rest comes back.
 */
export function feeHoldSat(estimate_sat: number): number {
  return Math.max(2 * estimate_sat, estimate_sat + 1_000);
}

/** The label LND keeps with a withdrawal's transaction: how a withdrawal is found again after a crash. */
export const withdrawalLabel = (withdrawal_id: string): string => `flash-hub:${withdrawal_id}`;

/** A deposit's output, `txid:vout`: the key a deposit is credited once by. */
export const outpointOf = (txid: string, vout: number): string => `${txid}:${vout}`;

/** msat of a whole number of sat. */
export const satMsat = (sat: number): Msat => sat * MSAT_PER_SAT;

// ── Addresses ──────────────────────────────────────────────────────────────

export type AddressType = "p2pkh" | "p2sh" | "p2wpkh" | "p2wsh" | "p2tr";

/** What one network's addresses look like: the bech32 prefix and the base58 version bytes. */
interface NetworkParams {
  hrp: string;
  p2pkh: number;
  p2sh: number;
}

const PARAMS: Record<BitcoinNetwork, NetworkParams> = {
  bitcoin: { hrp: "bc", p2pkh: 0x00, p2sh: 0x05 },
  testnet: { hrp: "tb", p2pkh: 0x6f, p2sh: 0xc4 },
  signet: { hrp: "tb", p2pkh: 0x6f, p2sh: 0xc4 },
  regtest: { hrp: "bcrt", p2pkh: 0x6f, p2sh: 0xc4 },
};

/** Longest address the hub takes: a bech32 string is at most 90 characters (BIP-173); base58 ones are shorter. */
export const MAX_ADDRESS_LENGTH = 90;

export type AddressCheck = { ok: true; address: string; type: AddressType } | { ok: false; reason: string };

const base58check = createBase58check(sha256);

/** The networks an address of this shape could belong to (for a wrong-network message). */
function networksOf(hrpOrVersion: string | number): BitcoinNetwork[] {
  return BITCOIN_NETWORKS.filter((n) => (typeof hrpOrVersion === "string" ? PARAMS[n].hrp === hrpOrVersion : PARAMS[n].p2pkh === hrpOrVersion || PARAMS[n].p2sh === hrpOrVersion));
}

/**
 * Checks a Bitcoin address for `network`: segwit v0 (bech32, BIP-173: 20- or 32-byte programs) and
 * v1 (bech32m, BIP-350: 32-byte taproot keys), or base58check P2PKH / P2SH, checksums included.
 * Other witness versions are valid BIP-350 strings LND cannot pay (refused as unsupported).
 * Bech32 addresses come back lower-cased (the form LND reports them in).
 */
export function checkAddress(input: string, network: BitcoinNetwork): AddressCheck {
  if (typeof input !== "string" || input.length === 0) return { ok: false, reason: "the address is empty" };
  if (input.length > MAX_ADDRESS_LENGTH) return { ok: false, reason: `an address has at most ${MAX_ADDRESS_LENGTH} characters` };
  const params = PARAMS[network];
  const lower = input.toLowerCase();
  const separator = lower.lastIndexOf("1");
  const prefix = separator > 0 ? lower.slice(0, separator) : "";
  if (prefix === "bc" || prefix === "tb" || prefix === "bcrt") {
    if (prefix !== params.hrp) return { ok: false, reason: `a ${networksOf(prefix).join("/")} address; the hub runs on ${network}` };
    return checkSegwit(input, params.hrp);
  }
  return checkBase58(input, network);
}

function checkSegwit(input: string, hrp: string): AddressCheck {
  let decoded: { prefix: string; words: number[] } | null = null;
  let encoding: "bech32" | "bech32m" | null = null;
  for (const [name, codec] of [["bech32", bech32], ["bech32m", bech32m]] as const) {
    try {
      decoded = codec.decode(input as `${string}1${string}`, MAX_ADDRESS_LENGTH);
      encoding = name;
      break;
    } catch {
      // try the other checksum
    }
  }
  if (!decoded || !encoding) return { ok: false, reason: "not a valid bech32/bech32m address (bad characters, mixed case or checksum)" };
  if (decoded.prefix !== hrp || decoded.words.length === 0) return { ok: false, reason: "not a segwit address" };
  const version = decoded.words[0]!;
  if (version > 16) return { ok: false, reason: `invalid witness version ${version}` };
  let program: Uint8Array;
  try {
    program = bech32.fromWords(decoded.words.slice(1));
  } catch {
    return { ok: false, reason: "invalid witness program padding" };
  }
  if (program.length < 2 || program.length > 40) return { ok: false, reason: `invalid witness program length ${program.length}` };
  if (version === 0 && encoding !== "bech32") return { ok: false, reason: "a witness v0 address must use bech32, not bech32m" };
  if (version !== 0 && encoding !== "bech32m") return { ok: false, reason: `a witness v${version} address must use bech32m, not bech32` };
  const address = input.toLowerCase();
  if (version === 0) {
    if (program.length === 20) return { ok: true, address, type: "p2wpkh" };
    if (program.length === 32) return { ok: true, address, type: "p2wsh" };
    return { ok: false, reason: `invalid witness v0 program length ${program.length}` };
  }
  if (version === 1 && program.length === 32) return { ok: true, address, type: "p2tr" };
  return { ok: false, reason: `witness v${version} with a ${program.length}-byte program is not supported` };
}

function checkBase58(input: string, network: BitcoinNetwork): AddressCheck {
  let payload: Uint8Array;
  try {
    payload = base58check.decode(input);
  } catch {
    return { ok: false, reason: "not a valid Bitcoin address (neither bech32 nor base58check)" };
  }
  if (payload.length !== 21) return { ok: false, reason: "not a valid Bitcoin address (base58check payload of the wrong length)" };
  const version = payload[0]!;
  const params = PARAMS[network];
  if (version === params.p2pkh) return { ok: true, address: input, type: "p2pkh" };
  if (version === params.p2sh) return { ok: true, address: input, type: "p2sh" };
  const others = networksOf(version);
  if (others.length) return { ok: false, reason: `a ${[...new Set(others.map((n) => (n === "signet" || n === "regtest" ? "testnet" : n)))].join("/")} address; the hub runs on ${network}` };
  return { ok: false, reason: `unknown address version ${version}` };
}

/** The network a BITCOIN_NETWORK value names (bitcoin when unset, as invoices assume). */
export function bitcoinNetwork(configured: string | undefined): BitcoinNetwork {
  return (BITCOIN_NETWORKS as readonly string[]).includes(configured ?? "") ? (configured as BitcoinNetwork) : "bitcoin";
}
