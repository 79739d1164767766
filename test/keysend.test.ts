// Keysend (POST /v1/payments/keysend; docs/decisions/0025) against the simulator: the hub makes the
// preimage, sends it in the keysend record, holds amount + maximum fee and settles at the real fee;
// retries with the same Idempotency-Key answer the same payment; bad input is a 4xx with nothing moved.
// Conservation after every test.

import { afterEach, describe, expect, it } from "vitest";
import { sha256HexOfBytes } from "../src/hash";
import { hexToBytes } from "../src/lightning/bytes";
import { NODES } from "../sim/topology";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, type TestAccount } from "./helpers";

const wallets: TestAccount[] = [];
const account = async () => {
  const a = await createAccount("ks");
  wallets.push(a);
  return a;
};
const keysend = (a: TestAccount, body: unknown, key: string | null = newKey()) => api("POST", "/v1/payments/keysend", { token: a.access_token, body, key: key ?? undefined });

afterEach(async () => {
  const audits = await Promise.all(wallets.map((a) => auditOf(a.wallet_id)));
  expectConservation(audits);
  for (const a of audits) expect(a.problems).toEqual([]);
});

describe("keysend", () => {
  it("pays erin by her public key: the hub's preimage, its hash, the amount taken at the real fee (none on the hub's own channel)", async () => {
    const a = await account();
    await fund(a, 50_000);
    const key = newKey();
    const r = await keysend(a, { destination: NODES.erin.pubkey, amount_sat: 1_000, memo: "tip" }, key);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ status: "succeeded", amount_msat: 1_000_000, fee_msat: 0 });
    expect(await sha256HexOfBytes(hexToBytes(r.json.preimage))).toBe(r.json.payment_hash);
    expect(r.json.transaction).toMatchObject({ kind: "lightning", direction: "out", status: "succeeded", memo: "tip" });
    expect(await balanceOf(a)).toBe(49_000_000);
    // The same key again: the same payment, nothing more moved.
    const again = await keysend(a, { destination: NODES.erin.pubkey, amount_sat: 1_000, memo: "tip" }, key);
    expect(again.status).toBe(200);
    expect(again.json.payment_hash).toBe(r.json.payment_hash);
    expect(await balanceOf(a)).toBe(49_000_000);
    // GET by hash finds it.
    expect((await api("GET", `/v1/payments/lightning/${r.json.payment_hash}`, { token: a.access_token })).json).toMatchObject({ status: "succeeded" });
    // The same key with another body: a conflict, nothing moved.
    expect((await keysend(a, { destination: NODES.erin.pubkey, amount_sat: 2_000 }, key)).status).toBe(409);
    expect(await balanceOf(a)).toBe(49_000_000);
  });

  it("two hops away (dave): settled at the fee the route took, within the default cap", async () => {
    const a = await account();
    await fund(a, 500_000);
    const r = await keysend(a, { destination: NODES.dave.pubkey, amount_sat: 100_000 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.status).toBe("succeeded");
    expect(r.json.fee_msat).toBeGreaterThan(0);
    expect(r.json.fee_msat).toBeLessThanOrEqual(500_000);
    expect(await balanceOf(a)).toBe(500_000_000 - 100_000_000 - r.json.fee_msat);
  });

  it("a node nobody can reach: the payment fails and the hold is released whole", async () => {
    const a = await account();
    await fund(a, 10_000);
    const nowhere = `03${"ab".repeat(32)}`;
    const r = await keysend(a, { destination: nowhere, amount_sat: 1_000 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.status).toBe("failed");
    expect(await balanceOf(a)).toBe(10_000_000);
  });

  it("bad input is a 4xx and moves nothing: malformed key, the hub's own node, no amount, no Idempotency-Key, not enough money", async () => {
    const a = await account();
    await fund(a, 5_000);
    const cases: [unknown, string | null, number][] = [
      [{ destination: "02abc", amount_sat: 1_000 }, newKey(), 400],
      [{ destination: NODES.erin.pubkey.toUpperCase(), amount_sat: 1_000 }, newKey(), 400],
      [{ destination: NODES.hub.pubkey, amount_sat: 1_000 }, newKey(), 400],
      [{ destination: NODES.erin.pubkey }, newKey(), 400],
      [{ destination: NODES.erin.pubkey, amount_sat: 0 }, newKey(), 400],
      [{ destination: NODES.erin.pubkey, amount_sat: 1_000, extra: 1 }, newKey(), 400],
      [{ destination: NODES.erin.pubkey, amount_sat: 1_000 }, null, 400],
      [{ destination: NODES.erin.pubkey, amount_sat: 10_000 }, newKey(), 422],
    ];
    for (const [body, key, status] of cases) {
      const r = await keysend(a, body, key);
      expect(r.status, `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`).toBe(status);
    }
    expect(await balanceOf(a)).toBe(5_000_000);
    expect((await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions.filter((t: { kind: string }) => t.kind === "lightning")).toEqual([]);
  });
});

describe("MPP: max_parts on a Lightning payment", () => {
  it("is passed with the payment (1 to 16); out of bounds is a 400 with nothing moved", async () => {
    const a = await account();
    await fund(a, 20_000);
    const invoice = async () => (await api("POST", "/dev/sim/invoices", { body: { amount_sat: 1_000, memo: "mpp" } })).json.payment_request as string;
    for (const max_parts of [0, 17, 1.5, "2"]) {
      const r = await api("POST", "/v1/payments/lightning", { token: a.access_token, key: newKey(), body: { payment_request: await invoice(), max_parts } });
      expect(r.status, JSON.stringify(r.json)).toBe(400);
    }
    expect(await balanceOf(a)).toBe(20_000_000);
    const key = newKey();
    const body = { payment_request: await invoice(), max_parts: 1 };
    const r = await api("POST", "/v1/payments/lightning", { token: a.access_token, key, body });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(20_000_000 - 1_000_000 - r.json.fee_msat);
    // A retry answers the same payment.
    const again = await api("POST", "/v1/payments/lightning", { token: a.access_token, key, body });
    expect(again.json.payment_hash).toBe(r.json.payment_hash);
    expect(await balanceOf(a)).toBe(20_000_000 - 1_000_000 - r.json.fee_msat);
  });
});
