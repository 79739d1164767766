import { describe, expect, it } from "vitest";
import { api, createAccount, newKey } from "./helpers";

describe("invoices with metadata and external_id", () => {
  it("are returned in every read and in the paid event; external_id finds the invoice and is unique per account", async () => {
    const a = await createAccount("m");
    const b = await createAccount("m");
    const metadata = { order_id: "A-1001", customer: "ada" };
    const created = await api("POST", "/v1/invoices", { body: { amount_sat: 21, memo: "order", metadata, external_id: "order-1001" }, token: a.access_token });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ metadata, external_id: "order-1001" });
    const hash = created.json.payment_hash;
    expect((await api("GET", `/v1/invoices/${hash}`, { token: a.access_token })).json).toMatchObject({ metadata, external_id: "order-1001" });
    const found = await api("GET", "/v1/invoices?external_id=order-1001", { token: a.access_token });
    expect(found.json.invoices.map((i: any) => i.payment_hash)).toEqual([hash]);
    expect((await api("GET", "/v1/invoices?external_id=order-9999", { token: a.access_token })).json.invoices).toEqual([]);
    const dup = await api("POST", "/v1/invoices", { body: { amount_sat: 5, external_id: "order-1001" }, token: a.access_token });
    expect([dup.status, dup.json.error.code]).toEqual([409, "conflict"]);
    // Another account's ids are its own.
    expect((await api("POST", "/v1/invoices", { body: { amount_sat: 5, external_id: "order-1001" }, token: b.access_token })).status).toBe(201);
    expect((await api("GET", "/v1/invoices?external_id=order-1001", { token: b.access_token })).json.invoices[0].payment_hash).not.toBe(hash);

    // Paid inside the hub: the event about it carries the metadata.
    await api("POST", "/dev/faucet", { body: { amount_sat: 100 }, token: b.access_token, key: newKey() });
    const paid = await api("POST", "/v1/payments/lightning", { body: { payment_request: created.json.payment_request }, token: b.access_token, key: newKey() });
    expect(paid.json.status, JSON.stringify(paid.json)).toBe("succeeded");
    const events = (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events;
    expect(events.find((e: any) => e.type === "invoice.paid").data.invoice).toMatchObject({ metadata, external_id: "order-1001", status: "paid" });
  });

  it("lists invoices newest first, by pages", async () => {
    const a = await createAccount("m");
    const hashes = [];
    for (let i = 0; i < 5; i++) hashes.push((await api("POST", "/v1/invoices", { body: { amount_sat: 1 + i }, token: a.access_token })).json.payment_hash);
    const first = await api("GET", "/v1/invoices?limit=3", { token: a.access_token });
    expect(first.json.invoices.map((i: any) => i.payment_hash)).toEqual(hashes.slice(2).reverse());
    const second = await api("GET", `/v1/invoices?limit=3&cursor=${first.json.next_cursor}`, { token: a.access_token });
    expect(second.json.invoices.map((i: any) => i.payment_hash)).toEqual(hashes.slice(0, 2).reverse());
    expect(second.json.next_cursor).toBeNull();
  });

  it("refuses bad metadata and external ids, and creates nothing", async () => {
    const a = await createAccount("m");
    const manyKeys = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"]));
    const big = { note: "x".repeat(1100) };
    for (const body of [
      { amount_sat: 1, metadata: manyKeys },
      { amount_sat: 1, metadata: big },
      { amount_sat: 1, metadata: { n: 5 } },
      { amount_sat: 1, metadata: ["a"] },
      { amount_sat: 1, metadata: { "": "empty key" } },
      { amount_sat: 1, external_id: "x".repeat(65) },
      { amount_sat: 1, external_id: "" },
    ]) {
      const r = await api("POST", "/v1/invoices", { body, token: a.access_token });
      expect([r.status, r.json.error.code], JSON.stringify(body).slice(0, 60)).toEqual([400, "invalid_request"]);
    }
    expect((await api("GET", "/v1/invoices", { token: a.access_token })).json.invoices).toEqual([]);
  });
});
