import { sha256 } from "@noble/hashes/sha2.js";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { describe, expect, it } from "vitest";
import { checkAddress, feeHoldSat, onchainConfirmations, type BitcoinNetwork } from "../src/onchain";

/** BIP-173 and BIP-350 test vectors, and base58check addresses, against src/onchain.ts `checkAddress`. */

const networkOfHrp: Record<string, BitcoinNetwork> = { bc: "bitcoin", tb: "testnet", bcrt: "regtest" };

describe("on-chain addresses", () => {
  it("takes BIP-173/BIP-350 valid segwit v0 and v1 (taproot) addresses on their network, lower-cased", () => {
    const valid: [string, string][] = [
      ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "p2wpkh"],
      ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "p2wsh"],
      ["tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "p2wsh"],
      ["tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "p2tr"],
      ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "p2tr"],
    ];
    for (const [address, type] of valid) {
      const hrp = address.toLowerCase().slice(0, 2);
      expect(checkAddress(address, networkOfHrp[hrp]!), address).toEqual({ ok: true, address: address.toLowerCase(), type });
    }
    // Testnet addresses are signet's too.
    expect(checkAddress("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "signet").ok).toBe(true);
  });

  it("refuses valid BIP-350 strings of witness versions LND cannot pay", () => {
    for (const address of [
      "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", // v1, 40 bytes
      "BC1SW50QGDZ25J", // v16, 2 bytes
      "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", // v2, 16 bytes
    ]) {
      const r = checkAddress(address, "bitcoin");
      expect(r.ok, address).toBe(false);
      expect(!r.ok && r.reason, address).toMatch(/not supported/);
    }
  });

  it("refuses BIP-173/BIP-350 invalid addresses", () => {
    const invalid = [
      "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", // invalid human-readable part
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", // v1 with a bech32 checksum
      "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", // v2 with a bech32 checksum
      "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", // v16 with a bech32 checksum
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", // v0 with a bech32m checksum
      "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", // v0 with a bech32m checksum
      "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", // 'o' is not a bech32 character
      "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", // witness version 17
      "bc1pw5dgrnzv", // 1-byte program
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", // 41-byte program
      "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", // v0 with a 16-byte program
      "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", // mixed case
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", // more than 4 bits of padding
      "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", // non-zero padding
      "bc1gmk9yu", // empty data
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", // a checksum character changed
      "",
      "not an address",
      "x".repeat(91),
    ];
    for (const address of invalid) {
      const hrp = address.toLowerCase().startsWith("tb") ? "testnet" : "bitcoin";
      expect(checkAddress(address, hrp).ok, address).toBe(false);
    }
  });

  it("takes base58check P2PKH and P2SH addresses of the hub's network, and refuses a bad checksum", () => {
    expect(checkAddress("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bitcoin")).toEqual({ ok: true, address: "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", type: "p2pkh" });
    expect(checkAddress("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin")).toMatchObject({ ok: true, type: "p2pkh" });
    expect(checkAddress("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin")).toMatchObject({ ok: true, type: "p2sh" });
    expect(checkAddress("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet")).toMatchObject({ ok: true, type: "p2pkh" });
    expect(checkAddress("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "regtest")).toMatchObject({ ok: true, type: "p2sh" });
    expect(checkAddress("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "bitcoin").ok).toBe(false); // checksum
    expect(checkAddress("0BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bitcoin").ok).toBe(false); // '0' is not base58
    // A base58check payload of another length (a WIF key).
    const wif = createBase58check(sha256).encode(new Uint8Array([0x80, ...new Uint8Array(32).fill(1)]));
    expect(checkAddress(wif, "bitcoin").ok).toBe(false);
  });

  it("refuses an address of another network, saying which", () => {
    const regtest = bech32.encode("bcrt", [0, ...bech32.toWords(new Uint8Array(20).fill(7))]);
    const regtestTr = bech32m.encode("bcrt", [1, ...bech32m.toWords(new Uint8Array(32).fill(9))]);
    expect(checkAddress(regtest, "regtest")).toMatchObject({ ok: true, type: "p2wpkh" });
    expect(checkAddress(regtestTr, "regtest")).toMatchObject({ ok: true, type: "p2tr" });
    const cases: [string, BitcoinNetwork, RegExp][] = [
      [regtest, "bitcoin", /regtest address; the hub runs on bitcoin/],
      ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "regtest", /bitcoin address; the hub runs on regtest/],
      ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "regtest", /testnet\/signet address/],
      ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "regtest", /bitcoin address; the hub runs on regtest/],
      ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "bitcoin", /testnet address; the hub runs on bitcoin/],
    ];
    for (const [address, network, reason] of cases) {
      const r = checkAddress(address, network);
      expect(r.ok, address).toBe(false);
      expect(!r.ok && r.reason, address).toMatch(reason);
    }
  });

  it("reads ONCHAIN_CONFIRMATIONS, and holds twice the estimated fee (at least 1,000 sat more)", () => {
    expect(onchainConfirmations(undefined)).toBe(3);
    expect(onchainConfirmations("6")).toBe(6);
    for (const bad of ["0", "-1", "1.5", "abc", "101"]) expect(onchainConfirmations(bad)).toBe(3);
    expect(feeHoldSat(141)).toBe(1141);
    expect(feeHoldSat(5000)).toBe(10_000);
  });
});
