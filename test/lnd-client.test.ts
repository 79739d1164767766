// LND REST client tests.
//
// Every request goes through an injected `fetch`. Here it is served by
// FakeLnd (behaviour LND documents: hold-invoice state machine, payment
// streams, gRPC errors) or by a canned handler (wire-level edge cases). The
// responses are shaped like LND's gateway output: proto field names, every
// field present, 64-bit integers as strings, `bytes` as standard base64,
// enums by name, streams as newline-delimited {"result": …} / {"error": …}
// objects split across chunks. The "documented behaviour" suites only use
// the client API plus FakeLnd.acceptHtlc / scriptPayment, so the same
// assertions can be pointed at a simulator or a real node later.

import { describe, expect, it } from "vitest";
import {
  createLndClient,
  GrpcCode,
  LndError,
  LndUnreachableError,
  type FetchLike,
  type Invoice,
  type LndRestClient,
  type Payment,
} from "../src/lightning";
import { base64ToHex, bytesToHex, hexToBase64, hexToBase64Url, hexToBytes } from "../src/lightning/bytes";
import { parseNdjson } from "../src/lightning/ndjson";

// ---------------------------------------------------------------- helpers

const enc = new TextEncoder();
const MACAROON = "0201036c6e6402f801030a1022c8b4b3e1c7d1e5";
const BASE_URL = "https://lnd.example.test/";
/** Bytes chosen so base64 contains "+" and "/" (base64url "-" and "_"). */
const ODD_HASH = "fbffbf".repeat(10) + "fbff";
const BIG_CHAN_ID = "870123456789012345"; // > 2^53: must survive exactly
const PAY_ADDR = "11".repeat(32);
const NODE_PUBKEY = "02" + "ab".repeat(32);

interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: any;
  signal: AbortSignal | undefined;
}
type Handler = (req: Recorded) => Response | Promise<Response>;

function recordingFetch(handler: Handler): { fetch: FetchLike; requests: Recorded[] } {
  const requests: Recorded[] = [];
  const fetch: FetchLike = async (input, init) => {
    const rec: Recorded = {
      method: init.method ?? "GET",
      url: new URL(input),
      headers: new Headers(init.headers),
      body: init.body === undefined || init.body === null ? undefined : JSON.parse(String(init.body)),
      signal: init.signal ?? undefined,
    };
    requests.push(rec);
    return handler(rec);
  };
  return { fetch, requests };
}

function makeClient(fetch: FetchLike, extra: Partial<Parameters<typeof createLndClient>[0]> = {}): LndRestClient {
  return createLndClient({ baseUrl: BASE_URL, fetch, macaroonHex: MACAROON, ...extra });
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** grpc-gateway unary error body. */
function grpcError(httpStatus: number, code: number, message: string): Response {
  return jsonResponse(httpStatus, { code, message, details: [] });
}

/** grpc-gateway stream that fails before its first message: mapped status, no trailing newline. */
function streamErrorBeforeFirst(httpStatus: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message, details: [] } }), {
    status: httpStatus,
    headers: { "Content-Type": "application/json" },
  });
}

/** A response body the test writes to over time. */
class PushStream {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private done = false;

  constructor() {
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => {
        this.done = true;
      },
    });
  }

  response(status = 200): Response {
    return new Response(this.body, { status, headers: { "Content-Type": "application/json" } });
  }

  pushBytes(bytes: Uint8Array): void {
    if (!this.done) this.controller.enqueue(bytes);
  }

  /** One gateway message, deliberately split mid-object across two chunks. */
  pushMessage(message: unknown, withNewline = true): void {
    const bytes = enc.encode(JSON.stringify(message) + (withNewline ? "\n" : ""));
    const cut = Math.floor(bytes.length / 2);
    this.pushBytes(bytes.slice(0, cut));
    this.pushBytes(bytes.slice(cut));
  }

  close(): void {
    if (!this.done) this.controller.close();
    this.done = true;
  }

  fail(error: Error): void {
    if (!this.done) this.controller.error(error);
    this.done = true;
  }
}

/** Never answers; rejects only when the request's signal aborts (like real fetch). */
function hangingFetch(): { fetch: FetchLike; requests: Recorded[] } {
  return recordingFetch(
    (req) =>
      new Promise<Response>((_, reject) => {
        req.signal?.addEventListener("abort", () => reject(req.signal!.reason));
      }),
  );
}

async function collect<T>(it: AsyncIterable<T>, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) {
    out.push(v);
    if (out.length >= max) break;
  }
  return out;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

async function sha256Hex(hex: string): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", hexToBytes(hex))));
}

function randomHex32(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------- LND-shaped JSON fixtures

interface InvoiceFields {
  hash: string;
  preimage: string | null;
  valueMsat: number;
  memo: string;
  state: "OPEN" | "ACCEPTED" | "SETTLED" | "CANCELED";
  addIndex: number;
  settleIndex: number;
  amtPaidMsat: number;
  cltvExpiry: number;
  expiry: number;
  private: boolean;
  descriptionHash: string | null;
  htlcs: unknown[];
}

function lndInvoiceJson(f: InvoiceFields): Record<string, unknown> {
  return {
    memo: f.memo,
    r_preimage: f.preimage ? hexToBase64(f.preimage) : "",
    r_hash: hexToBase64(f.hash),
    value: String(Math.floor(f.valueMsat / 1000)),
    value_msat: String(f.valueMsat),
    settled: f.state === "SETTLED",
    creation_date: "1700000000",
    settle_date: f.state === "SETTLED" ? "1700000100" : "0",
    payment_request: `lnbcrt${f.valueMsat}n1p${f.hash.slice(0, 12)}`,
    description_hash: f.descriptionHash ? hexToBase64(f.descriptionHash) : "",
    expiry: String(f.expiry),
    fallback_addr: "",
    cltv_expiry: String(f.cltvExpiry),
    route_hints: [],
    private: f.private,
    add_index: String(f.addIndex),
    settle_index: String(f.settleIndex),
    amt_paid: String(f.amtPaidMsat),
    amt_paid_sat: String(Math.floor(f.amtPaidMsat / 1000)),
    amt_paid_msat: String(f.amtPaidMsat),
    state: f.state,
    htlcs: f.htlcs,
    features: { "9": { name: "tlv-onion", is_required: false, is_known: true } },
    is_keysend: false,
    payment_addr: hexToBase64(PAY_ADDR),
    is_amp: false,
    amp_invoice_state: {},
  };
}

function lndInvoiceHtlcJson(amtMsat: number, state: string): Record<string, unknown> {
  return {
    chan_id: BIG_CHAN_ID,
    htlc_index: "3",
    amt_msat: String(amtMsat),
    accept_height: 820000,
    accept_time: "1700000050",
    resolve_time: state === "ACCEPTED" ? "0" : "1700000100",
    expiry_height: 820080,
    state,
    custom_records: { "5482373484": hexToBase64("c0ffee") },
    mpp_total_amt_msat: String(amtMsat),
    amp: null,
  };
}

function lndPaymentJson(p: {
  hash: string;
  status: "IN_FLIGHT" | "SUCCEEDED" | "FAILED" | "INITIATED";
  preimage?: string;
  valueMsat?: number;
  feeMsat?: number;
  failureReason?: string;
  payReq?: string;
}): Record<string, unknown> {
  const valueMsat = p.valueMsat ?? 150_000;
  const feeMsat = p.status === "SUCCEEDED" ? (p.feeMsat ?? 1_000) : 0;
  const htlcStatus = p.status === "SUCCEEDED" ? "SUCCEEDED" : p.status === "FAILED" ? "FAILED" : "IN_FLIGHT";
  return {
    payment_hash: p.hash,
    value: String(valueMsat / 1000),
    creation_date: "1700000000",
    fee: String(Math.floor(feeMsat / 1000)),
    payment_preimage: p.status === "SUCCEEDED" ? p.preimage : "0".repeat(64),
    value_sat: String(valueMsat / 1000),
    value_msat: String(valueMsat),
    payment_request: p.payReq ?? "lnbcrt1500n1ptest",
    status: p.status,
    fee_sat: String(Math.floor(feeMsat / 1000)),
    fee_msat: String(feeMsat),
    creation_time_ns: "1700000000123456789",
    htlcs:
      p.status === "INITIATED"
        ? []
        : [
            {
              attempt_id: "1001",
              status: htlcStatus,
              route: {
                total_time_lock: 820123,
                total_fees: "1",
                total_amt: "151",
                hops: [
                  {
                    chan_id: BIG_CHAN_ID,
                    chan_capacity: "1000000",
                    amt_to_forward: "150",
                    fee: "1",
                    expiry: 820043,
                    amt_to_forward_msat: String(valueMsat),
                    fee_msat: "1000",
                    pub_key: NODE_PUBKEY,
                    tlv_payload: true,
                    mpp_record: { payment_addr: hexToBase64(PAY_ADDR), total_amt_msat: String(valueMsat) },
                    amp_record: null,
                    custom_records: {},
                    metadata: "",
                    blinding_point: "",
                    encrypted_data: "",
                    total_amt_msat: "0",
                  },
                ],
                total_fees_msat: "1000",
                total_amt_msat: String(valueMsat + 1000),
                first_hop_amount_msat: String(valueMsat + 1000),
                custom_channel_data: "",
              },
              attempt_time_ns: "1700000000200000000",
              resolve_time_ns: p.status === "IN_FLIGHT" ? "0" : "1700000001200000000",
              failure:
                p.status === "FAILED"
                  ? {
                      code: "TEMPORARY_CHANNEL_FAILURE",
                      channel_update: null,
                      htlc_msat: "0",
                      onion_sha_256: "",
                      cltv_expiry: 0,
                      flags: 0,
                      failure_source_index: 1,
                      height: 0,
                    }
                  : null,
              preimage: p.status === "SUCCEEDED" && p.preimage ? hexToBase64(p.preimage) : "",
            },
          ],
    payment_index: "42",
    failure_reason: p.failureReason ?? (p.status === "FAILED" ? "FAILURE_REASON_NO_ROUTE" : "FAILURE_REASON_NONE"),
    first_hop_custom_records: {},
  };
}

// ------------------------------------------------------------- fake LND

interface PaymentScript {
  hash: string;
  preimage: string;
  /** states streamed by SendPaymentV2; the stream then ends unless `hang`. */
  steps: ("IN_FLIGHT" | "SUCCEEDED" | "FAILED")[];
  hang?: boolean;
}

/**
 * Behaves like LND for the endpoints under test, as its documentation and
 * source describe them (error codes/messages included).
 */
class FakeLnd {
  readonly invoices = new Map<string, InvoiceFields>();
  private addIndex = 0;
  private settleIndex = 0;
  private readonly singleSubs = new Map<string, PushStream[]>();
  private readonly allSubs: PushStream[] = [];
  private readonly scripts = new Map<string, PaymentScript>();
  private readonly payments = new Map<string, { status: string; script: PaymentScript }>();
  readonly recorder = recordingFetch((req) => this.handle(req));

  client(extra: Partial<Parameters<typeof createLndClient>[0]> = {}): LndRestClient {
    return makeClient(this.recorder.fetch, extra);
  }

  get requests(): Recorded[] {
    return this.recorder.requests;
  }

  /** Stands in for a payer: an HTLC arrives and the hold invoice becomes ACCEPTED. */
  acceptHtlc(hash: string, amtMsat: number): void {
    const inv = this.invoices.get(hash);
    if (!inv || inv.state !== "OPEN") throw new Error("fake: invoice not open");
    inv.state = "ACCEPTED";
    inv.htlcs = [lndInvoiceHtlcJson(amtMsat, "ACCEPTED")];
    this.notify(inv);
  }

  scriptPayment(payReq: string, script: PaymentScript): void {
    this.scripts.set(payReq, script);
  }

  private async handle(req: Recorded): Promise<Response> {
    const path = req.url.pathname;
    if (path !== "/v1/state" && !req.headers.get("Grpc-Metadata-macaroon")) {
      return grpcError(500, GrpcCode.UNKNOWN, "expected 1 macaroon, got 0");
    }
    const route = `${req.method} ${path}`;
    if (route === "POST /v2/invoices/hodl") return this.addHold(req.body);
    if (route === "POST /v2/invoices/settle") return this.settle(base64ToHex(req.body.preimage));
    if (route === "POST /v2/invoices/cancel") return this.cancel(base64ToHex(req.body.payment_hash));
    if (route === "GET /v2/invoices/lookup") {
      const inv = this.invoices.get(base64ToHex(req.url.searchParams.get("payment_hash") ?? ""));
      return inv ? jsonResponse(200, lndInvoiceJson(inv)) : grpcError(404, GrpcCode.NOT_FOUND, "unable to locate invoice");
    }
    if (route === "GET /v1/invoices") return this.list(req.url.searchParams);
    if (route === "GET /v1/invoices/subscribe") return this.subscribeAll(req.url.searchParams);
    if (req.method === "GET" && path.startsWith("/v2/invoices/subscribe/")) {
      return this.subscribeSingle(base64ToHex(path.slice("/v2/invoices/subscribe/".length)));
    }
    if (route === "POST /v2/router/send") return this.send(req.body);
    if (req.method === "GET" && path.startsWith("/v2/router/track/")) {
      return this.track(base64ToHex(path.slice("/v2/router/track/".length)));
    }
    return grpcError(404, GrpcCode.UNIMPLEMENTED, "Not Found");
  }

  private addHold(body: any): Response {
    const hash = base64ToHex(body.hash);
    if (this.invoices.has(hash)) {
      return grpcError(500, GrpcCode.UNKNOWN, "invoice with payment hash already exists");
    }
    const inv: InvoiceFields = {
      hash,
      preimage: null,
      valueMsat: Number(body.value_msat ?? 0),
      memo: body.memo ?? "",
      state: "OPEN",
      addIndex: ++this.addIndex,
      settleIndex: 0,
      amtPaidMsat: 0,
      cltvExpiry: Number(body.cltv_expiry ?? 80),
      expiry: Number(body.expiry ?? 86400),
      private: Boolean(body.private),
      descriptionHash: body.description_hash ? base64ToHex(body.description_hash) : null,
      htlcs: [],
    };
    this.invoices.set(hash, inv);
    this.notify(inv);
    const json = lndInvoiceJson(inv);
    return jsonResponse(200, {
      payment_request: json.payment_request,
      add_index: json.add_index,
      payment_addr: json.payment_addr,
    });
  }

  private async settle(preimage: string): Promise<Response> {
    const inv = this.invoices.get(await sha256Hex(preimage));
    if (!inv) return grpcError(500, GrpcCode.UNKNOWN, "unable to locate invoice");
    if (inv.state === "SETTLED") return jsonResponse(200, {}); // documented: settling twice succeeds
    if (inv.state === "OPEN") return grpcError(500, GrpcCode.UNKNOWN, "invoice still open");
    if (inv.state === "CANCELED") return grpcError(500, GrpcCode.UNKNOWN, "invoice already canceled");
    const amt = Number((inv.htlcs[0] as any).amt_msat);
    Object.assign(inv, { state: "SETTLED", preimage, settleIndex: ++this.settleIndex, amtPaidMsat: amt });
    inv.htlcs = [lndInvoiceHtlcJson(amt, "SETTLED")];
    this.notify(inv);
    return jsonResponse(200, {});
  }

  private cancel(hash: string): Response {
    const inv = this.invoices.get(hash);
    if (!inv) return grpcError(500, GrpcCode.UNKNOWN, "unable to locate invoice");
    if (inv.state === "SETTLED") return grpcError(500, GrpcCode.UNKNOWN, "invoice already settled");
    if (inv.state !== "CANCELED") {
      inv.state = "CANCELED";
      inv.htlcs = inv.htlcs.map((h: any) => ({ ...h, state: "CANCELED" }));
      this.notify(inv);
    }
    return jsonResponse(200, {});
  }

  private list(q: URLSearchParams): Response {
    let all = [...this.invoices.values()].sort((a, b) => a.addIndex - b.addIndex);
    if (q.get("pending_only") === "true") all = all.filter((i) => i.state === "OPEN" || i.state === "ACCEPTED");
    const offset = Number(q.get("index_offset") ?? 0);
    const max = Number(q.get("num_max_invoices") ?? 100);
    const page =
      q.get("reversed") === "true"
        ? all.filter((i) => offset === 0 || i.addIndex < offset).slice(-max)
        : all.filter((i) => i.addIndex > offset).slice(0, max);
    return jsonResponse(200, {
      invoices: page.map(lndInvoiceJson),
      last_index_offset: String(page.at(-1)?.addIndex ?? 0),
      first_index_offset: String(page[0]?.addIndex ?? 0),
    });
  }

  private subscribeAll(q: URLSearchParams): Response {
    const stream = new PushStream();
    const addIndex = Number(q.get("add_index") ?? 0);
    const settleIndex = Number(q.get("settle_index") ?? 0);
    const all = [...this.invoices.values()];
    // Documented replay: adds after add_index, then settles after settle_index (0 = none).
    if (addIndex > 0) for (const i of all.filter((i) => i.addIndex > addIndex)) stream.pushMessage({ result: lndInvoiceJson(i) });
    if (settleIndex > 0) {
      for (const i of all.filter((i) => i.state === "SETTLED" && i.settleIndex > settleIndex)) {
        stream.pushMessage({ result: lndInvoiceJson(i) });
      }
    }
    this.allSubs.push(stream);
    return stream.response();
  }

  private subscribeSingle(hash: string): Response {
    const stream = new PushStream();
    const inv = this.invoices.get(hash);
    if (inv) {
      stream.pushMessage({ result: lndInvoiceJson(inv) }); // current state first
      if (inv.state === "SETTLED" || inv.state === "CANCELED") stream.close();
    }
    const subs = this.singleSubs.get(hash) ?? [];
    subs.push(stream);
    this.singleSubs.set(hash, subs);
    return stream.response();
  }

  private notify(inv: InvoiceFields): void {
    const msg = { result: lndInvoiceJson(inv) };
    for (const s of this.singleSubs.get(inv.hash) ?? []) {
      s.pushMessage(msg);
      if (inv.state === "SETTLED" || inv.state === "CANCELED") s.close(); // LND ends the stream
    }
    // SubscribeInvoices only carries additions and settlements.
    if (inv.state === "OPEN" || inv.state === "SETTLED") for (const s of this.allSubs) s.pushMessage(msg);
  }

  private send(body: any): Response {
    const script = this.scripts.get(body.payment_request);
    if (!script) return streamErrorBeforeFirst(500, GrpcCode.UNKNOWN, "invoice not for current active network");
    const existing = this.payments.get(script.hash);
    if (existing?.status === "SUCCEEDED") return streamErrorBeforeFirst(409, GrpcCode.ALREADY_EXISTS, "invoice is already paid");
    if (existing?.status === "IN_FLIGHT") return streamErrorBeforeFirst(409, GrpcCode.ALREADY_EXISTS, "payment is in transition");
    const state = { status: "IN_FLIGHT", script };
    this.payments.set(script.hash, state);
    const stream = new PushStream();
    for (const status of script.steps) {
      if (body.no_inflight_updates && status === "IN_FLIGHT") continue;
      state.status = status;
      stream.pushMessage({ result: lndPaymentJson({ hash: script.hash, status, preimage: script.preimage, payReq: body.payment_request }) });
    }
    if (!script.hang) stream.close();
    return stream.response();
  }

  private track(hash: string): Response {
    const state = this.payments.get(hash);
    if (!state) return streamErrorBeforeFirst(404, GrpcCode.NOT_FOUND, "payment isn't initiated");
    const stream = new PushStream();
    stream.pushMessage({
      result: lndPaymentJson({ hash, status: state.status as "IN_FLIGHT", preimage: state.script.preimage }),
    });
    if (state.status !== "IN_FLIGHT") stream.close();
    return stream.response();
  }
}

// ================================================================= tests

describe("encodings", () => {
  it("converts hex to standard base64 for bodies and padded base64url for URLs", () => {
    expect(hexToBase64("fbffbf")).toBe("+/+/");
    expect(hexToBase64Url("fbffbf")).toBe("-_-_");
    // 32 bytes → 43 chars + one "=": LND's gateway needs the padding (Go StdEncoding/URLEncoding).
    expect(hexToBase64Url(ODD_HASH)).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(base64ToHex(hexToBase64(ODD_HASH))).toBe(ODD_HASH);
    expect(base64ToHex(hexToBase64Url(ODD_HASH))).toBe(ODD_HASH);
  });

  it("rejects malformed hashes before any request is made", async () => {
    const { fetch, requests } = recordingFetch(() => jsonResponse(200, {}));
    const lnd = makeClient(fetch);
    await expect(lnd.lookupInvoice("abc")).rejects.toBeInstanceOf(TypeError);
    await expect(lnd.settleInvoice("zz".repeat(32))).rejects.toBeInstanceOf(TypeError);
    await expect(lnd.addHoldInvoice({ hash: ODD_HASH, value_msat: 1.5 })).rejects.toBeInstanceOf(TypeError);
    expect(requests).toHaveLength(0);
  });
});

describe("NDJSON stream framing", () => {
  const text = '{"result":{"memo":"caf\u00e9 \u2615"}}\n\r\n{"result":{"n":"2"}}\n{"error":{"code":2,"message":"x","details":[]}}';
  const expected = [{ result: { memo: "caf\u00e9 \u2615" } }, { result: { n: "2" } }, { error: { code: 2, message: "x", details: [] } }];

  async function* chunksOf(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      yield bytes.slice(start, cut);
      start = cut;
    }
  }

  it("yields the same messages for every split point, including inside multi-byte characters", async () => {
    const bytes = enc.encode(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(await collect(parseNdjson(chunksOf(bytes, [cut])))).toEqual(expected);
    }
  });

  it("handles one byte per chunk and everything in one chunk", async () => {
    const bytes = enc.encode(text);
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(await collect(parseNdjson(chunksOf(bytes, everyByte)))).toEqual(expected);
    expect(await collect(parseNdjson(chunksOf(bytes, [])))).toEqual(expected);
  });

  it("reports a line that is not JSON as a bad response", async () => {
    const err = await caught(collect(parseNdjson(chunksOf(enc.encode("<html>\n"), []))));
    expect(err).toBeInstanceOf(LndUnreachableError);
    expect((err as LndUnreachableError).reason).toBe("bad_response");
  });
});

describe("requests: paths, headers, encodings", () => {
  it("sends the macaroon and Cloudflare Access headers and keeps a base path", async () => {
    const { fetch, requests } = recordingFetch(() => jsonResponse(200, { state: "SERVER_ACTIVE" }));
    const lnd = createLndClient({
      baseUrl: "https://gw.example.test/lnd/",
      fetch,
      macaroonHex: MACAROON,
      accessClientId: "client-id.access",
      accessClientSecret: "s3cret",
    });
    expect(await lnd.getState()).toBe("SERVER_ACTIVE");
    const req = requests[0]!;
    expect(req.method).toBe("GET");
    expect(req.url.href).toBe("https://gw.example.test/lnd/v1/state");
    expect(req.headers.get("Grpc-Metadata-macaroon")).toBe(MACAROON);
    expect(req.headers.get("CF-Access-Client-Id")).toBe("client-id.access");
    expect(req.headers.get("CF-Access-Client-Secret")).toBe("s3cret");
  });

  it("omits auth headers that are not configured", async () => {
    const { fetch, requests } = recordingFetch(() => jsonResponse(200, { state: "LOCKED" }));
    const lnd = createLndClient({ baseUrl: BASE_URL, fetch });
    expect(await lnd.getState()).toBe("LOCKED");
    expect(requests[0]!.headers.has("Grpc-Metadata-macaroon")).toBe(false);
    expect(requests[0]!.headers.has("CF-Access-Client-Id")).toBe(false);
  });

  it("encodes AddHoldInvoice: bytes as base64, int64 as strings", async () => {
    const { fetch, requests } = recordingFetch(() =>
      jsonResponse(200, { payment_request: "lnbcrt1500n1pxyz", add_index: "7", payment_addr: hexToBase64(PAY_ADDR) }),
    );
    const res = await makeClient(fetch).addHoldInvoice({
      hash: ODD_HASH.toUpperCase(),
      value_msat: 150_000,
      memo: "coffee",
      expiry: 3600,
      cltv_expiry: 144,
      private: true,
      description_hash: "ab".repeat(32),
    });
    const req = requests[0]!;
    expect(`${req.method} ${req.url.pathname}`).toBe("POST /v2/invoices/hodl");
    expect(req.headers.get("Content-Type")).toBe("application/json");
    expect(req.body).toEqual({
      hash: hexToBase64(ODD_HASH),
      value_msat: "150000",
      memo: "coffee",
      expiry: "3600",
      cltv_expiry: "144",
      private: true,
      description_hash: hexToBase64("ab".repeat(32)),
    });
    expect(req.body.hash).toMatch(/[+/]/); // standard alphabet in JSON bodies
    expect(res).toEqual({ payment_request: "lnbcrt1500n1pxyz", add_index: 7, payment_addr: PAY_ADDR });
  });

  it("encodes settle and cancel bodies as base64", async () => {
    const { fetch, requests } = recordingFetch(() => jsonResponse(200, {}));
    const lnd = makeClient(fetch);
    await expect(lnd.settleInvoice(ODD_HASH)).resolves.toBeUndefined();
    await expect(lnd.cancelInvoice(ODD_HASH)).resolves.toBeUndefined();
    expect(requests.map((r) => [r.method, r.url.pathname, r.body])).toEqual([
      ["POST", "/v2/invoices/settle", { preimage: hexToBase64(ODD_HASH) }],
      ["POST", "/v2/invoices/cancel", { payment_hash: hexToBase64(ODD_HASH) }],
    ]);
  });

  it("puts hashes in URLs as padded base64url", async () => {
    const { fetch, requests } = recordingFetch((req) =>
      req.url.pathname === "/v2/invoices/lookup"
        ? jsonResponse(200, lndInvoiceJson({ ...openInvoice(ODD_HASH) }))
        : new Response(JSON.stringify({ result: lndPaymentJson({ hash: ODD_HASH, status: "FAILED" }) }) + "\n"),
    );
    const lnd = makeClient(fetch);
    await lnd.lookupInvoice(ODD_HASH);
    await collect(lnd.trackPayment(ODD_HASH, { no_inflight_updates: true }));
    await collect(lnd.subscribeSingleInvoice(ODD_HASH), 1).catch(() => undefined);
    const [lookup, track, single] = requests;
    expect(lookup!.url.searchParams.get("payment_hash")).toBe(hexToBase64Url(ODD_HASH));
    expect(lookup!.url.search).toContain("%3D"); // "=" padding survives percent-encoded
    expect(track!.url.pathname).toBe(`/v2/router/track/${hexToBase64Url(ODD_HASH)}`);
    expect(track!.url.searchParams.get("no_inflight_updates")).toBe("true");
    expect(single!.url.pathname).toBe(`/v2/invoices/subscribe/${hexToBase64Url(ODD_HASH)}`);
  });

  it("encodes ListInvoices and SubscribeInvoices query parameters", async () => {
    const { fetch, requests } = recordingFetch((req) =>
      req.url.pathname === "/v1/invoices"
        ? jsonResponse(200, { invoices: [], last_index_offset: "0", first_index_offset: "0" })
        : new Response(""),
    );
    const lnd = makeClient(fetch);
    await lnd.listInvoices({ index_offset: 10, num_max_invoices: 50, pending_only: true, reversed: true });
    await collect(lnd.subscribeInvoices({ add_index: 5, settle_index: 3 }));
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({
      index_offset: "10",
      num_max_invoices: "50",
      pending_only: "true",
      reversed: "true",
    });
    expect(requests[1]!.url.pathname).toBe("/v1/invoices/subscribe");
    expect(Object.fromEntries(requests[1]!.url.searchParams)).toEqual({ add_index: "5", settle_index: "3" });
  });

  it("encodes SendPaymentV2: int64 as strings, int32 as numbers", async () => {
    const { fetch, requests } = recordingFetch(() => new Response(""));
    await collect(
      makeClient(fetch).sendPayment({
        payment_request: "lnbcrt1500n1pabc",
        amt_msat: 2_000,
        fee_limit_msat: 5_000,
        timeout_seconds: 30,
        max_parts: 4,
        no_inflight_updates: false,
        allow_self_payment: true,
        outgoing_chan_ids: [BIG_CHAN_ID],
      }),
    );
    const req = requests[0]!;
    expect(`${req.method} ${req.url.pathname}`).toBe("POST /v2/router/send");
    expect(req.body).toEqual({
      payment_request: "lnbcrt1500n1pabc",
      amt_msat: "2000",
      fee_limit_msat: "5000",
      timeout_seconds: 30,
      max_parts: 4,
      no_inflight_updates: false,
      allow_self_payment: true,
      outgoing_chan_ids: [BIG_CHAN_ID],
    });
    expect(req.body).not.toHaveProperty("cancelable"); // closing our stream must not cancel the payment
  });

  it("encodes a keysend SendPaymentV2: dest and payment_hash as base64, the preimage record keyed by its type; no payment_request", async () => {
    const { fetch, requests } = recordingFetch(() => new Response(""));
    const preimage = "11".repeat(32);
    const hash = "22".repeat(32);
    await collect(
      makeClient(fetch).sendPayment({ payment_request: "", dest: NODE_PUBKEY, payment_hash: hash, amt_msat: 1_000, dest_custom_records: { "5482373484": preimage }, fee_limit_msat: 10, timeout_seconds: 30 }),
    );
    const b64 = (hex: string) => btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
    expect(requests[0]!.body).toEqual({
      dest: b64(NODE_PUBKEY),
      payment_hash: b64(hash),
      dest_custom_records: { "5482373484": b64(preimage) },
      amt_msat: "1000",
      fee_limit_msat: "10",
      timeout_seconds: 30,
    });
  });

  it("encodes a spontaneous AMP SendPaymentV2 (amp, the hub's payment_addr, no payment_hash) and ListPayments' query, reading its payments", async () => {
    const addr = "33".repeat(32);
    const { fetch, requests } = recordingFetch((r) =>
      r.url.pathname === "/v1/payments" ? jsonResponse(200, { payments: [lndPaymentJson({ hash: ODD_HASH, status: "IN_FLIGHT" })] }) : new Response(""),
    );
    const client = makeClient(fetch);
    await collect(client.sendPayment({ payment_request: "", dest: NODE_PUBKEY, amp: true, payment_addr: addr, amt_msat: 1_000, max_parts: 16, fee_limit_msat: 10, timeout_seconds: 30 }));
    const b64 = (hex: string) => btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
    expect(requests[0]!.body).toEqual({ dest: b64(NODE_PUBKEY), amp: true, payment_addr: b64(addr), amt_msat: "1000", max_parts: 16, fee_limit_msat: "10", timeout_seconds: 30 });
    const listed = await client.listPayments({ include_incomplete: true, creation_date_start: 1_700_000_000, max_payments: 10_000 });
    expect(listed.map((p) => [p.payment_hash, p.status])).toEqual([[ODD_HASH, "IN_FLIGHT"]]);
    const q = requests[1]!.url.searchParams;
    expect([q.get("include_incomplete"), q.get("creation_date_start"), q.get("max_payments")]).toEqual(["true", "1700000000", "10000"]);
  });

  it("encodes OpenChannelSync and ConnectPeer, and reads PendingChannels and the funding outpoint (txid bytes reversed)", async () => {
    const txid = "00".repeat(31) + "ab";
    const { fetch, requests } = recordingFetch((r) =>
      r.url.pathname === "/v1/channels"
        ? jsonResponse(200, { funding_txid_bytes: btoa(String.fromCharCode(0xab, ...new Array(31).fill(0))), output_index: 1 })
        : r.url.pathname === "/v1/channels/pending"
          ? jsonResponse(200, { total_limbo_balance: "0", pending_open_channels: [{ channel: { remote_node_pub: NODE_PUBKEY, channel_point: `${txid}:1`, capacity: "2000000", local_balance: "1996510", remote_balance: "0", initiator: "INITIATOR_LOCAL" } }] })
          : jsonResponse(200, {}),
    );
    const lnd = makeClient(fetch);
    expect(await lnd.openChannel({ node_pubkey: NODE_PUBKEY, local_funding_amount: 2_000_000 })).toEqual({ funding_txid: txid, output_index: 1 });
    expect(requests[0]!.body).toEqual({ node_pubkey: btoa(String.fromCharCode(...NODE_PUBKEY.match(/../g)!.map((h) => parseInt(h, 16)))), local_funding_amount: "2000000" });
    await lnd.connectPeer(NODE_PUBKEY, "127.0.0.1:9735");
    expect(requests[1]!.body).toEqual({ addr: { pubkey: NODE_PUBKEY, host: "127.0.0.1:9735" }, perm: false });
    expect((await lnd.pendingChannels()).pending_open_channels).toEqual([
      { remote_node_pub: NODE_PUBKEY, channel_point: `${txid}:1`, capacity: 2_000_000, local_balance: 1_996_510, remote_balance: 0, initiator: true },
    ]);
  });

  it("encodes EstimateRouteFee for both graph and probe estimates", async () => {
    const { fetch, requests } = recordingFetch(() =>
      jsonResponse(200, { routing_fee_msat: "1010", time_lock_delay: "184", failure_reason: "FAILURE_REASON_NONE" }),
    );
    const lnd = makeClient(fetch);
    expect(await lnd.estimateRouteFee({ dest: NODE_PUBKEY, amt_sat: 1000 })).toEqual({
      routing_fee_msat: 1010,
      time_lock_delay: 184,
      failure_reason: "FAILURE_REASON_NONE",
    });
    await lnd.estimateRouteFee({ payment_request: "lnbcrt1pabc", timeout: 60 });
    expect(requests.map((r) => r.url.pathname)).toEqual(["/v2/router/route/estimatefee", "/v2/router/route/estimatefee"]);
    expect(requests[0]!.body).toEqual({ dest: hexToBase64(NODE_PUBKEY), amt_sat: "1000" });
    expect(requests[1]!.body).toEqual({ payment_request: "lnbcrt1pabc", timeout: 60 });
  });

  it("encodes ListChannels filters (peer pubkey as base64url)", async () => {
    const { fetch, requests } = recordingFetch(() => jsonResponse(200, { channels: [] }));
    await makeClient(fetch).listChannels({ active_only: true, peer: NODE_PUBKEY });
    expect(requests[0]!.url.pathname).toBe("/v1/channels");
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({
      active_only: "true",
      peer: hexToBase64Url(NODE_PUBKEY),
    });
  });
});

function openInvoice(hash: string): InvoiceFields {
  return {
    hash,
    preimage: null,
    valueMsat: 150_000,
    memo: "coffee",
    state: "OPEN",
    addIndex: 12,
    settleIndex: 0,
    amtPaidMsat: 0,
    cltvExpiry: 80,
    expiry: 86400,
    private: false,
    descriptionHash: null,
    htlcs: [],
  };
}

describe("responses: number, bytes and enum conversion", () => {
  it("decodes GetInfo", async () => {
    const { fetch, requests } = recordingFetch(() =>
      jsonResponse(200, {
        version: "0.18.3-beta commit=v0.18.3-beta",
        commit_hash: "a".repeat(40),
        identity_pubkey: NODE_PUBKEY,
        alias: "flash-hub",
        color: "#3399ff",
        num_pending_channels: 0,
        num_active_channels: 2,
        num_inactive_channels: 1,
        num_peers: 3,
        block_height: 820000,
        block_hash: "00".repeat(32),
        best_header_timestamp: "1700000000",
        synced_to_chain: true,
        synced_to_graph: false,
        testnet: false,
        chains: [{ chain: "bitcoin", network: "regtest" }],
        uris: [`${NODE_PUBKEY}@10.0.0.1:9735`],
        features: { "0": { name: "data-loss-protect", is_required: true, is_known: true } },
        require_htlc_interceptor: false,
        store_final_htlc_resolutions: false,
      }),
    );
    const info = await makeClient(fetch).getInfo();
    expect(requests[0]!.url.pathname).toBe("/v1/getinfo");
    expect(info).toMatchObject({
      identity_pubkey: NODE_PUBKEY,
      num_active_channels: 2,
      block_height: 820000,
      best_header_timestamp: 1_700_000_000,
      synced_to_chain: true,
      chains: [{ chain: "bitcoin", network: "regtest" }],
    });
  });

  it("decodes an invoice with HTLCs: hex hashes, numeric amounts, exact channel ids", async () => {
    const preimage = "cd".repeat(32);
    const json = lndInvoiceJson({
      ...openInvoice(ODD_HASH),
      state: "SETTLED",
      preimage,
      settleIndex: 4,
      amtPaidMsat: 150_000,
      descriptionHash: "ef".repeat(32),
      htlcs: [lndInvoiceHtlcJson(150_000, "SETTLED")],
    });
    const { fetch } = recordingFetch(() => jsonResponse(200, json));
    const inv = await makeClient(fetch).lookupInvoice(ODD_HASH);
    expect(inv).toMatchObject({
      r_hash: ODD_HASH,
      r_preimage: preimage,
      value: 150,
      value_msat: 150_000,
      state: "SETTLED",
      creation_date: 1_700_000_000,
      settle_date: 1_700_000_100,
      description_hash: "ef".repeat(32),
      add_index: 12,
      settle_index: 4,
      amt_paid_msat: 150_000,
      payment_addr: PAY_ADDR,
    });
    expect(inv.htlcs).toEqual([
      {
        chan_id: BIG_CHAN_ID,
        htlc_index: "3",
        amt_msat: 150_000,
        accept_height: 820000,
        accept_time: 1_700_000_050,
        resolve_time: 1_700_000_100,
        expiry_height: 820080,
        state: "SETTLED",
        mpp_total_amt_msat: 150_000,
        custom_records: { "5482373484": "c0ffee" },
      },
    ]);
  });

  it("treats absent fields as proto3 defaults and empty bytes as null", async () => {
    const { fetch } = recordingFetch(() => jsonResponse(200, { r_hash: hexToBase64(ODD_HASH) }));
    const inv = await makeClient(fetch).lookupInvoice(ODD_HASH);
    expect(inv).toMatchObject({ state: "OPEN", value_msat: 0, r_preimage: null, htlcs: [], memo: "" });
  });

  it("decodes payments: preimage only once succeeded, nanosecond times as bigint", async () => {
    const preimage = "cd".repeat(32);
    const stream = [
      { result: lndPaymentJson({ hash: ODD_HASH, status: "IN_FLIGHT" }) },
      { result: lndPaymentJson({ hash: ODD_HASH, status: "SUCCEEDED", preimage }) },
    ]
      .map((m) => JSON.stringify(m) + "\n")
      .join("");
    const { fetch } = recordingFetch(() => new Response(stream));
    const [inflight, done] = (await collect(
      makeClient(fetch).sendPayment({ payment_request: "lnbcrt1", fee_limit_msat: 1000, timeout_seconds: 30 }),
    )) as [Payment, Payment];
    expect(inflight).toMatchObject({ status: "IN_FLIGHT", payment_preimage: null, fee_msat: 0, failure_reason: "FAILURE_REASON_NONE" });
    expect(inflight.htlcs[0]).toMatchObject({ status: "IN_FLIGHT", preimage: null, resolve_time_ns: 0n, failure: null });
    expect(done).toMatchObject({
      payment_hash: ODD_HASH,
      payment_preimage: preimage,
      status: "SUCCEEDED",
      value_sat: 150,
      value_msat: 150_000,
      fee_msat: 1000,
      payment_index: 42,
      creation_time_ns: 1_700_000_000_123_456_789n,
    });
    expect(done.htlcs[0]!.route!.hops[0]).toEqual({
      chan_id: BIG_CHAN_ID,
      pub_key: NODE_PUBKEY,
      amt_to_forward_msat: 150_000,
      fee_msat: 1000,
      expiry: 820043,
      // The last hop's MPP record: how an AMP payment is found again by the payment address the hub chose.
      mpp_payment_addr: "11".repeat(32),
    });
    expect(done.htlcs[0]!.preimage).toBe(preimage);
  });

  it("keeps failure reasons and HTLC failure codes LND may add later", async () => {
    const json = lndPaymentJson({ hash: ODD_HASH, status: "FAILED", failureReason: "FAILURE_REASON_SOMETHING_NEW" });
    const { fetch } = recordingFetch(() => new Response(JSON.stringify({ result: json })));
    const [p] = await collect(makeClient(fetch).trackPayment(ODD_HASH));
    expect(p!.status).toBe("FAILED");
    expect(p!.failure_reason).toBe("FAILURE_REASON_SOMETHING_NEW");
    expect(p!.htlcs[0]!.failure).toEqual({ code: "TEMPORARY_CHANNEL_FAILURE", failure_source_index: 1, height: 0 });
  });

  it("refuses amounts beyond 2^53 and unknown payment statuses instead of guessing", async () => {
    const huge = { ...lndInvoiceJson(openInvoice(ODD_HASH)), value_msat: "9007199254740993" };
    const weird = { result: { ...lndPaymentJson({ hash: ODD_HASH, status: "IN_FLIGHT" }), status: "HALF_DONE" } };
    const { fetch } = recordingFetch((req) =>
      req.url.pathname.startsWith("/v2/invoices") ? jsonResponse(200, huge) : new Response(JSON.stringify(weird) + "\n"),
    );
    const lnd = makeClient(fetch);
    const e1 = await caught(lnd.lookupInvoice(ODD_HASH));
    const e2 = await caught(collect(lnd.trackPayment(ODD_HASH)));
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(LndUnreachableError);
      expect((e as LndUnreachableError).reason).toBe("bad_response");
    }
  });

  it("decodes DecodePayReq (hash as hex string, payment_addr as bytes)", async () => {
    const { fetch, requests } = recordingFetch(() =>
      jsonResponse(200, {
        destination: NODE_PUBKEY,
        payment_hash: ODD_HASH,
        num_satoshis: "150",
        timestamp: "1700000000",
        expiry: "86400",
        description: "coffee",
        description_hash: "",
        fallback_addr: "",
        cltv_expiry: "80",
        route_hints: [],
        payment_addr: hexToBase64(PAY_ADDR),
        num_msat: "150000",
        features: { "14": { name: "payment-addr", is_required: true, is_known: true } },
        blinded_paths: [],
      }),
    );
    const pr = await makeClient(fetch).decodePayReq("lnbcrt1500n1pxyz");
    expect(requests[0]!.url.pathname).toBe("/v1/payreq/lnbcrt1500n1pxyz");
    expect(pr).toEqual({
      destination: NODE_PUBKEY,
      payment_hash: ODD_HASH,
      num_satoshis: 150,
      num_msat: 150_000,
      timestamp: 1_700_000_000,
      expiry: 86400,
      description: "coffee",
      description_hash: null,
      fallback_addr: "",
      cltv_expiry: 80,
      payment_addr: PAY_ADDR,
      features: { "14": { name: "payment-addr", is_required: true, is_known: true } },
    });
  });

  it("decodes channels and balances", async () => {
    const { fetch, requests } = recordingFetch((req) => {
      switch (req.url.pathname) {
        case "/v1/channels":
          return jsonResponse(200, {
            channels: [
              {
                active: true,
                remote_pubkey: NODE_PUBKEY,
                channel_point: `${"aa".repeat(32)}:0`,
                chan_id: BIG_CHAN_ID,
                capacity: "1000000",
                local_balance: "600000",
                remote_balance: "396530",
                commit_fee: "2810",
                commit_weight: "1116",
                fee_per_kw: "2500",
                unsettled_balance: "150",
                total_satoshis_sent: "1000",
                total_satoshis_received: "2000",
                num_updates: "17",
                pending_htlcs: [
                  {
                    incoming: true,
                    amount: "150",
                    hash_lock: hexToBase64(ODD_HASH),
                    expiration_height: 820080,
                    htlc_index: "3",
                    forwarding_channel: "0",
                    forwarding_htlc_index: "0",
                  },
                ],
                csv_delay: 144,
                private: false,
                initiator: true,
                chan_status_flags: "ChanStatusDefault",
                local_chan_reserve_sat: "10000",
                remote_chan_reserve_sat: "10000",
                static_remote_key: false,
                commitment_type: "ANCHORS",
                lifetime: "3600",
                uptime: "3600",
                close_address: "",
                push_amount_sat: "0",
                thaw_height: 0,
                local_constraints: null,
                remote_constraints: null,
                alias_scids: [],
                zero_conf: false,
                zero_conf_confirmed_scid: "0",
                peer_alias: "peer",
                peer_scid_alias: "0",
                memo: "",
              },
            ],
          });
        case "/v1/balance/channels":
          return jsonResponse(200, {
            balance: "600000",
            pending_open_balance: "0",
            local_balance: { sat: "600000", msat: "600000000" },
            remote_balance: { sat: "396530", msat: "396530000" },
            unsettled_local_balance: { sat: "0", msat: "0" },
            unsettled_remote_balance: { sat: "150", msat: "150000" },
            pending_open_local_balance: { sat: "0", msat: "0" },
            pending_open_remote_balance: { sat: "0", msat: "0" },
          });
        default:
          return jsonResponse(200, {
            total_balance: "250000",
            confirmed_balance: "200000",
            unconfirmed_balance: "50000",
            locked_balance: "0",
            reserved_balance_anchor_chan: "10000",
            account_balance: { default: { confirmed_balance: "200000", unconfirmed_balance: "50000" } },
          });
      }
    });
    const lnd = makeClient(fetch);
    const [chan] = await lnd.listChannels();
    expect(chan).toMatchObject({
      chan_id: BIG_CHAN_ID,
      capacity: 1_000_000,
      local_balance: 600_000,
      num_updates: 17,
      commitment_type: "ANCHORS",
      pending_htlcs: [{ incoming: true, amount: 150, hash_lock: ODD_HASH, expiration_height: 820080, htlc_index: "3" }],
    });
    const cb = await lnd.channelBalance();
    expect(cb.local_balance).toEqual({ sat: 600_000, msat: 600_000_000 });
    expect(cb.unsettled_remote_balance).toEqual({ sat: 150, msat: 150_000 });
    expect(await lnd.walletBalance()).toEqual({
      total_balance: 250_000,
      confirmed_balance: 200_000,
      unconfirmed_balance: 50_000,
      locked_balance: 0,
      reserved_balance_anchor_chan: 10_000,
    });
    expect(requests.map((r) => r.url.pathname)).toEqual(["/v1/channels", "/v1/balance/channels", "/v1/balance/blockchain"]);
  });
});

describe("errors", () => {
  it("maps a grpc-gateway error body to LndError with code, message and HTTP status", async () => {
    const { fetch } = recordingFetch(() => grpcError(404, GrpcCode.NOT_FOUND, "unable to locate invoice"));
    const err = await caught(makeClient(fetch).lookupInvoice(ODD_HASH));
    expect(err).toBeInstanceOf(LndError);
    expect(err).not.toBeInstanceOf(LndUnreachableError);
    expect(err).toMatchObject({ code: 5, message: "unable to locate invoice", httpStatus: 404 });
  });

  it("maps a stream that fails before its first message (status under \"error\")", async () => {
    const { fetch } = recordingFetch(() => streamErrorBeforeFirst(404, GrpcCode.NOT_FOUND, "payment isn't initiated"));
    const err = await caught(collect(makeClient(fetch).trackPayment(ODD_HASH)));
    expect(err).toMatchObject({ name: "LndError", code: 5, httpStatus: 404, message: "payment isn't initiated" });
  });

  it("ends a stream with LndError when an error message follows results", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    const seen: Invoice[] = [];
    const done = (async () => {
      for await (const inv of makeClient(fetch).subscribeInvoices()) seen.push(inv);
    })();
    stream.pushMessage({ result: lndInvoiceJson(openInvoice(ODD_HASH)) });
    stream.pushMessage({ error: { code: GrpcCode.UNKNOWN, message: "lnd is shutting down", details: [] } }, false);
    stream.close();
    const err = await caught(done);
    expect(seen).toHaveLength(1);
    expect(err).toMatchObject({ name: "LndError", code: 2, httpStatus: 200, message: "lnd is shutting down" });
  });

  it("treats a non-LND HTTP error (tunnel, Access page) as unreachable", async () => {
    const { fetch } = recordingFetch(() => new Response("<html>Bad gateway</html>", { status: 502 }));
    const err = await caught(makeClient(fetch).getInfo());
    expect(err).toBeInstanceOf(LndUnreachableError);
    expect(err).toMatchObject({ reason: "bad_gateway", httpStatus: 502 });
  });

  it("treats a 2xx body that is not JSON as unreachable (outcome unknown)", async () => {
    const { fetch } = recordingFetch(() => new Response("<html>login</html>", { status: 200 }));
    expect(await caught(makeClient(fetch).getInfo())).toMatchObject({ name: "LndUnreachableError", reason: "bad_response" });
  });

  it("wraps fetch failures as LndUnreachableError(network)", async () => {
    const { fetch } = recordingFetch(() => Promise.reject(new TypeError("Network connection lost.")));
    const err = await caught(makeClient(fetch).addHoldInvoice({ hash: ODD_HASH, value_msat: 1000 }));
    expect(err).toBeInstanceOf(LndUnreachableError);
    expect(err).toMatchObject({ reason: "network" });
    expect((err as Error).cause).toBeInstanceOf(TypeError);
  });

  it("wraps a body that breaks mid-stream as LndUnreachableError(network)", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    const it = makeClient(fetch).subscribeInvoices()[Symbol.asyncIterator]();
    stream.pushMessage({ result: lndInvoiceJson(openInvoice(ODD_HASH)) });
    expect((await it.next()).value).toMatchObject({ r_hash: ODD_HASH });
    const pending = it.next();
    stream.fail(new Error("connection reset"));
    expect(await caught(pending)).toMatchObject({ name: "LndUnreachableError", reason: "network" });
  });
});

describe("timeouts and cancellation", () => {
  it("times out a unary call whose response never comes", async () => {
    const { fetch, requests } = hangingFetch();
    const started = Date.now();
    const err = await caught(makeClient(fetch, { timeoutMs: 50 }).getInfo());
    expect(err).toBeInstanceOf(LndUnreachableError);
    expect(err).toMatchObject({ reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(requests[0]!.signal?.aborted).toBe(true); // the request itself was aborted
  });

  it("times out even if the fetch implementation ignores the abort signal", async () => {
    const { fetch } = recordingFetch(() => new Promise<Response>(() => {}));
    const err = await caught(makeClient(fetch).getInfo({ timeoutMs: 30 }));
    expect(err).toMatchObject({ name: "LndUnreachableError", reason: "timeout" });
  });

  it("times out when headers arrive but the body never completes", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    stream.pushBytes(enc.encode('{"identity_pubkey":'));
    const err = await caught(makeClient(fetch, { timeoutMs: 50 }).getInfo());
    expect(err).toMatchObject({ name: "LndUnreachableError", reason: "timeout" });
  });

  it("times out a status stream that sends no first message", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    const err = await caught(collect(makeClient(fetch, { timeoutMs: 50 }).trackPayment(ODD_HASH)));
    expect(err).toMatchObject({ name: "LndUnreachableError", reason: "timeout" });
  });

  it("does not time out an idle invoice subscription (LND sends nothing until an event)", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    const it = makeClient(fetch, { timeoutMs: 20 }).subscribeInvoices()[Symbol.asyncIterator]();
    const next = it.next();
    await sleep(80);
    stream.pushMessage({ result: lndInvoiceJson(openInvoice(ODD_HASH)) });
    expect((await next).value).toMatchObject({ state: "OPEN" });
    await it.return(undefined);
  });

  it("rejects with the caller's abort reason, not as unreachable", async () => {
    const { fetch } = hangingFetch();
    const controller = new AbortController();
    const p = makeClient(fetch).getInfo({ signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    const err = await caught(p);
    expect(err).not.toBeInstanceOf(LndUnreachableError);
    expect((err as Error).message).toBe("caller gave up");
  });

  it("closes the connection when the consumer leaves a stream early", async () => {
    const stream = new PushStream();
    const { fetch, requests } = recordingFetch(() => stream.response());
    stream.pushMessage({ result: lndInvoiceJson(openInvoice(ODD_HASH)) });
    stream.pushMessage({ result: lndInvoiceJson(openInvoice(ODD_HASH)) });
    expect(await collect(makeClient(fetch).subscribeInvoices(), 1)).toHaveLength(1);
    expect(requests[0]!.signal?.aborted).toBe(true);
  });
});

describe("documented behaviour: hold invoices", () => {
  it("runs OPEN → ACCEPTED → SETTLED, reported by SubscribeSingleInvoice which then closes", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const preimage = randomHex32();
    const hash = await sha256Hex(preimage);

    const added = await client.addHoldInvoice({ hash, value_msat: 150_000, memo: "coffee", cltv_expiry: 80 });
    expect(added.add_index).toBeGreaterThan(0);
    expect(added.payment_request).toMatch(/^ln/);

    const before = await client.lookupInvoice(hash);
    expect(before).toMatchObject({ r_hash: hash, state: "OPEN", value_msat: 150_000, r_preimage: null, memo: "coffee" });

    const states: Invoice[] = [];
    const watching = (async () => {
      for await (const inv of client.subscribeSingleInvoice(hash)) {
        states.push(inv);
        if (inv.state === "OPEN") lnd.acceptHtlc(hash, 150_000);
        if (inv.state === "ACCEPTED") await client.settleInvoice(preimage);
      }
    })();
    await watching; // returns because LND ends the stream after SETTLED

    expect(states.map((s) => s.state)).toEqual(["OPEN", "ACCEPTED", "SETTLED"]);
    expect(states[1]!.htlcs[0]).toMatchObject({ state: "ACCEPTED", amt_msat: 150_000 });
    expect(states[2]).toMatchObject({ r_preimage: preimage, amt_paid_msat: 150_000 });
    expect(states[2]!.settle_index).toBeGreaterThan(0);

    await expect(client.settleInvoice(preimage)).resolves.toBeUndefined(); // settling again succeeds
    expect((await client.lookupInvoice(hash)).state).toBe("SETTLED");
  });

  it("refuses to settle before an HTLC is accepted", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const preimage = randomHex32();
    await client.addHoldInvoice({ hash: await sha256Hex(preimage), value_msat: 1000 });
    const err = await caught(client.settleInvoice(preimage));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN, message: "invoice still open" });
  });

  it("cancels idempotently and refuses to cancel a settled invoice", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const open = randomHex32();
    await client.addHoldInvoice({ hash: open, value_msat: 1000 });
    await client.cancelInvoice(open);
    await client.cancelInvoice(open);
    expect((await client.lookupInvoice(open)).state).toBe("CANCELED");

    const preimage = randomHex32();
    const settled = await sha256Hex(preimage);
    await client.addHoldInvoice({ hash: settled, value_msat: 1000 });
    lnd.acceptHtlc(settled, 1000);
    await client.settleInvoice(preimage);
    expect(await caught(client.cancelInvoice(settled))).toMatchObject({ name: "LndError", message: "invoice already settled" });
  });

  it("rejects a duplicate payment hash", async () => {
    const client = new FakeLnd().client();
    const hash = randomHex32();
    await client.addHoldInvoice({ hash, value_msat: 1000 });
    expect(await caught(client.addHoldInvoice({ hash, value_msat: 1000 }))).toBeInstanceOf(LndError);
  });

  it("reports an unknown hash as NOT_FOUND (404) from LookupInvoiceV2", async () => {
    const err = await caught(new FakeLnd().client().lookupInvoice(randomHex32()));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.NOT_FOUND, httpStatus: 404 });
  });

  it("requires the macaroon", async () => {
    const lnd = new FakeLnd();
    const err = await caught(lnd.client({ macaroonHex: undefined }).lookupInvoice(randomHex32()));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.UNKNOWN, httpStatus: 500, message: "expected 1 macaroon, got 0" });
  });

  it("SubscribeInvoices reports additions and settlements, not ACCEPTED/CANCELED", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const events: Invoice[] = [];
    const sub = (async () => {
      for await (const inv of client.subscribeInvoices()) {
        events.push(inv);
        if (events.length === 3) return;
      }
    })();
    await sleep(0);
    const preimage = randomHex32();
    const hash = await sha256Hex(preimage);
    const other = randomHex32();
    await client.addHoldInvoice({ hash, value_msat: 2000 });
    await client.addHoldInvoice({ hash: other, value_msat: 3000 });
    lnd.acceptHtlc(hash, 2000);
    await client.cancelInvoice(other);
    await client.settleInvoice(preimage);
    await sub;
    expect(events.map((e) => [e.r_hash, e.state])).toEqual([
      [hash, "OPEN"],
      [other, "OPEN"],
      [hash, "SETTLED"],
    ]);
    expect(events[2]!.settle_index).toBeGreaterThan(0);
  });

  it("SubscribeInvoices replays additions after add_index", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const hashes = [randomHex32(), randomHex32(), randomHex32()];
    const added = [];
    for (const hash of hashes) added.push(await client.addHoldInvoice({ hash, value_msat: 1000 }));
    const replayed = await collect(client.subscribeInvoices({ add_index: added[0]!.add_index }), 2);
    expect(replayed.map((i) => i.r_hash)).toEqual(hashes.slice(1));
  });

  it("lists invoices with paging offsets", async () => {
    const lnd = new FakeLnd();
    const client = lnd.client();
    const hashes = [randomHex32(), randomHex32(), randomHex32()];
    for (const hash of hashes) await client.addHoldInvoice({ hash, value_msat: 1000 });
    const page1 = await client.listInvoices({ num_max_invoices: 2 });
    expect(page1.invoices.map((i) => i.r_hash)).toEqual(hashes.slice(0, 2));
    const page2 = await client.listInvoices({ index_offset: page1.last_index_offset, num_max_invoices: 2 });
    expect(page2.invoices.map((i) => i.r_hash)).toEqual(hashes.slice(2));
    expect(page2.first_index_offset).toBe(page2.invoices[0]!.add_index);
  });
});

describe("documented behaviour: payments", () => {
  const send = (payReq: string) => ({ payment_request: payReq, fee_limit_msat: 5_000, timeout_seconds: 30 });

  it("streams IN_FLIGHT then SUCCEEDED; payInvoice returns the final state", async () => {
    const lnd = new FakeLnd();
    const preimage = randomHex32();
    const hash = await sha256Hex(preimage);
    lnd.scriptPayment("lnbcrt-ok", { hash, preimage, steps: ["IN_FLIGHT", "SUCCEEDED"] });
    const outcome = await lnd.client().payInvoice(send("lnbcrt-ok"), { waitMs: 1000 });
    expect(outcome.final).toBe(true);
    expect(outcome.payment).toMatchObject({ status: "SUCCEEDED", payment_hash: hash, payment_preimage: preimage, fee_msat: 1000 });
    expect(await sha256Hex(outcome.payment!.payment_preimage!)).toBe(hash);
  });

  it("returns FAILED with its failure reason as a final outcome", async () => {
    const lnd = new FakeLnd();
    lnd.scriptPayment("lnbcrt-noroute", { hash: randomHex32(), preimage: randomHex32(), steps: ["IN_FLIGHT", "FAILED"] });
    const outcome = await lnd.client().payInvoice(send("lnbcrt-noroute"), { waitMs: 1000 });
    expect(outcome).toMatchObject({ final: true, payment: { status: "FAILED", failure_reason: "FAILURE_REASON_NO_ROUTE", payment_preimage: null } });
  });

  it("answers 'still in flight' at the deadline and releases the connection", async () => {
    const lnd = new FakeLnd();
    const hash = randomHex32();
    lnd.scriptPayment("lnbcrt-stuck", { hash, preimage: randomHex32(), steps: ["IN_FLIGHT"], hang: true });
    const started = Date.now();
    const outcome = await lnd.client().payInvoice(send("lnbcrt-stuck"), { waitMs: 60 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome).toMatchObject({ final: false, payment: { status: "IN_FLIGHT", payment_hash: hash } });
    expect(lnd.requests[0]!.signal?.aborted).toBe(true);

    // Tracking later shows the same in-flight payment.
    const tracked = await lnd.client().waitForPayment(hash, { waitMs: 60 });
    expect(tracked).toMatchObject({ final: false, payment: { status: "IN_FLIGHT" } });
  });

  it("answers pending with no payment when LND sends nothing before the deadline", async () => {
    const { fetch } = hangingFetch();
    const outcome = await makeClient(fetch).payInvoice(send("lnbcrt-x"), { waitMs: 40 });
    expect(outcome).toEqual({ final: false, payment: null });
  });

  it("reports an already paid invoice as ALREADY_EXISTS before any update", async () => {
    const lnd = new FakeLnd();
    lnd.scriptPayment("lnbcrt-twice", { hash: randomHex32(), preimage: randomHex32(), steps: ["SUCCEEDED"] });
    const client = lnd.client();
    expect((await client.payInvoice(send("lnbcrt-twice"), { waitMs: 1000 })).final).toBe(true);
    const err = await caught(client.payInvoice(send("lnbcrt-twice"), { waitMs: 1000 }));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.ALREADY_EXISTS, httpStatus: 409 });
  });

  it("with no_inflight_updates streams only the final state", async () => {
    const lnd = new FakeLnd();
    lnd.scriptPayment("lnbcrt-quiet", { hash: randomHex32(), preimage: randomHex32(), steps: ["IN_FLIGHT", "SUCCEEDED"] });
    const updates = await collect(lnd.client().sendPayment({ ...send("lnbcrt-quiet"), no_inflight_updates: true }));
    expect(updates.map((p) => p.status)).toEqual(["SUCCEEDED"]);
  });

  it("TrackPaymentV2 returns the current state; unknown hash is NOT_FOUND", async () => {
    const lnd = new FakeLnd();
    const preimage = randomHex32();
    const hash = await sha256Hex(preimage);
    lnd.scriptPayment("lnbcrt-done", { hash, preimage, steps: ["IN_FLIGHT", "SUCCEEDED"] });
    const client = lnd.client();
    await client.payInvoice(send("lnbcrt-done"), { waitMs: 1000 });
    const tracked = await client.waitForPayment(hash, { waitMs: 1000 });
    expect(tracked).toMatchObject({ final: true, payment: { status: "SUCCEEDED", payment_preimage: preimage } });

    const err = await caught(client.waitForPayment(randomHex32(), { waitMs: 1000 }));
    expect(err).toMatchObject({ name: "LndError", code: GrpcCode.NOT_FOUND, httpStatus: 404 });
  });

  it("keeps the in-flight state when the connection drops mid-payment", async () => {
    const stream = new PushStream();
    const { fetch } = recordingFetch(() => stream.response());
    const waiting = makeClient(fetch).payInvoice(send("lnbcrt-drop"), { waitMs: 1000 });
    stream.pushMessage({ result: lndPaymentJson({ hash: ODD_HASH, status: "IN_FLIGHT" }) });
    await sleep(10);
    stream.fail(new Error("connection reset"));
    const outcome = await waiting;
    expect(outcome).toMatchObject({ final: false, payment: { status: "IN_FLIGHT" } });
    expect(outcome.final === false && outcome.streamError).toBeInstanceOf(LndUnreachableError);
  });
});
