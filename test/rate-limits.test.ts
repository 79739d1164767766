// Rate limits (issue 12, point 2; docs/decisions/0015-rate-limits.md), with production's figures
// (vitest.config.ts runs this file in its own project with [env.production.ratelimits]): each rule
// trips with 429 `rate_limited` and `Retry-After` in its route family's shape, counts per its own key
// only, and a refused request changes nothing. The bindings count in fixed windows aligned to the
// clock (10 or 60 s), so a test that must fill one first waits for a window with room for it.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WalletActor } from "../durable/wallet-actor";
import { limitsOff } from "../durable/env";
import { addressKey, lockoutRule } from "../src/rate-limits";
import { api, balanceOf, fund, newKey, PASSWORD, testEnv, uniqueName, walletStub, type Reply, type TestAccount } from "./helpers";

/** Production's figures (wrangler.toml [env.production]); this project runs with them. */
const LIMITS = { failedLoginsPerIp: 20, accountCreationsPerIp: 10, lnurlCallbacksPerIp: 60, requestsPerToken: 200, chatMessagesPerAccount: 30, lockoutAfter: 10, lockoutS: 900 };

/** An address of its own for each use (a network of this run's, then a counter): the per-address rules count nothing else against it. */
const NETWORK = `10.${1 + Math.floor(Math.random() * 254)}`;
let addressSeq = 0;
const newAddress = () => `${NETWORK}.${(addressSeq >> 8) & 255}.${addressSeq++ & 255}`;
const from = (ip: string) => ({ "cf-connecting-ip": ip });

/** An account created from an address of its own (this file's creations would otherwise share one). */
async function newAccount(prefix = "rl"): Promise<TestAccount & { password: string }> {
  const username = uniqueName(prefix);
  const r = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD }, headers: from(newAddress()) });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return { ...r.json, password: PASSWORD };
}

const login = (a: { username: string }, password: string, ip = newAddress()) => api("POST", "/v1/auth/login", { body: { username: a.username, password }, headers: from(ip) });

/** Waits, if need be, for a new window of `periodS` with at least `needS` left in it. */
async function freshWindow(periodS: 10 | 60, needS: number): Promise<void> {
  const left = periodS * 1000 - (Date.now() % (periodS * 1000));
  if (left < needS * 1000) await new Promise((r) => setTimeout(r, left + 100));
}

const retryAfter = (r: Reply) => Number(r.headers.get("retry-after"));

/** A 429 `rate_limited` in the contract's shape, with Retry-After (seconds) within `maxS`. */
function expectLimited(r: Reply, maxS: number): void {
  expect(r.status, JSON.stringify(r.json)).toBe(429);
  expect(r.json.error.code).toBe("rate_limited");
  expect(retryAfter(r)).toBeGreaterThanOrEqual(1);
  expect(retryAfter(r)).toBeLessThanOrEqual(maxS);
}

const count = (rs: { status: number }[], status: number) => rs.filter((r) => r.status === status).length;

describe("account creation per address", () => {
  it(`after ${LIMITS.accountCreationsPerIp} in a window the next is refused and creates nothing; /lndhub/create counts too; another address is not affected`, async () => {
    await freshWindow(60, 15);
    const ip = newAddress();
    const created = await Promise.all(Array.from({ length: LIMITS.accountCreationsPerIp }, () => api("POST", "/v1/accounts", { body: { username: uniqueName("ac"), password: PASSWORD }, headers: from(ip) })));
    expect(created.map((r) => r.status)).toEqual(created.map(() => 201));

    const username = uniqueName("ac");
    const refused = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD }, headers: from(ip) });
    expectLimited(refused, 60);
    expect((await api("GET", `/v1/users/${username}`, { token: created[0]!.json.access_token })).status).toBe(404);
    // LNDHub's create is account creation too, and answers in LndHub's shape.
    const lndhub = await api("POST", "/lndhub/create", { body: {}, headers: from(ip) });
    expect(lndhub.status).toBe(429);
    expect(lndhub.json).toMatchObject({ error: true, code: 1 });
    expect(retryAfter(lndhub)).toBeGreaterThanOrEqual(1);

    // The same name from another address: the refusal took nothing.
    const other = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD }, headers: from(newAddress()) });
    expect(other.status, JSON.stringify(other.json)).toBe(201);
  });
});

describe("LNURL-pay callbacks per address", () => {
  it(`after ${LIMITS.lnurlCallbacksPerIp} in a window the next is refused in the LUDs' shape and issues no invoice; another address is not affected`, async () => {
    const payee = await newAccount("ln");
    const invoices = async () => (await api("GET", "/v1/invoices?limit=100", { token: payee.access_token })).json.invoices.length as number;
    await freshWindow(60, 15);
    const ip = newAddress();
    const callback = (address: string) => api("GET", `/lnurlp/${payee.username}/callback?amount=1000`, { headers: from(address) });
    const ok = await Promise.all(Array.from({ length: LIMITS.lnurlCallbacksPerIp }, () => callback(ip)));
    expect(count(ok, 200), JSON.stringify(ok.find((r) => r.status !== 200)?.json)).toBe(LIMITS.lnurlCallbacksPerIp);
    expect(await invoices()).toBe(LIMITS.lnurlCallbacksPerIp);

    const refused = await callback(ip);
    expect(refused.status).toBe(429);
    expect(refused.json.status).toBe("ERROR");
    expect(refused.json.reason).toMatch(/^rate_limited: /);
    expect(retryAfter(refused)).toBe(60);
    expect(await invoices()).toBe(LIMITS.lnurlCallbacksPerIp);

    expect((await callback(newAddress())).status).toBe(200);
  });
});

describe("failed logins per address", () => {
  it(`after ${LIMITS.failedLoginsPerIp} failures in a window the next is refused, then every login from that address before its password is checked; other addresses are not affected`, async () => {
    const a = await newAccount("fl");
    await freshWindow(60, 15);
    const ip = newAddress();
    // Unknown names fail like wrong passwords (the per-account lockout has nothing to count).
    for (let i = 0; i < LIMITS.failedLoginsPerIp; i++) expect((await login({ username: uniqueName("ghost") }, "not the password", ip)).status).toBe(401);
    expectLimited(await api("POST", "/v1/auth/login", { body: { username: uniqueName("ghost"), password: "not the password" }, headers: from(ip) }), 60);

    // The right password from that address is refused too, and counts nothing against the account.
    expectLimited(await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: from(ip) }), 60);
    expect((await login(a, PASSWORD)).status).toBe(200);
  });

  it("successful logins do not count (many users behind one address)", async () => {
    const a = await newAccount("fl");
    const ip = newAddress();
    const logins = await Promise.all(Array.from({ length: LIMITS.failedLoginsPerIp + 5 }, () => login(a, PASSWORD, ip)));
    expect(count(logins, 200)).toBe(logins.length);
  });
});

describe("the login lockout: failed logins in a row per account, exact", () => {
  it(`40 wrong passwords at once, from 40 addresses: ${LIMITS.lockoutAfter} reach a password check, the rest are refused; then even the right one is locked out for ${LIMITS.lockoutS} s`, async () => {
    const a = await newAccount("lo");
    const tries = await Promise.all(Array.from({ length: 40 }, () => api("POST", "/v1/auth/login", { body: { username: a.username, password: "a wrong password" }, headers: from(newAddress()) })));
    // Every 401 is a password checked and found wrong; every 429 was refused before any check.
    expect(count(tries, 401)).toBe(LIMITS.lockoutAfter);
    expect(count(tries, 429)).toBe(40 - LIMITS.lockoutAfter);
    for (const r of tries.filter((t) => t.status === 429)) expectLimited(r, LIMITS.lockoutS);

    const right = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: from(newAddress()) });
    expectLimited(right, LIMITS.lockoutS);
    expect(retryAfter(right)).toBeGreaterThan(LIMITS.lockoutS - 60);
    // A lock is on the password login only: the account's tokens still work.
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).status).toBe(200);
  });

  it("a success resets the count in a row", async () => {
    const a = await newAccount("lo");
    for (let i = 0; i < LIMITS.lockoutAfter - 1; i++) expect((await login(a, "a wrong password")).status).toBe(401);
    expect((await login(a, PASSWORD)).status).toBe(200);
    for (let i = 0; i < LIMITS.lockoutAfter; i++) expect((await login(a, "a wrong password")).status).toBe(401);
    expectLimited(await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: from(newAddress()) }), LIMITS.lockoutS);
  });

  it("one account's lock does not touch another's", async () => {
    const [a, b] = [await newAccount("lo"), await newAccount("lo")];
    for (let i = 0; i < LIMITS.lockoutAfter; i++) expect((await login(a, "a wrong password")).status).toBe(401);
    expect((await login(a, PASSWORD)).status).toBe(429);
    expect((await login(b, PASSWORD)).status).toBe(200);
  });
});

describe("requests per credential", () => {
  it(`after ${LIMITS.requestsPerToken} requests with one token in a window the next is refused; the refused payment moved nothing and its key is free; other tokens are not affected`, async () => {
    const [a, b] = [await newAccount("rq"), await newAccount("rq")];
    await fund(a, 10_000);
    const before = await balanceOf(a);
    const token = (await login(a, PASSWORD)).json.access_token; // nothing counted against it yet
    await freshWindow(10, 7);
    const reads = await Promise.all(Array.from({ length: LIMITS.requestsPerToken - 1 }, () => api("GET", "/v1/wallet", { token })));
    expect(count(reads, 200)).toBe(reads.length);
    expect((await api("GET", "/v1/wallet/transactions", { token })).status).toBe(200);

    const key = newKey();
    const payment = { to: b.username, amount_sat: 500 };
    expectLimited(await api("POST", "/v1/payments/intraledger", { body: payment, token, key }), 10);
    // The account's other token counts on its own. The refused payment moved nothing and left its key unused.
    expect(await balanceOf(a)).toBe(before);
    const paid = await api("POST", "/v1/payments/intraledger", { body: payment, token: a.access_token, key });
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    expect(paid.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(before - 500_000);
    // Another account's token.
    expect((await api("GET", "/v1/wallet", { token: b.access_token })).status).toBe(200);
  });

  it("an API key counts on its own, and /lndhub/* answers in LndHub's shape", async () => {
    const a = await newAccount("rq");
    const key = await api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token });
    expect(key.status, JSON.stringify(key.json)).toBe(201);
    const bearer = { authorization: `Bearer ${key.json.password}` };
    await freshWindow(10, 7);
    const reads = await Promise.all(Array.from({ length: LIMITS.requestsPerToken }, () => api("GET", "/lndhub/balance", { headers: bearer })));
    expect(count(reads, 200)).toBe(reads.length);
    const refused = await api("GET", "/lndhub/balance", { headers: bearer });
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: true, code: 1 });
    expect(retryAfter(refused)).toBe(10);
    expect((await api("GET", "/v1/wallet", { token: a.access_token })).status).toBe(200);
  });
});

describe("chat messages per account", () => {
  it(`after ${LIMITS.chatMessagesPerAccount} messages in a window the next is refused and posts nothing; the other member may post, the sender may read`, async () => {
    const [a, b] = [await newAccount("ch"), await newAccount("ch")];
    const c = await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token });
    expect([200, 201]).toContain(c.status);
    const id = c.json.conversation_id;
    const messages = async () => (await api("GET", `/v1/conversations/${id}/messages?limit=100`, { token: a.access_token })).json.messages.length as number;
    await freshWindow(10, 7);
    const posted = await Promise.all(Array.from({ length: LIMITS.chatMessagesPerAccount }, (_, i) => api("POST", `/v1/conversations/${id}/messages`, { body: { text: `m${i}` }, token: a.access_token })));
    expect(count(posted, 201)).toBe(posted.length);
    expectLimited(await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "one too many" }, token: a.access_token }), 10);
    expect(await messages()).toBe(LIMITS.chatMessagesPerAccount);
    expect((await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "my turn" }, token: b.access_token })).status).toBe(201);
    expect(await messages()).toBe(LIMITS.chatMessagesPerAccount + 1);
  });
});

describe("configuration", () => {
  it("this project runs production's figures, and the lockout's vars are read", () => {
    expect(lockoutRule(testEnv.LOGIN_LOCKOUT_AFTER, testEnv.LOGIN_LOCKOUT_S)).toEqual({ after: LIMITS.lockoutAfter, lockMs: LIMITS.lockoutS * 1000 });
    expect(lockoutRule("100", "x")).toEqual({ after: 30, lockMs: 900_000 }); // the contract: 30 in a row always trip it
  });

  it("LIMITS=off is honoured in development only", () => {
    expect(limitsOff({ ENVIRONMENT: "development", LIMITS: "off" })).toBe(true);
    expect(limitsOff({ ENVIRONMENT: "production", LIMITS: "off" })).toBe(false);
    expect(limitsOff({ ENVIRONMENT: "development" })).toBe(false);
  });

  it("the rolling limits switched off (the benchmark's LIMITS=off) check and count nothing", async () => {
    const [a, b] = [await newAccount("sw"), await newAccount("sw")];
    await fund(a, 300_000);
    await walletStub(a.wallet_id).setLevel(0); // 100,000 sat per 24 h
    const payment = () => api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 150_000 }, token: a.access_token, key: newKey() });
    expect((await payment()).json.error.code).toBe("limit_exceeded");
    await runInDurableObject(walletStub(a.wallet_id), (w: WalletActor) => void (w.spendLimits.switchedOff = true));
    expect((await payment()).status).toBe(200);
    await runInDurableObject(walletStub(a.wallet_id), (w: WalletActor) => void (w.spendLimits.switchedOff = false));
    const limits = await api("GET", "/v1/account/limits", { token: a.access_token });
    expect(limits.json.limits.find((l: { kind: string }) => l.kind === "intraledger").used_sat).toBe(0);
  });

  it("addresses: IPv4 as given, IPv6 by its /64", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0DB8:0001:0002:bbbb:0:0:2")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey(undefined)).toBe("unknown");
  });
});
