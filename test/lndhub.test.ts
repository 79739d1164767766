import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { NODE_INFO_TEXT_MAX, toNodeInfo } from "../src/lndhub";
import { createApp } from "../workers/app";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, testEnv, walletStub, type TestAccount } from "./helpers";

/** The LNDHub API (/lndhub/*, decision 0009) as BlueWallet, Zeus and Alby call it; test/node/ drives it with a real client. */

const sim = (path: string, body?: unknown) =>
  testEnv.LND_SIM!.fetch(`http://sim${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

afterEach(async () => {
  await sim("/sim/knobs", {});
});

async function sha256(hex: string): Promise<string> {
  const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
const bufferHex = (b: { type: string; data: number[] }) => {
  expect(b.type).toBe("Buffer");
  return b.data.map((x) => x.toString(16).padStart(2, "0")).join("");
};

interface Lndhub {
  login: string;
  password: string;
  secret: string;
  token: string;
}

/** An LNDHub credential of `a` (POST /v1/lndhub/credentials), logged in (POST /lndhub/auth). */
async function credentials(a: TestAccount, body: Record<string, unknown> = {}): Promise<Lndhub> {
  const r = await api("POST", "/v1/lndhub/credentials", { body, token: a.access_token });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  const auth = await api("POST", "/lndhub/auth?type=auth", { body: { login: r.json.login, password: r.json.password } });
  expect(auth.status, JSON.stringify(auth.json)).toBe(200);
  return { ...r.json, token: auth.json.access_token };
}

const hub = (h: Lndhub, method: string, path: string, body?: unknown) => api(method, `/lndhub${path}`, { token: h.token, body });
const badAuth = { error: true, code: 1 };

async function addInvoice(h: Lndhub, amt: number | string, memo = "lndhub test") {
  const r = await hub(h, "POST", "/addinvoice", { amt: String(amt), memo });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { payment_request: string; pay_req: string; payment_hash: string; r_hash: { type: string; data: number[] } };
}

async function outsideInvoice(amount_sat: number) {
  const r = await api("POST", "/dev/sim/invoices", { body: { amount_sat, memo: "outside" } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { payment_request: string; payment_hash: string };
}

async function conserved(...accounts: TestAccount[]) {
  expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));
}

describe("credentials", () => {
  it("exports a wallet as lndhub://login:password@<hub>/lndhub: an API key, logged in with /auth", async () => {
    const a = await createAccount("lh");
    const r = await api("POST", "/v1/lndhub/credentials", { body: {}, token: a.access_token });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: "LNDHub", scopes: ["read", "receive", "send"] });
    expect(r.json.login).toBe(r.json.id);
    expect(r.json.login).toMatch(/^key_[0-9a-f]{32}$/);
    expect(r.json.password).toMatch(/^fhk_/);
    expect(r.json.secret).toBe(`lndhub://${r.json.login}:${r.json.password}@http://hub.test/lndhub`);
    // It is one of the account's API keys.
    const keys = await api("GET", "/v1/api-keys", { token: a.access_token });
    expect(keys.json.api_keys.map((k: any) => k.id)).toContain(r.json.id);
    // No body at all is the same as {}; a name and narrower scopes are kept.
    const bare = await api("POST", "/v1/lndhub/credentials", { token: a.access_token });
    expect(bare.status, JSON.stringify(bare.json)).toBe(201);
    const named = await api("POST", "/v1/lndhub/credentials", { body: { name: "Zeus", scopes: ["read"] }, token: a.access_token });
    expect(named.json).toMatchObject({ name: "Zeus", scopes: ["read"] });

    const auth = await api("POST", "/lndhub/auth?type=auth", { body: { login: r.json.login, password: r.json.password } });
    expect(auth.status).toBe(200);
    expect(Object.keys(auth.json).sort()).toEqual(["access_token", "refresh_token"]);
    const balance = await api("GET", "/lndhub/balance", { token: auth.json.access_token });
    expect({ status: balance.status, json: balance.json }).toEqual({ status: 200, json: { BTC: { AvailableBalance: 0 } } });
    // ?type=refresh_token with the refresh token.
    const refreshed = await api("POST", "/lndhub/auth?type=refresh_token", { body: { refresh_token: auth.json.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect((await api("GET", "/lndhub/balance", { token: refreshed.json.access_token })).status).toBe(200);
  });

  it("the export route is the contract's: a login session only, contract errors", async () => {
    const a = await createAccount("lh");
    const key = await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["read", "send"] }, token: a.access_token });
    const byKey = await api("POST", "/v1/lndhub/credentials", { body: {}, token: key.json.key });
    expect(byKey.status).toBe(403);
    expect(byKey.json.error.code).toBe("forbidden");
    const bad = await api("POST", "/v1/lndhub/credentials", { body: { scopes: ["admin"] }, token: a.access_token });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
    expect((await api("POST", "/v1/lndhub/credentials", { body: {} })).json.error.code).toBe("unauthorized");
  });

  it("a wrong password, a wrong login or another account's key is bad auth (code 1)", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    const ca = await credentials(a);
    const cb = await credentials(b);
    for (const body of [
      { login: ca.login, password: ca.password.slice(0, -1) + (ca.password.endsWith("0") ? "1" : "0") },
      { login: ca.login, password: "not a key" },
      { login: cb.login, password: ca.password },
      { login: "nobody", password: "x" },
    ]) {
      const r = await api("POST", "/lndhub/auth?type=auth", { body });
      expect(r.status, JSON.stringify(body)).toBe(401);
      expect(r.json).toEqual({ error: true, code: 1, message: "bad auth" });
    }
    const refresh = await api("POST", "/lndhub/auth?type=refresh_token", { body: { refresh_token: "rt_nonsense" } });
    expect(refresh.json).toMatchObject(badAuth);
    // Neither login and password nor a refresh token: bad arguments.
    const none = await api("POST", "/lndhub/auth?type=auth", { body: { login: ca.login } });
    expect(none.status).toBe(400);
    expect(none.json).toMatchObject({ error: true, code: 8 });
    expect((await api("POST", "/lndhub/auth", { raw: "{not json" })).json).toMatchObject({ error: true, code: 8 });
  });

  it("accepts a form body, as some LndHub clients send", async () => {
    const a = await createAccount("lh");
    const c = await credentials(a);
    const form = new URLSearchParams({ login: c.login, password: c.password }).toString();
    const r = await api("POST", "/lndhub/auth", { raw: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.access_token).toBe(c.password);
  });

  it("every wallet route needs a token: none, a bad one, or garbage is code 1; a login session also works", async () => {
    const a = await createAccount("lh");
    for (const [method, path] of [
      ["GET", "/balance"],
      ["GET", "/gettxs"],
      ["GET", "/getuserinvoices"],
      ["GET", "/getinfo"],
      ["GET", "/decodeinvoice?invoice=x"],
      ["GET", `/checkpayment/${"00".repeat(32)}`],
      ["POST", "/addinvoice"],
      ["POST", "/payinvoice"],
      ["GET", "/getbtc"],
      ["GET", "/getpending"],
    ] as const) {
      const none = await api(method, `/lndhub${path}`, method === "POST" ? { body: {} } : {});
      expect(none.status, path).toBe(401);
      expect(none.json, path).toMatchObject(badAuth);
      const wrong = await api(method, `/lndhub${path}`, { token: `fhk_${a.account_id}_${"0".repeat(64)}` });
      expect(wrong.json, path).toMatchObject(badAuth);
    }
    expect((await api("GET", "/lndhub/balance", { token: a.access_token })).json).toEqual({ BTC: { AvailableBalance: 0 } });
  });

  it("scopes hold: a read-only credential cannot receive or pay, a receive-only one cannot pay", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(a, 10_000);
    const readOnly = await credentials(a, { scopes: ["read"] });
    const receiveOnly = await credentials(a, { scopes: ["read", "receive"] });
    const invoice = await addInvoice(await credentials(b), 100);

    expect((await hub(readOnly, "GET", "/balance")).json).toEqual({ BTC: { AvailableBalance: 10_000 } });
    const add = await hub(readOnly, "POST", "/addinvoice", { amt: "10" });
    expect(add.status).toBe(403);
    expect(add.json).toMatchObject({ error: true, code: 1 });
    expect(add.json.message).toMatch(/receive/);
    for (const h of [readOnly, receiveOnly]) {
      const pay = await hub(h, "POST", "/payinvoice", { invoice: invoice.payment_request });
      expect(pay.status).toBe(403);
      expect(pay.json).toMatchObject({ error: true, code: 1 });
      expect(pay.json.message).toMatch(/send/);
    }
    expect((await hub(receiveOnly, "POST", "/addinvoice", { amt: "10" })).status).toBe(200);
    expect(await balanceOf(a)).toBe(10_000_000);
  });

  it("revoking the API key ends the LNDHub login and its tokens at once", async () => {
    const a = await createAccount("lh");
    const c = await credentials(a);
    expect((await hub(c, "GET", "/balance")).status).toBe(200);
    const del = await api("DELETE", `/v1/api-keys/${c.login}`, { token: a.access_token });
    expect(del.status).toBe(200);
    expect((await hub(c, "GET", "/balance")).json).toMatchObject(badAuth);
    expect((await api("POST", "/lndhub/auth?type=auth", { body: { login: c.login, password: c.password } })).json).toMatchObject(badAuth);
    expect((await api("POST", "/lndhub/auth?type=refresh_token", { body: { refresh_token: c.token } })).json).toMatchObject(badAuth);
  });
});

describe("create", () => {
  it("POST /lndhub/create (BlueWallet's body) makes an account with a wallet; its login has every scope", async () => {
    const r = await api("POST", "/lndhub/create", { body: { partnerid: "bluewallet", accounttype: "common" } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(["login", "password"]);
    const auth = await api("POST", "/lndhub/auth?type=auth", { body: r.json });
    expect(auth.status).toBe(200);
    const h: Lndhub = { login: r.json.login, password: r.json.password, secret: "", token: auth.json.access_token };
    expect((await hub(h, "GET", "/balance")).json).toEqual({ BTC: { AvailableBalance: 0 } });
    const invoice = await addInvoice(h, 50);
    expect(invoice.payment_request).toMatch(/^lnbcrt/);
    // Two creates are two accounts.
    const other = await api("POST", "/lndhub/create", { body: {} });
    expect(other.json.login).not.toBe(r.json.login);
    // No body at all, as some clients send.
    expect((await api("POST", "/lndhub/create")).status).toBe(200);
  });

  it("refuses a partnerid that is not a string (bad arguments), and everything once the operator closes it (code 11)", async () => {
    const r = await api("POST", "/lndhub/create", { body: { partnerid: 42 } });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: true, code: 8 });
    const closed = await createApp().request("/lndhub/create", { method: "POST", body: "{}", headers: { "content-type": "application/json" } }, { ...testEnv, LNDHUB_CREATE: "closed" });
    expect(closed.status).toBe(403);
    expect(await closed.json()).toEqual({ error: true, code: 11, message: "This LNDHub instance is not accepting any more users" });
  });
});

describe("receiving", () => {
  it("addinvoice answers LndHub's fields; getuserinvoices lists it; checkpayment follows it", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(b, 5_000);
    const ha = await credentials(a);
    const hb = await credentials(b);

    const inv = await addInvoice(ha, "1500", "coffee");
    expect(inv.pay_req).toBe(inv.payment_request);
    expect(bufferHex(inv.r_hash)).toBe(inv.payment_hash);
    const decoded = await hub(ha, "GET", `/decodeinvoice?invoice=${inv.payment_request}`);
    expect(decoded.json).toMatchObject({ payment_hash: inv.payment_hash, num_satoshis: "1500", num_msat: "1500000", description: "coffee", expiry: "86400" });
    // A number works as well as a string; 0 lets the payer choose.
    const second = await hub(ha, "POST", "/addinvoice", { amt: 20 });
    expect(second.status).toBe(200);
    const any = await hub(ha, "POST", "/addinvoice", { amt: 0, memo: "tip" });
    expect((await hub(ha, "GET", `/decodeinvoice?invoice=${any.json.payment_request}`)).json.num_satoshis).toBe("0");

    const listed = await hub(ha, "GET", "/getuserinvoices");
    expect(listed.status).toBe(200);
    expect(listed.json.map((i: any) => i.payment_hash)).toEqual([inv.payment_hash, second.json.payment_hash, any.json.payment_hash]);
    const first = listed.json[0];
    expect(first).toMatchObject({
      payment_request: inv.payment_request,
      pay_req: inv.payment_request,
      description: "coffee",
      amt: 1500,
      ispaid: false,
      expire_time: 86400,
      type: "user_invoice",
      add_index: "1",
    });
    expect(bufferHex(first.r_hash)).toBe(inv.payment_hash);
    expect(Math.abs(first.timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(listed.json.map((i: any) => i.add_index)).toEqual(["1", "2", "3"]);
    // ?limit=N: the newest N.
    expect((await hub(ha, "GET", "/getuserinvoices?limit=1")).json.map((i: any) => i.payment_hash)).toEqual([any.json.payment_hash]);
    expect((await hub(ha, "GET", "/getuserinvoices?limit=abc")).json).toMatchObject({ error: true, code: 8 });

    expect((await hub(ha, "GET", `/checkpayment/${inv.payment_hash}`)).json).toEqual({ paid: false });
    const pay = await hub(hb, "POST", "/payinvoice", { invoice: inv.payment_request, amount: 0 });
    expect(pay.status, JSON.stringify(pay.json)).toBe(200);
    expect((await hub(ha, "GET", `/checkpayment/${inv.payment_hash}`)).json).toEqual({ paid: true });
    expect((await hub(ha, "GET", `/checkpayment/${inv.payment_hash.toUpperCase()}`)).json).toEqual({ paid: true });
    const after = (await hub(ha, "GET", "/getuserinvoices")).json[0];
    expect(after).toMatchObject({ ispaid: true, amt: 1500 });
    expect((await hub(ha, "GET", "/balance")).json).toEqual({ BTC: { AvailableBalance: 1500 } });

    // Only the caller's invoices: the payer does not see it; an unknown or malformed hash is bad arguments.
    expect((await hub(hb, "GET", `/checkpayment/${inv.payment_hash}`)).json).toMatchObject({ error: true, code: 8 });
    expect((await hub(ha, "GET", "/checkpayment/xyz")).json).toMatchObject({ error: true, code: 8 });
    await conserved(a, b);
  });

  it("an invoice paid from outside the hub reads as paid", async () => {
    const a = await createAccount("lh");
    const ha = await credentials(a);
    const inv = await addInvoice(ha, 700);
    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: inv.payment_request } });
    expect(paid.json.status).toBe("succeeded");
    expect((await hub(ha, "GET", `/checkpayment/${inv.payment_hash}`)).json).toEqual({ paid: true });
    expect((await hub(ha, "GET", "/balance")).json.BTC.AvailableBalance).toBe(700);
  });

  it("refuses a bad amount or memo with bad arguments (code 8)", async () => {
    const a = await createAccount("lh");
    const ha = await credentials(a);
    for (const body of [{}, { amt: "abc" }, { amt: -5 }, { amt: "1.5" }, { amt: 100_000_001 }, { amt: 10, memo: "x".repeat(700) }, { amt: 10, description_hash: "zz" }]) {
      const r = await hub(ha, "POST", "/addinvoice", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json, JSON.stringify(body)).toMatchObject({ error: true, code: 8 });
    }
  });
});

describe("paying", () => {
  it("pays another user's hub invoice inside the hub: LndHub's answer, balances, gettxs", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(a, 10_000);
    const ha = await credentials(a);
    const hb = await credentials(b);
    const inv = await addInvoice(hb, 2_500, "pizza");

    const r = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({
      payment_error: "",
      pay_req: inv.payment_request,
      payment_request: inv.payment_request,
      num_satoshis: 2500,
      description: "pizza",
      payment_route: { total_amt: 2500, total_fees: 0, total_amt_msat: 2_500_000, total_fees_msat: 0 },
      decoded: { payment_hash: inv.payment_hash, num_satoshis: "2500", description: "pizza" },
    });
    expect(bufferHex(r.json.payment_hash)).toBe(inv.payment_hash);
    expect(await sha256(bufferHex(r.json.payment_preimage))).toBe(inv.payment_hash);
    expect((await hub(ha, "GET", "/balance")).json).toEqual({ BTC: { AvailableBalance: 7_500 } });
    expect((await hub(hb, "GET", "/balance")).json).toEqual({ BTC: { AvailableBalance: 2_500 } });

    const txs = await hub(ha, "GET", "/gettxs?limit=10&offset=0");
    expect(txs.status).toBe(200);
    expect(txs.json).toHaveLength(1); // the faucet's credit is not a payment
    expect(txs.json[0]).toMatchObject({ type: "paid_invoice", value: 2500, fee: 0, memo: "pizza" });
    expect(Math.abs(txs.json[0].timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect((await hub(hb, "GET", "/gettxs")).json).toEqual([]);
    await conserved(a, b);
  });

  it("the same invoice asked again (even at once) is paid once, and answers the same", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(a, 10_000);
    const ha = await credentials(a);
    const hb = await credentials(b);
    const inv = await addInvoice(hb, 1_000);
    const answers = await Promise.all([1, 2, 3].map(() => hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request })));
    for (const r of answers) expect(r.status, JSON.stringify(r.json)).toBe(200);
    const again = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request.toUpperCase(), amount: 0 });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(new Set([...answers, again].map((r) => bufferHex(r.json.payment_preimage))).size).toBe(1);
    expect(await balanceOf(a)).toBe(9_000_000);
    expect(await balanceOf(b)).toBe(1_000_000);
    expect((await hub(ha, "GET", "/gettxs")).json).toHaveLength(1);
    await conserved(a, b);
  });

  it("an invoice without an amount takes `amount` (sat); without it, bad arguments", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(a, 10_000);
    const ha = await credentials(a);
    const inv = await addInvoice(await credentials(b), 0);
    const none = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request, amount: 0 });
    expect(none.status).toBe(400);
    expect(none.json).toMatchObject({ error: true, code: 8 });
    const r = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request, amount: "321" });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.num_satoshis).toBe(321);
    expect(await balanceOf(b)).toBe(321_000);
    // Another amount for the same invoice is not the same request.
    const other = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request, amount: 5 });
    expect(other.json).toMatchObject({ error: true, code: 8 });
    expect(await balanceOf(b)).toBe(321_000);
  });

  it("refusals in LndHub's codes: not enough balance 2, not a valid invoice 4, bad arguments 8", async () => {
    const a = await createAccount("lh");
    const b = await createAccount("lh");
    await fund(a, 100);
    const ha = await credentials(a);
    const inv = await addInvoice(await credentials(b), 5_000);
    const poor = await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request });
    expect(poor.status).toBe(400);
    expect(poor.json).toMatchObject({ error: true, code: 2 });
    expect(poor.json.message).toMatch(/^not enough balance/);
    for (const invoice of ["lnbc1garbage", "hello"]) {
      const r = await hub(ha, "POST", "/payinvoice", { invoice });
      expect(r.json, invoice).toMatchObject({ error: true, code: 4 });
    }
    expect((await hub(ha, "POST", "/payinvoice", {})).json).toMatchObject({ error: true, code: 8 });
    // Paying one's own invoice.
    const own = await addInvoice(ha, 10);
    expect((await hub(ha, "POST", "/payinvoice", { invoice: own.payment_request })).json).toMatchObject({ error: true, code: 8 });
    expect(await balanceOf(a)).toBe(100_000);
    // A refusal stores nothing: once funded, the same invoice pays.
    await fund(a, 10_000);
    expect((await hub(ha, "POST", "/payinvoice", { invoice: inv.payment_request })).status).toBe(200);
    await conserved(a, b);
  });

  it("pays an outside invoice through LND, with its fee in the answer and in gettxs", async () => {
    const a = await createAccount("lh");
    await fund(a, 100_000);
    const ha = await credentials(a);
    const out = await outsideInvoice(20_000);
    const r = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(await sha256(bufferHex(r.json.payment_preimage))).toBe(out.payment_hash);
    const fee = r.json.payment_route.total_fees_msat;
    expect(fee).toBeGreaterThan(0);
    expect(r.json.payment_route.total_amt_msat).toBe(20_000_000 + fee);
    const tx = (await hub(ha, "GET", "/gettxs")).json[0];
    expect(tx).toMatchObject({ type: "paid_invoice", fee: Math.ceil(fee / 1000), value: Math.ceil((20_000_000 + fee) / 1000) });
    await conserved(a);
  });

  it("a failed payment is code 10 and moves no money; asked again later, it is tried again", async () => {
    const a = await createAccount("lh");
    await fund(a, 10_000);
    const ha = await credentials(a);
    const out = await outsideInvoice(1_000);
    await sim("/sim/knobs", { no_route: true });
    const failed = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(failed.status).toBe(400);
    expect(failed.json).toMatchObject({ error: true, code: 10 });
    expect(failed.json.message).toMatch(/^Payment failed/);
    expect(await balanceOf(a)).toBe(10_000_000);
    expect((await hub(ha, "GET", "/gettxs")).json).toEqual([]);
    await sim("/sim/knobs", {});
    // Right away, the same failure is replayed (it is this request's retry)...
    expect((await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request })).json).toMatchObject({ code: 10 });
    // ...later, it is a new attempt, and it pays once.
    await new Promise((r) => setTimeout(r, 1100));
    const paid = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    const again = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(bufferHex(again.json.payment_preimage)).toBe(bufferHex(paid.json.payment_preimage));
    expect(await balanceOf(a)).toBe(10_000_000 - 1_000_000 - paid.json.payment_route.total_fees_msat);
    await conserved(a);
  });

  it("a payment still in flight is 503 code 9; asked again once it ended, it answers how (paid once)", async () => {
    const a = await createAccount("lh");
    await fund(a, 10_000);
    const ha = await credentials(a);
    await sim("/sim/knobs", { payment_in_flight_ms: 2500, payment_outcome: "succeed" });
    const out = await outsideInvoice(1_000);
    const pending = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(pending.status).toBe(503);
    expect(pending.json).toMatchObject({ error: true, code: 9 });
    await new Promise((r) => setTimeout(r, 2600));
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    const done = await hub(ha, "POST", "/payinvoice", { invoice: out.payment_request });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    expect(await sha256(bufferHex(done.json.payment_preimage))).toBe(out.payment_hash);
    expect(await balanceOf(a)).toBe(10_000_000 - 1_000_000 - done.json.payment_route.total_fees_msat);
    await conserved(a);
  });
});

describe("the rest of the API", () => {
  it("getinfo is LND's node info; decodeinvoice is LND's decodepayreq; getbtc and getpending are empty", async () => {
    const a = await createAccount("lh");
    const ha = await credentials(a);
    const info = await hub(ha, "GET", "/getinfo");
    expect(info.status).toBe(200);
    expect(info.json.identity_pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(info.json).toMatchObject({ testnet: true, chains: [{ chain: "bitcoin", network: "regtest" }] });

    const inv = await addInvoice(ha, 42, "decode me");
    const d = await hub(ha, "GET", `/decodeinvoice?invoice=${inv.payment_request}`);
    expect(d.json).toMatchObject({
      destination: info.json.identity_pubkey,
      payment_hash: inv.payment_hash,
      num_satoshis: "42",
      description: "decode me",
      description_hash: "",
      fallback_addr: "",
    });
    for (const k of ["timestamp", "expiry", "cltv_expiry", "num_msat"]) expect(typeof d.json[k], k).toBe("string");
    expect(d.json.features["14"]).toEqual({ name: "payment-addr", is_required: true, is_known: true });
    // The features and route hints as LND's own decodepayreq names them (the simulator's LND REST API).
    const lnd = (await (await sim(`/v1/payreq/${inv.payment_request}`)).json()) as any;
    expect(Object.keys(lnd.features).length).toBeGreaterThan(2);
    expect(d.json.features).toEqual(lnd.features);
    expect(d.json.route_hints).toEqual(lnd.route_hints);
    expect((await hub(ha, "GET", "/decodeinvoice")).json).toMatchObject({ error: true, code: 8 });
    expect((await hub(ha, "GET", "/decodeinvoice?invoice=lnbc1nope")).json).toMatchObject({ error: true, code: 4 });

    expect((await hub(ha, "GET", "/getbtc")).json).toEqual([]);
    expect((await hub(ha, "GET", "/getpending")).json).toEqual([]);
    const unknown = await hub(ha, "GET", "/keysend");
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: true, code: 8 });
  });

  it("getinfo passes on LND's text cut to the bounds the document gives it", () => {
    const node = {
      version: "0.18.3-beta commit=v0.18.3-beta",
      commit_hash: "",
      identity_pubkey: `02${"ab".repeat(32)}`,
      alias: "flash",
      color: "#000000",
      num_pending_channels: 0,
      num_active_channels: 3,
      num_inactive_channels: 0,
      num_peers: 4,
      block_height: 850_000,
      block_hash: "00".repeat(32),
      best_header_timestamp: 0,
      synced_to_chain: true,
      synced_to_graph: true,
      chains: [{ chain: "bitcoin", network: "mainnet" }],
      uris: [`02${"ab".repeat(32)}@node.example.com:9735`],
    };
    // As LND says it, when it is within the bounds.
    expect(toNodeInfo(node, false)).toEqual({
      identity_pubkey: node.identity_pubkey, alias: "flash", version: node.version, block_height: 850_000, block_hash: node.block_hash, synced_to_chain: true,
      testnet: false, chains: node.chains, uris: node.uris, num_active_channels: 3, num_peers: 4,
    });
    const long = toNodeInfo({ ...node, version: "v".repeat(10_000), alias: `${"a".repeat(31)}😀`, chains: [{ chain: "c".repeat(99), network: "n".repeat(99) }], uris: ["u".repeat(999)] }, true);
    expect(long.version).toBe("v".repeat(NODE_INFO_TEXT_MAX.version));
    expect(long.alias).toBe("a".repeat(31)); // not half an emoji
    expect(long.chains).toEqual([{ chain: "c".repeat(NODE_INFO_TEXT_MAX.chain), network: "n".repeat(NODE_INFO_TEXT_MAX.network) }]);
    expect(long.uris).toEqual(["u".repeat(NODE_INFO_TEXT_MAX.uri)]);
  });

  it("getinfo when LND cannot be reached: code 7", async () => {
    const a = await createAccount("lh");
    const ha = await credentials(a);
    await sim("/sim/knobs", { unreachable: true });
    const r = await hub(ha, "GET", "/getinfo");
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ error: true, code: 7 });
  });

  it("is described in /openapi.json", async () => {
    const doc = (await api("GET", "/openapi.json")).json;
    for (const p of ["/lndhub/create", "/lndhub/auth", "/lndhub/addinvoice", "/lndhub/payinvoice", "/lndhub/balance", "/lndhub/gettxs", "/lndhub/getuserinvoices", "/lndhub/checkpayment/{payment_hash}", "/lndhub/getinfo", "/lndhub/decodeinvoice", "/v1/lndhub/credentials"]) {
      expect(Object.keys(doc.paths), p).toContain(p);
    }
    expect(doc.paths["/lndhub/payinvoice"].post.security).toEqual([{ Bearer: [] }]);
    expect(doc.paths["/lndhub/create"].post.security).toEqual([]); // public, said so (issue 13)
    expect(doc.paths["/v1/lndhub/credentials"].post.responses["201"]).toBeDefined();
  });
});
