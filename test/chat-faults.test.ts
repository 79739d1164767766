import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationActor } from "../durable/conversation-actor";
import type { SendTransferRequest, WalletPort } from "../durable/ports";
import type { WalletActor } from "../durable/wallet-actor";
import { newId } from "../src/ids";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, testEnv, walletStub, type TestAccount } from "./helpers";

/** The conversation's stub typed by its class, to reach its parts inside the object (as a crash test must). */
const conversationStub = (id: string) => testEnv.CONVERSATION.get(testEnv.CONVERSATION.idFromName(id)) as unknown as DurableObjectStub<ConversationActor>;
const inConversation = <R>(id: string, fn: (actor: ConversationActor) => R | Promise<R>) => runInDurableObject(conversationStub(id), (actor: ConversationActor) => fn(actor));
const member = (a: TestAccount) => ({ wallet_id: a.wallet_id, username: a.username });

async function directConversation(a: TestAccount, b: TestAccount) {
  const r = await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token });
  expect(r.status).toBe(201);
  return r.json.conversation_id as string;
}

async function messagesOf(a: TestAccount, id: string) {
  return (await api("GET", `/v1/conversations/${id}/messages?after=0`, { token: a.access_token })).json.messages as any[];
}

async function chatEvents(a: TestAccount) {
  const events = (await api("GET", "/v1/events?after=0&limit=1000", { token: a.access_token })).json.events as any[];
  events.forEach((e, i) => expect(e.seq).toBe(i + 1));
  return events.filter((e) => e.type !== "chat.created" && e.type !== "faucet.credited").map((e) => `${e.type}${e.data.message ? `#${e.data.message.seq}` : ""}`);
}

async function booksHold(...accounts: TestAccount[]) {
  expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));
}

/**
 * Runs step 1 of a payment message (the intent, with its seq and mailbox numbers) as if the
 * conversation crashed right after it; `transfer` is step 2's request as the conversation makes it.
 */
function recordIntent(id: string, from: TestAccount, to: TestAccount, amount_msat: number, tag = { key: newKey(), fingerprint: "fp" }) {
  const message_id = newId("msg");
  return inConversation(id, (actor) => {
    const intent = actor.payments.record({ id: message_id, kind: "message", message_id, payer: member(from), payee: member(to), amount_msat, body: { text: "crash test" }, tag });
    return { message_id, tag, transfer: actor.payments.transferFor(intent) };
  });
}

/** The messages of a member's chat.updated events, as their wallet logged them. */
async function loggedUpdates(a: TestAccount) {
  const events = (await api("GET", "/v1/events?after=0&limit=1000", { token: a.access_token })).json.events as any[];
  return events.filter((e) => e.type === "chat.updated").map((e) => e.data.message);
}

/** A member's chat.message events, as their wallet logged them. */
async function loggedMessages(a: TestAccount) {
  const events = (await api("GET", "/v1/events?after=0&limit=1000", { token: a.access_token })).json.events as any[];
  return events.filter((e) => e.type === "chat.message").map((e) => e.data.message);
}

describe("payment messages under crashes (docs/decisions/0007)", () => {
  it("crash after the intent, before the wallet: the alarm pays and writes the message, once", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    const { message_id, tag } = await recordIntent(id, a, b, 250_000);
    await abortAllDurableObjects();
    // The key with another request while its intent is open: 409, and the intent is not touched.
    const other = await conversationStub(id).postMessage(a.wallet_id, { kind: "payment", amount_msat: 1_000, to: null, body: {} }, { key: tag.key, fingerprint: "another request" });
    expect(other).toMatchObject({ ok: false, code: "idempotency_conflict" });
    expect(await balanceOf(a)).toBe(1_000_000); // nothing moved, nothing said
    expect(await messagesOf(a, id)).toEqual([]);

    expect(await runDurableObjectAlarm(conversationStub(id))).toBe(true);
    const messages = await messagesOf(b, id);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ id: message_id, seq: 1, kind: "payment", payment: { amount_msat: 250_000, status: "succeeded" } });
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([750_000, 250_000]);
    expect(await chatEvents(a)).toEqual(["transfer.sent", "transfer.delivered", "chat.message#1"]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1"]);
    // The client asking again with its key gets the message, and nothing moves again.
    const replay = await conversationStub(id).postMessage(a.wallet_id, { kind: "payment", amount_msat: 250_000, to: null, body: { text: "crash test" } }, tag);
    expect(replay).toMatchObject({ ok: true, status: 201, body: { message: { id: message_id } } });
    await runDurableObjectAlarm(conversationStub(id));
    expect(await balanceOf(a)).toBe(750_000);
    expect(await messagesOf(a, id)).toHaveLength(1);
    await booksHold(a, b);
  });

  it("crash after the wallet moved the money, before the message: the alarm writes the message, and pays nothing twice", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    const { message_id, transfer } = await recordIntent(id, a, b, 400_000);
    // Step 2 as the conversation makes it (the transfer carries the message to both wallets), then the conversation dies before step 3.
    expect(transfer).toMatchObject({ idempotency: { key: `chat:${id}:${message_id}` }, chat: { conversation_id: id, payer_n: 2, payee_n: 2, message: { id: message_id, seq: 1 } } });
    const moved = await walletStub(a.wallet_id).sendTransfer(transfer);
    expect(moved).toMatchObject({ ok: true, body: { status: "succeeded", chat: { payer_through: 2, payee_through: 2 } } });
    await abortAllDurableObjects();
    expect(await messagesOf(a, id)).toEqual([]);

    await runDurableObjectAlarm(conversationStub(id));
    const messages = await messagesOf(a, id);
    expect(messages.map((m) => [m.id, m.payment.status, m.payment.transaction_id])).toEqual([[message_id, "succeeded", (moved as any).body.transaction.id]]);
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([600_000, 400_000]);
    // Each wallet wrote the message with its money; the mailboxes' redelivery after the crash was recognised.
    expect(await chatEvents(a)).toEqual(["transfer.sent", "transfer.delivered", "chat.message#1"]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1"]);
    expect(await loggedMessages(a)).toEqual(messages);
    expect(await loggedMessages(b)).toEqual(messages);
    expect(await inConversation(id, (actor) => actor.mailboxes.undelivered())).toBe(0);
    await booksHold(a, b);
  });

  it("the sender cannot afford it when the alarm completes: the intent is dropped, no message, no money, the key is free", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    const id = await directConversation(a, b);
    const { tag } = await recordIntent(id, a, b, 5_000_000);
    await abortAllDurableObjects();
    await runDurableObjectAlarm(conversationStub(id));
    expect(await inConversation(id, (actor) => actor.payments.pendingIntents())).toBe(0);
    expect(await messagesOf(a, id)).toEqual([]);
    expect(await chatEvents(a)).toEqual([]);
    await fund(a, 10_000);
    const paid = await conversationStub(id).postMessage(a.wallet_id, { kind: "payment", amount_msat: 5_000_000, to: null, body: { text: "crash test" } }, tag);
    expect(paid).toMatchObject({ ok: true, body: { message: { seq: 1, payment: { status: "succeeded" } } } });
    await booksHold(a, b);
  });

  it("two completions of one intent at once (a client's retry, the alarm) ask the wallet once: a refusal is never followed by a late transfer", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    const id = await directConversation(a, b);
    const message_id = newId("msg");
    const outcome = await inConversation(id, async (actor) => {
      const intent = actor.payments.record({ id: message_id, kind: "message", message_id, payer: member(a), payee: member(b), amount_msat: 100_000, body: {}, tag: { key: newKey(), fingerprint: "fp" } });
      // The payer's wallet as the conversation reaches it, except that money arrives just before the second call.
      const payments = actor.payments as unknown as { wallets: (w: string) => DurableObjectStub<WalletPort> };
      const wallets = payments.wallets;
      let calls = 0;
      payments.wallets = (w) =>
        ({
          sendTransfer: async (request: SendTransferRequest) => {
            if (++calls === 2) await walletStub(a.wallet_id).creditFromFaucet(1_000_000, null);
            return wallets(w).sendTransfer(request);
          },
        }) as unknown as DurableObjectStub<WalletPort>;
      try {
        return { answers: await Promise.all([actor.payments.complete(intent), actor.payments.complete(intent)]), calls };
      } finally {
        payments.wallets = wallets;
      }
    });
    expect(outcome.calls).toBe(1);
    expect(outcome.answers.map((x) => (x.ok ? x.status : x.code))).toEqual(["insufficient_balance", "insufficient_balance"]);
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([0, 0]);
    expect(await messagesOf(a, id)).toEqual([]);
    expect(await inConversation(id, (actor) => actor.payments.pendingIntents())).toBe(0);
  });
});

describe("payment messages carried by their transfer", () => {
  it("crash after the payee's credit (which wrote its message), before the payer settled: each wallet logs the message once", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    const { message_id, transfer } = await recordIntent(id, a, b, 100_000);
    // The payer's step 1 of the transfer and the payee's credit, then everyone dies before the payer settles.
    const payload: any = await runInDurableObject(walletStub(a.wallet_id) as unknown as DurableObjectStub<WalletActor>, (wallet: WalletActor) => {
      const debited = wallet.transfers.debit(transfer);
      if (!debited.ok) throw new Error(debited.message);
      return JSON.parse(debited.item.payload) as unknown;
    });
    expect(await walletStub(b.wallet_id).receiveTransfer(payload)).toMatchObject({ ok: true, duplicate: false, chat_through: 2 });
    await abortAllDurableObjects();
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1"]);
    expect(await chatEvents(a)).toEqual(["transfer.sent"]);

    // The conversation's alarm first: the wallet answers the transfer it made (still pending), the message says so.
    await runDurableObjectAlarm(conversationStub(id));
    expect((await messagesOf(a, id)).map((m) => [m.id, m.seq, m.payment.status])).toEqual([[message_id, 1, "pending"]]);
    // Then the payer's outbox settles it (its carried message is already there: not logged again), and the conversation follows it.
    await runDurableObjectAlarm(walletStub(a.wallet_id));
    await runDurableObjectAlarm(conversationStub(id));
    await runDurableObjectAlarm(conversationStub(id));
    expect((await messagesOf(a, id))[0].payment.status).toBe("succeeded");
    expect(await chatEvents(a)).toEqual(["transfer.sent", "chat.message#1", "transfer.delivered", "chat.updated#1"]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1", "chat.updated#1"]);
    expect((await loggedMessages(b))[0]).toMatchObject({ id: message_id, seq: 1, payment: { status: "succeeded", transaction_id: payload.chat.message.payment.transaction_id } });
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([900_000, 100_000]);
    await booksHold(a, b);
  });

  it("a message posted while a payment holds the next seq waits for it, and finishes it after a crash: order and seq kept", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    const { message_id } = await recordIntent(id, a, b, 10_000);
    await abortAllDurableObjects();
    // No alarm: b's text finds the open payment (seq 1) and completes it before taking seq 2.
    const text = await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "after the payment" }, token: b.access_token });
    expect(text.status, JSON.stringify(text.json)).toBe(201);
    expect(text.json.message.seq).toBe(2);
    expect((await messagesOf(a, id)).map((m) => [m.seq, m.id === message_id, m.kind])).toEqual([[1, true, "payment"], [2, false, "text"]]);
    expect(await chatEvents(a)).toEqual(["transfer.sent", "transfer.delivered", "chat.message#1", "chat.message#2"]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1", "chat.message#2"]);
    expect(await balanceOf(b)).toBe(10_000);
    await booksHold(a, b);
  });

  it("a post finding a held payment whose payer's wallet cannot be reached fails and changes nothing; once it can, the payment comes first", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    const { message_id } = await recordIntent(id, a, b, 20_000);
    const failed = await inConversation(id, async (actor) => {
      const payments = actor.payments as unknown as { wallets: (w: string) => DurableObjectStub<WalletPort> };
      const wallets = payments.wallets;
      payments.wallets = () => ({ sendTransfer: async () => Promise.reject(new Error("the payer's wallet is unreachable")) }) as unknown as DurableObjectStub<WalletPort>;
      try {
        return await actor.postMessage(b.wallet_id, { kind: "text", text: "blocked" }, null).then(
          () => "posted",
          (error: Error) => error.message,
        );
      } finally {
        payments.wallets = wallets;
      }
    });
    expect(failed).toBe("the payer's wallet is unreachable");
    expect(await messagesOf(a, id)).toEqual([]);
    expect(await inConversation(id, (actor) => actor.payments.pendingIntents())).toBe(1);
    const text = await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "now" }, token: b.access_token });
    expect(text.json.message.seq).toBe(2);
    expect((await messagesOf(a, id)).map((m) => [m.seq, m.kind, m.id === message_id])).toEqual([[1, "payment", true], [2, "text", false]]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1", "chat.message#2"]);
    await booksHold(a, b);
  });

  it("payments and texts at once in one conversation: each seq once, no gap, every member logs them in that order", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await Promise.all([fund(a, 1000), fund(b, 1000)]);
    const id = await directConversation(a, b);
    const send = (who: TestAccount, body: unknown) => api("POST", `/v1/conversations/${id}/messages`, { body, token: who.access_token, key: newKey() });
    const answers = await Promise.all([
      send(a, { payment: { amount_sat: 10 } }),
      send(b, { text: "t1" }),
      send(b, { payment: { amount_sat: 20 } }),
      send(a, { payment: { amount_sat: 5_000 } }), // more than a has: 422, and its seq goes to the next message
      send(a, { text: "t2" }),
      send(b, { payment: { amount_sat: 30 } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 422, 201, 201]);
    const messages = await messagesOf(a, id);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await loggedMessages(a)).toEqual(messages);
    expect(await loggedMessages(b)).toEqual(messages);
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([1_040_000, 960_000]);
    expect(await inConversation(id, (actor) => actor.mailboxes.undelivered())).toBe(0);
    await booksHold(a, b);
  });

  it("a carried message that is not the next event of a member's mailbox is left to the mailbox: the member logs both in order", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 1000);
    const id = await directConversation(a, b);
    // A text committed and not yet delivered (the conversation died before its delivery).
    await inConversation(id, (actor) =>
      actor.kit.unitOfWork.run(() => {
        const message = actor.log.append({ sender: member(b), kind: "text", text: "not delivered yet", ciphertext: null }, new Date().toISOString());
        actor.mailboxes.post([a.wallet_id, b.wallet_id], "chat.message", { conversation_id: id, message });
      }),
    );
    const { transfer } = await recordIntent(id, a, b, 50_000);
    const moved = await walletStub(a.wallet_id).sendTransfer(transfer);
    // Neither wallet has event 2 of its mailbox, so neither logged event 3 (the payment) ahead of it.
    expect(moved).toMatchObject({ ok: true, body: { status: "succeeded", chat: { payer_through: 1, payee_through: 1 } } });
    expect(await chatEvents(b)).toEqual(["transfer.received"]);
    await abortAllDurableObjects();
    await runDurableObjectAlarm(conversationStub(id));
    await runDurableObjectAlarm(conversationStub(id));
    expect(await chatEvents(a)).toEqual(["transfer.sent", "transfer.delivered", "chat.message#1", "chat.message#2"]);
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1", "chat.message#2"]);
    expect(await loggedMessages(b)).toEqual(await messagesOf(b, id));
    expect(await inConversation(id, (actor) => actor.mailboxes.undelivered())).toBe(0);
    await booksHold(a, b);
  });
});

describe("request shares under crashes", () => {
  it("crash after the payer's wallet paid its share, before the conversation recorded it: the alarm records it, nothing is paid twice", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    await fund(b, 1000);
    const created = await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token });
    const id = created.json.conversation_id as string;
    const request = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 70 } }, token: a.access_token, key: newKey() })).json.message;
    const intentId = `${request.id}:${b.wallet_id}`;
    await inConversation(id, (actor) => {
      actor.payments.record({ id: intentId, kind: "share", message_id: request.id, payer: member(b), payee: member(a), amount_msat: 70_000, body: {}, tag: null });
    });
    await walletStub(b.wallet_id).sendTransfer({
      idempotency: { key: `chat:${id}:${intentId}`, fingerprint: `share:${a.wallet_id}:70000` },
      to: member(a),
      amount_msat: 70_000,
      memo: null,
    });
    await abortAllDurableObjects();
    // Asked again meanwhile (another key): the open share is completed, not paid a second time.
    const key = newKey();
    const again = await api("POST", `/v1/conversations/${id}/messages/${request.id}/pay`, { token: b.access_token, key });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.json.message.request).toMatchObject({ paid_by: [b.username], status: "open" });
    // That key replays its answer (not 409 already_paid): it was claimed when its request completed the share.
    const replay = await api("POST", `/v1/conversations/${id}/messages/${request.id}/pay`, { token: b.access_token, key });
    expect([replay.status, replay.json.message?.id]).toEqual([200, request.id]);
    await runDurableObjectAlarm(conversationStub(id));
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([70_000, 930_000]);
    const updates = (await chatEvents(c)).filter((e) => e.startsWith("chat.updated"));
    expect(updates).toEqual(["chat.updated#1"]); // the request is message 1
    await booksHold(a, b, c);
  });
});

describe("a share's key under a crash", () => {
  it("a crash while a request's key is claimed for a share already in flight: the same key again is answered 200, paid once (not 409 already_paid)", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    await fund(b, 1000);
    const id = (await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token })).json.conversation_id as string;
    const request = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 40 } }, token: a.access_token, key: newKey() })).json.message;
    const tag = { key: newKey(), fingerprint: "pay" };
    // b's share is an intent (a crashed attempt); b's request with its key completes it, and the conversation dies at that key's claim.
    const crashed = await inConversation(id, async (actor) => {
      actor.payments.record({ id: `${request.id}:${b.wallet_id}`, kind: "share", message_id: request.id, payer: member(b), payee: member(a), amount_msat: 40_000, body: {}, tag: null });
      const idempotency = (actor.payments as unknown as { idempotency: { claim: (t: { key: string } | null, ...rest: unknown[]) => unknown } }).idempotency;
      const claim = idempotency.claim.bind(idempotency);
      idempotency.claim = (t, ...rest) => {
        if (t?.key === tag.key) throw new Error("crash at the key's claim");
        return claim(t, ...rest);
      };
      return actor.payments.payShare(member(b), request.id, tag).then(
        () => "answered",
        (e: Error) => e.message,
      );
    });
    expect(crashed).toBe("crash at the key's claim");
    await abortAllDurableObjects();
    // Claimed, then the completion failed (the payer's wallet unreachable): the same key again finishes the open share.
    const tag2 = { key: newKey(), fingerprint: "pay" };
    const request2 = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 10 } }, token: a.access_token, key: newKey() })).json.message;
    const failed = await inConversation(id, async (actor) => {
      actor.payments.record({ id: `${request2.id}:${b.wallet_id}`, kind: "share", message_id: request2.id, payer: member(b), payee: member(a), amount_msat: 10_000, body: {}, tag: null });
      const payments = actor.payments as unknown as { wallets: (w: string) => unknown };
      const wallets = payments.wallets;
      payments.wallets = () => ({ sendTransfer: async () => { throw new Error("wallet unreachable"); } });
      try {
        return await actor.payments.payShare(member(b), request2.id, tag2).then(() => "answered", (e: Error) => e.message);
      } finally {
        payments.wallets = wallets;
      }
    });
    expect(failed).toBe("wallet unreachable");
    const retried = await conversationStub(id).payRequest(b.wallet_id, request2.id, tag2);
    expect(retried).toMatchObject({ ok: true, status: 200, body: { message: { id: request2.id, request: { paid_by: [b.username], status: "open" } } } });
    const again = await conversationStub(id).payRequest(b.wallet_id, request.id, tag);
    expect(again, JSON.stringify(again)).toMatchObject({ ok: true, status: 200, body: { message: { id: request.id, request: { paid_by: [b.username] } } } });
    await runDurableObjectAlarm(conversationStub(id));
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([50_000, 950_000]);
    await booksHold(a, b, c);
  });
});

describe("a share whose transfer was pending, then came back", () => {
  it("takes the payer out of paid_by (the request open again), tells every member, and the payer can pay it again", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    await fund(b, 1000);
    const id = (await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token })).json.conversation_id as string;
    const request = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 30, from: [b.username] } }, token: a.access_token, key: newKey() })).json.message;
    // b's share: the intent and the wallet's debit (the transfer not delivered), then everything dies.
    const { transfer } = await inConversation(id, (actor) => {
      const intent = actor.payments.record({ id: `${request.id}:${b.wallet_id}`, kind: "share", message_id: request.id, payer: member(b), payee: member(a), amount_msat: 30_000, body: {}, tag: null });
      return { transfer: actor.payments.transferFor(intent) };
    });
    const transfer_id = await runInDurableObject(walletStub(b.wallet_id) as unknown as DurableObjectStub<WalletActor>, (wallet: WalletActor) => {
      const debited = wallet.transfers.debit(transfer);
      if (!debited.ok) throw new Error(debited.message);
      return debited.transfer_id;
    });
    await abortAllDurableObjects();
    // The alarm records the share while its transfer is pending: b is in paid_by, the request paid.
    await runDurableObjectAlarm(conversationStub(id));
    expect((await messagesOf(a, id))[0].request).toMatchObject({ paid_by: [b.username], status: "paid" });
    // The transfer comes back (the payee's wallet refused it for good): b has the money again.
    await runInDurableObject(walletStub(b.wallet_id) as unknown as DurableObjectStub<WalletActor>, (wallet: WalletActor) => {
      const settle = (wallet.transfers as unknown as { settle: (id: string, d: { outcome: "returned"; reason: string }) => unknown }).settle.bind(wallet.transfers);
      expect(settle(transfer_id, { outcome: "returned", reason: "refused by the payee's wallet" })).not.toBeNull();
    });
    expect(await balanceOf(b)).toBe(1_000_000);
    await runDurableObjectAlarm(conversationStub(id));
    await runDurableObjectAlarm(conversationStub(id));
    expect((await messagesOf(c, id))[0].request).toMatchObject({ paid_by: [], status: "open" });
    const updates = (await loggedUpdates(c)).map((m) => [m.request.paid_by, m.request.status]);
    expect(updates).toEqual([
      [[b.username], "paid"],
      [[], "open"],
    ]);
    // b pays it again: a transfer of its own (not the one that came back), once.
    const key = newKey();
    const paid = await api("POST", `/v1/conversations/${id}/messages/${request.id}/pay`, { token: b.access_token, key });
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    expect(paid.json.message.request).toMatchObject({ paid_by: [b.username], status: "paid" });
    const replay = await api("POST", `/v1/conversations/${id}/messages/${request.id}/pay`, { token: b.access_token, key });
    expect(replay.status).toBe(200);
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([30_000, 970_000]);
    await booksHold(a, b, c);
  });
});

describe("a share's later key when its completion is refused", () => {
  it("is released with the intent's own key in one unit of work: a crash there leaves both claimed and the share open, and the later key pays it once", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    await fund(b, 10);
    const id = (await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token })).json.conversation_id as string;
    const request = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 40 } }, token: a.access_token, key: newKey() })).json.message;
    const [tag1, tag2] = [{ key: newKey(), fingerprint: "pay" }, { key: newKey(), fingerprint: "pay" }];
    // b's share started under key 1 (then the conversation crashed); key 2 asks again, b cannot afford it, and the conversation dies as it gives the keys back.
    const crashed = await inConversation(id, async (actor) => {
      actor.payments.record({ id: `${request.id}:${b.wallet_id}`, kind: "share", message_id: request.id, payer: member(b), payee: member(a), amount_msat: 40_000, body: {}, tag: tag1 });
      const idempotency = (actor.payments as unknown as { idempotency: { release: (t: { key: string } | null) => void } }).idempotency;
      const release = idempotency.release.bind(idempotency);
      idempotency.release = (t) => {
        if (t?.key === tag2.key) throw new Error("crash at key 2's release");
        release(t);
      };
      return actor.payments.payShare(member(b), request.id, tag2).then(
        (answer) => JSON.stringify(answer),
        (e: Error) => e.message,
      );
    });
    expect(crashed).toBe("crash at key 2's release");
    await abortAllDurableObjects();
    await fund(b, 1000);
    // Key 2 again: the share it joined is still open (nothing was half released), and is paid now, once.
    const again = await conversationStub(id).payRequest(b.wallet_id, request.id, tag2);
    expect(again, JSON.stringify(again)).toMatchObject({ ok: true, status: 200, body: { message: { id: request.id, request: { paid_by: [b.username] } } } });
    const key1 = await conversationStub(id).payRequest(b.wallet_id, request.id, tag1);
    expect(key1).toMatchObject({ ok: true, status: 200, body: { message: { id: request.id, request: { paid_by: [b.username] } } } });
    await runDurableObjectAlarm(conversationStub(id));
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([40_000, 970_000]);
    await booksHold(a, b, c);
  });
});

describe("canceling a request while a share is being paid", () => {
  it("is refused (409) until the share is recorded; the alarm records it, then the request can be canceled", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    await fund(b, 1000);
    const id = (await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token })).json.conversation_id as string;
    const request = (await api("POST", `/v1/conversations/${id}/messages`, { body: { request: { amount_sat: 30 } }, token: a.access_token, key: newKey() })).json.message;
    const cancel = () => api("POST", `/v1/conversations/${id}/messages/${request.id}/cancel`, { token: a.access_token });
    // The conversation crashed after b's share became an intent (step 1), before the wallet paid it.
    await inConversation(id, (actor) => {
      actor.payments.record({ id: `${request.id}:${b.wallet_id}`, kind: "share", message_id: request.id, payer: member(b), payee: member(a), amount_msat: 30_000, body: {}, tag: null });
    });
    await abortAllDurableObjects();
    const refused = await cancel();
    expect([refused.status, refused.json.error?.code]).toEqual([409, "conflict"]);
    await runDurableObjectAlarm(conversationStub(id));
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([30_000, 970_000]);
    const canceled = await cancel();
    expect(canceled.status).toBe(200);
    expect(canceled.json.message.request).toMatchObject({ paid_by: [b.username], status: "canceled" });
    await booksHold(a, b, c);
  });
});

describe("a payment whose transfer was still pending", () => {
  it("is followed until its transfer is final, then every member receives chat.updated", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    await fund(a, 100);
    const id = await directConversation(a, b);
    const moved = (await walletStub(a.wallet_id).sendTransfer({ idempotency: { key: newKey(), fingerprint: "t" }, to: member(b), amount_msat: 5_000, memo: null })) as any;
    expect(moved.body.status).toBe("succeeded");
    // A payment message written while its transfer was pending (the receiver did not answer in time).
    await inConversation(id, (actor) =>
      actor.kit.unitOfWork.run(() => {
        const message = actor.log.append(
          { sender: member(a), kind: "payment", text: null, ciphertext: null, payment: { amount_msat: 5_000, to: member(b), status: "pending", transaction_id: moved.body.transaction.id } },
          new Date().toISOString(),
        );
        actor.mailboxes.post([a.wallet_id, b.wallet_id], "chat.message", { conversation_id: id, message });
      }),
    );
    await runDurableObjectAlarm(conversationStub(id));
    await runDurableObjectAlarm(conversationStub(id));
    expect((await messagesOf(b, id))[0].payment.status).toBe("succeeded");
    expect(await chatEvents(b)).toEqual(["transfer.received", "chat.message#1", "chat.updated#1"]);
    const updated = (await api("GET", "/v1/events?after=0", { token: b.access_token })).json.events.find((e: any) => e.type === "chat.updated");
    expect(updated.data.message.payment.status).toBe("succeeded");
  });
});

describe("delivery to members' event logs", () => {
  it("crash after the message's commit, before it reached anyone: the alarm delivers it once to each member", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    const id = await directConversation(a, b);
    await inConversation(id, (actor) =>
      actor.kit.unitOfWork.run(() => {
        const message = actor.log.append({ sender: member(a), kind: "text", text: "lost in the crash?", ciphertext: null }, new Date().toISOString());
        actor.mailboxes.post([a.wallet_id, b.wallet_id], "chat.message", { conversation_id: id, message });
      }),
    );
    await abortAllDurableObjects();
    expect(await chatEvents(b)).toEqual([]);
    expect(await runDurableObjectAlarm(conversationStub(id))).toBe(true);
    await runDurableObjectAlarm(conversationStub(id));
    expect(await chatEvents(a)).toEqual(["chat.message#1"]);
    expect(await chatEvents(b)).toEqual(["chat.message#1"]);
    expect(await inConversation(id, (actor) => actor.mailboxes.undelivered())).toBe(0);
  });

  it("a member's wallet evicted between the commit and its delivery still gets every message, in order", async () => {
    const [a, b] = [await createAccount("f"), await createAccount("f")];
    const id = await directConversation(a, b);
    await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "1" }, token: a.access_token });
    await evictDurableObject(walletStub(b.wallet_id));
    await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "2" }, token: a.access_token });
    await evictDurableObject(walletStub(b.wallet_id));
    await evictDurableObject(conversationStub(id));
    await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "3" }, token: b.access_token });
    expect(await chatEvents(b)).toEqual(["chat.message#1", "chat.message#2", "chat.message#3"]);
  });

  it("a fan-out whose delivery to one member fails: the others' are recorded, that member gets it (and what follows) later, in order", async () => {
    const [a, b, c] = [await createAccount("f"), await createAccount("f"), await createAccount("f")];
    const id = (await api("POST", "/v1/conversations", { body: { members: [b.username, c.username] }, token: a.access_token })).json.conversation_id as string;
    const undelivered = await inConversation(id, async (actor) => {
      const mailboxes = actor.mailboxes as unknown as { wallets: (w: string) => DurableObjectStub<WalletPort> };
      const wallets = mailboxes.wallets;
      mailboxes.wallets = (w) => (w === c.wallet_id ? ({ receiveChatEvents: async () => Promise.reject(new Error("c's wallet is unreachable")) } as unknown as DurableObjectStub<WalletPort>) : wallets(w));
      try {
        const sent = await actor.postMessage(a.wallet_id, { kind: "text", text: "1" }, null);
        expect(sent).toMatchObject({ ok: true, body: { message: { seq: 1 } } });
      } finally {
        mailboxes.wallets = wallets;
      }
      return actor.mailboxes.undelivered();
    });
    expect(undelivered).toBe(1); // only c's copy is left
    expect(await chatEvents(a)).toEqual(["chat.message#1"]);
    expect(await chatEvents(b)).toEqual(["chat.message#1"]);
    expect(await chatEvents(c)).toEqual([]);
    // The next message reaches c with the one it missed, in order (its mailbox is read back, not sent as posted).
    await api("POST", `/v1/conversations/${id}/messages`, { body: { text: "2" }, token: b.access_token });
    for (const m of [a, b, c]) expect(await chatEvents(m)).toEqual(["chat.message#1", "chat.message#2"]);
    expect(await inConversation(id, (actor) => actor.mailboxes.undelivered())).toBe(0);
  });

  it("a redelivery is recognised and not written twice; a gap is refused for a retry", async () => {
    const a = await createAccount("f");
    const wallet = walletStub(a.wallet_id);
    const conversation_id = "conv_" + "ab".repeat(16);
    const event = (text: string) => ({ type: "chat.message", data: { conversation_id, message: { seq: Number(text), text } } });
    expect(await wallet.receiveChatEvents({ conversation_id, first_n: 1, events: [event("1"), event("2")] })).toEqual({ ok: true, through: 2 });
    expect(await wallet.receiveChatEvents({ conversation_id, first_n: 1, events: [event("1"), event("2")] })).toEqual({ ok: true, through: 2 });
    expect(await wallet.receiveChatEvents({ conversation_id, first_n: 2, events: [event("2"), event("3")] })).toEqual({ ok: true, through: 3 });
    expect(await wallet.receiveChatEvents({ conversation_id, first_n: 5, events: [event("5")] })).toMatchObject({ ok: false, code: "internal" });
    expect(await chatEvents(a)).toEqual(["chat.message#1", "chat.message#2", "chat.message#3"]);
  });
});
