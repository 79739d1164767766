import type { Network } from "./types";

/** BIP 173 currency prefixes, as they follow "ln" in the human-readable part. */
const PREFIX_BY_NETWORK: Record<Network, string> = {
  bitcoin: "bc",
  testnet: "tb",
  signet: "tbs",
  regtest: "bcrt",
};

const NETWORK_BY_PREFIX = new Map<string, Network>(
  Object.entries(PREFIX_BY_NETWORK).map(([network, prefix]) => [prefix, network as Network]),
);

/**
 * Exact lookup of the whole currency prefix. The caller cuts the prefix at the first digit, so
 * "bcrt" (regtest) and "tbs" (signet) can never be mistaken for "bc" and "tb".
 */
export function networkFromPrefix(prefix: string): Network | undefined {
  return NETWORK_BY_PREFIX.get(prefix);
}

export function prefixForNetwork(network: Network): string {
  const prefix = PREFIX_BY_NETWORK[network];
  if (prefix === undefined) throw new TypeError(`unknown network: ${String(network)}`);
  return prefix;
}
