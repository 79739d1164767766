import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { SignJWT, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import type { AccountActor } from "../durable/account-actor";
import { SOCKET_CLOSE, socketCredentialHeaders } from "../durable/kit/sockets";
import { csvField, defuseFormula, transactionsCsv } from "../src/csv";
import { AccountCache } from "../workers/account-cache";
import { SessionEpochs, sessionEpochTtlMs } from "../workers/middleware/auth";
import { api, createAccount, fund, newKey, openStream, PASSWORD, pay, testEnv, waitFor, walletStub, type Stream, type TestAccount } from "./helpers";

const b64urlJson = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
const errorOf = (r: { status: number; json: any }) => [r.status, r.json?.error?.code];

const login = (a: TestAccount) => api("POST", "/v1/auth/login", { body: { username: a.username, password: PASSWORD } });
const refresh = (refresh_token: string) => api("POST", "/v1/auth/refresh", { body: { refresh_token } });
const wallet = (token: string) => api("GET", "/v1/wallet", { token });

async function apiKey(a: TestAccount, scopes = ["read", "receive", "send"]) {
  const r = await api("POST", "/v1/api-keys", { body: { name: "socket", scopes }, token: a.access_token });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json as { id: string; key: string };
}

/** A stream and how it closed (code, reason), once it has. */
function closing(stream: Stream) {
  let closed: { code: number; reason: string; at: number } | null = null;
  stream.ws.addEventListener("close", (e) => {
    closed ??= { code: e.code, reason: e.reason, at: Date.now() };
  });
  return () => closed;
}

/** An access token like `token` (same header, so a `kid` is kept, and claims) but expiring at `exp` (s), signed with the test run's key. */
async function reissued(token: string, exp: number): Promise<string> {
  const [header, payload] = token.split(".");
  const key = await importJWK({ ...JSON.parse(testEnv.JWT_PRIVATE_JWK), alg: "EdDSA" }, "EdDSA");
  return new SignJWT({ ...b64urlJson(payload!), exp }).setProtectedHeader(b64urlJson(header!)).sign(key);
}

async function fetchRaw(path: string, token: string): Promise<Response> {
  return (exports as any).default.fetch(`http://hub.test${path}`, { headers: { authorization: `Bearer ${token}` } });
}

describe("logout", () => {
  it("revokes that session's refresh-token family, and only it", async () => {
    const a = await createAccount("lo");
    const other = (await login(a)).json;
    expect((await api("POST", "/v1/auth/logout", { body: { refresh_token: a.refresh_token } })).json).toEqual({ logged_out: true });
    expect(errorOf(await refresh(a.refresh_token))).toEqual([401, "unauthorized"]);
    // The other session goes on.
    const rotated = await refresh(other.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await wallet(rotated.json.access_token)).status).toBe(200);
    // Logging out a rotated descendant ends the family for every token of it.
    const next = await refresh(rotated.json.refresh_token);
    expect((await api("POST", "/v1/auth/logout", { body: { refresh_token: next.json.refresh_token } })).status).toBe(200);
    expect(errorOf(await refresh(next.json.refresh_token))).toEqual([401, "unauthorized"]);
  });

  it("answers 200 for a token with nothing to revoke (RFC 7009), 400 for a malformed body", async () => {
    const a = await createAccount("lo");
    for (const refresh_token of ["nonsense", `rt_${a.account_id}_${"0".repeat(64)}`, a.refresh_token, a.refresh_token]) {
      expect((await api("POST", "/v1/auth/logout", { body: { refresh_token } })).status).toBe(200);
    }
    expect(errorOf(await api("POST", "/v1/auth/logout", { body: {} }))).toEqual([400, "invalid_request"]);
    expect(errorOf(await api("POST", "/v1/auth/logout", { body: { refresh_token: "x", extra: 1 } }))).toEqual([400, "invalid_request"]);
  });
});

describe("logout everywhere", () => {
  it("revokes every family and the access tokens already issued (within the epoch TTL); API keys stay; a new login works at once", async () => {
    const a = await createAccount("la");
    const second = (await login(a)).json;
    const third = (await refresh(second.refresh_token)).json;
    const key = await apiKey(a);
    expect(errorOf(await api("POST", "/v1/auth/logout-all", { token: key.key }))).toEqual([403, "forbidden"]);

    const out = await api("POST", "/v1/auth/logout-all", { token: second.access_token });
    expect(out.status).toBe(200);
    expect(out.json.logged_out).toBe(true);
    const epoch = Date.parse(out.json.revoked_before);
    expect(epoch % 1000).toBe(0); // a whole second: tokens' iat is in seconds
    expect(epoch).toBeGreaterThan(Date.now() - 1000);

    for (const rt of [a.refresh_token, second.refresh_token, third.refresh_token]) expect(errorOf(await refresh(rt))).toEqual([401, "unauthorized"]);
    const bound = sessionEpochTtlMs(testEnv); // 0 in tests (vitest.config.ts): refused at once
    for (const at of [a.access_token, second.access_token, third.access_token]) {
      await waitFor(async () => (await wallet(at)).status === 401, "the old access token refused", bound + 2000);
      const r = await wallet(at);
      expect([...errorOf(r), r.json.error.message]).toEqual([401, "unauthorized", "this session has ended (logged out everywhere): log in again"]);
    }
    expect((await wallet(key.key)).status).toBe(200);

    // A new login right away: its token is signed at or after the epoch (the route waits, at most a second).
    const started = Date.now();
    const fresh = await login(a);
    expect(fresh.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(b64urlJson(fresh.json.access_token.split(".")[1]).iat * 1000).toBeGreaterThanOrEqual(epoch);
    expect((await wallet(fresh.json.access_token)).status).toBe(200);
    const rotated = await refresh(fresh.json.refresh_token);
    expect((await wallet(rotated.json.access_token)).status).toBe(200);
  });

  it("a second logout-all never moves the epoch back, and old tokens stay refused", async () => {
    const a = await createAccount("la");
    const first = await api("POST", "/v1/auth/logout-all", { token: a.access_token });
    const s = (await login(a)).json;
    const second = await api("POST", "/v1/auth/logout-all", { token: s.access_token });
    expect(Date.parse(second.json.revoked_before)).toBeGreaterThanOrEqual(Date.parse(first.json.revoked_before));
    expect((await wallet(s.access_token)).status).toBe(401);
    expect((await wallet(a.access_token)).status).toBe(401);
  });

  it("a refresh racing a logout-all never yields tokens that outlive it", async () => {
    const a = await createAccount("lr");
    let session = { access_token: a.access_token, refresh_token: a.refresh_token };
    for (let trial = 0; trial < 2; trial++) {
      const [rotated, out] = await Promise.all([refresh(session.refresh_token), api("POST", "/v1/auth/logout-all", { token: session.access_token })]);
      expect(out.status).toBe(200);
      if (rotated.status === 200) {
        expect((await wallet(rotated.json.access_token)).status).toBe(401);
        expect((await refresh(rotated.json.refresh_token)).status).toBe(401);
      } else expect(rotated.status).toBe(401);
      session = (await login(a)).json;
    }
  });

  it("a logout-all at any point of a refresh: the refresh is refused, or answers the state before it (the worker then refuses its token)", async () => {
    const a = await createAccount("lr");
    const stub = testEnv.ACCOUNT.get(testEnv.ACCOUNT.idFromName(a.account_id)) as unknown as DurableObjectStub<AccountActor>;
    let refresh_token = a.refresh_token;
    for (let ticks = 0; ticks < 24; ticks++) {
      const outcome = await runInDurableObject(stub, async (actor) => {
        const rotating = actor.rotateRefreshToken(refresh_token);
        for (let i = 0; i < ticks; i++) await Promise.resolve();
        const after = actor.sessions.logoutAll(Date.now());
        const rotated = await rotating;
        const fresh = await actor.login(PASSWORD);
        return { rotated, after, fresh };
      });
      if (outcome.rotated.ok) expect(outcome.rotated.sessions.logouts, `after ${ticks} ticks`).toBeLessThan(outcome.after.logouts);
      if (!outcome.fresh.ok) throw new Error(outcome.fresh.message);
      refresh_token = outcome.fresh.refresh_token;
    }
  });

  it("each isolate trusts a learnt epoch for the TTL, keeps the larger one, and is bounded", () => {
    const epochs = new SessionEpochs(2);
    expect(epochs.fresh("acc_a", 1000, 5000)).toBeUndefined();
    epochs.learn("acc_a", 0, 1000);
    expect(epochs.fresh("acc_a", 5999, 5000)).toBe(0);
    expect(epochs.fresh("acc_a", 6000, 5000)).toBeUndefined(); // stale: ask the account again
    expect(epochs.fresh("acc_a", 1000, 0)).toBeUndefined(); // TTL 0: always ask
    epochs.learn("acc_a", 9000, 2000);
    epochs.learn("acc_a", 3000, 2500); // an older answer arriving late does not move it back
    expect(epochs.fresh("acc_a", 2500, 5000)).toBe(9000);
    epochs.learn("acc_b", 0, 3000);
    epochs.learn("acc_c", 0, 3000); // over capacity: the oldest learnt goes
    expect(epochs.size).toBe(2);
    expect(epochs.fresh("acc_a", 3000, 5000)).toBeUndefined();
    expect(epochs.fresh("acc_c", 3000, 5000)).toBe(0);
    expect(sessionEpochTtlMs({})).toBe(5000);
    expect(sessionEpochTtlMs({ SESSION_EPOCH_TTL_MS: "0" })).toBe(0);
    expect(sessionEpochTtlMs({ SESSION_EPOCH_TTL_MS: "nope" })).toBe(5000);
  });

  it("by default what was asked for last wins: an older answer arriving late neither replaces it nor renews it", () => {
    const known = new AccountCache<string>(10);
    known.learn("acc_a", "on", 2000);
    known.learn("acc_a", "off", 1000); // asked before "on" was
    expect(known.fresh("acc_a", 2000, 5000)).toBe("on");
    expect(known.fresh("acc_a", 7000, 5000)).toBeUndefined(); // still dated 2000
    known.learn("acc_a", "off", 3000);
    expect(known.fresh("acc_a", 7999, 5000)).toBe("off");
  });
});

describe("event sockets end with their credential", () => {
  it("a socket opened with an API key closes with 4003 when the key is deleted, and the key cannot open another", async () => {
    const a = await createAccount("sk");
    const b = await createAccount("sk");
    await fund(a, 100);
    const key = await apiKey(b, ["read"]);
    const stream = await openStream("/v1/events/stream?after=0", { Authorization: `Bearer ${key.key}` });
    const closed = closing(stream);
    await pay(a, b.username, 1);
    await waitFor(() => stream.events().length >= 1, "an event before the deletion");

    expect((await api("DELETE", `/v1/api-keys/${key.id}`, { token: b.access_token })).status).toBe(200);
    await waitFor(() => closed() !== null, "the socket closed");
    expect(closed()).toMatchObject({ code: SOCKET_CLOSE.revoked, reason: "API key deleted" });
    await pay(a, b.username, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(stream.events()).toHaveLength(1); // nothing after the deletion

    await expect(openStream("/v1/events/stream", { Authorization: `Bearer ${key.key}` })).rejects.toThrow(/401/);
    // An upgrade the key authorised just before its deletion is refused by the wallet itself.
    const late = await walletStub(b.wallet_id).fetch(
      new Request("https://wallet.internal/events/stream?after=0", { headers: { Upgrade: "websocket", ...socketCredentialHeaders({ credential: `key:${key.id}`, issued_at_ms: null, expires_at_ms: null }) } }),
    );
    expect(late.status).toBe(401);
    // Deleting again is harmless.
    expect((await api("DELETE", `/v1/api-keys/${key.id}`, { token: b.access_token })).status).toBe(200);
  });

  it("a socket opened with an access token closes with 4001 when the token expires, even after hibernating", async () => {
    const a = await createAccount("se");
    const exp = Math.floor(Date.now() / 1000) + 3;
    const shortLived = await reissued(a.access_token, exp);
    expect((await wallet(shortLived)).status).toBe(200);
    const stream = await openStream(`/v1/events/stream?access_token=${encodeURIComponent(shortLived)}`);
    const closed = closing(stream);
    // Another socket, of the long-lived token, stays.
    const lasting = await openStream("/v1/events/stream", { Authorization: `Bearer ${a.access_token}` });
    const lastingClosed = closing(lasting);
    stream.ws.send("ping");
    await waitFor(() => stream.frames.includes("pong"), "pong");
    await evictDurableObject(walletStub(a.wallet_id)); // the sockets hibernate; the expiry is in their attachments and the alarm
    await waitFor(() => closed() !== null, "the socket closed at expiry", 8000);
    expect(closed()).toMatchObject({ code: SOCKET_CLOSE.expired, reason: "credential expired: refresh it and reconnect" });
    expect(closed()!.at).toBeGreaterThanOrEqual(exp * 1000 - 50);
    await fund(a, 1);
    await waitFor(() => lasting.events().length >= 1, "the other socket still gets events");
    expect(lastingClosed()).toBeNull();
    lasting.ws.close();
  });

  it("a logout-all closes the sockets of access tokens (4003) and keeps those of API keys", async () => {
    const a = await createAccount("sl");
    const key = await apiKey(a, ["read", "receive"]);
    const bySession = await openStream("/v1/events/stream", { Authorization: `Bearer ${a.access_token}` });
    const byKey = await openStream("/v1/events/stream", { Authorization: `Bearer ${key.key}` });
    const [sessionClosed, keyClosed] = [closing(bySession), closing(byKey)];
    const out = await api("POST", "/v1/auth/logout-all", { token: a.access_token });
    expect(out.status).toBe(200);
    await waitFor(() => sessionClosed() !== null, "the session's socket closed");
    expect(sessionClosed()).toMatchObject({ code: SOCKET_CLOSE.revoked, reason: "logged out everywhere" });
    await fund({ ...a, access_token: key.key }, 1);
    await waitFor(() => byKey.events().length >= 1, "the key's socket still gets events");
    expect(keyClosed()).toBeNull();
    // The old token opens no socket: refused by the worker, and by the wallet for an upgrade already on its way.
    await expect(openStream("/v1/events/stream", { Authorization: `Bearer ${a.access_token}` })).rejects.toThrow(/401/);
    const iat = b64urlJson(a.access_token.split(".")[1]!).iat * 1000;
    const late = await walletStub(a.wallet_id).fetch(
      new Request("https://wallet.internal/events/stream", { headers: { Upgrade: "websocket", ...socketCredentialHeaders({ credential: "jwt:late", issued_at_ms: iat, expires_at_ms: Date.now() + 60_000 }) } }),
    );
    expect(late.status).toBe(401);
    // A session started after it streams.
    const fresh = (await login(a)).json;
    const again = await openStream("/v1/events/stream?after=0", { Authorization: `Bearer ${fresh.access_token}` });
    await waitFor(() => again.events().length >= 1, "replay on a new session");
    again.ws.close();
    byKey.ws.close();
  });

  it("the wallet refuses an upgrade that names no credential", async () => {
    const a = await createAccount("sn");
    const r = await walletStub(a.wallet_id).fetch(new Request("https://wallet.internal/events/stream", { headers: { Upgrade: "websocket" } }));
    expect(r.status).toBe(400);
  });
});

/** RFC 4180 records of a CSV text (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (field += ch), i++;
    } else if (ch === '"' && field === "") (quoted = true), i++;
    else if (ch === ",") record.push(field), (field = ""), i++;
    else if (ch === "\r" && text[i + 1] === "\n") record.push(field), records.push(record), (record = []), (field = ""), (i += 2);
    else if (ch === "\r" || ch === "\n") throw new Error(`bare line break at ${i}`);
    else (field += ch), i++;
  }
  if (field !== "" || record.length) throw new Error("the last record has no CRLF");
  return records;
}

describe("history export (CSV)", () => {
  const HEADER = ["id", "kind", "direction", "amount_msat", "fee_msat", "status", "counterparty", "memo", "created_at"];

  it("streams every page of the history as RFC 4180 with a header row, quoting and the formula guard", async () => {
    const a = await createAccount("csv");
    const b = await createAccount("csv");
    await fund(a, 1000);
    const memos = ["plain memo", "hello, world", 'say "hi"', "two\nlines", "cr\r\nlf", "=1+2", "+cmd", "-5 sat back", "@SUM(A1:A9)", "\tTAB", "a=b is fine"];
    for (const memo of memos) expect((await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 3, memo }, token: a.access_token, key: newKey() })).status).toBe(200);
    const credits = 1_200 - memos.length;
    for (let i = 0; i < credits; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, credits - i) }, (_, j) => api("POST", "/dev/faucet", { body: { amount_sat: 1 + ((i + j) % 7) }, token: b.access_token, key: newKey() })));
    }

    const res = await fetchRaw("/v1/wallet/transactions.csv", b.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="transactions.csv"');
    const text = await res.text();
    expect(text.startsWith(`${HEADER.join(",")}\r\n`)).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(HEADER);
    expect(rows).toHaveLength(credits + memos.length); // three pages of 500 read from the wallet

    // The same rows, in the same order, as the JSON history.
    const json: any[] = [];
    for (let cursor: string | null = null; ; ) {
      const page: any = (await api("GET", `/v1/wallet/transactions?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: b.access_token })).json;
      json.push(...page.transactions);
      if (!(cursor = page.next_cursor)) break;
    }
    expect(rows.map((r) => r[0])).toEqual(json.map((t) => t.id));
    for (const row of rows) {
      expect(row).toHaveLength(HEADER.length);
      expect(row[3]).toMatch(/^\d+$/);
      expect(row[4]).toMatch(/^\d+$/);
    }
    const faucetRow = rows.find((r) => r[1] === "faucet")!;
    expect(faucetRow[7]).toBe("");
    expect(faucetRow[6]).toBe("");

    const byMemo = rows.filter((r) => r[1] === "intraledger").reverse(); // oldest first, as paid
    expect(byMemo.map((r) => r[7])).toEqual(["plain memo", "hello, world", 'say "hi"', "two\nlines", "cr\r\nlf", "'=1+2", "'+cmd", "'-5 sat back", "'@SUM(A1:A9)", "'\tTAB", "a=b is fine"]);
    expect(byMemo[0]!.slice(1, 7)).toEqual(["intraledger", "in", "3000", "0", "succeeded", a.username]);
    // The quoting on the wire.
    expect(text).toContain(`,"hello, world",`);
    expect(text).toContain(`,"say ""hi""",`);
    expect(text).toContain(`,"two\nlines",`);
    expect(text).toContain(`,'=1+2,`);
  });

  it("pulls pages as the reader reads: at most one page ahead of it", async () => {
    const asked: (string | null)[] = [];
    const tx = (n: number) => ({ id: `tx_${n}`, kind: "faucet" as const, direction: "in" as const, amount_msat: n * 1000, fee_msat: 0, status: "succeeded" as const, counterparty: null, memo: null, created_at: "2026-01-01T00:00:00.000Z" });
    const stream = transactionsCsv(async (cursor) => {
      asked.push(cursor);
      return cursor === null ? { transactions: [tx(3), tx(2)], next_cursor: "2" } : { transactions: [tx(1)], next_cursor: null };
    });
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toBe("id,kind,direction,amount_msat,fee_msat,status,counterparty,memo,created_at\r\n");
    expect(asked.length).toBeLessThanOrEqual(1);
    expect(decoder.decode((await reader.read()).value)).toBe("tx_3,faucet,in,3000,0,succeeded,,,2026-01-01T00:00:00.000Z\r\ntx_2,faucet,in,2000,0,succeeded,,,2026-01-01T00:00:00.000Z\r\n");
    expect(asked.length).toBeLessThanOrEqual(2);
    expect(decoder.decode((await reader.read()).value)).toContain("tx_1,");
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(asked).toEqual([null, "2"]);
    expect([csvField(null), csvField(0), csvField('a"b'), csvField("a\rb"), defuseFormula("-1"), defuseFormula("1-")]).toEqual(["", "0", '"a""b"', '"a\rb"', "'-1", "1-"]);
  });

  it("an empty history is the header alone; the export needs the read scope", async () => {
    const a = await createAccount("csv");
    const res = await fetchRaw("/v1/wallet/transactions.csv", a.access_token);
    expect(await res.text()).toBe(`${HEADER.join(",")}\r\n`);
    const receiveOnly = await apiKey(a, ["receive"]);
    expect((await fetchRaw("/v1/wallet/transactions.csv", receiveOnly.key)).status).toBe(403);
    expect((await api("GET", "/v1/wallet/transactions.csv")).status).toBe(401);
  });
});
