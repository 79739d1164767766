import { runInDurableObject } from "cloudflare:test";
import { Secret, TOTP } from "otpauth/slim";
import { describe, expect, it } from "vitest";
import type { AccountActor } from "../durable/account-actor";
import {
  AUDIT_GENESIS_HASH,
  auditEntryHash,
  auditIp,
  canonicalJson,
  checkAuditData,
  decodeAuditCursor,
  mergeAuditPages,
  verifyAuditChain,
  verifyAuditTrail,
  type AuditChain,
  type AuditEntry,
} from "../src/audit";
import { api, auditOf, balanceOf, createAccount, expectConsistentBooks, fund, newKey, pay, PASSWORD, storedBooks, testEnv, uniqueName, walletStub, type TestAccount } from "./helpers";

/** The audit trail (issue 12, point 4; docs/decisions/0016). */

const accountStub = (a: TestAccount) => testEnv.ACCOUNT.get(testEnv.ACCOUNT.idFromName(a.account_id)) as unknown as DurableObjectStub<AccountActor>;
const code = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate();
const RECEIVER = "http://127.0.0.1:9999/hooks";

/** A chain of `n` entries built as the actor builds them. */
function chainOf(n: number, chain: AuditChain = "account", start = Date.parse("2026-11-29T00:00:00Z")): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prev = AUDIT_GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const entry = { chain, seq, type: "login.succeeded", data: { ip: `203.0.113.${seq}`, totp: false }, created_at: new Date(start + seq * 1000).toISOString(), prev_hash: prev };
    const hash = auditEntryHash(prev, entry);
    entries.push({ ...entry, hash });
    prev = hash;
  }
  return entries;
}

/** Every entry of the account's trail, page by page (newest first). */
async function wholeTrail(token: string, limit = 4): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const r: { status: number; json: any } = await api("GET", `/v1/account/audit?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, { token });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.entries.length).toBeLessThanOrEqual(limit);
    all.push(...r.json.entries);
    cursor = r.json.next_cursor;
    if (!cursor) return all;
  }
  throw new Error("the trail never ended");
}

const typesOf = (entries: AuditEntry[], chain: AuditChain) =>
  entries
    .filter((e) => e.chain === chain)
    .sort((a, b) => a.seq - b.seq)
    .map((e) => e.type);

describe("verifyAuditChain (src/audit.ts)", () => {
  it("accepts a chain built entry by entry, and a segment after a known entry", () => {
    const chain = chainOf(5);
    expect(verifyAuditChain(chain)).toEqual({ ok: true, head: { seq: 5, hash: chain[4]!.hash } });
    expect(verifyAuditChain(chain.slice(2), { seq: 2, hash: chain[1]!.hash }).ok).toBe(true);
    expect(verifyAuditChain([]).ok).toBe(true);
  });

  it("detects changed data, a changed type or time, a deleted entry, reordered entries, an edited hash or prev_hash", () => {
    const chain = chainOf(5);
    const tampered: [string, AuditEntry[], number][] = [
      ["data changed", chain.map((e) => (e.seq === 3 ? { ...e, data: { ...e.data, ip: "198.51.100.1" } } : e)), 3],
      ["data field added", chain.map((e) => (e.seq === 3 ? { ...e, data: { ...e.data, note: "x" } } : e)), 3],
      ["type changed", chain.map((e) => (e.seq === 2 ? { ...e, type: "login.failed" } : e)), 2],
      ["time changed", chain.map((e) => (e.seq === 4 ? { ...e, created_at: "2026-01-01T00:00:00.000Z" } : e)), 4],
      ["chain changed", chain.map((e) => (e.seq === 4 ? { ...e, chain: "wallet" as const } : e)), 4],
      ["middle entry deleted", chain.filter((e) => e.seq !== 3), 4],
      ["first entry deleted", chain.slice(1), 2],
      // Renumbered after the deletion, so the seqs follow: the hashes still break.
      ["deleted and renumbered", chain.filter((e) => e.seq !== 3).map((e, i) => ({ ...e, seq: i + 1 })), 3],
      ["two entries swapped", [chain[0]!, chain[2]!, chain[1]!, chain[3]!, chain[4]!], 3],
      ["two entries' contents swapped (seqs kept)", chain.map((e) => (e.seq === 2 ? { ...chain[2]!, seq: 2 } : e.seq === 3 ? { ...chain[1]!, seq: 3 } : e)), 2],
      ["hash edited", chain.map((e) => (e.seq === 5 ? { ...e, hash: "f".repeat(64) } : e)), 5],
      ["hash edited and the next prev_hash with it", chain.map((e) => (e.seq === 2 ? { ...e, hash: "f".repeat(64) } : e.seq === 3 ? { ...e, prev_hash: "f".repeat(64) } : e)), 2],
      ["entry rewritten and re-hashed", chain.map((e) => (e.seq === 2 ? { ...e, data: { ip: null, totp: true }, hash: auditEntryHash(e.prev_hash, { ...e, data: { ip: null, totp: true } }) } : e)), 3],
      ["entry inserted", [chain[0]!, { ...chain[1]!, seq: 2 }, ...chain.slice(1).map((e) => ({ ...e, seq: e.seq + 1 }))], 3],
    ];
    for (const [what, entries, at] of tampered) {
      const verdict = verifyAuditChain(entries);
      expect(verdict.ok, what).toBe(false);
      expect(verdict.ok ? null : verdict.seq, what).toBe(at);
    }
  });

  it("a chain cut short at its newest end verifies, with an earlier head: what the head is for", () => {
    const chain = chainOf(5);
    const cut = verifyAuditChain(chain.slice(0, 4));
    expect(cut).toEqual({ ok: true, head: { seq: 4, hash: chain[3]!.hash } });
  });

  it("the hash is over prev_hash and the canonical entry (keys sorted, no white space), whatever order the JSON had", () => {
    expect(canonicalJson({ b: 1, a: ["x", "y"], c: { z: null, y: true } })).toBe('{"a":["x","y"],"b":1,"c":{"y":true,"z":null}}');
    const [entry] = chainOf(1);
    const reparsed = JSON.parse(JSON.stringify({ hash: entry!.hash, data: { totp: false, ip: entry!.data.ip }, prev_hash: entry!.prev_hash, type: entry!.type, seq: 1, created_at: entry!.created_at, chain: "account" }));
    expect(verifyAuditChain([reparsed]).ok).toBe(true);
    expect(() => canonicalJson({ amount: 1.5 })).toThrow(/integers/);
  });

  it("an entry's data never has a field named like a secret, and is flat JSON", () => {
    for (const field of ["secret", "totp_secret", "password", "new_password", "refresh_token", "token", "key", "api_key", "code", "totp_code", "otpauth_url", "preimage", "authorization"]) {
      expect(() => checkAuditData("api_key.created", { [field]: "x" }), field).toThrow(/named like a secret/);
    }
    expect(() => checkAuditData("api_key.created", { id: "key_1", name: "n", scopes: ["read"], ip: null, totp: true, from_sat: 1 })).not.toThrow();
    expect(() => checkAuditData("api_key.created", { nested: { a: 1 } as never })).toThrow(/not a string/);
    expect(() => checkAuditData("Bad Type", {})).toThrow(/dotted/);
  });

  it("keeps an IP only if it looks like one", () => {
    expect(auditIp("203.0.113.9")).toBe("203.0.113.9");
    expect(auditIp(" 2001:DB8::1 ")).toBe("2001:db8::1");
    for (const bad of [undefined, null, "", "localhost", "1.2.3.4; DROP", "x".repeat(100), "12345"]) expect(auditIp(bad), String(bad)).toBeNull();
  });
});

describe("pages of the merged trail (src/audit.ts)", () => {
  /** What an actor answers: its newest `limit` entries below `before`, newest first. */
  const answer = (chain: AuditEntry[], before: number | null, limit: number) =>
    chain
      .filter((e) => e.seq < (before ?? Infinity))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit);

  it("lists every entry of every chain exactly once, newest first, page after page", () => {
    const t0 = Date.parse("2026-11-29T00:00:00Z");
    const chains: Record<AuditChain, AuditEntry[]> = { account: chainOf(7, "account", t0), wallet: chainOf(2, "wallet", t0 + 2500), webhooks: chainOf(4, "webhooks", t0 + 500) };
    for (const limit of [1, 2, 3, 5, 13, 100]) {
      let cursor = decodeAuditCursor(null)!;
      const seen: AuditEntry[] = [];
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(20);
        const page = mergeAuditPages(cursor, { account: answer(chains.account, cursor.account, limit + 1), wallet: answer(chains.wallet, cursor.wallet, limit + 1), webhooks: answer(chains.webhooks, cursor.webhooks, limit + 1) }, limit);
        expect(page.entries.length).toBeLessThanOrEqual(limit);
        seen.push(...page.entries);
        if (!page.next_cursor) break;
        expect(page.entries.length, "a page before the end is full").toBe(limit);
        cursor = decodeAuditCursor(page.next_cursor)!;
        expect(cursor).not.toBeNull();
      }
      expect(seen.length, `limit ${limit}`).toBe(13);
      const times = seen.map((e) => e.created_at);
      expect(times, `limit ${limit}: newest first`).toEqual([...times].sort().reverse());
      expect(new Set(seen.map((e) => `${e.chain}:${e.seq}`)).size).toBe(13);
      expect(verifyAuditTrail(seen)).toEqual({ ok: true });
    }
  });

  it("refuses a cursor that is not one of its own", () => {
    for (const bad of ["x", "%%%", btoa("{}"), btoa(JSON.stringify({ account: -1, wallet: null, webhooks: null })), btoa("[1,2,3]"), "a".repeat(300)]) {
      expect(decodeAuditCursor(bad), bad).toBeNull();
    }
  });
});

describe("the trail of an account (GET /v1/account/audit)", () => {
  it("records logins and failed logins with the IP, refresh reuse, keys, LNDHub credentials, webhook endpoints, TOTP, sessions and the level; verifies; holds no secret", async () => {
    const a = await createAccount("audit");
    const secrets: string[] = [PASSWORD, a.access_token, a.refresh_token];
    const ip = { "CF-Connecting-IP": "203.0.113.7" };
    const bad = await api("POST", "/v1/auth/login", { body: { username: a.username, password: "wrong password!" }, headers: { "CF-Connecting-IP": "198.51.100.9" } });
    expect(bad.status).toBe(401);
    const login = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: ip });
    expect(login.status).toBe(200);
    secrets.push(login.json.access_token, login.json.refresh_token);
    const refreshed = await api("POST", "/v1/auth/refresh", { body: { refresh_token: login.json.refresh_token } });
    expect(refreshed.status).toBe(200);
    secrets.push(refreshed.json.refresh_token, refreshed.json.access_token);
    const reused = await api("POST", "/v1/auth/refresh", { body: { refresh_token: login.json.refresh_token }, headers: { "CF-Connecting-IP": "192.0.2.66" } });
    expect(reused.status).toBe(401);

    const key = await api("POST", "/v1/api-keys", { body: { name: "shop", scopes: ["read", "receive"] }, token: a.access_token });
    expect(key.status).toBe(201);
    secrets.push(key.json.key);
    expect((await api("DELETE", `/v1/api-keys/${key.json.id}`, { token: a.access_token })).status).toBe(200);
    // Revoking again changes nothing: no second entry.
    expect((await api("DELETE", `/v1/api-keys/${key.json.id}`, { token: a.access_token })).status).toBe(200);
    const lndhub = await api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token });
    expect(lndhub.status).toBe(201);
    secrets.push(lndhub.json.password);

    const hook = await api("POST", "/v1/webhooks", { body: { url: `${RECEIVER}/${uniqueName("audit")}?token=partner-own-token`, events: ["*"] }, token: a.access_token });
    expect(hook.status, JSON.stringify(hook.json)).toBe(201);
    secrets.push(hook.json.secret, "partner-own-token");
    const rotated = await api("POST", `/v1/webhooks/${hook.json.id}/rotate-secret`, { token: a.access_token });
    expect(rotated.status).toBe(200);
    secrets.push(rotated.json.secret);
    expect((await api("DELETE", `/v1/webhooks/${hook.json.id}`, { token: a.access_token })).status).toBe(200);

    const enrolled = await api("POST", "/v1/account/totp", { token: a.access_token });
    expect(enrolled.status).toBe(201);
    secrets.push(enrolled.json.secret, enrolled.json.otpauth_url);
    expect((await api("POST", "/v1/account/totp/confirm", { body: { code: code(enrolled.json.secret) }, token: a.access_token })).status).toBe(200);
    const totpLogin = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: ip });
    expect(totpLogin.json.error.code).toBe("totp_required");
    // The next codes: the actor forgets the step it last accepted (a test cannot wait 30 s).
    const timePasses = () => runInDurableObject(accountStub(a), (actor: AccountActor) => void actor.kit.sql`UPDATE totp SET last_step = -1`);
    await timePasses();
    expect((await api("PUT", "/v1/account/settings", { body: { totp_threshold_sat: 5000 }, token: a.access_token, headers: { "x-totp-code": code(enrolled.json.secret) } })).status).toBe(200);
    await timePasses();
    expect((await api("DELETE", "/v1/account/totp", { body: { code: code(enrolled.json.secret) }, token: a.access_token })).status).toBe(200);

    expect(await walletStub(a.wallet_id).setLevel(2)).toMatchObject({ level: 2 });
    expect(await walletStub(a.wallet_id).setLevel(2)).toMatchObject({ level: 2 }); // no change: not audited again
    expect(await walletStub(a.wallet_id).setLevel(7)).toMatchObject({ ok: false, code: "invalid_request" });
    // The reuse revoked the refreshed session already (nothing to audit again): a new session to log out.
    expect((await api("POST", "/v1/auth/logout", { body: { refresh_token: refreshed.json.refresh_token } })).status).toBe(200);
    const session = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: ip });
    expect((await api("POST", "/v1/auth/logout", { body: { refresh_token: session.json.refresh_token } })).status).toBe(200);
    expect((await api("POST", "/v1/auth/logout-all", { token: a.access_token })).status).toBe(200);

    const relogin = await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } });
    const trail = await wholeTrail(relogin.json.access_token, 3);
    expect(verifyAuditTrail(trail)).toEqual({ ok: true });
    expect(typesOf(trail, "account")).toEqual([
      "login.failed",
      "login.succeeded",
      "refresh_token.reused",
      "api_key.created",
      "api_key.revoked",
      "api_key.created", // the LNDHub credentials
      "totp.enrolment_started",
      "totp.enabled",
      "login.failed",
      "totp.threshold_changed",
      "totp.disabled",
      "login.succeeded",
      "session.logged_out",
      "session.logged_out_everywhere",
      "login.succeeded",
    ]);
    expect(typesOf(trail, "webhooks")).toEqual(["webhook.created", "webhook.secret_rotated", "webhook.deleted"]);
    expect(typesOf(trail, "wallet")).toEqual(["level.changed"]);
    const times = trail.map((e) => e.created_at);
    expect(times).toEqual([...times].sort().reverse());

    const account = trail.filter((e) => e.chain === "account").sort((x, y) => x.seq - y.seq);
    expect(account[0]!.data).toEqual({ ip: "198.51.100.9", reason: "password" });
    expect(account[1]!.data).toEqual({ ip: "203.0.113.7", totp: false });
    expect(account[2]!.data).toMatchObject({ ip: "192.0.2.66" });
    expect(account[3]!.data).toEqual({ id: key.json.id, name: "shop", scopes: ["read", "receive"] });
    expect(account[4]!.data).toEqual({ id: key.json.id });
    expect(account[5]!.data).toMatchObject({ id: lndhub.json.login });
    expect(account[8]!.data).toEqual({ ip: "203.0.113.7", reason: "totp_required" });
    expect(account[9]!.data).toEqual({ from_sat: 100_000, to_sat: 5000 });
    expect(account[10]!.data).toEqual({ was: "enabled" });
    expect(account[12]!.data).toMatchObject({ family_id: expect.stringMatching(/^fam_/) });
    expect(account[14]!.data).toEqual({ ip: null, totp: false });
    const webhook = trail.find((e) => e.type === "webhook.created")!;
    expect(webhook.data).toEqual({ id: hook.json.id, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:9999\/hooks\/audit_\w+$/), events: ["*"] });
    expect(trail.find((e) => e.type === "level.changed")!.data).toEqual({ from: 1, to: 2 });

    const text = JSON.stringify(trail);
    for (const secret of secrets) expect(text.includes(secret), `the trail holds a secret: ${secret.slice(0, 12)}…`).toBe(false);
  });

  it("a change that rolls back leaves no entry, and the chain goes on from the entry before it", async () => {
    const a = await createAccount("audit_rb");
    await runInDurableObject(accountStub(a), (actor: AccountActor) => {
      actor.audit.append("test.kept", { n: 1 });
      expect(() =>
        actor.kit.unitOfWork.run(() => {
          actor.audit.append("test.rolled_back", { n: 2 });
          throw new Error("the change failed");
        }),
      ).toThrow("the change failed");
      actor.audit.append("test.kept", { n: 3 });
      const entries = actor.audit.entries(null, 10).reverse();
      expect(entries.map((e) => [e.seq, e.type, e.data.n])).toEqual([
        [1, "test.kept", 1],
        [2, "test.kept", 3],
      ]);
      expect(verifyAuditChain(entries).ok).toBe(true);
    });
  });

  it("an entry is written with its change or not at all: a key whose audit entry fails is not created", async () => {
    const a = await createAccount("audit_atomic");
    await runInDurableObject(accountStub(a), async (actor: AccountActor) => {
      const append = actor.audit.append.bind(actor.audit);
      actor.audit.append = () => {
        throw new Error("audit write failed");
      };
      await expect(actor.createApiKey("doomed", ["read"])).rejects.toThrow("audit write failed");
      actor.audit.append = append;
      expect(await actor.listApiKeys()).toEqual([]);
    });
  });

  it("the stored trail refuses UPDATE and DELETE; tampering around the triggers is detected", async () => {
    const kinds: [string, string[]][] = [
      ["data changed", ["UPDATE audit_entries SET data = json_set(data, '$.ip', '10.0.0.1') WHERE seq = 2"]],
      ["one deleted", ["DELETE FROM audit_entries WHERE seq = 2"]],
      ["two reordered", ["UPDATE audit_entries SET seq = 100 WHERE seq = 2", "UPDATE audit_entries SET seq = 2 WHERE seq = 3", "UPDATE audit_entries SET seq = 3 WHERE seq = 100"]],
      ["a hash edited", ["UPDATE audit_entries SET hash = substr(hash, 2) || substr(hash, 1, 1) WHERE seq = 2"]],
    ];
    for (const [what, statements] of kinds) {
      const a = await createAccount("audit_tamper");
      for (let i = 0; i < 3; i++) expect((await api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD }, headers: { "CF-Connecting-IP": `203.0.113.${i}` } })).status).toBe(200);
      expect(verifyAuditTrail(await wholeTrail(a.access_token))).toEqual({ ok: true });
      await runInDurableObject(accountStub(a), (_actor, state) => {
        expect(() => state.storage.sql.exec(statements[0]!), what).toThrow(/append-only/);
        state.storage.sql.exec("DROP TRIGGER audit_entries_append_only_update");
        state.storage.sql.exec("DROP TRIGGER audit_entries_append_only_delete");
        for (const statement of statements) state.storage.sql.exec(statement);
      });
      const verdict = verifyAuditTrail(await wholeTrail(a.access_token));
      expect(verdict, what).toMatchObject({ ok: false, chain: "account" });
      expect(verdict.ok ? null : verdict.seq, what).toBeLessThanOrEqual(3);
    }
  });

  it("is read with the read scope; a bad cursor is 400; another account sees only its own", async () => {
    const [a, b] = await Promise.all([createAccount("audit_r"), createAccount("audit_o")]);
    const key = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["read"] }, token: a.access_token });
    const byKey = await api("GET", "/v1/account/audit", { token: key.json.key });
    expect(byKey.status).toBe(200);
    expect(byKey.json.entries.map((e: AuditEntry) => e.type)).toEqual(["api_key.created"]);
    expect(byKey.json.next_cursor).toBeNull();
    expect((await api("GET", "/v1/account/audit?cursor=garbage!", { token: a.access_token })).status).toBe(400);
    expect((await api("GET", "/v1/account/audit?cursor=Zm9v", { token: a.access_token })).json.error.code).toBe("invalid_request");
    expect((await api("GET", "/v1/account/audit?limit=0", { token: a.access_token })).status).toBe(400);
    const other = await api("GET", "/v1/account/audit", { token: b.access_token });
    expect(other.json.entries).toEqual([]);
  });
});

describe("freezes (POST /v1/admin/accounts/{account_id}/freeze, /unfreeze) and levels, by the operator", () => {
  const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
  /** `token` null: no Authorization header at all. */
  const adminCall = (path: string, body?: unknown, token: string | null = ADMIN) => api("POST", path, { body, token: token ?? undefined });
  const freeze = (a: TestAccount, reason?: string) => adminCall(`/v1/admin/accounts/${a.account_id}/freeze`, reason === undefined ? undefined : { reason });
  const unfreeze = (a: TestAccount) => adminCall(`/v1/admin/accounts/${a.account_id}/unfreeze`);
  const sim = (path: string, body: unknown) =>
    testEnv.LND_SIM!.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
  const errorOf = (r: { status: number; json: any }) => [r.status, r.json?.error?.code];

  it("take only the admin key; an unknown account is 404; a bad level is 400", async () => {
    const a = await createAccount("adm");
    expect(ADMIN).toMatch(/^fha_[0-9a-f]{64}$/);
    for (const token of [null, "garbage", a.access_token, ADMIN.slice(0, -1) + (ADMIN.endsWith("0") ? "1" : "0")]) {
      expect(errorOf(await adminCall(`/v1/admin/accounts/${a.account_id}/freeze`, {}, token)), String(token).slice(0, 10)).toEqual([401, "unauthorized"]);
    }
    expect(errorOf(await adminCall(`/v1/admin/accounts/acc_${"0".repeat(32)}/freeze`))).toEqual([404, "not_found"]);
    expect(errorOf(await adminCall("/v1/admin/accounts/not-an-account/freeze"))).toEqual([400, "invalid_request"]);
    expect(errorOf(await adminCall(`/v1/admin/accounts/${a.account_id}/level`, { level: 3 }))).toEqual([400, "invalid_request"]);
    expect(errorOf(await adminCall(`/v1/admin/accounts/${a.account_id}/freeze`, { reason: "x".repeat(201) }))).toEqual([400, "invalid_request"]);
    // Nothing of that was done, so nothing was audited.
    expect((await api("GET", "/v1/account/audit", { token: a.access_token })).json.entries).toEqual([]);
    const level = await adminCall(`/v1/admin/accounts/${a.account_id}/level`, { level: 0 });
    expect(level.status, JSON.stringify(level.json)).toBe(200);
    expect(level.json).toMatchObject({ account_id: a.account_id, level: 0 });
    expect((await api("GET", "/v1/account/limits", { token: a.access_token })).json.level).toBe(0);
  });

  it("a frozen account can read and receive, and cannot send by any route (intraledger, Lightning, hub invoice, LNURL, chat payment and request, LNDHub); unfrozen, it sends again; both audited once", async () => {
    const [a, b] = await Promise.all([createAccount("frz"), createAccount("frz")]);
    await fund(a, 50_000);
    await fund(b, 50_000);
    const lndhub = await api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token });
    const lndhubToken = (await api("POST", "/lndhub/auth?type=auth", { body: { login: lndhub.json.login, password: lndhub.json.password } })).json.access_token;
    const chat = (await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token })).json.conversation_id;
    const asked = await api("POST", `/v1/conversations/${chat}/messages`, { body: { request: { amount_sat: 10 } }, token: b.access_token });
    expect(asked.status, JSON.stringify(asked.json)).toBe(201);

    const frozen = await freeze(a, "chargeback under review");
    expect([frozen.status, frozen.json]).toEqual([200, { account_id: a.account_id, frozen: true, changed: true }]);
    expect((await freeze(a, "again")).json).toEqual({ account_id: a.account_id, frozen: true, changed: false });
    const before = await auditOf(a.wallet_id);
    const balance = await balanceOf(a);

    const outside = await sim("/sim/invoices", { amount_sat: 10 });
    const hubInvoice = await api("POST", "/v1/invoices", { body: { amount_sat: 10 }, token: b.access_token });
    const refused = {
      intraledger: await pay(a, b.username, 10),
      lightning: await api("POST", "/v1/payments/lightning", { body: { payment_request: outside.payment_request }, token: a.access_token, key: newKey() }),
      hub_invoice: await api("POST", "/v1/payments/lightning", { body: { payment_request: hubInvoice.json.payment_request }, token: a.access_token, key: newKey() }),
      lnurl: await api("POST", "/v1/payments/lnurl", { body: { destination: `${b.username.toLowerCase()}@hub.test`, amount_sat: 10 }, token: a.access_token, key: newKey() }),
      chat_payment: await api("POST", `/v1/conversations/${chat}/messages`, { body: { payment: { amount_sat: 10 } }, token: a.access_token, key: newKey() }),
      chat_request: await api("POST", `/v1/conversations/${chat}/messages/${asked.json.message.id}/pay`, { token: a.access_token, key: newKey() }),
    };
    for (const [route, r] of Object.entries(refused)) {
      expect(errorOf(r), `${route}: ${JSON.stringify(r.json)}`).toEqual([403, "account_frozen"]);
      expect(r.json.error.message).toMatch(/frozen/);
    }
    const lndhubPay = await api("POST", "/lndhub/payinvoice", { body: { invoice: (await sim("/sim/invoices", { amount_sat: 10 })).payment_request }, token: lndhubToken });
    expect([lndhubPay.status, lndhubPay.json.error, lndhubPay.json.code], JSON.stringify(lndhubPay.json)).toEqual([403, true, 10]);
    expect(lndhubPay.json.message).toMatch(/frozen/);

    // Nothing moved; it reads; it receives (someone else's payment is not bounced).
    expect(await balanceOf(a)).toBe(balance);
    const after = await auditOf(a.wallet_id);
    expect(storedBooks(after)).toEqual(storedBooks(before));
    expectConsistentBooks(after);
    expect((await api("GET", "/v1/wallet/transactions", { token: a.access_token })).status).toBe(200);
    expect((await api("GET", "/v1/account/limits", { token: a.access_token })).status).toBe(200);
    expect((await pay(b, a.username, 7)).json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(balance + 7_000);

    expect((await unfreeze(a)).json).toEqual({ account_id: a.account_id, frozen: false, changed: true });
    expect((await pay(a, b.username, 10)).json.status).toBe("succeeded");

    const trail = await wholeTrail(a.access_token);
    expect(verifyAuditTrail(trail)).toEqual({ ok: true });
    expect(typesOf(trail, "wallet")).toEqual(["account.frozen", "account.unfrozen"]);
    expect(trail.find((e) => e.type === "account.frozen")!.data).toEqual({ reason: "chargeback under review" });
    expect(trail.find((e) => e.type === "account.unfrozen")!.data).toEqual({ reason: null });
  });

  it("a freeze holds against payments already under way: fifty sends racing it, none after it commits", async () => {
    const [a, b] = await Promise.all([createAccount("frz_race"), createAccount("frz_race")]);
    await fund(a, 10_000);
    const sends = Array.from({ length: 50 }, () => pay(a, b.username, 1));
    const frozen = freeze(a);
    const results = await Promise.all(sends);
    expect((await frozen).status).toBe(200);
    const succeeded = results.filter((r) => r.json.status === "succeeded").length;
    expect(results.every((r) => r.json.status === "succeeded" || (r.status === 403 && r.json.error.code === "account_frozen"))).toBe(true);
    // What went out went before the freeze committed: nothing after it.
    expect(await balanceOf(a)).toBe((10_000 - succeeded) * 1000);
    expect(errorOf(await pay(a, b.username, 1))).toEqual([403, "account_frozen"]);
    expectConsistentBooks(await auditOf(a.wallet_id));
  });
});
