import { describe, expect, it } from "vitest";
import { ERROR_MESSAGE_MAX_LENGTH, boundedMessage } from "../src/errors";
import { lndhubFailure } from "../src/lndhub";
import { lnurlError } from "../src/lnurl";
import worker from "../workers/index";
import { api, auditOf, balanceOf, createAccount, fund, newKey, storedBooks, testEnv } from "./helpers";

describe("bad input gets a 4xx in the contract's shape and changes nothing", () => {
  it("payments: malformed JSON, wrong types, bad amounts, SQL-looking strings", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const before = await auditOf(a.wallet_id);
    const beforeB = await auditOf(b.wallet_id);
    const bodies: [string, string | object][] = [
      ["malformed JSON", "{not json"],
      ["truncated JSON", '{"to": "x", "amount_sat": 1'],
      ["array", "[1,2,3]"],
      ["null", "null"],
      ["empty", ""],
      ["amount as string", { to: b.username, amount_sat: "100" }],
      ["negative", { to: b.username, amount_sat: -100 }],
      ["zero", { to: b.username, amount_sat: 0 }],
      ["fractional", { to: b.username, amount_sat: 1.5 }],
      ["huge", { to: b.username, amount_sat: 1e30 }],
      ["above the per-payment bound", { to: b.username, amount_sat: 100_000_001 }],
      ["unsafe integer", { to: b.username, amount_sat: 2 ** 53 + 2 }],
      ["missing amount", { to: b.username }],
      ["missing to", { amount_sat: 1 }],
      ["to as number", { to: 42, amount_sat: 1 }],
      ["memo over 639 bytes", { to: b.username, amount_sat: 1, memo: "é".repeat(320) }],
      ["unknown field", { to: b.username, amount_sat: 1, amount_msat: 1 }],
    ];
    for (const [name, body] of bodies) {
      const r = await api("POST", "/v1/payments/intraledger", {
        raw: typeof body === "string" ? body : JSON.stringify(body),
        token: a.access_token,
        key: newKey(),
      });
      expect(r.status, name).toBe(400);
      expect(r.json.error.code, name).toBe("invalid_request");
      expect(typeof r.json.error.message, name).toBe("string");
    }
    for (const to of ["'; DROP TABLE entries; --", "bob' OR '1'='1", "wal_' UNION SELECT * FROM balances --"]) {
      const r = await api("POST", "/v1/payments/intraledger", { body: { to, amount_sat: 1, memo: "'); DELETE FROM events; --" }, token: a.access_token, key: newKey() });
      expect(r.status, to).toBeGreaterThanOrEqual(400);
      expect(r.status, to).toBeLessThan(500);
    }
    // A SQL-looking memo on a valid payment is stored as text, verbatim.
    const memo = "'); DELETE FROM events; --";
    const ok = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1, memo }, token: a.access_token, key: newKey() });
    expect(ok.json.transaction.memo).toBe(memo);
    const bad = { ...(await auditOf(a.wallet_id)) };
    expect(bad.balance_msat).toBe(before.balance_msat - 1000);
    expect(bad.event_count).toBe(before.event_count + 2);
    expect((await auditOf(b.wallet_id)).event_count).toBe(beforeB.event_count + 1);
  });

  it("bad idempotency keys and oversized bodies", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const before = await auditOf(a.wallet_id);
    const longKey = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1 }, token: a.access_token, key: "k".repeat(256) });
    expect(longKey.status).toBe(400);
    const big = JSON.stringify({ to: b.username, amount_sat: 1, memo: "x".repeat(70 * 1024) });
    const r = await api("POST", "/v1/payments/intraledger", { raw: big, token: a.access_token, key: newKey() });
    expect([r.status, r.json.error.code]).toEqual([413, "payload_too_large"]);
    const account = await api("POST", "/v1/accounts", { raw: JSON.stringify({ username: "big_body", password: "p".repeat(100_000) }) });
    expect(account.status).toBe(413);
    expect(storedBooks(await auditOf(a.wallet_id))).toEqual(storedBooks(before));
  });

  it("query parameters and unknown routes", async () => {
    const a = await createAccount("a");
    for (const q of ["limit=0", "limit=101", "limit=abc", "cursor=xyz", "cursor=1;DROP"]) {
      const r = await api("GET", `/v1/wallet/transactions?${q}`, { token: a.access_token });
      expect([r.status, r.json.error.code], q).toEqual([400, "invalid_request"]);
    }
    const missing = await api("GET", "/v1/nothing-here");
    expect([missing.status, missing.json.error.code]).toEqual([404, "not_found"]);
    const wrongType = await api("POST", "/v1/accounts", { raw: "username=x", headers: { "content-type": "text/plain" } });
    expect(wrongType.status).toBeGreaterThanOrEqual(400);
    expect(wrongType.status).toBeLessThan(500);
    expect(wrongType.json.error.code).toBeTruthy();
  });

  it("/dev/* is 404 in production", async () => {
    const a = await createAccount("a");
    const production = { ...testEnv, ENVIRONMENT: "production" };
    const r = await worker.fetch(
      new Request("http://hub.test/dev/faucet", {
        method: "POST",
        headers: { authorization: `Bearer ${a.access_token}`, "content-type": "application/json" },
        body: JSON.stringify({ amount_sat: 1000 }),
      }),
      production,
      {} as ExecutionContext,
    );
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error.code).toBe("not_found");
    expect((await auditOf(a.wallet_id)).balance_msat).toBe(0);
  });
});

describe("OpenAPI document", () => {
  it("describes every route from the validating schemas", async () => {
    const r = await api("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const paths = Object.keys(r.json.paths);
    for (const p of ["/v1/accounts", "/v1/auth/login", "/v1/auth/refresh", "/v1/api-keys", "/v1/api-keys/{id}", "/v1/wallet", "/v1/wallet/transactions", "/v1/payments/intraledger", "/v1/events", "/v1/events/stream", "/dev/faucet"]) {
      expect(paths, p).toContain(p);
    }
    const body = r.json.paths["/v1/payments/intraledger"].post.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(expect.arrayContaining(["to", "amount_sat"]));
    expect(body.properties.amount_sat.maximum).toBe(100_000_000);
    const headers = r.json.paths["/v1/payments/intraledger"].post.parameters.map((p: any) => p.name);
    expect(headers).toContain("idempotency-key");
  });
});

describe("text that is valid JSON but not valid Unicode", () => {
  it("a lone surrogate is refused everywhere, before it can be stored as U+FFFD", async () => {
    const a = await createAccount("u");
    const b = await createAccount("u");
    await fund(a, 100);
    const memo = "\\ud800".repeat(213); // 1,278 bytes of JSON escapes; 639 U+FFFD… bytes once decoded and re-encoded
    const raw = `{"to":"${b.username}","amount_sat":1,"memo":"${memo}"}`;
    const r = await api("POST", "/v1/payments/intraledger", { raw, token: a.access_token, key: newKey() });
    expect([r.status, r.json.error.code]).toEqual([400, "invalid_request"]);
    expect(r.json.error.message).toMatch(/well-formed Unicode/);
    const inv = await api("POST", "/v1/invoices", { raw: `{"amount_sat":1,"memo":"ok \\udc00 lone low"}`, token: a.access_token });
    expect(inv.status).toBe(400);
    const key = await api("POST", "/v1/invoices", { raw: `{"amount_sat":1,"metadata":{"\\ud83d":"key with half an emoji"}}`, token: a.access_token });
    expect(key.status).toBe(400);
    // A real pair (an emoji) is fine.
    expect((await api("POST", "/v1/invoices", { body: { amount_sat: 1, memo: "pizza 🍕" }, token: a.access_token })).status).toBe(201);
    expect(await balanceOf(a)).toBe(100_000);
  });
});

describe("hardening", () => {
  it("security headers on every answer, no-store when authenticated, CORS for browsers, 405 with Allow", async () => {
    const a = await createAccount("h");
    const res = await worker.fetch(new Request("http://hub.test/v1/wallet", { headers: { authorization: `Bearer ${a.access_token}` } }), testEnv, {} as ExecutionContext);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const health = await worker.fetch(new Request("http://hub.test/health"), testEnv, {} as ExecutionContext);
    expect(health.headers.get("x-content-type-options")).toBe("nosniff");
    expect(health.headers.get("cache-control")).toBeNull();
    const preflight = await worker.fetch(
      new Request("http://hub.test/v1/payments/intraledger", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, idempotency-key, content-type" } }),
      testEnv,
      {} as ExecutionContext,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    const wrong = await api("DELETE", "/v1/wallet", { token: a.access_token });
    expect([wrong.status, wrong.json.error.code]).toEqual([405, "method_not_allowed"]);
    const put = await worker.fetch(new Request("http://hub.test/v1/invoices", { method: "PUT" }), testEnv, {} as ExecutionContext);
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "HEAD", "POST"]);
    expect((await api("GET", "/v1/no-such-route", { token: a.access_token })).status).toBe(404);
  });
});

describe("validation speaks the user's language", () => {
  it("names the field and the rule, not the validator's wording", async () => {
    const a = await createAccount("v");
    const b = await createAccount("v");
    const pay = (body: unknown, key: string | null = newKey()) => api("POST", "/v1/payments/intraledger", { body, token: a.access_token, key: key ?? undefined });
    const message = async (p: Promise<{ status: number; json: any }>) => {
      const r = await p;
      expect(r.status).toBe(400);
      return r.json.error.message as string;
    };
    expect(await message(pay({ to: b.username, amount_sat: 1 }, null))).toBe("Idempotency-Key header is required");
    expect(await message(pay({ to: b.username, amount_sat: 100_000_001 }))).toBe("amount_sat must be at most 100,000,000");
    expect(await message(pay({ to: b.username, amount_sat: 0 }))).toBe("amount_sat must be more than 0");
    expect(await message(pay({ to: b.username, amount_sat: "5" }))).toBe("amount_sat must be a number");
    expect(await message(pay({ to: b.username, amount_sat: 1.5 }))).toBe("amount_sat must be a whole number");
    expect(await message(pay({ amount_sat: 5 }))).toBe("to is required");
    expect(await message(pay({ to: b.username, amount_sat: 5, tip: 1 }))).toBe('unknown field "tip"');
    expect(await message(api("GET", "/v1/wallet/transactions?limit=1000", { token: a.access_token }))).toBe("limit must be at most 100");
  });

  it("an error's message is cut at ERROR_MESSAGE_MAX_LENGTH, however many unknown fields a body names", async () => {
    const a = await createAccount("cut");
    // 60 KiB of unknown fields, each echoed in the message (before the cut: about 120 KB).
    const body: Record<string, unknown> = { to: "nobody_here", amount_sat: 1 };
    for (let i = 0; JSON.stringify(body).length < 60_000; i++) body[`f${i}`] = 1;
    const r = await api("POST", "/v1/payments/intraledger", { raw: JSON.stringify(body), token: a.access_token, key: newKey() });
    expect(r.status).toBe(400);
    const text = r.json.error.message as string;
    expect(text.startsWith('unknown fields "f0", "f1", ')).toBe(true);
    expect(text.length).toBe(ERROR_MESSAGE_MAX_LENGTH);
    expect(text.endsWith("…")).toBe(true);
    // LndHub's and the LUDs' errors are cut alike.
    expect(lndhubFailure(8, "x".repeat(5000)).body.message.length).toBe(ERROR_MESSAGE_MAX_LENGTH);
    expect(lnurlError("x".repeat(5000)).reason.length).toBe(ERROR_MESSAGE_MAX_LENGTH);
    expect(boundedMessage(`${"x".repeat(ERROR_MESSAGE_MAX_LENGTH - 2)}😀y`)).toBe(`${"x".repeat(ERROR_MESSAGE_MAX_LENGTH - 2)}…`);
    expect(boundedMessage("short")).toBe("short");
  });
});
