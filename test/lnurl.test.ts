import { exports } from "cloudflare:workers";
import { bech32 } from "@scure/base";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeInvoice } from "../src/bolt11";
import { sha256Hex, sha256HexOfBytes, toHex } from "../src/hash";
import { hexToBytes } from "../src/lightning/bytes";
import { decodeLnurl, encodeLnurl, parseLightningAddress } from "../src/lnurl";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, waitFor, walletStub, type TestAccount, simLnd as lnd } from "./helpers";

// ── The world outside the hub, for these tests ────────────────────────────────
//
// The hub fetches other LNURL servers with the global fetch. In tests that goes to the test
// world's outbound service (test/outside-world.ts: nothing lives there but webhook receivers, so
// any LNURL host answers a 404 text page). The LNURL servers these tests need are hosts served by a
// handler below, installed over the global fetch (the hub runs in this isolate); every other host
// still reaches the outbound service. `remote.test` is the hub itself under another name: a real
// LNURL-pay server whose invoices the hub can pay.

type Server = (url: URL) => Response | Promise<Response>;
const servers = new Map<string, Server>();
const fetched: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(() => {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    fetched.push(url.href);
    const server = servers.get(url.host);
    return server ? server(url) : realFetch(input, init);
  });
});
afterAll(() => vi.restoreAllMocks());
afterEach(() => servers.clear());

/** The hub's own fetch handler at any URL (as `hub.test`, or `remote.test` playing another server). */
const hubFetch = (url: string) => (exports as any).default.fetch(url) as Promise<Response>;
const serveJson = (json: unknown, status = 200) => () => Response.json(json, { status });


async function raw(path: string) {
  const res = await hubFetch(`http://hub.test${path}`);
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const metadataOf = (username: string, host = "hub.test") =>
  JSON.stringify([
    ["text/plain", `Pay ${username} on Flash`],
    ["text/identifier", `${username.toLowerCase()}@${host}`],
  ]);

const payLnurl = (a: TestAccount, body: Record<string, unknown>, key = newKey()) => api("POST", "/v1/payments/lnurl", { body, token: a.access_token, key });

async function invoicesOf(a: TestAccount): Promise<any[]> {
  return (await api("GET", "/v1/invoices", { token: a.access_token })).json.invoices;
}

/** The payer's comment as the payee reads it with the invoice. */
const commentOf = async (a: TestAccount, payment_hash: string) =>
  (await api("GET", `/v1/invoices/${payment_hash}`, { token: a.access_token })).json.comment as string | null;

async function conserved(...accounts: TestAccount[]) {
  expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));
}

/** A payer with 10,000 sat and a payee whose name has capitals (addresses are lower case). */
async function pair(): Promise<{ payer: TestAccount; payee: TestAccount; address: string }> {
  const [payer, payee] = await Promise.all([createAccount("Payer"), createAccount("Payee")]);
  await fund(payer, 10_000);
  return { payer, payee, address: `${payee.username.toLowerCase()}@hub.test` };
}

// ── The payee's side: Lightning Address, payRequest, callback, LUD-21 ───────

describe("a hub user's Lightning Address (LUD-16, LUD-06)", () => {
  it("the well-known payRequest: callback, bounds, comment length, metadata naming the address", async () => {
    const a = await createAccount("Addr");
    const lower = a.username.toLowerCase();
    for (const spelling of [a.username, lower, a.username.toUpperCase()]) {
      const r = await raw(`/.well-known/lnurlp/${spelling}`);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.headers.get("access-control-allow-origin")).toBe("*");
      expect(r.json).toEqual({
        tag: "payRequest",
        callback: `http://hub.test/lnurlp/${lower}/callback`,
        minSendable: 1000,
        maxSendable: 100_000_000_000,
        metadata: metadataOf(a.username),
        commentAllowed: 255,
      });
    }
    // The address the profile shows is the metadata's identifier.
    const profile = await api("GET", `/v1/users/${a.username}`, { token: a.access_token });
    expect(JSON.parse(metadataOf(a.username))[1][1]).toBe(profile.json.lightning_address);
  });

  it("an unknown or impossible name: the LUDs' error with 404", async () => {
    for (const name of ["nobody_here_at_all", "a", "x".repeat(40), "bad%20name"]) {
      const r = await raw(`/.well-known/lnurlp/${name}`);
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ status: "ERROR", reason: expect.any(String) });
    }
  });
});

describe("the callback", () => {
  it("issues an invoice of exactly the amount asked, committed to SHA-256 of the metadata, with LUD-21 verify", async () => {
    const a = await createAccount("Cb");
    const lower = a.username.toLowerCase();
    const payRequest = (await raw(`/.well-known/lnurlp/${lower}`)).json;
    // Not a whole number of sat: LNURL amounts are msat.
    const r = await hubFetch(`${payRequest.callback}?amount=123456`);
    expect(r.status).toBe(200);
    const answer = (await r.json()) as any;
    const invoice = decodeInvoice(answer.pr);
    expect(invoice).toMatchObject({ network: "regtest", amount_msat: 123_456, description: null });
    expect(invoice.description_hash).toBe(await sha256Hex(payRequest.metadata));
    expect(answer.routes).toEqual([]);
    expect(answer.verify).toBe(`http://hub.test/lnurlp/${lower}/verify/${invoice.payment_hash}`);
    // It is the user's invoice.
    const mine = await api("GET", `/v1/invoices/${invoice.payment_hash}`, { token: a.access_token });
    expect(mine.json).toMatchObject({ status: "open", amount_msat: 123_456, payment_request: answer.pr, memo: `Pay ${a.username} on Flash` });
  });

  it("keeps the payer's comment (LUD-12): up to 255 characters, counted as characters", async () => {
    const a = await createAccount("Cm");
    const callback = `http://hub.test/lnurlp/${a.username.toLowerCase()}/callback`;
    const longest = "☕".repeat(200) + "x".repeat(55); // 255 characters, 655 bytes
    for (const comment of ["thanks for the coffee ☕ & more", longest]) {
      const r = await hubFetch(`${callback}?amount=5000&comment=${encodeURIComponent(comment)}`);
      expect(r.status).toBe(200);
      const { payment_hash } = decodeInvoice(((await r.json()) as any).pr);
      expect(await commentOf(a, payment_hash)).toBe(comment);
    }
    const tooLong = await hubFetch(`${callback}?amount=5000&comment=${encodeURIComponent(longest + "!")}`);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({ status: "ERROR", reason: expect.stringMatching(/255/) });
    expect(await invoicesOf(a)).toHaveLength(2);
  });

  it("refuses amounts out of range or not whole msat, and unknown users, in the LUDs' shape; nothing is issued", async () => {
    const a = await createAccount("Rf");
    const callback = `/lnurlp/${a.username.toLowerCase()}/callback`;
    for (const query of ["amount=999", "amount=0", "amount=100000000001", "amount=1.5", "amount=-1000", "amount=abc", "amount=", ""]) {
      const r = await raw(`${callback}?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json, query).toEqual({ status: "ERROR", reason: expect.any(String) });
    }
    expect((await raw(`${callback}?amount=1000`)).status).toBe(200);
    expect((await raw(`${callback}?amount=100000000000`)).status).toBe(200);
    const unknown = await raw(`/lnurlp/nobody_here_at_all/callback?amount=1000`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.status).toBe("ERROR");
    expect(await invoicesOf(a)).toHaveLength(2);
  });

  it("LUD-21: unpaid without a preimage, then paid from outside with the preimage", async () => {
    const a = await createAccount("Vf");
    const answer = (await raw(`/lnurlp/${a.username.toLowerCase()}/callback?amount=21000`)).json;
    const before = await hubFetch(answer.verify);
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({ status: "OK", settled: false, preimage: null, pr: answer.pr });

    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: answer.pr } });
    expect(paid.json.status, JSON.stringify(paid.json)).toBe("succeeded");
    const after = (await (await hubFetch(answer.verify)).json()) as any;
    expect(after).toEqual({ status: "OK", settled: true, preimage: paid.json.preimage, pr: answer.pr });
    expect(await sha256HexOfBytes(hexToBytes(after.preimage))).toBe(decodeInvoice(answer.pr).payment_hash);
    expect(await balanceOf(a)).toBe(21_000);
  });

  it("LUD-21 answers only for the address's LNURL invoices", async () => {
    const [a, b] = await Promise.all([createAccount("Vo"), createAccount("Vo")]);
    const hash = decodeInvoice((await raw(`/lnurlp/${a.username.toLowerCase()}/callback?amount=1000`)).json.pr).payment_hash;
    const plain = await api("POST", "/v1/invoices", { body: { amount_sat: 1 }, token: a.access_token });
    const cases: [string, number][] = [
      [`/lnurlp/${a.username.toLowerCase()}/verify/${hash}`, 200],
      [`/lnurlp/${a.username.toLowerCase()}/verify/${"0".repeat(64)}`, 404],
      [`/lnurlp/${a.username.toLowerCase()}/verify/${plain.json.payment_hash}`, 404], // not an LNURL invoice
      [`/lnurlp/${b.username.toLowerCase()}/verify/${hash}`, 404], // another user's
      [`/lnurlp/nobody_here_at_all/verify/${hash}`, 404],
      [`/lnurlp/${a.username.toLowerCase()}/verify/not-a-hash`, 400],
    ];
    for (const [path, status] of cases) {
      const r = await raw(path);
      expect(r.status, path).toBe(status);
      if (status !== 200) expect(r.json, path).toEqual({ status: "ERROR", reason: expect.any(String) });
    }
  });
});

// ── An independent client ───────────────────────────────────────────────────
//
// The npm package lnurl-pay cannot be loaded inside workerd: its BOLT 11 decoder (bolt11 1.4)
// requires secp256k1 4, whose `require('elliptic')` the vitest pool's module fallback resolves to
// secp256k1's own sibling file lib/elliptic.js (a bare name taken as a relative path when such a
// file exists), so the import fails with "EC is not a constructor". This is the smallest honest
// stand-in: the LUD-06/16 steps lnurl-pay takes, written from the LUDs, reading the invoice's
// fields itself (not with the hub's BOLT 11 decoder) and hashing with WebCrypto (the hub uses @noble).

/** msat per unit of an amount with each multiplier (p: a tenth of a msat, so it divides). */
const MULTIPLIER_MSAT: Record<string, (n: number) => number> = { m: (n) => n * 1e8, u: (n) => n * 1e5, n: (n) => n * 100, p: (n) => n / 10 };

/** The amount, payment hash and description hash of a BOLT 11 invoice, read field by field. */
function readInvoice(pr: string): { amount_msat: number | null; payment_hash: string; description_hash: string | null } {
  const { prefix, words } = bech32.decode(pr as `${string}1${string}`, 8192);
  const hrp = /^ln(?:bcrt|bc|tbs|tb|sb)(\d+)?([munp])?$/.exec(prefix);
  if (!hrp) throw new Error(`not an invoice prefix: ${prefix}`);
  const amount_msat = hrp[1] === undefined ? null : hrp[2] ? MULTIPLIER_MSAT[hrp[2]]!(Number(hrp[1])) : Number(hrp[1]) * 1e11;
  const fields = new Map<number, number[]>();
  for (let i = 7; i < words.length - 104; ) {
    const length = words[i + 1]! * 32 + words[i + 2]!;
    fields.set(words[i]!, words.slice(i + 3, i + 3 + length));
    i += 3 + length;
  }
  const hex = (w: number[] | undefined) => (w ? toHex(new Uint8Array(bech32.fromWords(w))) : null);
  return { amount_msat, payment_hash: hex(fields.get(1))!, description_hash: hex(fields.get(23)) };
}

/** What a wallet does with a Lightning Address or LNURL (LUD-01, 06, 12, 16), checking the hub's answers. */
async function requestInvoice(opts: { lnUrlOrAddress: string; tokens: number; comment?: string; fetchGet: (url: string) => Promise<any> }) {
  const at = opts.lnUrlOrAddress.split("@");
  const url =
    at.length === 2
      ? `https://${at[1]}/.well-known/lnurlp/${at[0]}`
      : new TextDecoder().decode(new Uint8Array(bech32.fromWords(bech32.decode(opts.lnUrlOrAddress.toLowerCase() as `${string}1${string}`, 2000).words)));
  const params = await opts.fetchGet(url);
  if (params.tag !== "payRequest") throw new Error("not a payRequest");
  if (opts.tokens * 1000 < params.minSendable || opts.tokens * 1000 > params.maxSendable) throw new Error("Invalid amount");
  if (opts.comment && opts.comment.length > params.commentAllowed) throw new Error("comment too long");
  const metadataHash = toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(params.metadata)));
  const callback = new URL(params.callback);
  callback.searchParams.set("amount", String(opts.tokens * 1000));
  if (opts.comment) callback.searchParams.set("comment", opts.comment);
  const data = await opts.fetchGet(callback.href);
  const invoice = readInvoice(data.pr);
  return {
    params,
    invoice: data.pr as string,
    verify: data.verify as string,
    hasValidDescriptionHash: invoice.description_hash === metadataHash,
    hasValidAmount: invoice.amount_msat === opts.tokens * 1000,
    payment_hash: invoice.payment_hash,
  };
}

const fetchGet = async (url: string): Promise<any> => (await hubFetch(url)).json();

describe("an independent LNURL-pay client against the hub", () => {
  it("resolves user@hub.test, gets an invoice whose amount and description hash it verifies, pays it from outside, verifies the preimage", async () => {
    const a = await createAccount("Cl");
    const lower = a.username.toLowerCase();
    const got = await requestInvoice({ lnUrlOrAddress: `${lower}@hub.test`, tokens: 1234, comment: "from a wallet app", fetchGet });
    expect(got.params.callback).toBe(`https://hub.test/lnurlp/${lower}/callback`);
    expect(JSON.parse(got.params.metadata)).toEqual([
      ["text/plain", `Pay ${a.username} on Flash`],
      ["text/identifier", `${lower}@hub.test`],
    ]);
    expect(got.hasValidAmount).toBe(true);
    expect(got.hasValidDescriptionHash).toBe(true);
    expect(await commentOf(a, got.payment_hash)).toBe("from a wallet app");

    const paid = await api("POST", "/dev/sim/pay", { body: { payment_request: got.invoice } });
    expect(paid.json.status).toBe("succeeded");
    const verified = (await fetchGet(got.verify)) as any;
    expect(verified.settled).toBe(true);
    expect(await sha256HexOfBytes(hexToBytes(verified.preimage))).toBe(got.payment_hash);
  });

  it("the same through the bech32 LNURL of the address", async () => {
    const a = await createAccount("Cl");
    const url = `https://hub.test/.well-known/lnurlp/${a.username.toLowerCase()}`;
    const lnurl = bech32.encode("lnurl", bech32.toWords(new TextEncoder().encode(url)), 2000);
    expect(encodeLnurl(url)).toBe(lnurl);
    expect(decodeLnurl(lnurl.toUpperCase()).href).toBe(url);
    const got = await requestInvoice({ lnUrlOrAddress: lnurl.toUpperCase(), tokens: 1, fetchGet });
    expect(got.hasValidAmount && got.hasValidDescriptionHash).toBe(true);
  });
});

// ── The payer's side: POST /v1/payments/lnurl ────────────────────────────────

describe("paying an address of this hub", () => {
  it("is paid inside the hub: no HTTP fetch, no LND payment, no fee; the payee's invoice paid with the comment", async () => {
    const { payer, payee, address } = await pair();
    const fetchesBefore = fetched.length;
    const p = await payLnurl(payer, { destination: address, amount_sat: 2100, comment: "lunch" });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json).toMatchObject({ status: "succeeded", amount_msat: 2_100_000, fee_msat: 0 });
    expect(p.json.transaction).toMatchObject({ kind: "lightning", direction: "out", status: "succeeded", counterparty: { wallet_id: payee.wallet_id } });
    expect(await sha256HexOfBytes(hexToBytes(p.json.preimage))).toBe(p.json.payment_hash);
    expect(fetched.length).toBe(fetchesBefore);

    expect(await balanceOf(payer)).toBe(10_000_000 - 2_100_000);
    expect(await balanceOf(payee)).toBe(2_100_000);
    const [invoice] = await invoicesOf(payee);
    expect(invoice).toMatchObject({ payment_hash: p.json.payment_hash, status: "paid", paid_msat: 2_100_000 });
    expect(decodeInvoice(invoice.payment_request).description_hash).toBe(await sha256Hex(metadataOf(payee.username)));
    expect(await commentOf(payee, p.json.payment_hash)).toBe("lunch");
    // LND never sent it; the hold invoice it knew is canceled (paid inside the hub).
    await expect(lnd.trackPayment(p.json.payment_hash).next()).rejects.toMatchObject({ code: 5 });
    await waitFor(async () => (await lnd.lookupInvoice(p.json.payment_hash)).state === "CANCELED", "the hold invoice canceled in LND");
    await conserved(payer, payee);
  });

  it("by its bech32 LNURL too (either case, with or without lightning:)", async () => {
    const { payer, payee } = await pair();
    const lnurl = encodeLnurl(`https://hub.test/.well-known/lnurlp/${payee.username}`);
    for (const destination of [lnurl, `lightning:${lnurl.toUpperCase()}`]) {
      const p = await payLnurl(payer, { destination, amount_sat: 100 });
      expect(p.status, JSON.stringify(p.json)).toBe(200);
      expect(p.json).toMatchObject({ status: "succeeded", fee_msat: 0 });
    }
    expect(await balanceOf(payee)).toBe(200_000);
    await conserved(payer, payee);
  });

  it("is idempotent: the same key replays the same payment and moves nothing twice; the same key with another body is 409", async () => {
    const { payer, payee, address } = await pair();
    const key = newKey();
    const first = await payLnurl(payer, { destination: address, amount_sat: 500 }, key);
    expect(first.json.status).toBe("succeeded");
    const replays = await Promise.all([1, 2, 3].map(() => payLnurl(payer, { destination: address, amount_sat: 500 }, key)));
    for (const replay of replays) {
      expect(replay.status).toBe(200);
      expect(replay.json).toEqual(first.json);
    }
    expect(await balanceOf(payer)).toBe(10_000_000 - 500_000);
    expect(await balanceOf(payee)).toBe(500_000);
    expect((await invoicesOf(payee)).filter((i) => i.status === "paid")).toHaveLength(1);

    for (const other of [{ destination: address, amount_sat: 501 }, { destination: address, amount_sat: 500, comment: "hi" }]) {
      const conflict = await payLnurl(payer, other, key);
      expect(conflict.status).toBe(409);
      expect(conflict.json.error.code).toBe("idempotency_conflict");
    }
    expect(await balanceOf(payer)).toBe(10_000_000 - 500_000);
    await conserved(payer, payee);
  });

  it("refuses an unknown user, itself, a comment over 255 characters and a balance too low; nothing moved, no invoice left", async () => {
    const { payer, payee, address } = await pair();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ destination: "nobody_here_at_all@hub.test", amount_sat: 10 }, 404, "unknown_recipient"],
      [{ destination: "a@hub.test", amount_sat: 10 }, 404, "unknown_recipient"],
      [{ destination: `${payer.username}@hub.test`, amount_sat: 10 }, 422, "self_payment"],
      [{ destination: address, amount_sat: 10, comment: "x".repeat(256) }, 400, "invalid_request"],
      [{ destination: address, amount_sat: 20_000 }, 422, "insufficient_balance"],
    ];
    for (const [body, status, code] of cases) {
      const r = await payLnurl(payer, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.error.code).toBe(code);
    }
    expect(await balanceOf(payer)).toBe(10_000_000);
    expect(await balanceOf(payee)).toBe(0);
    // Only the payment the payer could not afford got as far as an invoice (never paid).
    expect((await invoicesOf(payee)).map((i) => i.status)).toEqual(["open"]);
    expect(await invoicesOf(payer)).toEqual([]);
    await conserved(payer, payee);
  });
});

describe("bad input", () => {
  it("malformed destinations and bodies: 400; a credential that cannot send: 403; no key: 400", async () => {
    const { payer } = await pair();
    const wrongPrefix = bech32.encode("lnurx", bech32.toWords(new TextEncoder().encode("https://x.test/")), 2000);
    const destinations = [
      "not an address",
      "alice@",
      "@hub.test",
      "alice@hub..test",
      "al ice@hub.test",
      "alice@hub.test:99999",
      "lnurl1qqqqqqqqqqqq", // bad checksum
      wrongPrefix,
      "lnurl1" + "q".repeat(2100),
      encodeLnurl("http://example.com/.well-known/lnurlp/alice"), // not https
      encodeLnurl("https://10.0.0.1/.well-known/lnurlp/alice"), // private
      encodeLnurl("https://user:pw@example.com/lnurlp"), // credentials
      encodeLnurl("https://hub.test/somewhere/else"), // this hub, not its payRequest
      "alice@192.168.1.1",
      "alice@localhost.localdomain",
    ];
    for (const destination of destinations) {
      const r = await payLnurl(payer, { destination, amount_sat: 10 });
      expect(r.status, destination).toBe(400);
      expect(r.json.error.code, destination).toBe("invalid_request");
    }
    for (const body of [{ destination: "a@b.test" }, { destination: "a@b.test", amount_sat: 0 }, { destination: "a@b.test", amount_sat: 100_000_001 }, { destination: "a@b.test", amount_sat: 1, extra: 1 }]) {
      expect((await payLnurl(payer, body)).status, JSON.stringify(body)).toBe(400);
    }
    const noKey = await api("POST", "/v1/payments/lnurl", { body: { destination: "a@b.test", amount_sat: 1 }, token: payer.access_token });
    expect(noKey.status).toBe(400);
    const readKey = await api("POST", "/v1/api-keys", { body: { name: "r", scopes: ["read", "receive"] }, token: payer.access_token });
    const forbidden = await api("POST", "/v1/payments/lnurl", { body: { destination: "a@b.test", amount_sat: 1 }, token: readKey.json.key, key: newKey() });
    expect(forbidden.status).toBe(403);
    expect(await balanceOf(payer)).toBe(10_000_000);
  });

  it("every LNURL route is in /openapi.json", async () => {
    const paths = (await api("GET", "/openapi.json")).json.paths;
    for (const path of ["/.well-known/lnurlp/{username}", "/lnurlp/{username}/callback", "/lnurlp/{username}/verify/{payment_hash}", "/v1/payments/lnurl"]) expect(paths, path).toHaveProperty([path]);
    expect(paths["/v1/payments/lnurl"].post.parameters.map((p: any) => p.name)).toContain("idempotency-key");
  });

  it("the helpers: addresses and LNURLs", () => {
    expect(parseLightningAddress("Alice@Hub.Example.COM")).toEqual({ username: "alice", domain: "hub.example.com" });
    expect(parseLightningAddress("a.b+c-d_e@127.0.0.1:8787")).toEqual({ username: "a.b+c-d_e", domain: "127.0.0.1:8787" });
    for (const bad of ["alice", "alice@", "@x.test", "a@b@", "a@-x.test", "a@x.test:0", "a b@x.test"]) expect(parseLightningAddress(bad), bad).toBeNull();
    // LUD-01's example.
    const example = "LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS";
    expect(decodeLnurl(example).href).toBe("https://service.com/api?q=3fc3645b439ce8e7f2553a69e5267081d96dcd340693afabe04be7b0ccd178df");
    expect(() => decodeLnurl("LNURL1dp68gurn8ghj7um9wfmxjcm99e3k7mf0v9cxj0m385ekvcenxc6r2c35xvukxefcv5mkvv34x5ekzd3ev56nyd3hxqurzepexejxxepnxscrvwfnv9nxzcn9xq6xyefhvgcxxcmyxymnserxfq5fns")).toThrow();
  });
});

// ── Paying another LNURL server ───────────────────────────────────────────────

describe("paying an outside LNURL server", () => {
  it("fetches its payRequest and callback, checks the invoice, pays it (here: the hub itself as remote.test)", async () => {
    const { payer, payee } = await pair();
    const asked: string[] = [];
    servers.set("remote.test", (url) => {
      asked.push(url.pathname + url.search);
      return hubFetch(url.href);
    });
    const lower = payee.username.toLowerCase();
    const body = { destination: `${lower}@remote.test`, amount_sat: 777, comment: "from afar" };
    const key = newKey();
    const p = await payLnurl(payer, body, key);
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json).toMatchObject({ status: "succeeded", amount_msat: 777_000 });
    expect(asked).toEqual([`/.well-known/lnurlp/${lower}`, `/lnurlp/${lower}/callback?amount=777000&comment=from+afar`]);
    expect(await balanceOf(payer)).toBe(10_000_000 - 777_000);
    expect(await balanceOf(payee)).toBe(777_000);
    const [invoice] = await invoicesOf(payee);
    // Committed to remote.test's metadata, as that server said.
    expect(decodeInvoice(invoice.payment_request).description_hash).toBe(await sha256Hex(metadataOf(payee.username, "remote.test")));
    expect(await commentOf(payee, invoice.payment_hash)).toBe("from afar");

    // A replay is answered by the payer's wallet from what it stored: the server is not asked again.
    const replay = await payLnurl(payer, body, key);
    expect(replay.json).toEqual(p.json);
    expect(asked).toHaveLength(2);
    expect(await balanceOf(payer)).toBe(10_000_000 - 777_000);
    expect(await balanceOf(payee)).toBe(777_000);
    await conserved(payer, payee);
  });

  it("an outside server's bad answers are refused before anything is paid", async () => {
    const { payer, payee } = await pair();
    const lower = payee.username.toLowerCase();
    const goodPayRequest = async () => (await hubFetch(`https://remote.test/.well-known/lnurlp/${lower}`)).json() as Promise<any>;
    const pr = await goodPayRequest();
    const metadata = pr.metadata as string;
    /** A hub invoice of the payee: the right amount and hash unless told otherwise. */
    const invoice = async (amount_msat: number | null, description_hash: string | null) => {
      const created = await walletStub(payee.wallet_id).createInvoice({ amount_msat, memo: "other", expiry_s: 600, description_hash });
      if (!created.ok) throw new Error(created.message);
      return (created.body as any).payment_request as string;
    };
    const rightHash = await sha256Hex(metadata);
    const callbackAnswering = (answer: () => Promise<unknown>) => async (url: URL) =>
      url.pathname.includes("callback") ? Response.json(await answer()) : Response.json({ ...pr, callback: `https://bad.test/lnurlp/${lower}/callback` });

    const cases: [string, Server, number, string, RegExp][] = [
      ["garbage", () => new Response("<html>hello</html>", { headers: { "content-type": "text/html" } }), 400, "invalid_request", /did not answer JSON/],
      ["ERROR", serveJson({ status: "ERROR", reason: "the shop is closed" }, 400), 400, "invalid_request", /the shop is closed/],
      ["not a payRequest", serveJson({ ...pr, tag: "withdrawRequest" }), 400, "invalid_request", /tag/],
      ["bounds inverted", serveJson({ ...pr, minSendable: 10_000, maxSendable: 1000 }), 400, "invalid_request", /minSendable/],
      ["amount below its minimum", serveJson({ ...pr, minSendable: 1_000_000 }), 400, "invalid_request", /1000000/],
      ["no comments taken", serveJson({ ...pr, commentAllowed: undefined }), 400, "invalid_request", /no comment/],
      ["metadata without text/plain", serveJson({ ...pr, metadata: "[]" }), 400, "invalid_request", /metadata/],
      ["callback to a private host", serveJson({ ...pr, callback: "https://192.168.0.1/cb" }), 400, "invalid_request", /private/],
      ["callback ERROR", callbackAnswering(async () => ({ status: "ERROR", reason: "out of stock" })), 400, "invalid_request", /out of stock/],
      ["callback garbage", callbackAnswering(async () => ({ hello: "world" })), 400, "invalid_request", /pr/],
      ["not an invoice", callbackAnswering(async () => ({ pr: "lnbc1notaninvoice", routes: [] })), 400, "invalid_payment_request", /bech32/],
      ["wrong description hash", callbackAnswering(async () => ({ pr: await invoice(100_000, await sha256Hex("something else")), routes: [] })), 400, "invalid_payment_request", /description hash/],
      ["a memo, no hash", callbackAnswering(async () => ({ pr: await invoice(100_000, null), routes: [] })), 400, "invalid_payment_request", /description hash/],
      ["wrong amount", callbackAnswering(async () => ({ pr: await invoice(101_000, rightHash), routes: [] })), 400, "invalid_payment_request", /101000/],
      ["no amount", callbackAnswering(async () => ({ pr: await invoice(null, rightHash), routes: [] })), 400, "invalid_payment_request", /no fixed/],
      ["redirect", () => new Response(null, { status: 302, headers: { location: `https://remote.test/.well-known/lnurlp/${lower}` } }), 400, "invalid_request", /redirect/],
      ["too large", () => new Response("x".repeat(70_000)), 400, "invalid_request", /more than 65536 bytes/],
      ["too large, by its Content-Length", () => Response.json(pr, { headers: { "content-length": "70000" } }), 400, "invalid_request", /more than 65536 bytes/],
      ["unreachable", () => Promise.reject(new TypeError("Network connection lost.")), 400, "invalid_request", /could not be reached/],
    ];
    for (const [what, server, status, code, message] of cases) {
      servers.set("bad.test", server);
      const r = await payLnurl(payer, { destination: `${lower}@bad.test`, amount_sat: 100, comment: "hi" });
      expect(r.status, what).toBe(status);
      expect(r.json.error.code, what).toBe(code);
      expect(r.json.error.message, what).toMatch(message);
    }
    expect(await balanceOf(payer)).toBe(10_000_000);
    expect(await balanceOf(payee)).toBe(0);
    expect((await invoicesOf(payee)).every((i) => i.status === "open")).toBe(true);
    await conserved(payer, payee);
  });

  it("a server that stalls is given up after 10 s, before its headers or in the middle of its body; nothing is paid", async () => {
    const { payer } = await pair();
    // Headers, then a body that never ends (whether the runtime ends a body with the fetch's signal or not).
    servers.set("stalling.test", () => new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"tag":')) })));
    // A real HTTP exchange with the test world: a receiver that answers after 11 s.
    const silent = encodeLnurl(`https://silent.test/hooks/lnurl-${newKey()}?delay_ms=11000`);
    const started = Date.now();
    const [stalled, unanswered] = await Promise.all([
      payLnurl(payer, { destination: "alice@stalling.test", amount_sat: 10 }),
      payLnurl(payer, { destination: silent, amount_sat: 10 }),
    ]);
    expect([stalled.status, stalled.json.error.code]).toEqual([400, "invalid_request"]);
    expect(stalled.json.error.message).toMatch(/stalling\.test stopped answering within 10 s/);
    expect([unanswered.status, unanswered.json.error.code]).toEqual([400, "invalid_request"]);
    expect(unanswered.json.error.message).toMatch(/silent\.test could not be reached within 10 s/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await balanceOf(payer)).toBe(10_000_000);
  });

  it("over real HTTP exchanges with the test world: a host with no LNURL server, a redirect not followed", async () => {
    const { payer } = await pair();
    const r = await payLnurl(payer, { destination: "alice@nowhere.test", amount_sat: 10 });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/nowhere\.test did not answer JSON \(HTTP 404\)/);
    expect(fetched.at(-1)).toBe("https://nowhere.test/.well-known/lnurlp/alice");

    // The test world's receivers redirect on request (a 302 the hub's fetch must not follow).
    const redirecting = encodeLnurl(`https://elsewhere.test/hooks/lnurl-${newKey()}?redirect=${encodeURIComponent("https://nowhere.test/.well-known/lnurlp/alice")}`);
    const moved = await payLnurl(payer, { destination: redirecting, amount_sat: 10 });
    expect(moved.status).toBe(400);
    expect(moved.json.error.message).toMatch(/redirect \(HTTP 302\)/);
    expect(await balanceOf(payer)).toBe(10_000_000);
  });
});
