// Test-side helpers of the regtest tier (they run inside workerd): the outside nodes (alice and
// bob) through their REST APIs, the control server, and the contract harness for real lnd.

import { inject } from "vitest";
import { decodeInvoice } from "../../src/bolt11";
import { createLndClient, type LndClientConfig } from "../../src/lightning";
import { hexToBase64, hexToBase64Url } from "../../src/lightning/bytes";
import type { Harness, OutsideNode, PayOutcome, RawReply, Session } from "../contract/lnd-suite";
import { randomHex32, rawReply, sha256Hex } from "../contract/lnd-suite";
import type { RegtestContext, RegtestNode } from "./context";

/** The network's coordinates, or null when this file runs outside the regtest tier (plain `npm test`). */
export function regtestContext(): RegtestContext | null {
  try {
    return inject("regtest") ?? null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const base64ToHex = (b64: string) => Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

/** An lnd node's REST API, as its admin (plain fetch: what the hub's client does too). */
export class Rest {
  constructor(readonly node: RegtestNode) {}

  async call(method: "GET" | "POST", path: string, body?: unknown, macaroonHex: string = this.node.macaroonHex): Promise<RawReply> {
    const headers: Record<string, string> = {};
    if (macaroonHex) headers["Grpc-Metadata-macaroon"] = macaroonHex;
    const res = await fetch(this.node.restUrl + path, {
      method,
      headers,
      body: typeof body === "string" ? body : body === undefined ? undefined : JSON.stringify(body),
    });
    return rawReply(res);
  }

  async ok(method: "GET" | "POST", path: string, body?: unknown): Promise<any> {
    const r = await this.call(method, path, body);
    if (r.status !== 200) throw new Error(`${this.node.name} ${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  }

  /** A plain invoice of this node. */
  async addInvoice(amountSat: number, memo = "", expirySeconds?: number, amp = false): Promise<{ payment_request: string; payment_hash: string }> {
    const body: Record<string, unknown> = { value: String(amountSat), memo };
    if (amp) body.is_amp = true;
    if (expirySeconds !== undefined) body.expiry = String(expirySeconds);
    const r = await this.ok("POST", "/v1/invoices", body);
    return { payment_request: r.payment_request, payment_hash: base64ToHex(r.r_hash) };
  }

  /** A hold invoice of this node: a payment to it stays in flight until settle() or cancel(). */
  async addHoldInvoice(amountSat: number) {
    const preimage = randomHex32();
    const payment_hash = sha256Hex(preimage);
    const r = await this.ok("POST", "/v2/invoices/hodl", { hash: hexToBase64(payment_hash), value: String(amountSat) });
    return {
      payment_request: r.payment_request as string,
      payment_hash,
      preimage,
      state: async () => (await this.ok("GET", `/v2/invoices/lookup?payment_hash=${hexToBase64Url(payment_hash)}`)).state as string,
      settle: async () => void (await this.ok("POST", "/v2/invoices/settle", { preimage: hexToBase64(preimage) })),
      cancel: async () => void (await this.ok("POST", "/v2/invoices/cancel", { payment_hash: hexToBase64(payment_hash) })),
    };
  }

  /**
   * This node pays an invoice (SendPaymentV2) in the background. `outcome` resolves with the
   * final state, or with the refusal when the node would not start the payment.
   */
  pay(paymentRequest: string, opts: { amountSat?: number; feeLimitSat?: number; amp?: boolean } = {}) {
    const body: Record<string, unknown> = { payment_request: paymentRequest, timeout_seconds: 60, fee_limit_sat: String(opts.feeLimitSat ?? 1000) };
    if (opts.amountSat !== undefined) body.amt = String(opts.amountSat);
    if (opts.amp) body.amp = true; // an AMP invoice: lnd draws the set id (the payment's payment_hash)
    const controller = new AbortController();
    const updates: any[] = [];
    const outcome: Promise<PayOutcome> = (async () => {
      const res = await fetch(this.node.restUrl + "/v2/router/send", {
        method: "POST",
        headers: { "Grpc-Metadata-macaroon": this.node.macaroonHex },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        for (let i; (i = buffer.indexOf("\n")) >= 0; ) {
          const line = JSON.parse(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
          if (line.error) return { status: "refused", reason: line.error.message } as PayOutcome;
          const p = line.result;
          updates.push(p);
          if (p.status === "SUCCEEDED") return { status: "succeeded", preimage: p.payment_preimage } as PayOutcome;
          if (p.status === "FAILED") return { status: "failed", reason: p.failure_reason } as PayOutcome;
        }
      }
      return { status: "pending" } as PayOutcome;
    })();
    outcome.catch(() => undefined);
    return { outcome, updates, stop: () => controller.abort() };
  }
}

/** The control server (scripts/regtest/control.mjs). */
export class Control {
  constructor(readonly url: string) {}

  private async post(path: string, body: unknown = {}): Promise<any> {
    const res = await fetch(this.url + path, { method: "POST", body: JSON.stringify(body) });
    const json: any = await res.json();
    if (res.status !== 200) throw new Error(`control ${path}: ${res.status} ${json.error}`);
    return json;
  }

  restart(node: "hub" | "alice" | "bob") {
    return this.post(`/nodes/${node}/restart`);
  }
  stop(node: "hub" | "alice" | "bob") {
    return this.post(`/nodes/${node}/stop`);
  }
  start(node: "hub" | "alice" | "bob") {
    return this.post(`/nodes/${node}/start`);
  }
  mine(blocks: number) {
    return this.post("/mine", { blocks });
  }
  lncli(node: "hub" | "alice" | "bob", ...args: string[]) {
    return this.post("/lncli", { node, args });
  }
}

/** The contract harness for real lnd: far = bob (two hops), near = alice (a direct peer). */
export function lndHarness(ctx: RegtestContext): Harness {
  const hub = new Rest(ctx.hub);
  const outside: Record<OutsideNode, Rest> = { far: new Rest(ctx.bob), near: new Rest(ctx.alice) };
  const hubClient = (extra: Partial<LndClientConfig> = {}) =>
    createLndClient({ baseUrl: ctx.hub.restUrl, fetch: (input, init) => fetch(input, init), macaroonHex: ctx.hub.macaroonHex, ...extra });

  const session = (): Session => ({
    client: hubClient,
    raw: (method, path, call = {}) => hub.call(method, path, call.text ?? call.body, call.macaroonHex ?? ctx.hub.macaroonHex),
    outsideInvoice: ({ amountSat, memo, expirySeconds, payee = "far", amp }) => outside[payee].addInvoice(amountSat, memo, expirySeconds, amp),
    outsideHoldInvoice: async ({ amountSat }) => outside.far.addHoldInvoice(amountSat),
    // The default payer is alice: bob never pays the hub, so the hub never has outbound
    // liquidity on its channel with bob and "far" stays two hops away.
    payHubInvoice: async (pr, { waitMs, amountSat, payer = "near", amp }) => {
      const hash = decodeInvoice(pr).payment_hash;
      const payment = outside[payer].pay(pr, { amountSat, amp });
      let ended: PayOutcome | undefined;
      payment.outcome.then((o) => (ended = o), () => undefined);
      // Until the hub holds the HTLC (or the payment ended first)...
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (ended) break;
        const r = await hub.call("GET", `/v2/invoices/lookup?payment_hash=${hexToBase64Url(hash)}`);
        if (r.status === 200 && (r.json.state === "ACCEPTED" || r.json.state === "SETTLED")) break;
        if (Date.now() > deadline) throw new Error(`the hub never received ${payer}'s HTLC`);
        await sleep(50);
      }
      // ...then up to waitMs for the end.
      const result = await Promise.race([payment.outcome, sleep(waitMs).then(() => ({ status: "pending" }) as PayOutcome)]);
      if (result.status === "pending") payment.stop(); // lnd keeps paying: the stream only reports
      if (result.status === "refused" && /^invoice expired/.test(result.reason ?? "")) return { ...result, reason: "invoice_expired" };
      return result;
    },
    outsidePubkey: async (node) => outside[node].node.pubkey,
    faults: null,
  });

  return {
    name: "real lnd",
    session,
    // Real lnd requires its admin macaroon from everyone; bob's admin macaroon is well formed,
    // with the same root key id, but signed by another node's root key.
    macaroons: async () => ({ valid: ctx.hub.macaroonHex, foreign: ctx.bob.macaroonHex }),
    payerSees: {
      // bob's HTLC reaches the hub, which refuses a second HTLC set (without telling why).
      invoiceHeld: { status: "failed", reason: "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS" },
      // alice's own lnd refuses to start paying an expired invoice.
      invoiceExpired: { status: "refused", reason: "invoice_expired" },
    },
  };
}
