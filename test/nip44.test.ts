import { chacha20 } from "@noble/ciphers/chacha.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { base64 } from "@scure/base";
import { describe, expect, it } from "vitest";
import vectors from "./vectors/nip44.vectors.json";
import {
  NIP44_MAX_PAYLOAD_CHARS,
  Nip44Error,
  calcPaddedLen,
  decrypt,
  encrypt,
  getConversationKey,
  getMessageKeys,
  getPublicKeyXOnly,
  isNip44Payload,
  isXOnlyPublicKey,
} from "../src/nip44";

const { valid, invalid } = vectors.v2;
const sha256Hex = (text: string): string => bytesToHex(sha256(utf8ToBytes(text)));

/** What each invalid decrypt vector must fail with, keyed by the start of its note. */
const DECRYPT_ERRORS: [note: string, message: RegExp][] = [
  ["unknown encryption version", /unknown version/],
  ["invalid base64", /invalid base64/],
  ["invalid MAC", /invalid MAC/],
  ["invalid padding", /invalid padding/],
  // An empty payload is an unknown version in the spec's decoder; the others are too short.
  ["invalid payload length", /unknown version|invalid payload size/],
];

describe("NIP-44 v2 official vectors: valid", () => {
  it("has the vector counts this suite expects", () => {
    expect(valid.get_conversation_key).toHaveLength(35);
    expect(valid.get_message_keys.keys).toHaveLength(32);
    expect(valid.calc_padded_len).toHaveLength(24);
    expect(valid.encrypt_decrypt).toHaveLength(10);
    expect(valid.encrypt_decrypt_long_msg).toHaveLength(3);
    expect(invalid.encrypt_msg_lengths).toHaveLength(4);
    expect(invalid.decrypt).toHaveLength(12);
    expect(invalid.get_conversation_key).toHaveLength(8);
  });

  describe("get_conversation_key", () => {
    valid.get_conversation_key.forEach((v, i) => {
      it(`#${i}${"note" in v ? ` (${String(v.note)})` : ""}`, () => {
        expect(bytesToHex(getConversationKey(v.sec1, v.pub2))).toBe(v.conversation_key);
      });
    });
  });

  describe("get_message_keys", () => {
    const conversationKey = hexToBytes(valid.get_message_keys.conversation_key);
    valid.get_message_keys.keys.forEach((v, i) => {
      it(`#${i}`, () => {
        const keys = getMessageKeys(conversationKey, hexToBytes(v.nonce));
        expect(bytesToHex(keys.chachaKey)).toBe(v.chacha_key);
        expect(bytesToHex(keys.chachaNonce)).toBe(v.chacha_nonce);
        expect(bytesToHex(keys.hmacKey)).toBe(v.hmac_key);
      });
    });
  });

  describe("calc_padded_len", () => {
    for (const [len, padded] of valid.calc_padded_len as [number, number][]) {
      it(`${len} → ${padded}`, () => {
        expect(calcPaddedLen(len)).toBe(padded);
      });
    }
  });

  describe("encrypt_decrypt", () => {
    valid.encrypt_decrypt.forEach((v, i) => {
      it(`#${i} ${JSON.stringify(v.plaintext.slice(0, 24))}`, () => {
        // Both sides derive the same conversation key.
        expect(bytesToHex(getConversationKey(v.sec1, getPublicKeyXOnly(v.sec2)))).toBe(v.conversation_key);
        expect(bytesToHex(getConversationKey(v.sec2, getPublicKeyXOnly(v.sec1)))).toBe(v.conversation_key);
        const conversationKey = hexToBytes(v.conversation_key);
        expect(encrypt(v.plaintext, conversationKey, hexToBytes(v.nonce))).toBe(v.payload);
        expect(decrypt(v.payload, conversationKey)).toBe(v.plaintext);
        expect(isNip44Payload(v.payload)).toBe(true);
      });
    });
  });

  describe("encrypt_decrypt_long_msg", () => {
    valid.encrypt_decrypt_long_msg.forEach((v, i) => {
      it(`#${i} ${JSON.stringify(v.pattern)} × ${v.repeat}`, () => {
        const plaintext = v.pattern.repeat(v.repeat);
        expect(sha256Hex(plaintext)).toBe(v.plaintext_sha256);
        const conversationKey = hexToBytes(v.conversation_key);
        const payload = encrypt(plaintext, conversationKey, hexToBytes(v.nonce));
        expect(sha256Hex(payload)).toBe(v.payload_sha256);
        expect(decrypt(payload, conversationKey)).toBe(plaintext);
        expect(isNip44Payload(payload)).toBe(true);
      });
    });

    it("covers the largest plaintext, 65,535 bytes, which gives the largest payload", () => {
      expect(valid.encrypt_decrypt_long_msg.some((v) => utf8ToBytes(v.pattern).length * v.repeat === 65_535)).toBe(true);
      const payload = encrypt("x".repeat(65_535), new Uint8Array(32).fill(7));
      expect(payload).toHaveLength(NIP44_MAX_PAYLOAD_CHARS);
      expect(isNip44Payload(payload)).toBe(true);
    });
  });
});

describe("NIP-44 v2 official vectors: invalid", () => {
  describe("encrypt_msg_lengths", () => {
    const conversationKey = new Uint8Array(32).fill(1);
    for (const len of invalid.encrypt_msg_lengths) {
      it(`a plaintext of ${len} bytes cannot be encrypted`, () => {
        expect(() => encrypt("a".repeat(len), conversationKey)).toThrow(/invalid plaintext size/);
      });
    }
  });

  describe("decrypt", () => {
    invalid.decrypt.forEach((v, i) => {
      it(`#${i} ${v.note}`, () => {
        const expected = DECRYPT_ERRORS.find(([note]) => v.note.startsWith(note));
        expect(expected, `no expected error for note ${v.note}`).toBeDefined();
        const attempt = () => decrypt(v.payload, hexToBytes(v.conversation_key));
        expect(attempt).toThrow(Nip44Error);
        expect(attempt).toThrow(expected![1]);
      });
    });
  });

  describe("get_conversation_key", () => {
    invalid.get_conversation_key.forEach((v, i) => {
      it(`#${i} ${v.note}`, () => {
        expect(() => getConversationKey(v.sec1, v.pub2)).toThrow(Nip44Error);
      });
    });
  });
});

describe("round trips and tampering", () => {
  const alice = "0000000000000000000000000000000000000000000000000000000000000001";
  const bob = "0000000000000000000000000000000000000000000000000000000000000002";

  it("encrypts with a fresh random nonce by default; the other side decrypts", () => {
    const fromAlice = getConversationKey(alice, getPublicKeyXOnly(bob));
    const toBob = getConversationKey(bob, getPublicKeyXOnly(alice));
    const a = encrypt("hello bob", fromAlice);
    const b = encrypt("hello bob", fromAlice);
    expect(a).not.toBe(b);
    expect(decrypt(a, toBob)).toBe("hello bob");
    expect(decrypt(b, toBob)).toBe("hello bob");
  });

  it("keeps a leading byte-order mark and rejects a plaintext that is not UTF-8", () => {
    const key = getConversationKey(alice, getPublicKeyXOnly(bob));
    expect(decrypt(encrypt("\uFEFFhi", key), key)).toBe("\uFEFFhi");
    // Encrypt raw bytes ff fe by hand (u16 length 2, zero padding to 32) with the module's own keys.
    const nonce = new Uint8Array(32).fill(3);
    const { chachaKey, chachaNonce, hmacKey } = getMessageKeys(key, nonce);
    const padded = new Uint8Array(34);
    padded.set([0, 2, 0xff, 0xfe]);
    const ciphertext = chacha20(chachaKey, chachaNonce, padded);
    const mac = hmac(sha256, hmacKey, concatBytes(nonce, ciphertext));
    const payload = base64.encode(concatBytes(Uint8Array.of(2), nonce, ciphertext, mac));
    expect(isNip44Payload(payload)).toBe(true);
    expect(() => decrypt(payload, key)).toThrow(/not UTF-8/);
  });

  it("rejects a flipped bit anywhere after the version byte, and a wrong key", () => {
    const key = getConversationKey(alice, getPublicKeyXOnly(bob));
    const payload = encrypt("tamper with me", key);
    const bytes = base64.decode(payload);
    for (const at of [1, 32, 33, 40, bytes.length - 33, bytes.length - 1]) {
      const tampered = bytes.slice();
      tampered[at]! ^= 1;
      expect(() => decrypt(base64.encode(tampered), key)).toThrow(/invalid MAC/);
    }
    expect(() => decrypt(payload, new Uint8Array(32))).toThrow(/invalid MAC/);
  });

  it("rejects wrong-size keys and nonces", () => {
    const key = new Uint8Array(32);
    expect(() => encrypt("x", new Uint8Array(31))).toThrow(Nip44Error);
    expect(() => encrypt("x", key, new Uint8Array(31))).toThrow(Nip44Error);
    expect(() => decrypt(encrypt("x", key), new Uint8Array(33))).toThrow(Nip44Error);
    expect(() => calcPaddedLen(0)).toThrow(Nip44Error);
  });
});

describe("getPublicKeyXOnly", () => {
  it("gives the x-only key: generator for 1, and the same as a vector's pub2 pairing", () => {
    expect(getPublicKeyXOnly("0000000000000000000000000000000000000000000000000000000000000001")).toBe(
      "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    );
    expect(() => getPublicKeyXOnly("00".repeat(32))).toThrow(Nip44Error);
    expect(() => getPublicKeyXOnly("zz".repeat(32))).toThrow(Nip44Error);
  });
});

describe("isNip44Payload", () => {
  const key = new Uint8Array(32).fill(9);
  const real = encrypt("a chat message", key);

  it("accepts a real payload, including the smallest and the largest", () => {
    expect(isNip44Payload(real)).toBe(true);
    expect(isNip44Payload(encrypt("a", key))).toBe(true);
    expect(encrypt("a", key)).toHaveLength(132);
    expect(isNip44Payload(valid.encrypt_decrypt[0]!.payload)).toBe(true);
  });

  it("rejects a wrong version byte", () => {
    const bytes = base64.decode(real);
    for (const version of [0, 1, 3, 255]) {
      bytes[0] = version;
      expect(isNip44Payload(base64.encode(bytes))).toBe(false);
    }
    expect(isNip44Payload(invalid.decrypt[1]!.payload)).toBe(false); // version 0, from the vectors
    expect(isNip44Payload(invalid.decrypt[0]!.payload)).toBe(false); // '#'-prefixed
  });

  it("rejects what is not canonical standard base64", () => {
    expect(isNip44Payload(invalid.decrypt[2]!.payload)).toBe(false); // a Cyrillic letter inside
    expect(isNip44Payload(real.replace(/\+/g, "-").replace(/\//g, "_").replace(/[AB]/, "-"))).toBe(false); // url-safe
    expect(isNip44Payload(`${real.slice(0, -4)}    `)).toBe(false);
    expect(isNip44Payload(`${real}\n`)).toBe(false);
    const unpadded = base64.encode(new Uint8Array([2, ...new Uint8Array(99)])); // 100 bytes: ends "=="
    expect(unpadded.endsWith("=")).toBe(true);
    expect(isNip44Payload(unpadded)).toBe(true);
    expect(isNip44Payload(unpadded.replace(/=+$/, ""))).toBe(false);
  });

  it("rejects too short and too long", () => {
    expect(isNip44Payload("")).toBe(false);
    for (const v of invalid.decrypt.filter((d) => d.note.startsWith("invalid payload length"))) {
      expect(isNip44Payload(v.payload)).toBe(false);
    }
    // 98 bytes decoded (132 chars with padding) is one byte too few.
    const short = base64.encode(new Uint8Array([2, ...new Uint8Array(97)]));
    expect(short).toHaveLength(132);
    expect(isNip44Payload(short)).toBe(false);
    // 65,604 bytes is one too many (87,472 chars); 65,606 bytes exceeds the character bound.
    const overBytes = base64.encode(new Uint8Array([2, ...new Uint8Array(65_603)]));
    expect(overBytes).toHaveLength(NIP44_MAX_PAYLOAD_CHARS);
    expect(isNip44Payload(overBytes)).toBe(false);
    expect(isNip44Payload(base64.encode(new Uint8Array([2, ...new Uint8Array(65_605)])))).toBe(false);
    expect(isNip44Payload(base64.encode(new Uint8Array([2, ...new Uint8Array(65_602)])))).toBe(true);
  });

  it("rejects what is not a string", () => {
    expect(isNip44Payload(undefined as unknown as string)).toBe(false);
    expect(isNip44Payload(42 as unknown as string)).toBe(false);
  });
});

describe("isXOnlyPublicKey", () => {
  it("accepts x coordinates on the curve", () => {
    expect(isXOnlyPublicKey("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")).toBe(true);
    for (const v of valid.get_conversation_key.slice(0, 10)) expect(isXOnlyPublicKey(v.pub2)).toBe(true);
    expect(isXOnlyPublicKey(getPublicKeyXOnly("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"))).toBe(true);
  });

  it("rejects x values with no point, the field prime, and bad formats", () => {
    for (const v of invalid.get_conversation_key.filter((d) => d.note.startsWith("pub2"))) {
      expect(isXOnlyPublicKey(v.pub2)).toBe(false);
    }
    expect(isXOnlyPublicKey("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f")).toBe(false); // p
    const g = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    expect(isXOnlyPublicKey(g.toUpperCase())).toBe(false);
    expect(isXOnlyPublicKey(`02${g}`)).toBe(false);
    expect(isXOnlyPublicKey(g.slice(2))).toBe(false);
    expect(isXOnlyPublicKey(` ${g.slice(1)}`)).toBe(false);
    expect(isXOnlyPublicKey("")).toBe(false);
    expect(isXOnlyPublicKey(null as unknown as string)).toBe(false);
  });
});
