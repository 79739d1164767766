import { SignJWT, generateKeyPair, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { verifiedTokens } from "../workers/keys";
import { api, balanceOf, createAccount, fund, newKey, PASSWORD, pay, testEnv, uniqueName } from "./helpers";

const b64url = (s: string) => btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const claimsOf = (token: string) => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));

async function realKey() {
  return importJWK({ ...JSON.parse(testEnv.JWT_PRIVATE_JWK), alg: "EdDSA" }, "EdDSA");
}

describe("accounts", () => {
  it("creates an account with a wallet and tokens; usernames are unique case-insensitively", async () => {
    const username = uniqueName("Case");
    const r = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
    expect(r.status).toBe(201);
    // Any case in; stored and answered lower-case, as the contract's [a-z0-9_] says.
    expect(r.json).toMatchObject({ username: username.toLowerCase(), expires_in: 900, token_type: "Bearer" });
    expect(r.json.account_id).toMatch(/^acc_[0-9a-f]{32}$/);
    expect(r.json.wallet_id).toMatch(/^wal_[0-9a-f]{32}$/);
    for (const variant of [username, username.toLowerCase(), username.toUpperCase()]) {
      const dup = await api("POST", "/v1/accounts", { body: { username: variant, password: PASSWORD } });
      expect([dup.status, dup.json.error.code]).toEqual([409, "username_taken"]);
    }
    const login = await api("POST", "/v1/auth/login", { body: { username: username.toLowerCase(), password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(claimsOf(login.json.access_token).sub).toBe(r.json.account_id);
  });

  it("admits only one of many concurrent claims of a name", async () => {
    const username = uniqueName("race");
    const replies = await Promise.all(Array.from({ length: 8 }, () => api("POST", "/v1/accounts", { body: { username, password: PASSWORD } })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(7);
  });

  it("refuses reserved usernames, whatever their case", async () => {
    for (const username of ["admin", "Admin", "ROOT", "faucet", "support", "lndhub"]) {
      const r = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
      expect([r.status, r.json.error.code, r.json.error.message], username).toEqual([400, "invalid_request", "username: that username is reserved"]);
    }
  });

  it("refuses bad usernames and short passwords", async () => {
    for (const username of ["ab", "a".repeat(33), "has space", "dash-name", "émile", "x'; DROP TABLE claim;--"]) {
      const r = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
      expect([r.status, r.json.error.code], username).toEqual([400, "invalid_request"]);
    }
    const short = await api("POST", "/v1/accounts", { body: { username: uniqueName(), password: "short" } });
    expect(short.status).toBe(400);
  });

  it("refuses a wrong password and an unknown user alike", async () => {
    const a = await createAccount();
    const wrong = await api("POST", "/v1/auth/login", { body: { username: a.username, password: "not the password" } });
    const unknown = await api("POST", "/v1/auth/login", { body: { username: uniqueName("ghost"), password: PASSWORD } });
    for (const r of [wrong, unknown]) expect([r.status, r.json.error.code]).toEqual([401, "unauthorized"]);
    expect(wrong.json.error.message).toBe(unknown.json.error.message);
  });

  it("stores the password as a salted PBKDF2 hash", async () => {
    const a = await createAccount();
    const stored = await (async () => {
      const { runInDurableObject } = await import("cloudflare:test");
      const stub = testEnv.ACCOUNT.get(testEnv.ACCOUNT.idFromName(a.account_id));
      return runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ password_hash: string }>("SELECT password_hash FROM account").one().password_hash);
    })();
    expect(stored).toMatch(/^pbkdf2-sha256-chain\$6x100000\$[0-9a-f]{32}\$[0-9a-f]{64}$/); // decision 0013
    expect(stored).not.toContain(PASSWORD);
  });
});

describe("access tokens", () => {
  it("refuses every forgery", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(b, 1000);
    const claims = claimsOf(a.access_token);
    const now = Math.floor(Date.now() / 1000);
    const [, payload, signature] = a.access_token.split(".");

    const noneAlg = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
    const hsKey = new TextEncoder().encode(JSON.parse(testEnv.JWT_PRIVATE_JWK).x);
    const otherAlg = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(hsKey);
    const stranger = (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey;
    const otherKey = await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA" }).sign(stranger);
    const tampered = `${a.access_token.split(".")[0]}.${b64url(JSON.stringify({ ...claims, sub: b.account_id, wid: b.wallet_id }))}.${signature}`;
    const expired = await new SignJWT({ ...claims, iat: now - 3600, exp: now - 60 }).setProtectedHeader({ alg: "EdDSA" }).sign(await realKey());
    const wrongAudience = await new SignJWT({ ...claims, aud: "someone-else" }).setProtectedHeader({ alg: "EdDSA" }).sign(await realKey());
    const badSignature = `${a.access_token.slice(0, -4)}AAAA`;

    for (const [name, token] of Object.entries({ noneAlg, otherAlg, otherKey, tampered, expired, wrongAudience, badSignature, garbage: "not.a.jwt" })) {
      const r = await api("GET", "/v1/wallet", { token });
      expect([r.status, r.json.error.code], name).toEqual([401, "unauthorized"]);
    }
    // The genuine token still works, and the real key does sign valid tokens.
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).status).toBe(200);
    const resigned = await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA" }).sign(await realKey());
    expect((await api("GET", "/v1/wallet", { token: resigned })).status).toBe(200);
    expect(await balanceOf(b)).toBe(1_000_000);
  });

  it("forged tokens are never remembered as verified", async () => {
    const a = await createAccount("a");
    const forged = `${a.access_token.slice(0, -4)}AAAA`;
    expect((await api("GET", "/v1/wallet", { token: forged })).status).toBe(401);
    expect(verifiedTokens(testEnv).get(forged, Date.now())).toBeUndefined();
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).status).toBe(200);
    expect(verifiedTokens(testEnv).get(a.access_token, Date.now())?.accountId).toBe(a.account_id);
  });

  it("a token the hub has already verified stops working at its exp", async () => {
    const a = await createAccount("a");
    const exp = Math.floor(Date.now() / 1000) + 2;
    const shortLived = await new SignJWT({ ...claimsOf(a.access_token), exp }).setProtectedHeader({ alg: "EdDSA" }).sign(await realKey());
    expect((await api("GET", "/v1/wallet", { token: shortLived })).status).toBe(200);
    expect(verifiedTokens(testEnv).get(shortLived, Date.now())?.walletId).toBe(a.wallet_id); // remembered by the isolate
    expect((await api("GET", "/v1/wallet", { token: shortLived })).status).toBe(200);
    while (Date.now() < exp * 1000 + 50) await new Promise((r) => setTimeout(r, 100));
    const late = await api("GET", "/v1/wallet", { token: shortLived });
    expect([late.status, late.json.error.code]).toEqual([401, "unauthorized"]);
  });

  it("needs a credential everywhere money or data is", async () => {
    for (const [method, path] of [["GET", "/v1/wallet"], ["GET", "/v1/wallet/transactions"], ["GET", "/v1/events"], ["POST", "/v1/payments/intraledger"], ["POST", "/v1/api-keys"], ["GET", "/v1/events/stream"]] as const) {
      const r = await api(method, path, method === "POST" ? { body: {} } : {});
      expect([r.status, r.json.error.code], path).toEqual([401, "unauthorized"]);
    }
  });
});

describe("refresh tokens", () => {
  it("rotate on every use; reusing a spent one revokes the whole family", async () => {
    const a = await createAccount();
    const first = await api("POST", "/v1/auth/refresh", { body: { refresh_token: a.refresh_token } });
    expect(first.status).toBe(200);
    expect(first.json.refresh_token).not.toBe(a.refresh_token);
    expect((await api("GET", "/v1/wallet", { token: first.json.access_token })).status).toBe(200);
    const second = await api("POST", "/v1/auth/refresh", { body: { refresh_token: first.json.refresh_token } });
    expect(second.status).toBe(200);

    // The first token is replayed (stolen?): refused, and the live descendant dies with it.
    const reuse = await api("POST", "/v1/auth/refresh", { body: { refresh_token: a.refresh_token } });
    expect([reuse.status, reuse.json.error.code]).toEqual([401, "unauthorized"]);
    const descendant = await api("POST", "/v1/auth/refresh", { body: { refresh_token: second.json.refresh_token } });
    expect(descendant.status).toBe(401);

    // Another session (a fresh login) is a different family and keeps working.
    const login = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } });
    expect((await api("POST", "/v1/auth/refresh", { body: { refresh_token: login.json.refresh_token } })).status).toBe(200);
  });

  it("refuses made-up and malformed refresh tokens", async () => {
    const a = await createAccount();
    const forged = a.refresh_token.slice(0, -8) + "00000000";
    for (const refresh_token of [forged, "rt_nope", "", a.access_token]) {
      const r = await api("POST", "/v1/auth/refresh", { body: { refresh_token } });
      expect(r.status, refresh_token).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
  });
});

describe("API keys", () => {
  it("are shown once, stored hashed, scoped and revocable", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const readOnly = await api("POST", "/v1/api-keys", { body: { name: "dashboard", scopes: ["read"] }, token: a.access_token });
    expect(readOnly.status).toBe(201);
    expect(readOnly.json.key).toMatch(/^fhk_acc_[0-9a-f]{32}_[0-9a-f]{64}$/);
    const sender = await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["read", "send"] }, token: a.access_token });

    const list = await api("GET", "/v1/api-keys", { token: a.access_token });
    expect(list.json.api_keys.map((k: any) => k.name)).toEqual(["dashboard", "bot"]);
    expect(JSON.stringify(list.json)).not.toContain(readOnly.json.key);

    expect((await api("GET", "/v1/wallet", { token: readOnly.json.key })).json.balance_msat).toBe(1_000_000);
    const denied = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 10 }, token: readOnly.json.key, key: newKey() });
    expect([denied.status, denied.json.error.code]).toEqual([403, "forbidden"]);
    const faucet = await api("POST", "/dev/faucet", { body: { amount_sat: 10 }, token: readOnly.json.key });
    expect(faucet.status).toBe(403);
    const allowed = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 10 }, token: sender.json.key, key: newKey() });
    expect(allowed.json.status).toBe("succeeded");
    // A key cannot mint keys.
    expect((await api("POST", "/v1/api-keys", { body: { name: "x", scopes: ["send"] }, token: sender.json.key })).status).toBe(403);

    const revoked = await api("DELETE", `/v1/api-keys/${sender.json.id}`, { token: a.access_token });
    expect(revoked.status).toBe(200);
    expect((await api("GET", "/v1/wallet", { token: sender.json.key })).status).toBe(401);
    expect((await api("DELETE", `/v1/api-keys/${sender.json.id}`, { token: b.access_token })).status).toBe(404);
    const forged = readOnly.json.key.slice(0, -6) + "abcdef";
    expect((await api("GET", "/v1/wallet", { token: forged })).status).toBe(401);
    expect(await balanceOf(a)).toBe(990_000);
  });

  it("refuses unknown scopes", async () => {
    const a = await createAccount();
    const r = await api("POST", "/v1/api-keys", { body: { name: "x", scopes: ["admin"] }, token: a.access_token });
    expect(r.status).toBe(400);
  });
});

describe("isolation between accounts", () => {
  it("A sees only A's wallet, history and events, and cannot spend B's money", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(b, 4000);
    const wallet = await api("GET", "/v1/wallet", { token: a.access_token });
    expect(wallet.json).toEqual({ wallet_id: a.wallet_id, balance_msat: 0, pending_out_msat: 0 });
    expect((await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions).toEqual([]);
    expect((await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events).toEqual([]);
    // Naming B's wallet or username anywhere only ever pays *to* B, from A's own (empty) wallet.
    const steal = await pay(a, b.wallet_id, 100);
    expect(steal.json.error.code).toBe("insufficient_balance");
    const stream = await api("GET", `/v1/events?after=0&wallet_id=${b.wallet_id}`, { token: a.access_token });
    expect(stream.json.events).toEqual([]);
    expect(await balanceOf(b)).toBe(4_000_000);
  });
});
