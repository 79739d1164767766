import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createAccount, fund, openStream, pay, waitFor, walletStub } from "./helpers";

const seqs = (events: any[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("event log and live events", () => {
  it("pushes events live, in order, with gapless seq", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 10_000);
    const stream = await openStream("/v1/events/stream?after=0", { Authorization: `Bearer ${b.access_token}` });
    for (let i = 1; i <= 20; i++) await pay(a, b.username, i);
    await waitFor(() => stream.events().length >= 20, "20 live events");
    expect(seqs(stream.events())).toEqual(range(1, 20));
    expect(stream.events().map((e) => e.data.transaction.amount_msat)).toEqual(range(1, 20).map((n) => n * 1000));
    expect(stream.events()[19]).toMatchObject({ type: "transfer.received", data: { balance_msat: 210_000 } });
    stream.ws.close();
  });

  it("replays exactly what was missed after a reconnect: no gap, no duplicate", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 10_000);
    for (let i = 1; i <= 3; i++) await pay(a, b.username, i);
    const first = await openStream(`/v1/events/stream?after=0&access_token=${encodeURIComponent(b.access_token)}`);
    await waitFor(() => first.events().length >= 3, "replay");
    await pay(a, b.username, 4);
    await waitFor(() => first.events().length >= 4, "live event");
    const last = first.events().at(-1).seq;
    first.ws.close();
    // Payments while disconnected, some concurrent.
    await Promise.all(range(5, 12).map((n) => pay(a, b.username, n)));
    const second = await openStream(`/v1/events/stream?after=${last}`, { Authorization: `Bearer ${b.access_token}` });
    await pay(a, b.username, 13);
    await waitFor(() => second.events().length >= 9, "missed and new events");
    await new Promise((r) => setTimeout(r, 50));
    const all = [...first.events(), ...second.events()];
    expect(seqs(all)).toEqual(range(1, 13));
    expect(all.map((e) => e.data.transaction.amount_msat / 1000).sort((x, y) => x - y)).toEqual(range(1, 13));
    second.ws.close();
  });

  it("keeps events across eviction, and hibernated sockets still get pushes", async () => {
    const a = await createAccount("a");
    const b = await createAccount("b");
    await fund(a, 1000);
    const stream = await openStream("/v1/events/stream?after=0", { Authorization: `Bearer ${b.access_token}` });
    await pay(a, b.username, 1);
    await waitFor(() => stream.events().length >= 1, "first event");
    await evictDurableObject(walletStub(b.wallet_id)); // hibernates the socket, drops memory
    await pay(a, b.username, 2);
    await waitFor(() => stream.events().length >= 2, "event after hibernation");
    expect(seqs(stream.events())).toEqual([1, 2]);
    await evictDurableObject(walletStub(b.wallet_id), { webSockets: "close" });
    const log = await api("GET", "/v1/events?after=0", { token: b.access_token });
    expect(seqs(log.json.events)).toEqual([1, 2]);
    expect((await api("GET", "/v1/events?after=1", { token: b.access_token })).json.events.map((e: any) => e.seq)).toEqual([2]);
  });

  it("answers ping with pong, and refuses a stream without a valid token", async () => {
    const a = await createAccount();
    const stream = await openStream("/v1/events/stream", { Authorization: `Bearer ${a.access_token}` });
    stream.ws.send("ping");
    await waitFor(() => stream.frames.includes("pong"), "pong");
    stream.ws.close();
    const bad = await api("GET", "/v1/events/stream?access_token=nope", { headers: { Upgrade: "websocket" } });
    expect(bad.status).toBe(401);
    const notUpgrade = await api("GET", "/v1/events/stream", { token: a.access_token });
    expect([notUpgrade.status, notUpgrade.json.error.code]).toEqual([400, "invalid_request"]);
  });

  it("pages the log with after and limit, capping limit at 1000", async () => {
    const a = await createAccount();
    for (let i = 0; i < 5; i++) await fund(a, 1);
    const page = await api("GET", "/v1/events?after=2&limit=2", { token: a.access_token });
    expect(seqs(page.json.events)).toEqual([3, 4]);
    expect(seqs((await api("GET", "/v1/events?after=0&limit=5000", { token: a.access_token })).json.events)).toEqual(range(1, 5));
    expect((await api("GET", "/v1/events?after=-1", { token: a.access_token })).status).toBe(400);
    expect((await api("GET", "/v1/events?after=abc", { token: a.access_token })).status).toBe(400);
  });
});
