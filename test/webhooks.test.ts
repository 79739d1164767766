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

/** Answers the hub's deliveries to `/hooks/<path>` with `answer` (the hub's fetch runs in this isolate); other requests reach the test world. */
function interceptReceiver(path: string, answer: () => Response | Promise<Response>) {
  const realFetch = globalThis.fetch;
  return vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) =>
    String(input instanceof Request ? input.url : input).includes(`/hooks/${path}`) ? answer() : realFetch(input, init),
  );
}

/** A receiver at `/hooks/<path>` that answers "ok" only once released; `restore` releases it and ends the interception. */
function hangingReceiver(path: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const spy = interceptReceiver(path, async () => {
    await released;
    return new Response("ok");
  });
  return {
    restore() {
      release();
      spy.mockRestore();
    },
  };
}

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
    // Each event's type at its seq (the webhook-id ends with it). Order of arrival is not promised (the contract).
    const bySeq = (await receivedBy(all)).map((d) => [Number(d.headers["webhook-id"]!.split("_").pop()), verified(hookAll.secret, d).type] as const);
    expect(bySeq.sort((x, y) => x[0] - y[0])).toEqual(events.map((e) => [e.seq, e.type]));
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
    const receiver = hangingReceiver(hung);
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
      receiver.restore();
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

  it("one endpoint failing among others sent together: the others are delivered, it alone is retried", async () => {
    const a = await createAccount("w");
    const [ok1, ok2, bad] = [`b-ok1-${newKey()}`, `b-ok2-${newKey()}`, `b-bad-${newKey()}`];
    const hooks = [await endpoint(a, ok1, ["test.batch"]), await endpoint(a, ok2, ["test.batch"]), await endpoint(a, bad, ["test.batch"], "status=500")];
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
      actor.kit.unitOfWork.run(() => actor.events.append("test.batch", { n: 1 }, new Date().toISOString()));
    });
    await waitFor(async () => (await receivedBy(ok1)).length === 1 && (await receivedBy(ok2)).length === 1 && (await receivedBy(bad)).length >= 1, "the three sends");
    await waitFor(async () => (await deliveriesOf(a, hooks[2]!.id))[0]?.attempts >= 1, "the failure recorded");
    expect((await deliveriesOf(a, hooks[0]!.id))[0]).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    expect((await deliveriesOf(a, hooks[1]!.id))[0]).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    expect((await deliveriesOf(a, hooks[2]!.id))[0]).toMatchObject({ status: "pending", last_status_code: 500 });
    // Its retry goes to it alone.
    await runDurableObjectAlarm(webhookStub(a));
    expect(await receivedBy(ok1)).toHaveLength(1);
    expect(await receivedBy(ok2)).toHaveLength(1);
    const retried = await receivedBy(bad);
    expect(retried.length).toBeGreaterThanOrEqual(2);
    expect(new Set(retried.map((d) => d.headers["webhook-id"])).size).toBe(1);
  });

  it("a crash between a delivery and its recorded outcome: the alarm sends it again, with the same webhook-id", async () => {
    const a = await createAccount("w");
    const token = `lost-outcome-${newKey()}`;
    const hook = await endpoint(a, token, ["test.lost_outcome"]);
    // The unit of work after the one taking the event (the outcome's) fails as if the instance died before its commit.
    const units = await runInDurableObject(webhookStub(a), (actor: WebhookActor) => {
      const run = actor.kit.unitOfWork.run.bind(actor.kit.unitOfWork);
      let calls = 0;
      return vi.spyOn(actor.kit.unitOfWork, "run").mockImplementation(<T>(body: () => T): T => {
        if (++calls === 2) throw new Error("the instance died before the outcome's commit");
        return run(body);
      });
    });
    try {
      await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
        actor.kit.unitOfWork.run(() => actor.events.append("test.lost_outcome", { n: 1 }, new Date().toISOString()));
      });
      await waitFor(async () => (await receivedBy(token)).length === 1, "the first delivery");
      await waitFor(() => units.mock.calls.length >= 2, "the outcome's unit of work");
    } finally {
      units.mockRestore();
    }
    expect((await deliveriesOf(a, hook.id))[0]).toMatchObject({ status: "pending", attempts: 0 });
    // The safety net queued with the delivery brings it back.
    expect(await runDurableObjectAlarm(webhookStub(a))).toBe(true);
    const got = await receivedBy(token);
    expect(got).toHaveLength(2);
    expect(got[1]!.headers["webhook-id"]).toBe(got[0]!.headers["webhook-id"]);
    got.forEach((d) => verified(hook.secret, d));
    expect((await deliveriesOf(a, hook.id))[0]).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
  });

  it("an endpoint that hangs takes at most half the sending places: another endpoint's deliveries all go out meanwhile", async () => {
    const a = await createAccount("w");
    const [hung, fast] = [`hung-all-${newKey()}`, `fast-all-${newKey()}`];
    const receiver = hangingReceiver(hung);
    const hungHook = await endpoint(a, hung);
    await endpoint(a, fast);
    try {
      // Twelve events, each a delivery to both: more for the hung receiver than there are places in all.
      await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
        actor.kit.unitOfWork.run(() => {
          for (let i = 0; i < 12; i++) actor.events.append("test.more", { i }, new Date().toISOString());
        });
      });
      await waitFor(async () => (await receivedBy(fast)).length === 12, "every delivery to the receiver that answers");
      expect(await deliveriesOf(a, hungHook.id, "delivered")).toHaveLength(0);
    } finally {
      receiver.restore();
    }
    await waitFor(async () => (await deliveriesOf(a, hungHook.id, "delivered")).length === 12, "the hung ones, once released");
  });

  it("the feed loses and skips nothing: bursts of commits beyond a round's 100 events all arrive once, in order", async () => {
    const a = await createAccount("w");
    const token = `many-${newKey()}`;
    const hook = await endpoint(a, token, ["test.many"]);
    await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor) => {
      // Three commits of 120 events, the later ones while the first push is in flight.
      for (let c = 0; c < 3; c++) {
        actor.kit.unitOfWork.run(() => {
          for (let i = 0; i < 120; i++) actor.events.append("test.many", { n: c * 120 + i }, new Date().toISOString());
        });
      }
    });
    await waitFor(async () => (await receivedBy(token)).length >= 360, "360 deliveries", 20_000);
    const got = await receivedBy(token);
    expect(got).toHaveLength(360);
    const ns = got.map((d) => verified(hook.secret, d).data.n as number).sort((x, y) => x - y);
    expect(ns).toEqual(Array.from({ length: 360 }, (_, i) => i));
    // Every webhook-id once; the wallet's alarm writes the acknowledgement down (to the log's end) and pushes nothing again.
    expect(new Set(got.map((d) => d.headers["webhook-id"])).size).toBe(360);
    expect(await runDurableObjectAlarm(walletStub(a.wallet_id))).toBe(true);
    expect(await receivedBy(token)).toHaveLength(360);
    const feed = await runInDurableObject(walletStub(a.wallet_id), (actor: WalletActor, state) => ({
      acked: state.storage.sql.exec("SELECT acked_seq FROM webhook_feed").one().acked_seq as number,
      last: actor.events.lastSeq(),
    }));
    expect(feed.acked).toBe(feed.last);
  });

  it("an acknowledgement not yet written down (lost with the instance) pushes its events again: none is delivered twice", async () => {
    const [a, b] = [await createAccount("w"), await createAccount("w")];
    const token = `lag-${newKey()}`;
    await endpoint(a, token);
    await fund(a, 10);
    await api("POST", "/v1/payments/intraledger", { body: { to: b.username, amount_sat: 1 }, token: a.access_token, key: newKey() });
    await waitFor(async () => (await receivedBy(token)).length === 3, "the three events");
    const pushed = await runInDurableObject(walletStub(a.wallet_id), async (actor: WalletActor, state) => {
      const stored = state.storage.sql.exec("SELECT acked_seq FROM webhook_feed").one().acked_seq as number;
      const last = actor.events.lastSeq();
      // The table lags behind what the webhook actor acknowledged; a new instance would start from it.
      (actor.webhookFeed as unknown as { acked: number }).acked = stored;
      const deliver = vi.spyOn(actor.webhookFeed.outbox, "deliver");
      try {
        await actor.webhookFeed.push();
        return { stored, last, carried: deliver.mock.calls.map(([item]) => (JSON.parse(item.payload) as { events: unknown[] }).events.length) };
      } finally {
        deliver.mockRestore();
      }
    });
    expect(pushed.stored).toBeLessThan(pushed.last);
    expect(pushed.carried[0]).toBe(pushed.last - pushed.stored);
    await new Promise((r) => setTimeout(r, 100));
    expect(await receivedBy(token)).toHaveLength(3);
  });

  it("a 2xx answer's body is read only up to a bound: an endless one does not hold the delivery", async () => {
    const a = await createAccount("w");
    const token = `endless-${newKey()}`;
    const chunk = new Uint8Array(16 * 1024);
    const spy = interceptReceiver(token, () => new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }), { status: 200 }));
    const hook = await endpoint(a, token);
    try {
      const test = await api("POST", `/v1/webhooks/${hook.id}/test`, { token: a.access_token });
      expect(test.json.delivery).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    } finally {
      spy.mockRestore();
    }
  });
});
