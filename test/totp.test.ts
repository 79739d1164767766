import { runInDurableObject } from "cloudflare:test";
import { Secret, TOTP } from "otpauth/slim";
import { describe, expect, it } from "vitest";
import type { AccountActor } from "../durable/account-actor";
import { createApp } from "../workers/app";
import { newSecretBoxKey, open, seal, secretBoxKey } from "../src/secret-box";
import { otpauthUrl, totpCode, totpStep, verifyTotp } from "../src/totp";
import { api, balanceOf, createAccount, fund, newKey, PASSWORD, testEnv, type TestAccount } from "./helpers";

/** TOTP (RFC 6238) and where the hub asks for it (decision 0011). */

const PERIOD_MS = 30_000;
const accountStub = (a: TestAccount) => testEnv.ACCOUNT.get(testEnv.ACCOUNT.idFromName(a.account_id)) as unknown as DurableObjectStub<AccountActor>;

/** What an authenticator app shows at `timestamp`, computed by otpauth from the secret the hub gave. */
const codeAt = (secret: string, timestamp: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({ timestamp });
/** The code of the step `offset` steps from now. */
const code = (secret: string, offset = 0) => codeAt(secret, Date.now() + offset * PERIOD_MS);
/** A 6-digit code that is none of the three accepted now (so it is wrong, never a lucky guess). */
function wrongCode(secret: string): string {
  const accepted = new Set([code(secret, -1), code(secret), code(secret, 1)]);
  for (let n = 0; ; n++) {
    const guess = String(n).padStart(6, "0");
    if (!accepted.has(guess)) return guess;
  }
}

/** Tests that use neighbouring steps start early in a step, so "now" stays the same step throughout. */
async function earlyInStep(): Promise<void> {
  const into = Date.now() % PERIOD_MS;
  if (into > PERIOD_MS - 8000) await new Promise((r) => setTimeout(r, PERIOD_MS - into + 50));
}

/**
 * As if the next 30-second steps had come: the actor forgets the last step it accepted, so the
 * current code may be used again (a test cannot wait 30 s for each code).
 */
async function timePasses(a: TestAccount): Promise<void> {
  await runInDurableObject(accountStub(a), (actor: AccountActor) => {
    actor.kit.sql`UPDATE totp SET last_step = -1, last_request = NULL`;
  });
}

/** An account with TOTP on (enrolled and confirmed); the code of the confirmation is spent. */
async function withTotp(prefix = "totp"): Promise<TestAccount & { secret: string }> {
  const a = await createAccount(prefix);
  const enrolled = await api("POST", "/v1/account/totp", { token: a.access_token });
  expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
  const confirmed = await api("POST", "/v1/account/totp/confirm", { body: { code: code(enrolled.json.secret) }, token: a.access_token });
  expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(200);
  return { ...a, secret: enrolled.json.secret };
}

const login = (a: TestAccount, totp_code?: string, password = PASSWORD) =>
  api("POST", "/v1/auth/login", { body: { username: a.username, password, ...(totp_code === undefined ? {} : { totp_code }) } });
const pay = (a: TestAccount, to: TestAccount, amount_sat: number, totp?: string, key = newKey()) =>
  api("POST", "/v1/payments/intraledger", { body: { to: to.username, amount_sat }, token: a.access_token, key, headers: totp === undefined ? {} : { "x-totp-code": totp } });
const errorOf = (r: { status: number; json: any }) => [r.status, r.json?.error?.code];

describe("TOTP primitives (src/totp.ts, src/secret-box.ts)", () => {
  it("matches RFC 6238's SHA-1 vectors (6-digit truncation) and finds the step within ±1", () => {
    const secret = new TextEncoder().encode("12345678901234567890");
    // RFC 6238 Appendix B: T = 59 s → 94287082, T = 1111111109 → 07081804, T = 2000000000 → 69279037 (8 digits).
    expect(totpCode(secret, totpStep(59_000))).toBe("287082");
    expect(totpCode(secret, totpStep(1_111_111_109_000))).toBe("081804");
    expect(totpCode(secret, totpStep(2_000_000_000_000))).toBe("279037");
    const now = 1_700_000_012_345;
    const step = totpStep(now);
    for (const offset of [-1, 0, 1]) expect(verifyTotp(secret, totpCode(secret, step + offset), now)).toBe(step + offset);
    for (const offset of [-3, -2, 2, 3]) expect(verifyTotp(secret, totpCode(secret, step + offset), now)).toBeNull();
    for (const bad of ["", "12345", "1234567", "abcdef", " 28708", "２８７０８２"]) expect(verifyTotp(secret, bad, now)).toBeNull();
  });

  it("the otpauth URI names the issuer, the account and the parameters authenticator apps need", () => {
    const text = otpauthUrl("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice");
    expect(text.startsWith("otpauth://totp/Flash:alice?")).toBe(true);
    const url = new URL(text);
    expect(Object.fromEntries(url.searchParams)).toEqual({ issuer: "Flash", secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", algorithm: "SHA1", digits: "6", period: "30" });
  });

  it("seals with AES-GCM: a fresh IV each time, bound to its context and key; keys must be 32 bytes", async () => {
    const key = await secretBoxKey(newSecretBoxKey());
    const plain = crypto.getRandomValues(new Uint8Array(20));
    const [one, two] = [await seal(key, plain, "totp:acc_1"), await seal(key, plain, "totp:acc_1")];
    expect(one.iv.length).toBe(12);
    expect(one.ciphertext.length).toBe(20 + 16);
    expect(one.iv).not.toEqual(two.iv);
    expect(one.ciphertext).not.toEqual(two.ciphertext);
    expect(await open(key, one, "totp:acc_1")).toEqual(plain);
    await expect(open(key, one, "totp:acc_2")).rejects.toThrow();
    await expect(open(await secretBoxKey(newSecretBoxKey()), one, "totp:acc_1")).rejects.toThrow();
    await expect(secretBoxKey(undefined)).rejects.toThrow(/no key/);
    await expect(secretBoxKey(btoa("too short"))).rejects.toThrow(/32 bytes/);
    await expect(secretBoxKey("not base64!")).rejects.toThrow(/32 bytes/);
  });
});

describe("enrolment", () => {
  it("gives a base32 secret and its otpauth URI once; a code from it turns TOTP on; the secret is never shown again", async () => {
    const a = await createAccount("enrol");
    expect((await api("GET", "/v1/account/settings", { token: a.access_token })).json).toEqual({ totp: "off", totp_threshold_sat: 100_000 });
    const r = await api("POST", "/v1/account/totp", { token: a.access_token });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(Object.keys(r.json).sort()).toEqual(["otpauth_url", "secret"]);
    expect(r.json.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    const url = new URL(r.json.otpauth_url);
    expect(url.protocol).toBe("otpauth:");
    expect(decodeURIComponent(r.json.otpauth_url)).toContain(`totp/Flash:${a.username}?`);
    expect(url.searchParams.get("secret")).toBe(r.json.secret);
    expect(url.searchParams.get("issuer")).toBe("Flash");

    const pending = await api("GET", "/v1/account/settings", { token: a.access_token });
    expect(pending.json).toEqual({ totp: "pending", totp_threshold_sat: 100_000 });
    // Pending is not on: a login needs no code yet.
    expect((await login(a)).status).toBe(200);

    expect(errorOf(await api("POST", "/v1/account/totp/confirm", { body: { code: wrongCode(r.json.secret) }, token: a.access_token }))).toEqual([403, "invalid_totp"]);
    const confirmed = await api("POST", "/v1/account/totp/confirm", { body: { code: code(r.json.secret) }, token: a.access_token });
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(200);
    expect(confirmed.json).toEqual({ totp: "enabled", totp_threshold_sat: 100_000 });

    // Every later answer leaves the secret out; enrolling again is a conflict (no new secret either).
    const again = await api("POST", "/v1/account/totp", { token: a.access_token });
    expect(errorOf(again)).toEqual([409, "conflict"]);
    const reads = [again, await api("GET", "/v1/account/settings", { token: a.access_token }), await api("POST", "/v1/account/totp/confirm", { body: { code: code(r.json.secret, 1) }, token: a.access_token })];
    for (const read of reads) {
      expect(JSON.stringify(read.json)).not.toContain(r.json.secret);
      expect(read.json).not.toHaveProperty("secret");
    }
    expect(errorOf(reads[2]!)).toEqual([409, "conflict"]);
  });

  it("a new enrolment while pending replaces the secret: only the new one confirms", async () => {
    const a = await createAccount("enrol");
    const first = (await api("POST", "/v1/account/totp", { token: a.access_token })).json.secret;
    const second = (await api("POST", "/v1/account/totp", { token: a.access_token })).json.secret;
    expect(second).not.toBe(first);
    expect(errorOf(await api("POST", "/v1/account/totp/confirm", { body: { code: code(first) }, token: a.access_token }))).toEqual([403, "invalid_totp"]);
    expect((await api("POST", "/v1/account/totp/confirm", { body: { code: code(second) }, token: a.access_token })).status).toBe(200);
  });

  it("needs a login session: an API key cannot enrol, confirm or turn TOTP off", async () => {
    const a = await createAccount("enrol");
    const key = (await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["read", "send"] }, token: a.access_token })).json.key;
    expect(errorOf(await api("POST", "/v1/account/totp", { token: key }))).toEqual([403, "forbidden"]);
    expect(errorOf(await api("POST", "/v1/account/totp/confirm", { body: { code: "123456" }, token: key }))).toEqual([403, "forbidden"]);
    expect(errorOf(await api("DELETE", "/v1/account/totp", { body: { code: "123456" }, token: key }))).toEqual([403, "forbidden"]);
    expect(errorOf(await api("PUT", "/v1/account/settings", { body: { totp_threshold_sat: 1 }, token: key }))).toEqual([403, "forbidden"]);
    expect((await api("GET", "/v1/account/settings", { token: key })).status).toBe(200);
    expect(errorOf(await api("POST", "/v1/account/totp"))).toEqual([401, "unauthorized"]);
  });

  it("confirming with nothing pending is a conflict", async () => {
    const a = await createAccount("enrol");
    expect(errorOf(await api("POST", "/v1/account/totp/confirm", { body: { code: "123456" }, token: a.access_token }))).toEqual([409, "conflict"]);
    expect(errorOf(await api("DELETE", "/v1/account/totp", { body: { code: "123456" }, token: a.access_token }))).toEqual([409, "conflict"]);
  });

  it("stores the secret sealed: neither its base32 nor its bytes are in the part's table", async () => {
    const a = await createAccount("sealed");
    const secret = (await api("POST", "/v1/account/totp", { token: a.access_token })).json.secret as string;
    const raw = Secret.fromBase32(secret).bytes;
    const hex = (b: ArrayBuffer | Uint8Array) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    const rows = await runInDurableObject(accountStub(a), (actor: AccountActor) => actor.kit.sql<Record<string, unknown>>`SELECT * FROM totp`);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.state).toBe("pending");
    expect(row.secret_ciphertext).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(row.secret_iv as ArrayBuffer)).toHaveLength(12);
    const stored = Object.values(row).map((v) => (v instanceof ArrayBuffer ? hex(v) : String(v))).join("|");
    expect(stored).not.toContain(hex(raw));
    expect(stored.toUpperCase()).not.toContain(secret);
    expect(stored).not.toContain(secret.toLowerCase());
    // The whole database: the secret is nowhere in clear.
    const everything = await runInDurableObject(accountStub(a), (_actor: AccountActor, state) => {
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'").toArray();
      return tables.flatMap((t) => state.storage.sql.exec(`SELECT * FROM "${t.name}"`).toArray()).map((r) => Object.values(r).map((v) => (v instanceof ArrayBuffer ? hex(v) : String(v))).join("|")).join("\n");
    });
    expect(everything).not.toContain(hex(raw));
    expect(everything.toUpperCase()).not.toContain(secret);
  });
});

describe("login with TOTP on", () => {
  it("needs the code after the password: missing 401 totp_required, wrong 401 invalid_totp, right 200, the same code again refused", async () => {
    await earlyInStep();
    const a = await withTotp("login");
    // Without the password nothing about TOTP is told.
    expect(errorOf(await login(a, undefined, "wrong password"))).toEqual([401, "unauthorized"]);
    expect(errorOf(await login(a, code(a.secret, 1), "wrong password"))).toEqual([401, "unauthorized"]);
    expect(errorOf(await login(a))).toEqual([401, "totp_required"]);
    expect(errorOf(await login(a, wrongCode(a.secret)))).toEqual([401, "invalid_totp"]);
    expect(errorOf(await login(a, "not a code"))).toEqual([401, "invalid_totp"]);
    // The confirmation spent this step's code.
    expect(errorOf(await login(a, code(a.secret)))).toEqual([401, "invalid_totp"]);
    const ok = await login(a, code(a.secret, 1));
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.access_token).toBeTruthy();
    const replay = await login(a, code(a.secret, 1));
    expect(errorOf(replay)).toEqual([401, "invalid_totp"]);
    expect(replay.json.error.message).toMatch(/already used/);
    // An earlier step than the last accepted is refused too, though within the window.
    expect(errorOf(await login(a, code(a.secret, -1)))).toEqual([401, "invalid_totp"]);
  });

  it("accepts the step before and the step after now (clock drift), each once, in order", async () => {
    await earlyInStep();
    const a = await withTotp("drift");
    await timePasses(a);
    expect((await login(a, code(a.secret, -1))).status).toBe(200);
    expect((await login(a, code(a.secret, 1))).status).toBe(200);
    await timePasses(a);
    expect(errorOf(await login(a, code(a.secret, 2)))).toEqual([401, "invalid_totp"]);
    expect(errorOf(await login(a, code(a.secret, -2)))).toEqual([401, "invalid_totp"]);
  });
});

describe("sends with TOTP on", () => {
  it("below the threshold need no code; above: missing 403 totp_required, wrong 403 invalid_totp, right 200", async () => {
    await earlyInStep();
    const [a, b] = [await withTotp("send"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    expect((await pay(a, b, 100_000)).status).toBe(200); // at the threshold: no code
    const missing = await pay(a, b, 100_001);
    expect(errorOf(missing)).toEqual([403, "totp_required"]);
    expect(missing.json.error.message).toMatch(/X-TOTP-Code/);
    expect(errorOf(await pay(a, b, 150_000, wrongCode(a.secret)))).toEqual([403, "invalid_totp"]);
    expect(errorOf(await pay(a, b, 150_000, code(a.secret)))).toEqual([403, "invalid_totp"]); // spent by the confirmation
    const paid = await pay(a, b, 150_000, code(a.secret, 1));
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    expect(await balanceOf(b)).toBe(250_000_000);
    // The code is spent: another send with it is refused.
    expect(errorOf(await pay(a, b, 150_000, code(a.secret, 1)))).toEqual([403, "invalid_totp"]);
    expect(await balanceOf(a)).toBe(750_000_000);
  });

  it("TOTP is checked before the balance: an unaffordable send above the threshold without a code is 403, not 422", async () => {
    const [a, b] = [await withTotp("poor"), await createAccount("rcv")];
    expect(errorOf(await pay(a, b, 500_000))).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect(errorOf(await pay(a, b, 500_000, code(a.secret)))).toEqual([422, "insufficient_balance"]);
    expect(errorOf(await pay(a, b, 50))).toEqual([422, "insufficient_balance"]); // below: no code asked
  });

  it("a retry of the same send (same key and body) may present the same code; another send may not", async () => {
    const [a, b] = [await withTotp("retry"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    await timePasses(a);
    const key = newKey();
    const totp = code(a.secret);
    const first = await pay(a, b, 200_000, totp, key);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const retry = await pay(a, b, 200_000, totp, key);
    expect(retry.status).toBe(200);
    expect(retry.json.transaction.id).toBe(first.json.transaction.id);
    expect(errorOf(await pay(a, b, 200_001, totp, key))).toEqual([403, "invalid_totp"]); // another body under the key
    expect(errorOf(await pay(a, b, 200_000, totp))).toEqual([403, "invalid_totp"]); // another key
    expect(await balanceOf(b)).toBe(200_000_000);
  });

  it("one code lets one of two concurrent sends through", async () => {
    const [a, b] = [await withTotp("race"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    await timePasses(a);
    const totp = code(a.secret);
    const results = await Promise.all([pay(a, b, 120_000, totp), pay(a, b, 130_000, totp), pay(a, b, 140_000, totp)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403 && r.json.error.code === "invalid_totp")).toHaveLength(2);
  });

  it("an API key's sends are held to the same threshold", async () => {
    const [a, b] = [await withTotp("key"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    await timePasses(a);
    const key = (await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["send"] }, token: a.access_token, headers: { "x-totp-code": code(a.secret) } })).json.key;
    expect(errorOf(await pay({ ...a, access_token: key }, b, 100_001))).toEqual([403, "totp_required"]);
    expect((await pay({ ...a, access_token: key }, b, 1_000)).status).toBe(200);
  });

  it("every send route asks: Lightning, LNURL and chat payments; paying a request share always needs a code", async () => {
    const [a, b] = [await withTotp("routes"), await createAccount("rcv")];
    await fund(a, 2_000_000);
    const header = (totp: string) => ({ "x-totp-code": totp });

    const invoice = (await api("POST", "/dev/sim/invoices", { body: { amount_sat: 150_000, memo: "outside" } })).json;
    const ln = (headers: Record<string, string> = {}) =>
      api("POST", "/v1/payments/lightning", { body: { payment_request: invoice.payment_request }, token: a.access_token, key: newKey(), headers });
    expect(errorOf(await ln())).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect(errorOf(await ln(header(wrongCode(a.secret))))).toEqual([403, "invalid_totp"]);
    const paid = await ln(header(code(a.secret)));
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    const small = (await api("POST", "/dev/sim/invoices", { body: { amount_sat: 1_000 } })).json;
    expect((await api("POST", "/v1/payments/lightning", { body: { payment_request: small.payment_request }, token: a.access_token, key: newKey() })).status).toBe(200);

    const lnurl = (amount_sat: number, headers: Record<string, string> = {}) =>
      api("POST", "/v1/payments/lnurl", { body: { destination: `${b.username.toLowerCase()}@hub.test`, amount_sat }, token: a.access_token, key: newKey(), headers });
    expect(errorOf(await lnurl(100_001))).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect((await lnurl(100_001, header(code(a.secret)))).status).toBe(200);
    expect((await lnurl(5_000)).status).toBe(200);

    const conversation = (await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token })).json.conversation_id;
    const message = (body: unknown, headers: Record<string, string> = {}) =>
      api("POST", `/v1/conversations/${conversation}/messages`, { body, token: a.access_token, key: newKey(), headers });
    expect(errorOf(await message({ payment: { amount_sat: 100_001 } }))).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect((await message({ payment: { amount_sat: 100_001 } }, header(code(a.secret)))).status).toBe(201);
    expect((await message({ payment: { amount_sat: 10 } })).status).toBe(201);
    expect((await message({ text: "no money, no code" })).status).toBe(201);

    const request = await api("POST", `/v1/conversations/${conversation}/messages`, { body: { request: { amount_sat: 10 } }, token: b.access_token, key: newKey() });
    expect(request.status).toBe(201);
    const payShare = (headers: Record<string, string> = {}) =>
      api("POST", `/v1/conversations/${conversation}/messages/${request.json.message.id}/pay`, { token: a.access_token, key: newKey(), headers });
    expect(errorOf(await payShare())).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect((await payShare(header(code(a.secret)))).status).toBe(200);
  });

  it("LNDHub apps cannot send a code: above the threshold refused in LndHub's shape (403, code 1), below paid", async () => {
    const a = await withTotp("lndhub");
    await fund(a, 1_000_000);
    await timePasses(a);
    const creds = await api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token, headers: { "x-totp-code": code(a.secret) } });
    expect(creds.status, JSON.stringify(creds.json)).toBe(201);
    const token = (await api("POST", "/lndhub/auth?type=auth", { body: { login: creds.json.login, password: creds.json.password } })).json.access_token;
    const big = (await api("POST", "/dev/sim/invoices", { body: { amount_sat: 100_001 } })).json;
    const refused = await api("POST", "/lndhub/payinvoice", { body: { invoice: big.payment_request }, token });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: true, code: 1 });
    expect(refused.json.message).toMatch(/TOTP threshold.*LNDHub/);
    const small = (await api("POST", "/dev/sim/invoices", { body: { amount_sat: 100_000 } })).json;
    const paid = await api("POST", "/lndhub/payinvoice", { body: { invoice: small.payment_request }, token });
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
  });
});

describe("what an isolate remembers of an account's TOTP (decision 0011, point 5)", () => {
  /** The hub as one isolate that trusts what it learnt for `ttlMs` (the tests' own env says 0: always ask). */
  function isolate(ttlMs: number) {
    const app = createApp();
    const env = { ...testEnv, SESSION_EPOCH_TTL_MS: String(ttlMs) };
    const call = async (a: TestAccount, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${a.access_token}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) }, env);
      return { status: res.status, json: (await res.json()) as any };
    };
    const pay = (a: TestAccount, to: TestAccount, amount_sat: number, totp?: string) =>
      call(a, "POST", "/v1/payments/intraledger", { to: to.username, amount_sat }, { "idempotency-key": newKey(), ...(totp === undefined ? {} : { "x-totp-code": totp }) });
    return { call, pay };
  }

  it("a send with TOTP off asks nothing for the TTL: TOTP turned on elsewhere holds once the TTL is over", async () => {
    await earlyInStep();
    const [a, b] = [await createAccount("ttl"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    const cached = isolate(60_000);
    expect((await cached.pay(a, b, 200_000)).status).toBe(200); // learns "off"
    // TOTP turned on where this isolate does not see it (straight at the account).
    const enrolled = await accountStub(a).enrolTotp();
    if (!enrolled.ok) throw new Error(enrolled.message);
    expect((await accountStub(a).confirmTotp(code(enrolled.body.secret))).ok).toBe(true);
    // Within the TTL the isolate still trusts "off": the send is not asked about (the account would refuse it).
    expect((await cached.pay(a, b, 200_000)).status).toBe(200);
    // Past the TTL (here: an isolate whose entry is stale, it asks again): refused.
    expect(errorOf(await isolate(0).pay(a, b, 200_000))).toEqual([403, "totp_required"]);
    expect(await balanceOf(b)).toBe(400_000_000);
  });

  it("remembers the threshold too; the isolate that served a change of TOTP or the threshold sees it at once", async () => {
    await earlyInStep();
    const [a, b] = [await withTotp("ttl"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    const { call, pay } = isolate(60_000);
    expect((await pay(a, b, 1_000)).status).toBe(200); // learns "enabled, 100,000 sat"
    expect(errorOf(await pay(a, b, 100_001))).toEqual([403, "totp_required"]); // above the threshold: always asked
    await timePasses(a);
    expect((await accountStub(a).setTotpThreshold(500, code(a.secret))).ok).toBe(true); // lowered where this isolate does not see it
    expect((await pay(a, b, 1_000)).status).toBe(200); // within the TTL, below the threshold it knows: not asked
    await timePasses(a);
    expect((await call(a, "PUT", "/v1/account/settings", { totp_threshold_sat: 400 }, { "x-totp-code": code(a.secret) })).status).toBe(200);
    expect(errorOf(await pay(a, b, 1_000))).toEqual([403, "totp_required"]); // the lowered threshold, at once
    await timePasses(a);
    expect((await call(a, "DELETE", "/v1/account/totp", { code: code(a.secret) })).status).toBe(200);
    expect((await pay(a, b, 200_000)).status).toBe(200); // off, at once
    const enrolled = await call(a, "POST", "/v1/account/totp", {});
    expect((await call(a, "POST", "/v1/account/totp/confirm", { code: code(enrolled.json.secret) })).status).toBe(200);
    expect(errorOf(await pay(a, b, 200_000))).toEqual([403, "totp_required"]); // on again, at once
  });
});

describe("settings and sensitive actions with TOTP on", () => {
  it("the threshold changes only with a code; a send above the new one needs a code", async () => {
    const [a, b] = [await withTotp("threshold"), await createAccount("rcv")];
    await fund(a, 100_000);
    const put = (totp_threshold_sat: number, totp?: string) =>
      api("PUT", "/v1/account/settings", { body: { totp_threshold_sat }, token: a.access_token, headers: totp ? { "x-totp-code": totp } : {} });
    expect(errorOf(await put(1_000))).toEqual([403, "totp_required"]);
    await timePasses(a);
    expect(errorOf(await put(1_000, wrongCode(a.secret)))).toEqual([403, "invalid_totp"]);
    const changed = await put(1_000, code(a.secret));
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    expect(changed.json).toEqual({ totp: "enabled", totp_threshold_sat: 1_000 });
    expect((await api("GET", "/v1/account/settings", { token: a.access_token })).json.totp_threshold_sat).toBe(1_000);
    expect((await pay(a, b, 1_000)).status).toBe(200);
    expect(errorOf(await pay(a, b, 1_001))).toEqual([403, "totp_required"]);
    expect(errorOf(await put(-1))).toEqual([400, "invalid_request"]);
    // TOTP off: the threshold may be set without a code (it applies once TOTP is on).
    const c = await createAccount("threshold");
    const off = await api("PUT", "/v1/account/settings", { body: { totp_threshold_sat: 0 }, token: c.access_token });
    expect(off.json).toEqual({ totp: "off", totp_threshold_sat: 0 });
  });

  it("creating an API key, a webhook or LNDHub credentials needs a code", async () => {
    const a = await withTotp("sensitive");
    const create = (method: string, path: string, body: unknown, totp?: string) =>
      api(method, path, { body, token: a.access_token, headers: totp ? { "x-totp-code": totp } : {} });
    const cases: [string, unknown][] = [
      ["/v1/api-keys", { name: "bot", scopes: ["read"] }],
      ["/v1/webhooks", { url: "http://127.0.0.1:9999/hooks/totp", events: ["*"] }],
      ["/v1/lndhub/credentials", {}],
    ];
    for (const [path, body] of cases) {
      expect(errorOf(await create("POST", path, body)), path).toEqual([403, "totp_required"]);
      expect(errorOf(await create("POST", path, body, wrongCode(a.secret))), path).toEqual([403, "invalid_totp"]);
      await timePasses(a);
      const made = await create("POST", path, body, code(a.secret));
      expect(made.status, `${path} ${JSON.stringify(made.json)}`).toBe(201);
    }
    // Without TOTP nothing is asked.
    const plain = await createAccount("sensitive");
    expect((await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["read"] }, token: plain.access_token })).status).toBe(201);
  });

  it("turning TOTP off needs a code; then logins and sends need none, and it can be enrolled again", async () => {
    const [a, b] = [await withTotp("disable"), await createAccount("rcv")];
    await fund(a, 1_000_000);
    expect(errorOf(await api("DELETE", "/v1/account/totp", { token: a.access_token }))).toEqual([403, "totp_required"]);
    expect(errorOf(await api("DELETE", "/v1/account/totp", { body: { code: wrongCode(a.secret) }, token: a.access_token }))).toEqual([403, "invalid_totp"]);
    await timePasses(a);
    const off = await api("DELETE", "/v1/account/totp", { body: { code: code(a.secret) }, token: a.access_token });
    expect(off.status, JSON.stringify(off.json)).toBe(200);
    expect(off.json).toEqual({ totp: "off", totp_threshold_sat: 100_000 });
    expect((await login(a)).status).toBe(200);
    expect((await pay(a, b, 500_000)).status).toBe(200);
    const rows = await runInDurableObject(accountStub(a), (actor: AccountActor) => actor.kit.sql<{ secret_ciphertext: unknown }>`SELECT secret_ciphertext FROM totp`);
    expect(rows[0]!.secret_ciphertext).toBeNull(); // the secret is gone
    const again = await api("POST", "/v1/account/totp", { token: a.access_token });
    expect(again.status).toBe(201);
    expect(again.json.secret).not.toBe(a.secret);
  });
});
