import { describe, expect, it } from "vitest";
import { api, auditOf, balanceOf, createAccount, expectConsistentBooks, fund, newKey } from "./helpers";

describe("payments between users", () => {
  it("moves money by username and by wallet id, with events on both sides", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 5000);
    const p = await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1200, memo: "lunch" }, token: a.access_token, key: newKey() });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json.status).toBe("succeeded");
    expect(p.json.transaction).toMatchObject({ kind: "intraledger", direction: "out", amount_msat: 1_200_000, fee_msat: 0, status: "succeeded", memo: "lunch" });
    expect(p.json.transaction.counterparty).toEqual({ wallet_id: b.wallet_id, username: b.username });
    const byId = await api("POST", "/v1/payments/intraledger", { body: { to: b.wallet_id, amount_sat: 300 }, token: a.access_token, key: newKey() });
    expect(byId.json.status).toBe("succeeded");
    expect(await balanceOf(a)).toBe(3_500_000);
    expect(await balanceOf(b)).toBe(1_500_000);
    const tx = await api("GET", "/v1/wallet/transactions?limit=10", { token: b.access_token });
    expect(tx.json.transactions.map((t: any) => t.amount_msat)).toEqual([300_000, 1_200_000]);
    expect(tx.json.transactions[1]).toMatchObject({ direction: "in", status: "succeeded", memo: "lunch", counterparty: { wallet_id: a.wallet_id, username: a.username } });
    const ev = await api("GET", "/v1/events?after=0", { token: b.access_token });
    expect(ev.json.events.map((e: any) => [e.seq, e.type])).toEqual([[1, "transfer.received"], [2, "transfer.received"]]);
    for (const w of [a.wallet_id, b.wallet_id]) expectConsistentBooks(await auditOf(w));
  });
});
