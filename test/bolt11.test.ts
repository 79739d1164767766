import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import * as secp from "@noble/secp256k1";
import { base58check, bech32 } from "@scure/base";
import { describe, expect, it } from "vitest";
import spec from "./vectors/bolt11-spec.json";
import {
  DEFAULT_INVOICE_FEATURES,
  InvalidInvoiceError,
  decodeInvoice,
  encodeInvoice,
  type DecodedInvoice,
  type InvoiceFields,
  type Network,
} from "../src/bolt11";
import { formatAmount, parseAmount } from "../src/bolt11/amount";
import { signDigest, signingDigest } from "../src/bolt11/signature";
import { TAG, joinTaggedField } from "../src/bolt11/tagged-fields";
import { bytesToWords, uintToWords } from "../src/bolt11/words";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const SPEC_KEY = hexToBytes(spec.signing_private_key);
const OTHER_KEY = hexToBytes("0101010101010101010101010101010101010101010101010101010101010101");
const OTHER_PUBKEY = bytesToHex(secp.getPublicKey(OTHER_KEY, true));
const HASH_A = "0001020304050607080900010203040506070809000102030405060708090102";
const SECRET_1 = "11".repeat(32);
const T_2017 = 1496314658;

function expectInvalid(paymentRequest: string, message?: RegExp): InvalidInvoiceError {
  let caught: unknown;
  try {
    decodeInvoice(paymentRequest);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidInvoiceError);
  if (message) expect((caught as Error).message).toMatch(message);
  return caught as InvalidInvoiceError;
}

/** Edits the decoded bech32 parts and re-encodes with a fresh, valid checksum. */
function rechecksum(invoice: string, edit: (parts: { prefix: string; words: number[] }) => { prefix: string; words: number[] }): string {
  const { prefix, words } = bech32.decode(invoice.toLowerCase(), 8192);
  const edited = edit({ prefix, words: [...words] });
  return bech32.encode(edited.prefix, edited.words, false);
}

/** Builds and signs an invoice from raw tagged fields, to exercise what encodeInvoice refuses to write. */
function rawInvoice(hrp: string, fields: Array<[number, number[]]>, key = SPEC_KEY, timestamp = T_2017): string {
  const data = [...uintToWords(timestamp, 7), ...fields.flatMap(([type, words]) => joinTaggedField(type, words))];
  return bech32.encode(hrp, [...data, ...bytesToWords(signDigest(signingDigest(hrp, data), key))], false);
}

const hexWords = (hex: string) => bytesToWords(hexToBytes(hex));
const textWords = (text: string) => bytesToWords(utf8ToBytes(text));
const REQUIRED_FIELDS: Array<[number, number[]]> = [
  [TAG.payment_hash, hexWords(HASH_A)],
  [TAG.payment_secret, hexWords(SECRET_1)],
  [TAG.description, textWords("coffee")],
];

/** hash160 of a base58 address, or witness version and program of a segwit address. */
function fallbackOf(address: string): { version: number; program: string } {
  if (/^(bc|tb|bcrt)1/.test(address)) {
    const { words } = bech32.decode(address as `${string}1${string}`);
    return { version: words[0]!, program: bytesToHex(bech32.fromWords(words.slice(1))) };
  }
  const payload = base58check(sha256).decode(address);
  const p2sh = payload[0] === 0x05 || payload[0] === 0xc4;
  return { version: p2sh ? 18 : 17, program: bytesToHex(payload.subarray(1)) };
}

// ---------------------------------------------------------------------------------------------
// Spec vectors
// ---------------------------------------------------------------------------------------------

const LONG_DESCRIPTION =
  "One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon";
const LONG_DESCRIPTION_HASH = bytesToHex(sha256(utf8ToBytes(LONG_DESCRIPTION)));

/** What every example shares (spec: all signed with priv_key, all carry payment_secret 0x11..11). */
const BASE: Partial<DecodedInvoice> = {
  network: "bitcoin",
  payment_hash: HASH_A,
  payee: spec.payee_pubkey,
  timestamp: T_2017,
  created_at: "2017-06-01T10:57:38.000Z",
  expiry_s: 3600,
  expires_at: "2017-06-01T11:57:38.000Z",
  min_final_cltv_expiry: 18,
  payment_secret: SECRET_1,
  features: [8, 14],
  route_hints: [],
  fallback_addresses: [],
  payment_metadata: null,
};
const DONATION = { ...BASE, amount_msat: null, description: "Please consider supporting this project", description_hash: null };
const ONE_MINUTE = { expiry_s: 60, expires_at: "2017-06-01T10:58:38.000Z" };
const HASHED_20M = { ...BASE, amount_msat: 2_000_000_000, description: null, description_hash: LONG_DESCRIPTION_HASH };
const COFFEE_BEANS = { ...BASE, amount_msat: 2_500_000_000, description: "coffee beans", description_hash: null, features: [8, 14, 99] };

/**
 * The spec's high-S example is the donation signature with s negated but the recovery id kept (1).
 * A negated s needs the opposite recovery id to name the same key, so recovery as libsecp256k1
 * (and LND, CLN, LDK, eclair) does it yields this key, not the spec key: see the high-S tests.
 */
const HIGH_S_RECOVERED_PAYEE = "02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d";

const EXPECTED_BY_TITLE: Record<string, Partial<DecodedInvoice>> = {
  "Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad":
    DONATION,
  "Please send $3 for a cup of coffee to the same peer, within one minute": {
    ...BASE,
    ...ONE_MINUTE,
    amount_msat: 250_000_000,
    description: "1 cup coffee",
    description_hash: null,
  },
  "Please send 0.0025 BTC for a cup of nonsense (ナンセンス 1杯) to the same peer, within one minute": {
    ...BASE,
    ...ONE_MINUTE,
    amount_msat: 250_000_000,
    description: "ナンセンス 1杯",
    description_hash: null,
  },
  "Now send $24 for an entire list of things (hashed)": HASHED_20M,
  "The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP": {
    ...HASHED_20M,
    network: "testnet",
    fallback_addresses: [fallbackOf("mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP")],
  },
  "On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with extra routing info to go via nodes 029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255 then 039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255":
    {
      ...HASHED_20M,
      fallback_addresses: [fallbackOf("1RustyRX2oai4EYYDpQGWvEL62BBGqN9T")],
      route_hints: [
        [
          {
            pubkey: "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
            short_channel_id: "66051x263430x1800",
            fee_base_msat: 1,
            fee_proportional_millionths: 20,
            cltv_expiry_delta: 3,
          },
          {
            pubkey: "039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
            short_channel_id: "197637x395016x2314",
            fee_base_msat: 2,
            fee_proportional_millionths: 30,
            cltv_expiry_delta: 4,
          },
        ],
      ],
    },
  "On mainnet, with fallback (P2SH) address 3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX": {
    ...HASHED_20M,
    fallback_addresses: [fallbackOf("3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX")],
  },
  "On mainnet, with fallback (P2WPKH) address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4": {
    ...HASHED_20M,
    fallback_addresses: [fallbackOf("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")],
  },
  "On mainnet, with fallback (P2WSH) address bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3": {
    ...HASHED_20M,
    fallback_addresses: [fallbackOf("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3")],
  },
  "Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC": {
    ...BASE,
    amount_msat: 967_878_534,
    payment_hash: "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f",
    description:
      'Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items',
    description_hash: null,
    timestamp: 1572468703,
    created_at: "2019-10-30T20:51:43.000Z",
    expiry_s: 604800,
    expires_at: "2019-11-06T20:51:43.000Z",
    min_final_cltv_expiry: 10,
    route_hints: [
      [
        {
          pubkey: "03d06758583bb5154774a6eb221b1276c9e82d65bbaceca806d90e20c108f4b1c7",
          short_channel_id: "589390x3312x1",
          fee_base_msat: 1000,
          fee_proportional_millionths: 2500,
          cltv_expiry_delta: 40,
        },
      ],
    ],
  },
  "Please send $30 for coffee beans to the same peer, which supports features 8, 14 and 99, using secret 0x1111111111111111111111111111111111111111111111111111111111111111":
    COFFEE_BEANS,
  "Same, but all upper case.": COFFEE_BEANS,
  // The unknown `2` field, the version-19 fallback and the wrong-length p/h/s/n fields are all skipped.
  "Same, but including fields which must be ignored.": COFFEE_BEANS,
  "Please send 0.01 BTC with payment metadata 0x01fafaf0": {
    ...BASE,
    amount_msat: 1_000_000_000,
    description: "payment metadata inside",
    description_hash: null,
    features: [8, 14, 48],
    payment_metadata: "01fafaf0",
  },
  "Public-key recovery with high-S signature": { ...DONATION, payee: HIGH_S_RECOVERED_PAYEE },
};

/** Why each invalid example must fail, so it fails for the right reason. */
const INVALID_REASON_BY_TITLE: Record<string, RegExp> = {
  "Same, but adding invalid unknown feature 100": /unknown feature bit\(s\) 100/,
  "Bech32 checksum is invalid.": /checksum/i,
  "Malformed bech32 string (no 1)": /separator/,
  "Malformed bech32 string (mixed case)": /mixed-case/,
  "Signature is not recoverable.": /not recoverable/,
  "String is too short.": /too short/,
  "Invalid multiplier": /multiplier "x"/,
  "Invalid sub-millisatoshi precision.": /whole number of millisatoshi/,
  "Missing required `s` field.": /payment secret/,
  "Non canonical signature (high-S) with 'n' field defined": /does not match the payee/,
};

const validVectors = spec.vectors.filter((v) => v.valid);
const invalidVectors = spec.vectors.filter((v) => !v.valid);

describe("BOLT 11 spec vectors", () => {
  it("come from the spec's signing key, 15 valid and 10 invalid, each with an expectation here", () => {
    expect(bytesToHex(secp.getPublicKey(SPEC_KEY, true))).toBe(spec.payee_pubkey);
    expect(validVectors).toHaveLength(15);
    expect(invalidVectors).toHaveLength(10);
    for (const v of validVectors) expect(EXPECTED_BY_TITLE, v.title).toHaveProperty([v.title]);
    for (const v of invalidVectors) expect(INVALID_REASON_BY_TITLE, v.title).toHaveProperty([v.title]);
  });

  it.each(validVectors.map((v) => [v.title, v.invoice] as const))("decodes: %s", (title, invoice) => {
    const decoded = decodeInvoice(invoice);
    const expected = EXPECTED_BY_TITLE[title]!;
    // Every field of the shape is pinned except the signature itself.
    expect(decoded).toMatchObject(expected);
    expect(Object.keys(expected).length).toBe(Object.keys(decoded).length - 2);
    expect(decoded.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(decoded.recovery_flag).toBeGreaterThanOrEqual(0);
  });

  it.each(invalidVectors.map((v) => [v.title, v.invoice] as const))("rejects: %s", (title, invoice) => {
    expectInvalid(invoice, INVALID_REASON_BY_TITLE[title]);
  });

  it("matches the signature breakdown the spec gives for the donation example", () => {
    const decoded = decodeInvoice(validVectors[0]!.invoice);
    expect(decoded.signature).toBe(
      "8d3ce9e28357337f62da0162d9454df827f83cfe499aeb1c1db349d4d81127425e434ca29929406c23bba1ae8ac6ca32880b38d4bf6ff874024cac34ba9625f1",
    );
    expect(decoded.recovery_flag).toBe(1);
  });
});

describe("high-S signatures", () => {
  const highS = spec.vectors.find((v) => v.title === "Public-key recovery with high-S signature")!.invoice;
  const donation = validVectors[0]!.invoice;

  it("are accepted by public-key recovery, using the transmitted recovery id as-is", () => {
    const decoded = decodeInvoice(highS);
    const s = BigInt("0x" + decoded.signature.slice(64));
    const n = secp.Point.CURVE().n;
    expect(s > n / 2n).toBe(true);
    // Same r, s negated, same recovery id as the donation example.
    const low = decodeInvoice(donation);
    expect(decoded.signature.slice(0, 64)).toBe(low.signature.slice(0, 64));
    expect(BigInt("0x" + low.signature.slice(64))).toBe(n - s);
    expect(decoded.recovery_flag).toBe(low.recovery_flag);
    expect(decoded.payee).toBe(HIGH_S_RECOVERED_PAYEE);
  });

  it("name the spec key once the recovery id matches the negated s", () => {
    const flipped = rechecksum(highS, ({ prefix, words }) => {
      const sigBytes = bech32.fromWords(words.slice(-104));
      sigBytes[64] = sigBytes[64]! ^ 1;
      return { prefix, words: [...words.slice(0, -104), ...bech32.toWords(sigBytes)] };
    });
    expect(decodeInvoice(flipped).payee).toBe(spec.payee_pubkey);
  });

  it("are rejected when the n field is present (verification requires low-S)", () => {
    // A correctly signed invoice with n verifies; the same signature with s negated (recovery id
    // flipped to match, so still a valid signature by the same key) does not.
    const withPayee = encodeInvoice(
      { network: "bitcoin", timestamp: T_2017, payment_hash: HASH_A, payment_secret: SECRET_1, description: "x", include_payee: true },
      SPEC_KEY,
    );
    expect(decodeInvoice(withPayee).payee).toBe(spec.payee_pubkey);
    const negated = rechecksum(withPayee, ({ prefix, words }) => {
      const sigBytes = bech32.fromWords(words.slice(-104));
      const sValue = BigInt("0x" + bytesToHex(sigBytes.subarray(32, 64)));
      sigBytes.set(hexToBytes((secp.Point.CURVE().n - sValue).toString(16).padStart(64, "0")), 32);
      sigBytes[64] = sigBytes[64]! ^ 1;
      return { prefix, words: [...words.slice(0, -104), ...bech32.toWords(sigBytes)] };
    });
    const { prefix, words } = bech32.decode(negated as `${string}1${string}`, 8192);
    const digest = signingDigest(prefix, words.slice(0, -104));
    const compact = bech32.fromWords(words.slice(-104)).subarray(0, 64);
    const payee = hexToBytes(spec.payee_pubkey);
    expect(secp.verify(compact, digest, payee, { prehash: false, lowS: false })).toBe(true);
    expectInvalid(negated, /does not match the payee/);
  });
});

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const BASIC: InvoiceFields = {
  network: "regtest",
  timestamp: 1_700_000_000,
  payment_hash: "ab".repeat(32),
  payment_secret: "cd".repeat(32),
  description: "Flash Hub test invoice",
};

describe("encodeInvoice", () => {
  it("round-trips an invoice without an amount, with BOLT 11 defaults", () => {
    const invoice = encodeInvoice(BASIC, SPEC_KEY);
    expect(invoice.startsWith("lnbcrt1")).toBe(true);
    expect(decodeInvoice(invoice)).toMatchObject({
      network: "regtest",
      amount_msat: null,
      payment_hash: BASIC.payment_hash,
      payment_secret: BASIC.payment_secret,
      description: BASIC.description,
      description_hash: null,
      payee: spec.payee_pubkey,
      timestamp: 1_700_000_000,
      created_at: "2023-11-14T22:13:20.000Z",
      expiry_s: 3600,
      expires_at: "2023-11-14T23:13:20.000Z",
      min_final_cltv_expiry: 18,
      features: [8, 14, 17],
      route_hints: [],
      fallback_addresses: [],
      payment_metadata: null,
    });
    expect(DEFAULT_INVOICE_FEATURES).toEqual([8, 14, 17]);
  });

  it.each([
    [100_000_000_000, "1"], // whole bitcoin: no multiplier
    [2_100_000_000_000, "21"],
    [2_500_000_000, "25m"],
    [250_000_000, "2500u"],
    [123_400_000, "1234u"],
    [150_000, "1500n"],
    [1_000, "10n"],
    [967_878_534, "9678785340p"],
    [1, "10p"],
    [Number.MAX_SAFE_INTEGER, "90071992547409910p"],
  ])("writes %d msat as the shortest exact amount %s and reads it back", (amount, text) => {
    const invoice = encodeInvoice({ ...BASIC, network: "bitcoin", amount_msat: amount }, SPEC_KEY);
    expect(invoice.startsWith(`lnbc${text}1`)).toBe(true);
    expect(decodeInvoice(invoice).amount_msat).toBe(amount);
  });

  it("round-trips a description hash, expiry, cltv, features, fallbacks, metadata and route hints", () => {
    const fields: InvoiceFields = {
      network: "testnet",
      amount_msat: 21_000,
      timestamp: T_2017,
      payment_hash: HASH_A,
      payment_secret: SECRET_1,
      description_hash: LONG_DESCRIPTION_HASH,
      expiry_s: 86_400,
      min_final_cltv_expiry: 144,
      features: [9, 15, 16, 25, 99],
      fallback_addresses: [fallbackOf("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), { version: 17, program: "11".repeat(20) }],
      payment_metadata: "01fafaf0",
      route_hints: [
        [
          {
            pubkey: "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
            short_channel_id: "16777215x16777215x65535",
            fee_base_msat: 4_294_967_295,
            fee_proportional_millionths: 0,
            cltv_expiry_delta: 65_535,
          },
          { pubkey: OTHER_PUBKEY, short_channel_id: "800000x1234x1", fee_base_msat: 1000, fee_proportional_millionths: 1, cltv_expiry_delta: 40 },
        ],
        [{ pubkey: OTHER_PUBKEY, short_channel_id: "0x0x0", fee_base_msat: 0, fee_proportional_millionths: 100, cltv_expiry_delta: 18 }],
      ],
    };
    const decoded = decodeInvoice(encodeInvoice(fields, SPEC_KEY));
    expect(decoded).toMatchObject({
      network: "testnet",
      amount_msat: 21_000,
      description: null,
      description_hash: LONG_DESCRIPTION_HASH,
      expiry_s: 86_400,
      expires_at: "2017-06-02T10:57:38.000Z",
      min_final_cltv_expiry: 144,
      features: [9, 15, 16, 25, 99],
      fallback_addresses: fields.fallback_addresses,
      payment_metadata: "01fafaf0",
      route_hints: fields.route_hints,
      payee: spec.payee_pubkey,
    });
  });

  it("writes the n field on request, and the payee is the signing key either way", () => {
    const withN = encodeInvoice({ ...BASIC, include_payee: true }, OTHER_KEY);
    const withoutN = encodeInvoice(BASIC, OTHER_KEY);
    expect(withN.length).toBeGreaterThan(withoutN.length);
    expect(decodeInvoice(withN).payee).toBe(OTHER_PUBKEY);
    expect(decodeInvoice(withoutN).payee).toBe(OTHER_PUBKEY);
  });

  it("round-trips unicode and empty descriptions", () => {
    for (const description of ["ナンセンス 1杯 ⚡️", ""]) {
      expect(decodeInvoice(encodeInvoice({ ...BASIC, description }, SPEC_KEY)).description).toBe(description);
    }
  });

  it("omits the 9 field for an empty feature list", () => {
    const decoded = decodeInvoice(encodeInvoice({ ...BASIC, features: [] }, SPEC_KEY));
    expect(decoded.features).toEqual([]);
  });

  it("signs deterministically with low-S signatures", () => {
    const a = encodeInvoice(BASIC, SPEC_KEY);
    expect(encodeInvoice(BASIC, SPEC_KEY)).toBe(a);
    const s = BigInt("0x" + decodeInvoice(a).signature.slice(64));
    expect(s <= secp.Point.CURVE().n / 2n).toBe(true);
  });

  it("produces invoices that also decode upper-cased and behind a lightning: prefix", () => {
    const invoice = encodeInvoice({ ...BASIC, amount_msat: 5_000 }, SPEC_KEY);
    const expected = decodeInvoice(invoice);
    expect(decodeInvoice(invoice.toUpperCase())).toEqual(expected);
    expect(decodeInvoice(`lightning:${invoice}`)).toEqual(expected);
    expect(decodeInvoice(`LIGHTNING:${invoice.toUpperCase()}`)).toEqual(expected);
    expect(decodeInvoice(`  ${invoice}\n`)).toEqual(expected);
  });

  it("refuses fields it cannot write", () => {
    const bad: Array<[Partial<InvoiceFields>, ErrorConstructor]> = [
      [{ description_hash: LONG_DESCRIPTION_HASH }, TypeError], // both d and h
      [{ description: null }, TypeError], // neither
      [{ payment_hash: "ab".repeat(31) }, RangeError],
      [{ payment_hash: "zz".repeat(32) }, TypeError],
      [{ amount_msat: 0 }, RangeError],
      [{ amount_msat: 1.5 }, RangeError],
      [{ amount_msat: Number.MAX_SAFE_INTEGER + 1 }, RangeError],
      [{ timestamp: 2 ** 35 }, RangeError],
      [{ timestamp: -1 }, RangeError],
      [{ expiry_s: -1 }, RangeError],
      [{ features: [-1] }, RangeError],
      [{ description: "x".repeat(640) }, RangeError], // a field holds at most 639 bytes
      [{ route_hints: [[]] }, RangeError],
      [{ route_hints: [[{ pubkey: OTHER_PUBKEY, short_channel_id: "1x2", fee_base_msat: 0, fee_proportional_millionths: 0, cltv_expiry_delta: 0 }]] }, RangeError],
      [{ route_hints: [[{ pubkey: OTHER_PUBKEY, short_channel_id: "1x2x3", fee_base_msat: 0, fee_proportional_millionths: 0, cltv_expiry_delta: 70_000 }]] }, RangeError],
      [{ fallback_addresses: [{ version: 17, program: "11".repeat(21) }] }, RangeError],
      [{ network: "litecoin" as Network }, TypeError],
    ];
    for (const [patch, errorType] of bad) {
      expect(() => encodeInvoice({ ...BASIC, ...patch } as InvoiceFields, SPEC_KEY), JSON.stringify(patch)).toThrow(errorType);
    }
    expect(() => encodeInvoice({ ...BASIC, description: "x".repeat(639) }, SPEC_KEY)).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Networks and amounts
// ---------------------------------------------------------------------------------------------

describe("network prefixes", () => {
  it.each([
    ["bitcoin", "lnbc"],
    ["testnet", "lntb"],
    ["signet", "lntbs"],
    ["regtest", "lnbcrt"],
  ] as const)("%s invoices start with %s, with or without an amount", (network, prefix) => {
    const noAmount = encodeInvoice({ ...BASIC, network }, SPEC_KEY);
    const withAmount = encodeInvoice({ ...BASIC, network, amount_msat: 2_500_000_000 }, SPEC_KEY);
    expect(noAmount.startsWith(`${prefix}1`)).toBe(true);
    expect(withAmount.startsWith(`${prefix}25m1`)).toBe(true);
    expect(decodeInvoice(noAmount)).toMatchObject({ network, amount_msat: null });
    expect(decodeInvoice(withAmount)).toMatchObject({ network, amount_msat: 2_500_000_000 });
  });

  it.each(["lnbcx", "lnxy", "lnbcrtx25m", "lntbx", "lnsb", "bc", "lightning", "lnbc25mx", "ln", "lnbc_25m"])(
    "rejects the human-readable part %s",
    (hrp) => {
      const invoice = rechecksum(encodeInvoice(BASIC, SPEC_KEY), ({ words }) => ({ prefix: hrp, words }));
      expectInvalid(invoice);
    },
  );
});

describe("amounts", () => {
  it.each([
    ["", null],
    ["1", 100_000_000_000],
    ["20m", 2_000_000_000],
    ["2500u", 250_000_000],
    ["10n", 1_000],
    ["10p", 1],
    ["9678785340p", 967_878_534],
    ["90071992547409910p", Number.MAX_SAFE_INTEGER],
  ])("parses %s as %s msat", (text, msat) => {
    expect(parseAmount(text)).toBe(msat);
  });

  it.each([
    ["0", /leading zero/],
    ["025m", /leading zero/],
    ["0m", /leading zero/],
    ["1p", /whole number of millisatoshi/],
    ["2500000001p", /whole number of millisatoshi/],
    ["2500x", /multiplier "x"/],
    ["m", /invalid amount/],
    ["25mm", /invalid amount/],
    ["21000001", /exceeds 21 million BTC/],
    ["21000000001m", /exceeds 21 million BTC/],
    ["90072", /too large to represent/], // 90,072 BTC > 2^53 msat
    ["90071992547409920p", /too large to represent/],
  ])("rejects %s", (text, reason) => {
    expect(() => parseAmount(text)).toThrow(InvalidInvoiceError);
    expect(() => parseAmount(text)).toThrow(reason);
  });

  it("treats 21 million BTC as within supply but beyond what a JS number holds exactly", () => {
    expect(() => parseAmount("21000000")).toThrow(/too large to represent/);
  });

  it("formats with the largest exact multiplier", () => {
    expect(formatAmount(100_000_000_000)).toBe("1");
    expect(formatAmount(100_000_000)).toBe("1m");
    expect(formatAmount(100_000)).toBe("1u");
    expect(formatAmount(100)).toBe("1n");
    expect(formatAmount(10)).toBe("100p");
  });

  it("are checked when decoding a whole invoice", () => {
    const base = encodeInvoice(BASIC, SPEC_KEY);
    for (const [hrp, reason] of [
      ["lnbcrt025m", /leading zero/],
      ["lnbcrt11p", /whole number of millisatoshi/],
      ["lnbcrt25000000", /exceeds 21 million BTC/],
    ] as const) {
      expectInvalid(rechecksum(base, ({ words }) => ({ prefix: hrp, words })), reason);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Tampering and malformed data
// ---------------------------------------------------------------------------------------------

describe("tampering", () => {
  const invoice = encodeInvoice({ ...BASIC, amount_msat: 10_000 }, SPEC_KEY);

  it("flipping any single data character breaks the checksum", () => {
    for (const at of [invoice.indexOf("1") + 1, Math.floor(invoice.length / 2), invoice.length - 1]) {
      const original = invoice[at]!;
      const replacement = original === "q" ? "p" : "q";
      expectInvalid(invoice.slice(0, at) + replacement + invoice.slice(at + 1), /checksum/i);
    }
  });

  it("mixed case is rejected", () => {
    expectInvalid(invoice.slice(0, 10).toUpperCase() + invoice.slice(10), /mixed-case/);
  });

  it("without an n field, a re-checksummed edit recovers some other payee", () => {
    // Recovery always yields a key; the edit shows up as a payee that is not the signer.
    const raised = rechecksum(invoice, ({ words }) => ({ prefix: "lnbcrt1m", words }));
    const decoded = decodeInvoice(raised);
    expect(decoded.amount_msat).toBe(100_000_000);
    expect(decoded.payee).not.toBe(spec.payee_pubkey);
  });

  it("with an n field, a re-checksummed edit fails verification", () => {
    const withN = encodeInvoice({ ...BASIC, amount_msat: 10_000, include_payee: true }, SPEC_KEY);
    expectInvalid(rechecksum(withN, ({ words }) => ({ prefix: "lnbcrt1m", words })), /does not match the payee/);
  });

  it("an n field naming another key than the signer's is rejected", () => {
    const lying = rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.payee, hexWords(OTHER_PUBKEY)]], SPEC_KEY);
    expectInvalid(lying, /does not match the payee/);
    const honest = rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.payee, hexWords(OTHER_PUBKEY)]], OTHER_KEY);
    expect(decodeInvoice(honest).payee).toBe(OTHER_PUBKEY);
  });

  it("a recovery flag above 3 is rejected", () => {
    const bad = rechecksum(invoice, ({ prefix, words }) => {
      const sigBytes = bech32.fromWords(words.slice(-104));
      sigBytes[64] = 4;
      return { prefix, words: [...words.slice(0, -104), ...bech32.toWords(sigBytes)] };
    });
    expectInvalid(bad, /recovery flag/);
  });

  it("a signature with r = 0 is not recoverable", () => {
    const bad = rechecksum(invoice, ({ prefix, words }) => {
      const sigBytes = bech32.fromWords(words.slice(-104));
      sigBytes.fill(0, 0, 32);
      return { prefix, words: [...words.slice(0, -104), ...bech32.toWords(sigBytes)] };
    });
    expectInvalid(bad, /not recoverable/);
  });
});

describe("tagged field rules", () => {
  it("reads a minimal raw invoice with defaults for x and c", () => {
    expect(decodeInvoice(rawInvoice("lnbc", REQUIRED_FIELDS))).toMatchObject({
      description: "coffee",
      expiry_s: 3600,
      min_final_cltv_expiry: 18,
      features: [],
      payee: spec.payee_pubkey,
    });
  });

  it("rejects an invoice without a payment hash, including one whose only p field is skipped for its length", () => {
    expectInvalid(rawInvoice("lnbc", REQUIRED_FIELDS.slice(1)), /no payment hash/);
    const shortHash = hexWords(HASH_A).slice(0, 51);
    expectInvalid(rawInvoice("lnbc", [[TAG.payment_hash, shortHash], ...REQUIRED_FIELDS.slice(1)]), /no payment hash/);
  });

  it("uses the first p field that is not skipped", () => {
    const second = "ff".repeat(32);
    const decoded = decodeInvoice(
      rawInvoice("lnbc", [[TAG.payment_hash, [0, 0, 0]], ...REQUIRED_FIELDS, [TAG.payment_hash, hexWords(second)]]),
    );
    expect(decoded.payment_hash).toBe(HASH_A);
  });

  it("requires exactly one of d and h", () => {
    expectInvalid(rawInvoice("lnbc", REQUIRED_FIELDS.slice(0, 2)), /neither/);
    expectInvalid(rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.description_hash, hexWords(LONG_DESCRIPTION_HASH)]]), /both/);
  });

  it("rejects unknown required feature bits and keeps unknown optional ones", () => {
    expectInvalid(encodeInvoice({ ...BASIC, features: [8, 14, 100] }, SPEC_KEY), /unknown feature bit\(s\) 100/);
    expectInvalid(encodeInvoice({ ...BASIC, features: [8, 10, 14] }, SPEC_KEY), /unknown feature bit\(s\) 10/);
    expect(decodeInvoice(encodeInvoice({ ...BASIC, features: [8, 14, 17, 101, 255] }, SPEC_KEY)).features).toEqual([8, 14, 17, 101, 255]);
  });

  it("ignores unknown tags and fallback versions 19-31", () => {
    const decoded = decodeInvoice(
      rawInvoice("lnbc", [...REQUIRED_FIELDS, [2, [1, 2, 3]], [TAG.fallback_address, [19, ...hexWords("22".repeat(20))]]]),
    );
    expect(decoded.fallback_addresses).toEqual([]);
  });

  it("rejects malformed known fields", () => {
    expectInvalid(rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.route_hint, hexWords("02".repeat(50))]]), /whole number of hops/);
    expectInvalid(rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.fallback_address, [17, ...hexWords("22".repeat(19))]]]), /fallback/);
    const badUtf8: Array<[number, number[]]> = [[TAG.payment_hash, hexWords(HASH_A)], [TAG.payment_secret, hexWords(SECRET_1)], [TAG.description, hexWords("c328")]];
    expectInvalid(rawInvoice("lnbc", badUtf8), /UTF-8/);
    expectInvalid(rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.expiry, new Array(12).fill(31)]]), /expiry is too large/);
    expectInvalid(rawInvoice("lnbc", [...REQUIRED_FIELDS, [TAG.expiry, uintToWords(2 ** 52)]]), /expiry is too far/);
  });

  it("rejects a tagged field that runs into the signature", () => {
    const valid = rawInvoice("lnbc", REQUIRED_FIELDS);
    const truncated = rechecksum(valid, ({ prefix, words }) => {
      // Drop the last word of the description: its declared length now swallows a signature word.
      const descriptionEnd = words.length - 104;
      return { prefix, words: [...words.slice(0, descriptionEnd - 1), ...words.slice(descriptionEnd)] };
    });
    expectInvalid(truncated, /runs past the signature/);
  });

  it("rejects what is not a string, too short, or too long", () => {
    expectInvalid(42 as unknown as string, /must be a string/);
    expectInvalid("", /bech32/);
    expectInvalid("lnbc1qqqqqqqqqqqq", /checksum/i);
    expectInvalid(rechecksum(rawInvoice("lnbc", REQUIRED_FIELDS), ({ prefix, words }) => ({ prefix, words: words.slice(0, 110) })), /too short/);
    expectInvalid(`lnbc1${"q".repeat(9000)}`, /bech32/);
  });

  it("hashes the hrp and the zero-padded data words, as the spec's breakdown shows", () => {
    // From the spec's donation example: data for signing and its SHA256.
    const { prefix, words } = bech32.decode(validVectors[0]!.invoice as `${string}1${string}`, 8192);
    const digest = signingDigest(prefix, words.slice(0, -104));
    expect(bytesToHex(digest)).toBe("6daf4d488be41ce7cbb487cab1ef2975e5efcea879b20d421f0ef86b07cbb987");
  });
});
