// The LND contract suite (test/contract/lnd-suite.ts) against the simulator (sim/), reached
// through the LND_SIM service binding. Each session gets its own knob scope (base URL
// http://lnd/scope/<id>), so knobs never leak into other tests. The same suite runs against real
// lnd in test/regtest/lnd-contract.test.ts.

import { env } from "cloudflare:workers";
import { createLndClient } from "../src/lightning";
import { fakeMacaroonHex, lndContractSuite, rawReply, type Harness, type OutsideNode, type Session } from "./contract/lnd-suite";

const simBinding = (env as unknown as { LND_SIM: Fetcher }).LND_SIM;

/** The simulator's outside nodes playing each role. */
const NODE: Record<OutsideNode, string> = { far: "dave", near: "erin" };

async function simCall(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await simBinding.fetch(`http://lnd${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const simulator: Harness = {
  name: "the simulator",
  session(): Session {
    const scope = `/scope/contract-${crypto.randomUUID()}`;
    const ok = async (path: string, body?: unknown) => {
      const r = await simCall(scope + path, body);
      if (r.status !== 200) throw new Error(`sim ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    return {
      client: (extra = {}) =>
        createLndClient({ baseUrl: `http://lnd${scope}`, fetch: (input, init) => simBinding.fetch(input, init), ...extra }),
      raw: async (method, path, call = {}) => {
        const headers: Record<string, string> = {};
        if (call.macaroonHex) headers["Grpc-Metadata-macaroon"] = call.macaroonHex;
        const body = call.text ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
        return rawReply(await simBinding.fetch(`http://lnd${scope}${path}`, { method, headers, body }));
      },
      outsideInvoice: ({ amountSat, memo, expirySeconds, payee, amp }) =>
        ok("/sim/invoices", { amount_sat: amountSat, memo, expiry_s: expirySeconds, payee: payee && NODE[payee], amp }),
      outsideHoldInvoice: async ({ amountSat }) => {
        const inv = await ok("/sim/invoices", { amount_sat: amountSat, payee: NODE.far, hold: true });
        return {
          ...inv,
          settle: async () => void (await ok("/sim/invoices/settle", { payment_hash: inv.payment_hash })),
          cancel: async () => void (await ok("/sim/invoices/cancel", { payment_hash: inv.payment_hash })),
        };
      },
      payHubInvoice: async (pr, { waitMs, amountSat, payer }) => {
        const r = await simCall(`${scope}/sim/pay`, { payment_request: pr, wait_ms: waitMs, amount_sat: amountSat, payer: payer && NODE[payer] });
        if (r.status === 400) return { status: "refused", reason: r.json.error.code };
        if (r.status !== 200) throw new Error(`sim /sim/pay: ${r.status} ${JSON.stringify(r.json)}`);
        return r.json;
      },
      outsidePubkey: async (node) => ((await ok("/sim/info")).nodes as { name: string; pubkey: string }[]).find((n) => n.name === NODE[node])!.pubkey,
      faults: { set: async (knobs) => void (await ok("/sim/knobs", knobs)) },
    };
  },
  macaroons: async (session) => {
    const valid = fakeMacaroonHex();
    await session.faults!.set({ macaroon_hex: valid });
    return { valid, foreign: fakeMacaroonHex() };
  },
  payerSees: {
    invoiceHeld: { status: "refused", reason: "invoice_already_paid" },
    invoiceExpired: { status: "refused", reason: "invoice_expired" },
  },
};

lndContractSuite(simulator);
