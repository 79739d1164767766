import { describe, expect, it } from "vitest";
import { assertBalanced, journals } from "../src/ledger";
import { requestFingerprint, isValidIdempotencyKey } from "../src/idempotency";
import { hashPassword, verifyPassword } from "../src/auth/password";
import { accountOfSecret, newAccountSecret, type Principal } from "../src/auth/tokens";
import { VerifiedTokens } from "../src/auth/verified-tokens";
import { satToMsat } from "../src/money";
import { api, createAccount, fund, newKey, testEnv, waitFor } from "./helpers";

describe("ledger rules", () => {
  it("every journal the hub posts balances", () => {
    for (const make of Object.values(journals)) expect(() => assertBalanced(make(1234, 1000, 34))).not.toThrow();
    expect(() => assertBalanced(journals.paymentSettled(2000, 1000, 0))).not.toThrow();
    expect(() => journals.paymentSettled(1000, 990, 11)).toThrow(/exceeds the hold/);
  });
  it("refuses unbalanced, fractional, zero-leg and one-legged journals", () => {
    expect(() => assertBalanced([{ account: "wallet", amount_msat: 1 }, { account: "faucet", amount_msat: -2 }])).toThrow(/balance/);
    expect(() => assertBalanced([{ account: "wallet", amount_msat: 0.5 }, { account: "faucet", amount_msat: -0.5 }])).toThrow();
    expect(() => assertBalanced([{ account: "wallet", amount_msat: 0 }, { account: "faucet", amount_msat: 0 }])).toThrow();
    expect(() => assertBalanced([{ account: "wallet", amount_msat: 1 }])).toThrow();
  });
  it("converts sat to msat only for whole amounts", () => {
    expect(satToMsat(21)).toBe(21_000);
    expect(() => satToMsat(1.5)).toThrow();
    expect(() => satToMsat(-1)).toThrow();
  });
});

describe("idempotency fingerprints", () => {
  it("ignore key order but not values", async () => {
    const a = await requestFingerprint("op", { to: "bob", amount_sat: 1, memo: "x" });
    expect(await requestFingerprint("op", { memo: "x", amount_sat: 1, to: "bob" })).toBe(a);
    expect(await requestFingerprint("op", { to: "bob", amount_sat: 2, memo: "x" })).not.toBe(a);
    expect(await requestFingerprint("other", { to: "bob", amount_sat: 1, memo: "x" })).not.toBe(a);
  });
  it("bound the keys", () => {
    expect(isValidIdempotencyKey("abc-123")).toBe(true);
    expect(isValidIdempotencyKey("")).toBe(false);
    expect(isValidIdempotencyKey("x".repeat(256))).toBe(false);
    expect(isValidIdempotencyKey("has space")).toBe(false);
  });
});

describe("credentials", () => {
  it("password hashes are salted and verify only the right password", async () => {
    const [h1, h2] = [await hashPassword("hunter22!"), await hashPassword("hunter22!")];
    expect(h1).not.toBe(h2);
    expect(await verifyPassword("hunter22!", h1)).toBe(true);
    expect(await verifyPassword("hunter22?", h1)).toBe(false);
    expect(await verifyPassword("hunter22!", "garbage")).toBe(false);
  });
  it("secrets name their account and nothing else parses", () => {
    const acc = `acc_${"a".repeat(32)}`;
    const rt = newAccountSecret("rt", acc);
    expect(accountOfSecret("rt", rt)).toBe(acc);
    expect(accountOfSecret("fhk", rt)).toBeNull();
    expect(accountOfSecret("rt", rt + "0")).toBeNull();
  });
});

describe("verified access tokens (per-isolate cache)", () => {
  const principal = (expiresAtMs?: number): Principal => ({ accountId: "acc", walletId: "wal", username: "u", scopes: ["read"], via: "jwt", expiresAtMs });

  it("answers until the token's expiry, then forgets it", () => {
    const cache = new VerifiedTokens(10);
    cache.set("t", principal(2_000));
    expect(cache.get("t", 1_999)?.accountId).toBe("acc");
    expect(cache.get("t", 2_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get("other", 0)).toBeUndefined();
  });

  it("keeps nothing without an expiry, and stays within its capacity (oldest out)", () => {
    const cache = new VerifiedTokens(2);
    cache.set("key", { ...principal(), via: "api_key" });
    expect(cache.get("key", 0)).toBeUndefined();
    cache.set("a", principal(10));
    cache.set("b", principal(10));
    cache.set("c", principal(10));
    expect(cache.size).toBe(2);
    expect(cache.get("a", 0)).toBeUndefined();
    expect(cache.get("c", 0)).toBeDefined();
  });
});

describe("replays answer as their first request did", () => {
  const sim = (path: string, body: unknown) =>
    testEnv.LND_SIM!.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

  it("a Lightning payment asked for before its invoice expired, replayed after: the payment as it stands, not invoice_expired", async () => {
    const a = await createAccount("replay");
    await fund(a, 10_000);
    // An outside hold invoice: the hub's payment stays in flight (pending) until it is settled.
    const invoice = await sim("/sim/invoices", { amount_sat: 1000, expiry_s: 2, hold: true });
    const pay = (key: string) => api("POST", "/v1/payments/lightning", { body: { payment_request: invoice.payment_request }, token: a.access_token, key });
    const key = newKey();
    const first = await pay(key);
    expect([first.status, first.json.status], JSON.stringify(first.json)).toEqual([200, "pending"]);
    const expiresAt = Date.parse((await api("POST", "/v1/lightning/decode", { body: { payment_request: invoice.payment_request }, token: a.access_token })).json.expires_at);
    await waitFor(() => Date.now() > expiresAt + 50, "the invoice to expire", 5_000);

    const pending = await pay(key);
    expect([pending.status, pending.json.status], JSON.stringify(pending.json)).toEqual([200, "pending"]);
    expect(pending.json.payment_hash).toBe(invoice.payment_hash);
    // A new request for the expired invoice is still refused.
    expect((await pay(newKey())).json.error?.code).toBe("invoice_expired");

    await sim("/sim/invoices/settle", { payment_hash: invoice.payment_hash });
    await waitFor(async () => (await pay(key)).json.status === "succeeded", "the replay to show the settled payment", 10_000);
  });
});
