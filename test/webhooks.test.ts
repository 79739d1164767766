import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { WebhookActor } from "../durable/webhook-actor";
import type { WalletActor } from "../durable/wallet-actor";
import { WEBHOOK_MAX_ATTEMPTS } from "../src/webhooks/schedule";
import { api, createAccount, fund, newKey, testEnv, waitFor, walletStub, type TestAccount } from "./helpers";

interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

const RECEIVER = "http://127.0.0.1:9999/hooks";
const receiverUrl = (token: string, query = "") => `${RECEIVER}/${token}${query ? `?${query}` : ""}`;
const receivedBy = async (token: string): Promise<Received[]> => (await fetch(`http://127.0.0.1:9999/_outside/recorded/${token}`)).json();

const webhookStub = (a: TestAccount) => testEnv.WEBHOOKS.get(testEnv.WEBHOOKS.idFromName(`webhooks:${a.account_id}`)) as unknown as DurableObjectStub<WebhookActor>;

async function endpoint(a: TestAccount, token: string, events: string[] = ["*"], query = "") {
  const r = await api("POST", "/v1/webhooks", { body: { url: receiverUrl(token, query), events }, token: a.access_token });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json as { id: string; secret: string; url: string };
}

/** Every delivery the receiver got verifies with the reference verifier and this secret. */
function verified(secret: string, d: Received) {
  return new Webhook(secret).verify(d.body, d.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

const deliveriesOf = async (a: TestAccount, id: string, status = "") =>
  (await api("GET", `/v1/webhooks/${id}/deliveries${status ? `?status=${status}` : ""}`, { token: a.access_token })).json.deliveries as any[];

describe("webhooks", () => {
  it("an invoice paid reaches the endpoint signed (Standard Webhooks), with its metadata and the account", async () => {
    const [shop, buyer] = [await createAccount("w"), await createAccount("w")];
    const token = `paid-${newKey()}`;
    const hook = await endpoint(shop, token, ["invoice.paid"]);
    expect(hook.secret).toMatch(/^whsec_/);
    expect(hook).toMatchObject({ events: ["invoice.paid"], url: receiverUrl(token) });
    const invoice = (await api("POST", "/v1/invoices", { body: { amount_sat: 50, metadata: { order_id: "A-7" }, external_id: "A-7" }, token: shop.access_token })).json;
    await fund(buyer, 100);
    expect((await api("POST", "/v1/payments/lightning", { body: { payment_request: invoice.payment_request }, token: buyer.access_token, key: newKey() })).json.status).toBe("succeeded");
    await waitFor(async () => (await receivedBy(token)).length === 1, "the webhook");
    const [got] = await receivedBy(token);
    const event = verified(hook.secret, got!);
    expect(event.type).toBe("invoice.paid");
    expect(event.data).toMatchObject({ account_id: shop.account_id, invoice: { payment_hash: invoice.payment_hash, metadata: { order_id: "A-7" }, external_id: "A-7", status: "paid" } });
    expect(Date.parse(event.timestamp)).toBeGreaterThan(0);
    expect(() => new Webhook("whsec_" + btoa("x".repeat(32))).verify(got!.body, got!.headers)).toThrow();
    const log = await deliveriesOf(shop, hook.id);
    expect(log).toMatchObject([{ type: "invoice.paid", status: "delivered", attempts: 1, last_status_code: 200, last_error: null, next_attempt_at: null }]);
    expect(log[0].event_id).toBe(got!.headers["webhook-id"]);
  });

  it("only subscribed event types; every event at least once, none skipped, in one delivery each", async () => {
    const a = await createAccount("w");
    const all = `all-${newKey()}`;
    const some = `some-${newKey()}`;
    const hookAll = await endpoint(a, all, ["*"]);
    await endpoint(a, some, ["transfer.sent"]);
    const b = await createAccount("w");
    await fund(a, 100);
    for (let i = 0; i < 3; i++) await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1 }, token: a.access_token, key: newKey() });
    const events = (await api("GET", "/v1/events?after=0", { token: a.access_token })).json.events as any[];
    await waitFor(async () => (await receivedBy(all)).length === events.length, "every event");
    const types = (await receivedBy(all)).map((d) => verified(hookAll.secret, d).type);
    expect(types).toEqual(events.map((e) => e.type));
    await waitFor(async () => (await receivedBy(some)).length === 3, "the subscribed ones");
    // Ids are stable and distinct per event.
    expect(new Set((await receivedBy(all)).map((d) => d.headers["webhook-id"])).size).toBe(events.length);
  });

  it("a failing receiver is retried with the same id until it answers 2xx; Retry-After is honoured", async () => {
    const a = await createAccount("w");
    const token = `flaky-${newKey()}`;
    const hook = await endpoint(a, token, ["*"], "fail_first=2&retry_after=1");
    const test = await api("POST", `/v1/webhooks/${hook.id}/test`, { token: a.access_token });
    expect(test.json.delivery).toMatchObject({ type: "webhook.test", status: "pending", attempts: 1, last_status_code: 500 });
    // Retry-After: 1 s at the test's scale (0.001) is 1 ms, but the schedule's 5 s is 5 ms: the larger wins.
    expect(Date.parse(test.json.delivery.next_attempt_at) - Date.now()).toBeLessThan(2_000);
    await runDurableObjectAlarm(webhookStub(a));
    await runDurableObjectAlarm(webhookStub(a));
    const got = await receivedBy(token);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((d) => d.headers["webhook-id"])).size).toBe(1);
    got.forEach((d) => verified(hook.secret, d));
    expect((await deliveriesOf(a, hook.id))[0]).toMatchObject({ status: "delivered", attempts: 3, last_status_code: 200 });
  });

  it("after the last attempt the delivery is failed and stays in the log; retry sends it again now", async () => {
    const a = await createAccount("w");
    const token = `down-${newKey()}`;
    const hook = await endpoint(a, token, ["*"], "status=503");
    await api("POST", `/v1/webhooks/${hook.id}/test`, { token: a.access_token });
    for (let i = 1; i < WEBHOOK_MAX_ATTEMPTS; i++) await runDurableObjectAlarm(webhookStub(a));
    expect(await receivedBy(token)).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    const [failed] = await deliveriesOf(a, hook.id, "failed");
    expect(failed).toMatchObject({ status: "failed", attempts: WEBHOOK_MAX_ATTEMPTS, last_status_code: 503, next_attempt_at: null });
    expect(failed.last_error).toContain("503");
    expect(await runDurableObjectAlarm(webhookStub(a))).toBe(false); // nothing left to do
    const retried = await api("POST", `/v1/webhooks/${hook.id}/deliveries/${failed.id}/retry`, { token: a.access_token });
    expect(retried.json.delivery).toMatchObject({ status: "failed", attempts: WEBHOOK_MAX_ATTEMPTS + 1 });
    expect(await receivedBy(token)).toHaveLength(WEBHOOK_MAX_ATTEMPTS + 1);
  });

  it("410 Gone disables the endpoint; a timeout and a redirect are failures to retry", async () => {
    const a = await createAccount("w");
    const gone = await endpoint(a, `gone-${newKey()}`, ["*"], "status=410");
    await api("POST", `/v1/webhooks/${gone.id}/test`, { token: a.access_token });
    expect((await api("GET", "/v1/webhooks", { token: a.access_token })).json.webhooks.find((w: any) => w.id === gone.id).disabled_at).not.toBeNull();
    expect((await deliveriesOf(a, gone.id))[0]).toMatchObject({ status: "failed", last_status_code: 410 });

    const slow = await endpoint(a, `slow-${newKey()}`, ["*"], "delay_ms=1500"); // the tests' timeout is 1 s
    expect((await api("POST", `/v1/webhooks/${slow.id}/test`, { token: a.access_token })).json.delivery).toMatchObject({ status: "pending", last_status_code: null });
    expect((await deliveriesOf(a, slow.id))[0].last_error).toMatch(/no answer within/);

    const moved = await endpoint(a, `moved-${newKey()}`, ["*"], `redirect=${encodeURIComponent("http://10.0.0.1/")}`);
    expect((await api("POST", `/v1/webhooks/${moved.id}/test`, { token: a.access_token })).json.delivery).toMatchObject({ status: "pending", last_status_code: 302 });
    expect((await deliveriesOf(a, moved.id))[0].last_error).toMatch(/redirects are not followed/);
  });

  it("a receiver that hangs holds one sending place: the other deliveries go out meanwhile", async () => {
    const a = await createAccount("w");
    const [hung, fast] = [`hung-${newKey()}`, `fast-${newKey()}`];
    // The hung receiver answers only when the test lets it (the hub's fetch runs in this isolate).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input instanceof Request ? input.url : input).includes(`/hooks/${hung}`)) {
        await released;
        return new Response("ok");
      }
      return realFetch(input, init);
    });
    const hungHook = await endpoint(a, hung, ["test.first"]);
    await endpoint(a, fast);
    try {
      // Twelve events in one push: the hung receiver's delivery first, then more than the places left.
      await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
        actor.kit.unitOfWork.run(() => {
          for (let i = 0; i < 12; i++) actor.events.append(i === 0 ? "test.first" : "test.more", { i }, new Date().toISOString());
        });
      });
      await waitFor(async () => (await receivedBy(fast)).length === 12, "every delivery to the receiver that answers");
      expect((await deliveriesOf(a, hungHook.id))[0]).toMatchObject({ status: "pending", attempts: 0 });
    } finally {
      release();
      spy.mockRestore();
    }
    await waitFor(async () => (await deliveriesOf(a, hungHook.id))[0]?.status === "delivered", "the hung one, once released");
  });

  it("rotating the secret: both secrets sign for 24 h, each verifies", async () => {
    const a = await createAccount("w");
    const token = `rot-${newKey()}`;
    const hook = await endpoint(a, token);
    const rotated = await api("POST", `/v1/webhooks/${hook.id}/rotate-secret`, { token: a.access_token });
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(hook.secret);
    await api("POST", `/v1/webhooks/${hook.id}/test`, { token: a.access_token });
    const [got] = await receivedBy(token);
    expect(got!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verified(hook.secret, got!).type).toBe("webhook.test");
    expect(verified(rotated.json.secret, got!).type).toBe("webhook.test");
  });

  it("refuses unsafe or malformed endpoints, and endpoints of others are not found", async () => {
    const [a, b] = [await createAccount("w"), await createAccount("w")];
    for (const url of ["http://example.com/hook", "https://10.0.0.5/hook", "https://169.254.169.254/latest", "https://localhost.internal/x", "ftp://x.example/", "not a url", "http://127.0.0.2:9/x"]) {
      const r = await api("POST", "/v1/webhooks", { body: { url, events: ["*"] }, token: a.access_token });
      expect([r.status, r.json.error.code], url).toEqual([400, "invalid_request"]);
    }
    expect((await api("POST", "/v1/webhooks", { body: { url: receiverUrl("x"), events: [] }, token: a.access_token })).status).toBe(400);
    expect((await api("POST", "/v1/webhooks", { body: { url: receiverUrl("x"), events: ["Bad Type"] }, token: a.access_token })).status).toBe(400);
    expect((await api("GET", "/v1/webhooks", { token: a.access_token })).json.webhooks).toEqual([]);
    const hook = await endpoint(a, `mine-${newKey()}`);
    for (const [method, path] of [["DELETE", `/v1/webhooks/${hook.id}`], ["POST", `/v1/webhooks/${hook.id}/test`], ["POST", `/v1/webhooks/${hook.id}/rotate-secret`], ["GET", `/v1/webhooks/${hook.id}/deliveries`]] as const) {
      expect((await api(method, path, { token: b.access_token })).status, path).toBe(404);
    }
    expect((await api("GET", "/v1/webhooks", { token: a.access_token })).json.webhooks.map((w: any) => w.id)).toEqual([hook.id]);
    expect(JSON.stringify((await api("GET", "/v1/webhooks", { token: a.access_token })).json)).not.toContain("whsec_");
    expect((await api("DELETE", `/v1/webhooks/${hook.id}`, { token: a.access_token })).status).toBe(200);
    expect((await api("GET", "/v1/webhooks", { token: a.access_token })).json.webhooks).toEqual([]);
  });

  it("the feed cannot skip an event: one committed but never pushed (a crash) is pushed by the wallet's alarm", async () => {
    const [a, b] = [await createAccount("w"), await createAccount("w")];
    const token = `crash-${newKey()}`;
    const hook = await endpoint(a, token);
    await fund(a, 10);
    await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1 }, token: a.access_token, key: newKey() });
    await waitFor(async () => (await receivedBy(token)).length === 3, "the first three events");
    // Every append arms the safety net in its own unit of work...
    const armed = await runInDurableObject(walletStub(a.wallet_id), (_actor: WalletActor, state) => state.storage.getAlarm());
    expect(armed).not.toBeNull();
    // ...so an event committed while its push was lost (here: written behind the feed's back) still goes out.
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor, state) => {
      const seq = actor.events.lastSeq() + 1;
      state.storage.sql.exec("INSERT INTO events (seq, type, data, created_at) VALUES (?, 'test.lost_push', '{}', ?)", seq, new Date().toISOString());
    });
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    await waitFor(async () => (await receivedBy(token)).length === 4, "the fourth event");
    const types = (await receivedBy(token)).map((d) => verified(hook.secret, d).type);
    expect(types).toEqual(["faucet.credited", "transfer.sent", "transfer.delivered", "test.lost_push"]);
  });

  it("one push in flight per wallet: events committed meanwhile go in its next round, none carried twice", async () => {
    const a = await createAccount("w");
    const token = `burst-${newKey()}`;
    await endpoint(a, token);
    const carried = await runInDurableObject(walletStub(a.wallet_id), async (actor: WalletActor) => {
      const deliver = vi.spyOn(actor.webhookFeed.outbox, "deliver");
      try {
        // Five commits, each starting a push; the first is in flight when the others commit.
        for (let i = 0; i < 5; i++) actor.kit.unitOfWork.run(() => actor.events.append("test.burst", { i }, new Date().toISOString()));
        // The alarm's retry, coming now, joins the push in flight instead of sending beside it.
        await Promise.all([actor.webhookFeed.push(), ...actor.webhookFeed.tasks.map((task) => task.run(Date.now()))]);
        const sent = deliver.mock.calls.filter(([item]) => !item.delivered); // a delivered item is not sent
        return sent.map(([item]) => (JSON.parse(item.payload) as { events: { seq: number }[] }).events.map((e) => e.seq));
      } finally {
        deliver.mockRestore();
      }
    });
    // The first round carries the first event, the second the four committed while it was in flight.
    expect(carried.map((seqs) => seqs.length)).toEqual([1, 4]);
    expect(new Set(carried.flat()).size).toBe(5);
    await waitFor(async () => (await receivedBy(token)).length === 5, "the five events");
  });
});
