import { describe, expect, it } from "vitest";
import { lndClient } from "../durable/lnd";
import { LndError } from "../src/lightning";
import { testEnv } from "./helpers";

/** The simulator's outside world (sim/README.md, "Control routes"). */
export async function sim<T = any>(path: string, body: unknown = {}): Promise<{ status: number; json: T }> {
  const res = await testEnv.LND_SIM!.fetch(`http://lnd-sim${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as T };
}

describe("the simulator's chain (LND's wallet routes)", () => {
  const lnd = lndClient(testEnv);

  it("gives addresses, sees deposits in the mempool, confirms them as blocks are mined, and re-orgs", async () => {
    const { address } = await lnd.newAddress();
    expect(address).toMatch(/^bcrt1q[0-9a-z]{38}$/);
    expect((await lnd.newAddress("TAPROOT_PUBKEY")).address).toMatch(/^bcrt1p[0-9a-z]{58}$/);
    const before = await lnd.walletBalance();
    const events: string[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      try {
        for await (const tx of lnd.subscribeTransactions({ signal: controller.signal })) events.push(`${tx.tx_hash}:${tx.num_confirmations}`);
      } catch {
        // aborted
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    const sent = await sim("/sim/onchain/send", { address, amount_sat: 50_000 });
    expect(sent.status).toBe(200);
    const txid: string = sent.json.txid;
    const find = async () => (await lnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid);
    expect(await find()).toMatchObject({ num_confirmations: 0, amount: 50_000, block_height: 0, output_details: [{ address, amount: 50_000, is_our_address: true, output_index: 0 }] });
    expect((await lnd.walletBalance()).unconfirmed_balance).toBe(before.unconfirmed_balance + 50_000);
    await sim("/sim/mine", { blocks: 2 });
    expect((await find())!.num_confirmations).toBe(2);
    expect((await lnd.walletBalance()).confirmed_balance).toBe(before.confirmed_balance + 50_000);
    // Two blocks replaced by empty ones: back in the mempool; then double-spent away.
    expect((await sim("/sim/onchain/reorg", { blocks: 2 })).json.unconfirmed).toContain(txid);
    expect((await find())!.num_confirmations).toBe(0);
    await sim("/sim/onchain/reorg", { txid });
    expect(await find()).toBeUndefined();
    expect(await lnd.walletBalance()).toMatchObject({ confirmed_balance: before.confirmed_balance, unconfirmed_balance: before.unconfirmed_balance });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await watching;
    expect(events).toEqual([`${txid}:0`, `${txid}:1`]);
  });

  it("estimates a fee, sends coins with a label, and refuses what LND refuses", async () => {
    const { json } = await sim("/sim/onchain/address");
    const to: string = json.address;
    const estimate = await lnd.estimateFee({ addr_to_amount: { [to]: 20_000 }, target_conf: 6 });
    expect(estimate).toEqual({ fee_sat: 1410, sat_per_vbyte: 10 });
    const before = await lnd.walletBalance();
    const { txid } = await lnd.sendCoins({ addr: to, amount: 20_000, sat_per_vbyte: 2, label: "flash-hub:test" });
    const tx = (await lnd.getTransactions({ end_height: -1 })).transactions.find((t) => t.tx_hash === txid)!;
    expect(tx).toMatchObject({ label: "flash-hub:test", total_fees: 282, amount: -20_282, num_confirmations: 0 });
    expect((await lnd.walletBalance()).confirmed_balance).toBe(before.confirmed_balance - 20_282);
    expect((await sim("/sim/onchain/tx", { txid })).json).toMatchObject({ outputs: [{ address: to, amount_sat: 20_000 }], fee_sat: 282, confirmations: 0 });
    await expect(lnd.sendCoins({ addr: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", amount: 20_000 })).rejects.toBeInstanceOf(LndError);
    await expect(lnd.sendCoins({ addr: to, amount: 100 })).rejects.toThrow(/dust/);
    await expect(lnd.sendCoins({ addr: to, amount: 10_000_000_000 })).rejects.toThrow(/insufficient funds/);
  });
});
