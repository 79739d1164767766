// The LND simulator's own behaviour: knob scopes and their isolation, LND's
// wire details (padding, int64 strings, every field present, error bodies,
// stream framing), stream cleanup, and the /sim/ control endpoints. The
// client-level contract is in lnd-contract.test.ts.
//
// Other test files share the simulator at the same time and may set global
// knobs, so every call here is in a knob scope of its own (by default this
// file's) and tests never set global knobs or reset the network.

import { env } from "cloudflare:workers";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { createLndClient, type LndRestClient } from "../src/lightning";
import { until } from "./contract/lnd-suite";

const sim = (env as unknown as { LND_SIM: Fetcher }).LND_SIM;

const sha256Hex = (hex: string) => bytesToHex(sha256(hexToBytes(hex)));
const randomHex32 = () => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (hex: string) => btoa(String.fromCharCode(...hexToBytes(hex)));
const b64url = (hex: string) => b64(hex).replace(/\+/g, "-").replace(/\//g, "_");
/** A hash whose base64 has "+" and "/" (so base64url differs). */
const oddHash = () => "fbffbf" + randomHex32().slice(6);

interface Raw {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

const newScope = () => `sim-${crypto.randomUUID()}`;
const FILE_SCOPE = newScope();
/** A simulator URL in a knob scope (this file's unless told; null: the global scope). */
const url = (path: string, scope: string | null = FILE_SCOPE) => `http://lnd${scope === null ? "" : `/scope/${scope}`}${path}`;

async function raw(path: string, init: RequestInit & { scope?: string | null } = {}): Promise<Raw> {
  const res = await sim.fetch(url(path, init.scope), init);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

const post = (path: string, body: unknown, scope?: string) =>
  raw(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" }, scope });

const clientIn = (scope: string): LndRestClient =>
  createLndClient({ baseUrl: `http://lnd/scope/${scope}`, fetch: (input, init) => sim.fetch(input, init) });

async function addHold(valueMsat = 10_000, hash?: string) {
  const preimage = randomHex32();
  const h = hash ?? sha256Hex(preimage);
  const r = await post("/v2/invoices/hodl", { hash: b64(h), value_msat: String(valueMsat) });
  expect(r.status).toBe(200);
  return { hash: h, preimage, payment_request: r.json.payment_request as string, add_index: Number(r.json.add_index) };
}

/** Reads NDJSON lines from a stream body until `done` says stop. */
async function readLines(body: ReadableStream<Uint8Array>, done: (lines: any[]) => boolean): Promise<any[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const lines: any[] = [];
  let buffer = "";
  while (!done(lines)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  }
  await reader.cancel();
  return lines;
}

const streamCount = async (kind: "single_invoice" | "payments", hash: string): Promise<number> =>
  ((await raw("/sim/streams")).json[kind][hash] as number | undefined) ?? 0;

// ------------------------------------------------------------------ knobs

describe("knob scopes", () => {
  it("applies knobs only inside their scope, by path prefix or header, until reset", async () => {
    const a = newScope();
    const b = newScope();
    const set = await post("/sim/knobs", { unreachable: true, slow_ms: 10 }, a);
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ scope: a, knobs: { unreachable: "503", slow_ms: 10, no_route: false } });

    expect((await raw("/v1/getinfo", { scope: a })).status).toBe(503);
    expect((await raw("/v1/getinfo", { scope: null, headers: { "X-Sim-Scope": a } })).status).toBe(503);
    expect((await raw("/v1/getinfo", { scope: null, headers: { "X-Sim-Scope": b } })).status).toBe(200);
    expect((await raw("/v1/getinfo", { scope: b })).status).toBe(200);
    expect((await raw("/sim/knobs", { scope: b })).json.knobs).toMatchObject({ unreachable: false, slow_ms: 0 });
    expect((await raw("/sim/knobs", { scope: null })).json).toMatchObject({ scope: "" });

    // Control routes are never faulted: a scope can always be repaired.
    const reset = await post("/sim/reset", {}, a);
    expect(reset.json).toMatchObject({ scope: a, knobs: { unreachable: false, slow_ms: 0 }, network_reset: false });
    expect((await raw("/v1/getinfo", { scope: a })).status).toBe(200);
  });

  it("replaces the scope's knobs on every POST (so {} resets them) and validates them", async () => {
    const scope = newScope();
    await post("/sim/knobs", { payment_in_flight_ms: 100, no_route: true }, scope);
    const replaced = await post("/sim/knobs", { payment_in_flight_ms: 100, payment_outcome: "fail" }, scope);
    expect(replaced.json.knobs).toMatchObject({ payment_in_flight_ms: 100, payment_outcome: "fail", no_route: false });
    for (const bad of [{ nope: 1 }, { slow_ms: -1 }, { payment_outcome: "maybe" }, { unreachable: "sometimes" }, { macaroon_hex: "xyz" }]) {
      const r = await post("/sim/knobs", bad, scope);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("invalid_knobs");
    }
    expect((await raw("/sim/knobs", { scope })).json.knobs).toMatchObject({ payment_in_flight_ms: 100, payment_outcome: "fail" });
    expect((await post("/sim/knobs", {}, scope)).json.knobs).toEqual((await raw("/sim/knobs", { scope: newScope() })).json.knobs);
  });

  it("applies payment knobs carried by an outside invoice to that invoice only", async () => {
    const scope = newScope();
    const client = clientIn(scope);
    const blocked = (await post("/sim/invoices", { amount_sat: 1_000, knobs: { no_route: true } })).json;
    const open = (await post("/sim/invoices", { amount_sat: 1_000 })).json;
    const send = (pr: string) => client.payInvoice({ payment_request: pr, fee_limit_msat: 10_000, timeout_seconds: 30 }, { waitMs: 5000 });
    expect((await send(blocked.payment_request)).payment).toMatchObject({ status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE" });
    expect((await send(open.payment_request)).payment).toMatchObject({ status: "SUCCEEDED" });
    expect((await post("/sim/invoices", { amount_sat: 1, knobs: { slow_ms: 5 } })).json.error.code).toBe("invalid_knobs");
  });

  it("drop_invoice_events hides ACCEPTED from single-invoice subscribers; a lookup still finds it", async () => {
    for (const how of ["scope knob", "per /sim/pay call"] as const) {
      const scope = newScope();
      if (how === "scope knob") await post("/sim/knobs", { drop_invoice_events: true }, scope);
      const client = clientIn(scope);
      const inv = await addHold(7_000);
      const states: string[] = [];
      const watching = (async () => {
        for await (const i of client.subscribeSingleInvoice(inv.hash)) states.push(i.state);
      })();
      await until(() => states.length > 0, "OPEN");
      const paid = await post("/sim/pay", { payment_request: inv.payment_request, wait_ms: 0, drop_invoice_events: how === "per /sim/pay call" }, scope);
      expect(paid.json.status).toBe("pending");
      await sleep(200);
      expect(states).toEqual(["OPEN"]);
      expect((await client.lookupInvoice(inv.hash)).state).toBe("ACCEPTED"); // the sweep finds it
      await client.settleInvoice(inv.preimage);
      await watching;
      expect(states).toEqual(["OPEN", "SETTLED"]);
    }
  });
});

// ------------------------------------------------------------------ wire format

describe("wire format", () => {
  it("emits every Invoice field, int64 as strings, bytes as padded base64, enums by name", async () => {
    const hash = oddHash();
    await addHold(1_500, hash);
    const r = await raw(`/v2/invoices/lookup?payment_hash=${encodeURIComponent(b64url(hash))}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("application/json");
    expect(Object.keys(r.json)).toEqual([
      "memo", "r_preimage", "r_hash", "value", "value_msat", "settled", "creation_date", "settle_date",
      "payment_request", "description_hash", "expiry", "fallback_addr", "cltv_expiry", "route_hints", "private",
      "add_index", "settle_index", "amt_paid", "amt_paid_sat", "amt_paid_msat", "state", "htlcs", "features",
      "is_keysend", "payment_addr", "is_amp", "amp_invoice_state", "is_blinded", "blinded_path_config",
    ]);
    expect(r.json).toMatchObject({
      r_hash: b64(hash),
      r_preimage: "",
      value: "1",
      value_msat: "1500",
      settled: false,
      state: "OPEN",
      expiry: "86400",
      cltv_expiry: "80",
      amt_paid_msat: "0",
      htlcs: [],
      route_hints: [],
      blinded_path_config: null,
    });
    expect(r.json.r_hash).toMatch(/[+/].*=$/); // standard alphabet, padded
    expect(r.json.payment_addr).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(r.json.features["17"]).toEqual({ name: "multi-path-payments", is_required: false, is_known: true });
  });

  it("accepts hashes in queries as padded base64url or standard base64, and rejects them unpadded", async () => {
    const hash = oddHash();
    await addHold(1_000, hash);
    expect((await raw(`/v2/invoices/lookup?payment_hash=${encodeURIComponent(b64(hash))}`)).status).toBe(200);
    const unpadded = await raw(`/v2/invoices/lookup?payment_hash=${b64url(hash).replace(/=+$/, "")}`);
    expect(unpadded.status).toBe(400);
    expect(unpadded.json).toEqual({ code: 3, message: 'parsing field "payment_hash": illegal base64 data at input byte 40', details: [] });
  });

  it("rejects an unpadded hash in a stream's path as the gateway does: a unary error body, before the call", async () => {
    const r = await raw(`/v2/invoices/subscribe/${b64url(randomHex32()).replace(/=+$/, "")}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ code: 3, message: "type mismatch, parameter: r_hash, error: illegal base64 data at input byte 40", details: [] });
  });

  it("answers errors as grpc-gateway does", async () => {
    expect(await raw("/v1/nothing")).toMatchObject({ status: 404, json: { code: 5, message: "Not Found", details: [] } });
    expect(await raw("/v1/getinfo", { method: "POST" })).toMatchObject({ status: 501, json: { code: 12, message: "Method Not Allowed" } });
    const badJson = await raw("/v2/invoices/hodl", { method: "POST", body: "{nope" });
    expect(badJson.status).toBe(400);
    expect(badJson.json.code).toBe(3);
    const shortHash = await post("/v2/invoices/hodl", { hash: b64("abcd"), value_msat: "1" });
    expect(shortHash).toMatchObject({ status: 500, json: { code: 2, message: "invalid hash length of 2, want 32", details: [] } });
    const both = await post("/v2/invoices/hodl", { hash: b64(randomHex32()), value: "1", value_msat: "1000" });
    expect(both.json).toMatchObject({ code: 2, message: "sat and msat arguments are mutually exclusive" });
  });

  it("refuses unknown body fields and accepts JSON names, as protojson does for LND", async () => {
    const unknown = await post("/v2/invoices/hodl", { hash: b64(randomHex32()), nope: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ code: 3, message: expect.stringMatching(/^proto: \(line 1:\d+\): unknown field "nope"$/), details: [] });
    const camel = await post("/v2/invoices/hodl", { hash: b64(randomHex32()), valueMsat: "4000", cltvExpiry: "30" });
    expect(camel.status).toBe(200);
    const tooLow = await post("/v2/invoices/hodl", { hash: b64(randomHex32()), cltv_expiry: "18" });
    expect(tooLow.json).toMatchObject({ code: 2, message: "CLTV delta of 18 must be greater than minimum of 24" });
  });

  it("checks lookup references like LookupInvoiceV2", async () => {
    expect(await raw("/v2/invoices/lookup")).toMatchObject({ status: 400, json: { code: 3, message: "invoice ref must be set" } });
    expect(await raw(`/v2/invoices/lookup?payment_hash=${encodeURIComponent(b64("abcd"))}`)).toMatchObject({
      status: 400,
      json: { code: 3, message: "unable to parse pay hash: invalid hash length of 2, want 32" },
    });
    const inv = await addHold(1_000);
    const byHash = (await raw(`/v2/invoices/lookup?payment_hash=${encodeURIComponent(b64url(inv.hash))}`)).json;
    const byAddr = await raw(`/v2/invoices/lookup?payment_addr=${encodeURIComponent(b64url(bytesToHex(Uint8Array.from(atob(byHash.payment_addr), (c) => c.charCodeAt(0)))))}`);
    expect(byAddr.json.r_hash).toBe(b64(inv.hash));
  });

  it("takes int64 fields as numbers too (protojson)", async () => {
    const hash = randomHex32();
    const r = await post("/v2/invoices/hodl", { hash: b64(hash), value_msat: 2500, expiry: 60 });
    expect(r.status).toBe(200);
    expect(r.json.add_index).toMatch(/^\d+$/);
    const inv = (await raw(`/v2/invoices/lookup?payment_hash=${encodeURIComponent(b64url(hash))}`)).json;
    expect(inv).toMatchObject({ value_msat: "2500", expiry: "60" });
  });

  it("frames streams as NDJSON results; an error before the first message gets the mapped status", async () => {
    const missing = await raw(`/v2/router/track/${encodeURIComponent(b64url(randomHex32()))}`);
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('{"error":{"code":5,"message":"payment isn\'t initiated","details":[]}}\n');

    const outside = (await post("/sim/invoices", { amount_sat: 2_000 })).json;
    const res = await sim.fetch(url("/v2/router/send"), {
      method: "POST",
      body: JSON.stringify({ payment_request: outside.payment_request, fee_limit_msat: "10000", timeout_seconds: 30 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Grpc-Metadata-Content-Type")).toBe("application/grpc");
    const text = await res.text();
    expect(text.endsWith("}\n")).toBe(true);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.result.status)).toEqual(["IN_FLIGHT", "IN_FLIGHT", "SUCCEEDED"]);
    const [first, , last] = lines.map((l) => l.result);
    expect(first).toMatchObject({ payment_hash: outside.payment_hash, payment_preimage: "0".repeat(64), htlcs: [], value_msat: "2000000" });
    expect(last.payment_preimage).toMatch(/^[0-9a-f]{64}$/); // a hex string in Payment, unlike Invoice
    expect(last.htlcs[0].preimage).toBe(b64(last.payment_preimage)); // but bytes in HTLCAttempt
    expect(last.creation_time_ns).toMatch(/^\d{19}$/);
    expect(last.htlcs[0].route.hops.at(-1).mpp_record).toMatchObject({ total_amt_msat: "2000000" });

    const again = await raw("/v2/router/send", {
      method: "POST",
      body: JSON.stringify({ payment_request: outside.payment_request, fee_limit_msat: "10000", timeout_seconds: 30 }),
    });
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ error: { code: 6, message: "invoice is already paid", details: [] } });
  });

  it("sends SubscribeInvoices headers only with the first message", async () => {
    const controller = new AbortController();
    let resolved = false;
    const pending = sim.fetch(url("/v1/invoices/subscribe"), { signal: controller.signal }).then((r) => {
      resolved = true;
      return r;
    });
    await sleep(300);
    expect(resolved).toBe(false);
    const inv = await addHold(1_000);
    const res = await pending;
    expect(res.status).toBe(200);
    const lines = await readLines(res.body!, (ls) => ls.some((l) => l.result.r_hash === b64(inv.hash)));
    expect(lines.find((l) => l.result.r_hash === b64(inv.hash)).result.state).toBe("OPEN");
    controller.abort();
  });
});

// ------------------------------------------------------------------ streams

describe("stream cleanup", () => {
  it("forgets a subscriber whose client leaves, before and after the first message", async () => {
    const inv = await addHold(1_000);
    const res = await sim.fetch(url(`/v2/invoices/subscribe/${encodeURIComponent(b64url(inv.hash))}`));
    expect(await streamCount("single_invoice", inv.hash)).toBe(1);
    await readLines(res.body!, (ls) => ls.length === 1); // reads OPEN, then cancels
    await until(async () => (await streamCount("single_invoice", inv.hash)) === 0, "cleanup after cancel");

    const unknown = randomHex32(); // no invoice yet: no first message, no headers
    const controller = new AbortController();
    const waiting = sim.fetch(url(`/v2/invoices/subscribe/${encodeURIComponent(b64url(unknown))}`), { signal: controller.signal });
    await until(async () => (await streamCount("single_invoice", unknown)) === 1, "registration");
    controller.abort();
    await expect(waiting).rejects.toThrow();
    await until(async () => (await streamCount("single_invoice", unknown)) === 0, "cleanup after abort");
  });

  it("ends single-invoice streams when the invoice is final, and payment streams when the payment is", async () => {
    const scope = newScope();
    await post("/sim/knobs", { payment_in_flight_ms: 400 }, scope);
    const client = clientIn(scope);
    const outside = (await post("/sim/invoices", { amount_sat: 1_000 })).json;
    const first = await client.payInvoice({ payment_request: outside.payment_request, fee_limit_msat: 10_000, timeout_seconds: 30 }, { waitMs: 50 });
    expect(first.final).toBe(false);
    const tracking = client.waitForPayment(outside.payment_hash, { waitMs: 5000 });
    await until(async () => (await streamCount("payments", outside.payment_hash)) >= 1, "a tracking stream");
    expect((await tracking).payment!.status).toBe("SUCCEEDED");
    await until(async () => (await streamCount("payments", outside.payment_hash)) === 0, "streams closed");
  });
});

// ------------------------------------------------------------------ control endpoints

describe("/sim/pay and /sim/invoices", () => {
  it("refuses what the outside world cannot pay", async () => {
    const pay = (body: unknown) => post("/sim/pay", body);
    expect((await pay({})).json.error.code).toBe("invalid_request");
    expect((await pay({ payment_request: "lnbcrt1nonsense" })).json.error.code).toBe("invalid_payment_request");
    const outside = (await post("/sim/invoices", { amount_sat: 1_000 })).json;
    const notHub = await pay({ payment_request: outside.payment_request });
    expect(notHub).toMatchObject({ status: 400, json: { error: { code: "invalid_payment_request", message: "not an invoice of the hub node" } } });

    const amountless = await addHold(0);
    expect((await pay({ payment_request: amountless.payment_request, wait_ms: 0 })).json.error.code).toBe("amount_required");

    const fixed = await addHold(50_000);
    expect((await pay({ payment_request: fixed.payment_request, amount_sat: 10, wait_ms: 0 })).json.error.code).toBe("amount_too_low");
    const canceled = await addHold(1_000);
    await post("/v2/invoices/cancel", { payment_hash: b64(canceled.hash) });
    expect((await pay({ payment_request: canceled.payment_request, wait_ms: 0 })).json.error.code).toBe("invoice_canceled");
    expect((await pay({ payment_request: fixed.payment_request, wait_ms: 70_000 })).json.error.code).toBe("invalid_request");
    expect((await post("/sim/invoices", { amount_sat: 1, payee: "hub" })).json.error.code).toBe("invalid_request");
  });

  it("pays an amountless hub invoice with amount_sat; answers pending, or failed once canceled", async () => {
    const client = clientIn(newScope());
    const inv = await addHold(0);
    const r = await post("/sim/pay", { payment_request: inv.payment_request, amount_sat: 321, wait_ms: 0 });
    expect(r.json).toMatchObject({ status: "pending", payment_hash: inv.hash, amount_msat: 321_000 });
    expect(await client.lookupInvoice(inv.hash)).toMatchObject({ state: "ACCEPTED", amt_paid_sat: 321, value_msat: 0 });
    const second = await post("/sim/pay", { payment_request: inv.payment_request, amount_sat: 321, wait_ms: 0 });
    expect(second.json.error.code).toBe("invoice_already_paid");

    const other = await addHold(2_000);
    const payer = post("/sim/pay", { payment_request: other.payment_request, wait_ms: 5000 });
    await until(async () => (await client.lookupInvoice(other.hash)).state === "ACCEPTED", "ACCEPTED");
    await client.cancelInvoice(other.hash);
    expect((await payer).json).toMatchObject({ status: "failed", payment_hash: other.hash });
    // LND keeps amt_paid of a canceled invoice; its HTLC shows CANCELED.
    expect(await client.lookupInvoice(other.hash)).toMatchObject({ state: "CANCELED", amt_paid_msat: 2_000 });
  });

  it("lets the hub pay an amountless outside invoice with amt_msat", async () => {
    const client = clientIn(newScope());
    const outside = (await post("/sim/invoices", { amount_sat: 0, payee: "erin" })).json;
    const outcome = await client.payInvoice(
      { payment_request: outside.payment_request, amt_msat: 4_321_000, fee_limit_msat: 0, timeout_seconds: 30 },
      { waitMs: 5000 },
    );
    expect(outcome.payment).toMatchObject({ status: "SUCCEEDED", value_msat: 4_321_000 });
  });

  it("refuses to pay the hub's own invoice unless self-payment is allowed, then holds it like any HTLC", async () => {
    const client = clientIn(newScope());
    const inv = await addHold(30_000);
    const send = { payment_request: inv.payment_request, fee_limit_msat: 10_000, timeout_seconds: 30 };
    await expect(client.payInvoice(send, { waitMs: 5000 })).rejects.toMatchObject({
      name: "LndError",
      code: 2,
      message: "self-payments not allowed",
    });
    const held = await client.payInvoice({ ...send, allow_self_payment: true }, { waitMs: 200 });
    expect(held).toMatchObject({ final: false, payment: { status: "IN_FLIGHT" } });
    expect((await client.lookupInvoice(inv.hash)).state).toBe("ACCEPTED");
    await client.settleInvoice(inv.preimage);
    const done = await client.waitForPayment(inv.hash, { waitMs: 5000 });
    expect(done.payment).toMatchObject({ status: "SUCCEEDED", payment_preimage: inv.preimage });
    expect(done.payment!.fee_msat).toBeGreaterThan(0);
  });

  it("fails with INSUFFICIENT_BALANCE beyond the hub's outbound liquidity", async () => {
    const client = clientIn(newScope());
    const outside = (await post("/sim/invoices", { amount_sat: 90_000_000 })).json;
    const outcome = await client.payInvoice({ payment_request: outside.payment_request, fee_limit_msat: 1_000_000, timeout_seconds: 30 }, { waitMs: 5000 });
    expect(outcome.payment).toMatchObject({ status: "FAILED", failure_reason: "FAILURE_REASON_INSUFFICIENT_BALANCE" });
  });

  it("describes the network and open streams", async () => {
    const info = (await raw("/sim/info")).json;
    expect(info.network).toBe("regtest");
    expect(info.nodes.map((n: { name: string }) => n.name)).toEqual(["hub", "alice", "bob", "carol", "dave", "erin"]);
    expect(new Set(info.nodes.map((n: { pubkey: string }) => n.pubkey)).size).toBe(6);
    expect(info.channels.length).toBeGreaterThanOrEqual(5);
    expect((await clientIn(newScope()).getInfo()).identity_pubkey).toBe(info.nodes[0].pubkey);
    const streams = (await raw("/sim/streams")).json;
    expect(Object.keys(streams)).toEqual(["all_invoices", "single_invoice", "payments"]);
    expect((await raw("/sim/nothing")).status).toBe(404);
  });
});
