import { SignJWT, calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";
import type { Env } from "../workers/env";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from "../src/auth/password";
import { generateSigningJwk, importSigningKeys, signAccessToken, verifyAccessToken } from "../src/auth/tokens";
import { runInDurableObject } from "cloudflare:test";
import { api, createAccount, PASSWORD, testEnv, type TestAccount } from "./helpers";

const publicHalf = (privateJwkJson: string) => {
  const { kty, crv, x } = JSON.parse(privateJwkJson) as JWK;
  return JSON.stringify({ kty, crv, x });
};
const claimsOf = (token: string) => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
const privateKeyOf = (privateJwkJson: string) => importJWK({ ...JSON.parse(privateJwkJson), alg: "EdDSA" }, "EdDSA");

/** `of`'s claims, re-signed with another key and header (what a token of that key would be). */
async function resign(of: TestAccount, privateJwkJson: string, header: { kid?: string }): Promise<string> {
  return new SignJWT(claimsOf(of.access_token)).setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...header }).sign(await privateKeyOf(privateJwkJson));
}

/** GET /v1/wallet through the worker's own fetch, with the given bindings. */
async function walletStatus(token: string, env: Env): Promise<[number, string | undefined]> {
  const res = await worker.fetch(new Request("http://hub.test/v1/wallet", { headers: { authorization: `Bearer ${token}` } }), env, {} as ExecutionContext);
  const body = (await res.json()) as { error?: { code: string } };
  return [res.status, body.error?.code];
}

describe("access-token key ids and rotation", () => {
  it("a token names its key: kid is the RFC 7638 thumbprint of the current public key", async () => {
    const a = await createAccount("kid");
    const header = decodeProtectedHeader(a.access_token);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "JWT" });
    expect(header.kid).toBe(await calculateJwkThumbprint(JSON.parse(publicHalf(testEnv.JWT_PRIVATE_JWK)), "sha256"));
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("key sets: the previous key verifies while configured, not once removed; unknown kids fail; kid-less tokens use the current key", async () => {
    const [current, previous] = [await generateSigningJwk(), await generateSigningJwk()];
    const who = { accountId: `acc_${"1".repeat(32)}`, walletId: `wal_${"2".repeat(32)}`, username: "rotation" };
    const before = await importSigningKeys(previous); // the keys before the rotation
    const during = await importSigningKeys(current, publicHalf(previous));
    const after = await importSigningKeys(current);
    expect(during.kid).toBe(after.kid);
    expect(during.kid).not.toBe(before.kid);
    expect([...during.verifiers.keys()].sort()).toEqual([before.kid, during.kid].sort());

    const old = await signAccessToken(before, who);
    expect(decodeProtectedHeader(old).kid).toBe(before.kid);
    expect(await verifyAccessToken(during, old)).toMatchObject({ accountId: who.accountId, walletId: who.walletId, username: who.username, via: "jwt" });
    expect(await verifyAccessToken(after, old)).toBeNull();
    const fresh = await signAccessToken(during, who);
    expect(decodeProtectedHeader(fresh).kid).toBe(during.kid);
    for (const keys of [during, after]) expect((await verifyAccessToken(keys, fresh))?.accountId).toBe(who.accountId);
    expect(await verifyAccessToken(before, fresh)).toBeNull();

    const claims = { sub: who.accountId, wid: who.walletId, usr: who.username, iss: "flash-hub", aud: "flash-hub:api" };
    const signed = (jwk: string, header: Record<string, unknown>) =>
      privateKeyOf(jwk).then((key) => new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", ...header }).setIssuedAt().setExpirationTime("5m").sign(key));
    // Unknown key ids, whatever key signed: refused.
    for (const kid of ["unknown", "", before.kid.slice(1)]) expect(await verifyAccessToken(during, await signed(current, { kid })), kid).toBeNull();
    expect(await verifyAccessToken(during, await signed(current, { kid: 7 }))).toBeNull();
    // A kid naming one key, the signature by the other: refused.
    expect(await verifyAccessToken(during, await signed(current, { kid: before.kid }))).toBeNull();
    expect(await verifyAccessToken(during, await signed(previous, { kid: during.kid }))).toBeNull();
    // No kid (tokens issued before key ids): the current key only, even during a rotation.
    for (const keys of [during, after]) expect((await verifyAccessToken(keys, await signed(current, {})))?.accountId).toBe(who.accountId);
    expect(await verifyAccessToken(during, await signed(previous, {}))).toBeNull();
  });

  it("refuses a previous key that is not a public Ed25519 JWK; the same key twice is one key", async () => {
    const current = await generateSigningJwk();
    await expect(importSigningKeys(current, await generateSigningJwk())).rejects.toThrow(/public JWK/);
    await expect(importSigningKeys(current, JSON.stringify({ kty: "EC", crv: "P-256", x: "AA", y: "AA" }))).rejects.toThrow(/Ed25519/);
    expect((await importSigningKeys(current, publicHalf(current))).verifiers.size).toBe(1);
    expect((await importSigningKeys(current, "  ")).verifiers.size).toBe(1);
  });

  it("through the worker: a token of the previous key is accepted while JWT_PREVIOUS_PUBLIC_JWK holds it, refused (401) once removed", async () => {
    const a = await createAccount("rot");
    const previous = await generateSigningJwk();
    const previousKid = await calculateJwkThumbprint(JSON.parse(publicHalf(previous)), "sha256");
    const rotating: Env = { ...testEnv, JWT_PREVIOUS_PUBLIC_JWK: publicHalf(previous) };
    const old = await resign(a, previous, { kid: previousKid });

    expect(await walletStatus(old, rotating)).toEqual([200, undefined]);
    expect(await walletStatus(old, rotating)).toEqual([200, undefined]); // the second time from the isolate's cache
    expect(await walletStatus(a.access_token, rotating)).toEqual([200, undefined]);
    // The rotation ends: the previous key is removed, and its tokens with it (cached or not).
    expect(await walletStatus(old, testEnv)).toEqual([401, "unauthorized"]);
    expect(await walletStatus(a.access_token, testEnv)).toEqual([200, undefined]);
    // Configured again (a rotation rolled back): accepted again.
    expect(await walletStatus(old, rotating)).toEqual([200, undefined]);

    // A kid the hub does not know: 401, during a rotation or not.
    const unknown = await resign(a, testEnv.JWT_PRIVATE_JWK, { kid: "not-a-key-of-this-hub" });
    for (const env of [rotating, testEnv]) expect(await walletStatus(unknown, env)).toEqual([401, "unauthorized"]);
    // A token without kid (issued before key ids): verified with the current key.
    const kidless = await resign(a, testEnv.JWT_PRIVATE_JWK, {});
    expect(decodeProtectedHeader(kidless).kid).toBeUndefined();
    for (const env of [rotating, testEnv]) expect(await walletStatus(kidless, env)).toEqual([200, undefined]);
    const kidlessOld = await resign(a, previous, {});
    expect(await walletStatus(kidlessOld, rotating)).toEqual([401, "unauthorized"]);
  });
});

/** PBKDF2-HMAC-SHA256 through WebCrypto, written out here: the tests' own statement of the formats. */
async function pbkdf2Hex(password: Uint8Array, saltHex: string, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const salt = Uint8Array.from(saltHex.match(/../g)!, (h) => parseInt(h, 16));
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256));
}
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const paramsOf = (stored: string) => {
  const [scheme, params, salt, hash] = stored.split("$");
  return { scheme, params, saltBytes: salt!.length / 2, hashBytes: hash!.length / 2 };
};
async function ms(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

describe("password hashes (decision 0013)", () => {
  it("carry their scheme and parameters: PBKDF2-HMAC-SHA256, 6 chained runs of 100,000 iterations, 16-byte salt, 32-byte hash", async () => {
    const stored = await hashPassword(PASSWORD);
    expect(stored).toMatch(/^pbkdf2-sha256-chain\$6x100000\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(needsRehash(stored)).toBe(false);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, stored)).toBe(false);
    // The chain as decision 0013 states it: each run's output is the next run's password.
    const [, , salt, hash] = stored.split("$");
    let h = new TextEncoder().encode(PASSWORD);
    for (let r = 0; r < 6; r++) h = await pbkdf2Hex(h, salt!, 100_000);
    expect(hex(h)).toBe(hash);
  });

  it("a hash of the old format still verifies, and needsRehash says to replace it", async () => {
    const salt = "ab".repeat(16);
    const legacy = `pbkdf2-sha256$100000$${salt}$${hex(await pbkdf2Hex(new TextEncoder().encode(PASSWORD), salt, 100_000))}`;
    expect(await verifyPassword(PASSWORD, legacy)).toBe(true);
    expect(await verifyPassword("not the password", legacy)).toBe(false);
    expect(needsRehash(legacy)).toBe(true);
    // Other parameters than today's also need a rehash, and verify by their own parameters.
    const fewer = `pbkdf2-sha256-chain$2x1000$${salt}$${hex(await pbkdf2Hex(await pbkdf2Hex(new TextEncoder().encode(PASSWORD), salt, 1000), salt, 1000))}`;
    expect(await verifyPassword(PASSWORD, fewer)).toBe(true);
    expect(needsRehash(fewer)).toBe(true);
  });

  it("an account with an old-format hash is upgraded on its next full login, and the password still works", async () => {
    const a = await createAccount("rehash");
    const salt = "cd".repeat(16);
    const legacy = `pbkdf2-sha256$100000$${salt}$${hex(await pbkdf2Hex(new TextEncoder().encode(PASSWORD), salt, 100_000))}`;
    const account = testEnv.ACCOUNT.get(testEnv.ACCOUNT.idFromName(a.account_id));
    const stored = () => runInDurableObject(account, (_actor, state) => state.storage.sql.exec<{ h: string }>("SELECT password_hash AS h FROM account").one().h);
    await runInDurableObject(account, (_actor, state) => void state.storage.sql.exec("UPDATE account SET password_hash = ?", legacy));
    const bad = await api("POST", "/v1/auth/login", { body: { username: a.username, password: "wrong password!" } });
    expect(bad.status).toBe(401);
    expect(await stored()).toBe(legacy); // a failed login changes nothing
    const ok = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } });
    expect(ok.status).toBe(200);
    const upgraded = await stored();
    expect(upgraded).toMatch(/^pbkdf2-sha256-chain\$6x100000\$/);
    expect(needsRehash(upgraded)).toBe(false);
    expect((await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } })).status).toBe(200);
  });

  it("refuses malformed or unbounded hashes without deriving anything", async () => {
    const zeros = `${"00".repeat(16)}$${"00".repeat(32)}`;
    for (const stored of [
      "garbage",
      "",
      `pbkdf2-sha256$100001$${zeros}`, // above one call's cap
      `pbkdf2-sha256$1000000000$${zeros}`,
      `pbkdf2-sha256-chain$99x100000$${zeros}`, // too many runs
      `pbkdf2-sha256-chain$6x0$${zeros}`,
      `pbkdf2-sha256-chain$6x100000$zz$${"00".repeat(32)}`,
      `pbkdf2-sha256-chain$6x100000$${zeros}$extra`,
      `argon2id$v=19$m=19456,t=2,p=1$${zeros}`,
    ]) {
      expect(await verifyPassword(PASSWORD, stored), stored).toBe(false);
      expect(needsRehash(stored), stored).toBe(true);
    }
  });

  it("the dummy hash has today's parameters, so a login for an unknown name costs what a real one does", async () => {
    const real = await hashPassword(PASSWORD);
    expect(paramsOf(DUMMY_PASSWORD_HASH)).toEqual(paramsOf(real));
    expect(needsRehash(DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword(PASSWORD, DUMMY_PASSWORD_HASH)).toBe(false);

    // The cost inside workerd (logged, not asserted: machines differ). Decision 0013 records it.
    const salt = "cd".repeat(16);
    const legacy = `pbkdf2-sha256$100000$${salt}$${hex(await pbkdf2Hex(new TextEncoder().encode(PASSWORD), salt, 100_000))}`;
    const runs = { hash: [] as number[], verifyReal: [] as number[], verifyDummy: [] as number[], verifyLegacy: [] as number[], oneCall100k: [] as number[] };
    for (let i = 0; i < 5; i++) {
      runs.hash.push(await ms(() => hashPassword(PASSWORD)));
      runs.verifyReal.push(await ms(() => verifyPassword("wrong password", real)));
      runs.verifyDummy.push(await ms(() => verifyPassword("wrong password", DUMMY_PASSWORD_HASH)));
      runs.verifyLegacy.push(await ms(() => verifyPassword("wrong password", legacy))); // topped up to today's work
      runs.oneCall100k.push(await ms(() => pbkdf2Hex(new TextEncoder().encode(PASSWORD), salt, 100_000)));
    }
    console.log(
      `[password hashing in workerd, median of 5, ms] ${Object.entries(runs)
        .map(([k, v]) => `${k}=${median(v).toFixed(0)}`)
        .join(" ")}`,
    );
  });
});
