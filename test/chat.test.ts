import { describe, expect, it } from "vitest";
import { encrypt, getConversationKey, getPublicKeyXOnly, decrypt } from "../src/nip44";
import { api, auditOf, balanceOf, createAccount, expectConservation, fund, newKey, type TestAccount } from "./helpers";

async function start(a: TestAccount, ...others: TestAccount[]) {
  const r = await api("POST", "/v1/conversations", { body: { members: others.map((o) => o.username) }, token: a.access_token });
  expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
  return r.json.conversation_id as string;
}

const post = (a: TestAccount, id: string, body: unknown, key: string | undefined = newKey()) =>
  api("POST", `/v1/conversations/${id}/messages`, { body, token: a.access_token, key });

async function eventsOf(a: TestAccount, type?: string) {
  const r = await api("GET", "/v1/events?after=0&limit=1000", { token: a.access_token });
  expect(r.status).toBe(200);
  const events = r.json.events as { seq: number; type: string; data: any }[];
  events.forEach((e, i) => expect(e.seq).toBe(i + 1)); // gapless
  return type ? events.filter((e) => e.type === type) : events;
}

/** Books of everyone involved: each consistent, money conserved, every event log gapless. */
async function booksHold(...accounts: TestAccount[]) {
  expectConservation(await Promise.all(accounts.map((a) => auditOf(a.wallet_id))));
  for (const a of accounts) await eventsOf(a);
}

describe("conversations", () => {
  it("a direct conversation is found again, never duplicated, even when both create it at once", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    const [x, y] = await Promise.all([
      api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token }),
      api("POST", "/v1/conversations", { body: { members: [a.username.toUpperCase()] }, token: b.access_token }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 201]);
    expect(x.json.conversation_id).toBe(y.json.conversation_id);
    expect(x.json).toMatchObject({ kind: "direct", title: null });
    expect(x.json.members.map((m: any) => m.username).sort()).toEqual([a.username, b.username].sort());
    const again = await api("POST", "/v1/conversations", { body: { members: [b.username] }, token: a.access_token });
    expect(again.status).toBe(200);
    expect(again.json.conversation_id).toBe(x.json.conversation_id);
    // Each member learned of it once.
    expect(await eventsOf(a, "chat.created")).toHaveLength(1);
    expect(await eventsOf(b, "chat.created")).toHaveLength(1);
  });

  it("text reaches every member's event log once, in order, with a gapless seq", async () => {
    const [a, b, c] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    const r = await api("POST", "/v1/conversations", { body: { members: [b.username, c.username], title: "trip" }, token: a.access_token });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ kind: "group", title: "trip" });
    const id = r.json.conversation_id;
    const sent = [];
    for (const [who, text] of [[a, "one"], [b, "two"], [c, "three"], [a, "four"]] as const) sent.push(await post(who, id, { text }));
    expect(sent.map((s) => s.status)).toEqual([201, 201, 201, 201]);
    expect(sent.map((s) => s.json.message.seq)).toEqual([1, 2, 3, 4]);
    expect(sent[1]!.json.message).toMatchObject({ conversation_id: id, sender: b.username, kind: "text", text: "two", ciphertext: null, payment: null, request: null });
    for (const member of [a, b, c]) {
      const messages = (await eventsOf(member, "chat.message")).map((e) => e.data.message);
      expect(messages.map((m: any) => [m.seq, m.text])).toEqual([[1, "one"], [2, "two"], [3, "three"], [4, "four"]]);
    }
  });

  it("a payment message moves the money once, with its message; replays answer the same; not enough money is 422 and no message", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    await fund(a, 1000);
    const id = await start(a, b);
    const key = newKey();
    const paid = await post(a, id, { payment: { amount_sat: 300, text: "for lunch" } }, key);
    expect(paid.status, JSON.stringify(paid.json)).toBe(201);
    expect(paid.json.message).toMatchObject({ seq: 1, kind: "payment", sender: a.username, text: "for lunch", payment: { amount_msat: 300_000, to: b.username, status: "succeeded" } });
    const replay = await post(a, id, { payment: { amount_sat: 300, text: "for lunch" } }, key);
    expect(replay.status).toBe(201);
    expect(replay.json.message.id).toBe(paid.json.message.id);
    expect((await post(a, id, { payment: { amount_sat: 301 } }, key)).status).toBe(409);
    expect(await balanceOf(a)).toBe(700_000);
    expect(await balanceOf(b)).toBe(300_000);
    const poor = await post(b, id, { payment: { amount_sat: 5000 } });
    expect([poor.status, poor.json.error.code]).toEqual([422, "insufficient_balance"]);
    const page = await api("GET", `/v1/conversations/${id}/messages`, { token: a.access_token });
    expect(page.json.messages.map((m: any) => m.seq)).toEqual([1]);
    expect((await eventsOf(b, "chat.message")).map((e) => e.data.message.id)).toEqual([paid.json.message.id]);
    expect((await eventsOf(b, "transfer.received"))).toHaveLength(1);
    const tx = (await api("GET", "/v1/wallet/transactions", { token: a.access_token })).json.transactions[0];
    expect(tx.id).toBe(paid.json.message.payment.transaction_id);
    await booksHold(a, b);
  });

  it("a message or request posted again with its Idempotency-Key is the same one, sent once; another body with the key is 409", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    const id = await start(a, b);
    const [textKey, requestKey] = [newKey(), newKey()];
    const text = await post(a, id, { text: "once" }, textKey);
    const request = await post(a, id, { request: { amount_sat: 5 } }, requestKey);
    expect([text.status, request.status]).toEqual([201, 201]);
    const [textAgain, requestAgain] = await Promise.all([post(a, id, { text: "once" }, textKey), post(a, id, { request: { amount_sat: 5 } }, requestKey)]);
    expect([textAgain.status, textAgain.json]).toEqual([201, text.json]);
    expect([requestAgain.status, requestAgain.json]).toEqual([201, request.json]);
    expect((await post(a, id, { text: "twice" }, textKey)).status).toBe(409);
    expect((await eventsOf(b, "chat.message")).map((e) => e.data.message.seq)).toEqual([1, 2]);
  });

  it("a payment in a group needs `to`, a member other than the sender", async () => {
    const [a, b, c, outsider] = [await createAccount("c"), await createAccount("c"), await createAccount("c"), await createAccount("c")];
    await fund(a, 1000);
    const id = await start(a, b, c);
    const before = await auditOf(a.wallet_id);
    expect((await post(a, id, { payment: { amount_sat: 10 } })).json.error.code).toBe("invalid_request");
    expect((await post(a, id, { payment: { amount_sat: 10, to: outsider.username } })).json.error.code).toBe("invalid_request");
    expect((await post(a, id, { payment: { amount_sat: 10, to: a.username } })).status).toBe(422);
    expect((await auditOf(a.wallet_id)).event_count).toBe(before.event_count);
    const ok = await post(a, id, { payment: { amount_sat: 10, to: c.username.toUpperCase() } });
    expect(ok.json.message.payment).toMatchObject({ to: c.username, status: "succeeded" });
    expect(await balanceOf(c)).toBe(10_000);
    expect(await balanceOf(b)).toBe(0);
    await booksHold(a, b, c);
  });

  it("requests: each payer pays its share once; paid_by and status follow; chat.updated reaches everyone", async () => {
    const [a, b, c] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    await Promise.all([fund(b, 1000), fund(c, 1000)]);
    const id = await start(a, b, c);
    const asked = await post(a, id, { request: { amount_sat: 100, text: "pizza" } });
    expect(asked.status).toBe(201);
    const req = asked.json.message;
    expect(req).toMatchObject({ kind: "request", text: "pizza", request: { amount_msat: 100_000, paid_by: [], status: "open" } });
    expect(req.request.from.sort()).toEqual([b.username, c.username].sort());
    const pay = (who: TestAccount, key = newKey()) => api("POST", `/v1/conversations/${id}/messages/${req.id}/pay`, { token: who.access_token, key });

    expect((await pay(a)).json.error.code).toBe("invalid_request"); // one's own request
    const key = newKey();
    const [first, dup] = await Promise.all([pay(b, key), pay(b, key)]);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(dup.json).toEqual(first.json);
    expect(first.json.message.request).toMatchObject({ paid_by: [b.username], status: "open" });
    const again = await pay(b); // another key: still one share per payer
    expect([again.status, again.json.error.code]).toEqual([409, "already_paid"]);
    // Two keys at once: one share is paid, and each key replays the same answer.
    const [k1, k2] = [newKey(), newKey()];
    const both = await Promise.all([pay(c, k1), pay(c, k2)]);
    expect(both.map((r) => r.status), JSON.stringify(both.map((r) => r.json))).toEqual([200, 200]);
    for (const k of [k1, k2]) expect((await pay(c, k)).json).toEqual(both[1]!.json);
    const last = both[1]!;
    expect(last.json.message.request).toMatchObject({ status: "paid" });
    expect(last.json.message.request.paid_by.sort()).toEqual([b.username, c.username].sort());
    expect((await pay(c)).status).toBe(409);
    expect(await balanceOf(a)).toBe(200_000);
    expect([await balanceOf(b), await balanceOf(c)]).toEqual([900_000, 900_000]);
    for (const m of [a, b, c]) {
      const updates = (await eventsOf(m, "chat.updated")).map((e) => e.data.message.request.status);
      expect(updates).toEqual(["open", "paid"]);
    }
    await booksHold(a, b, c);
  });

  it("requests: to named members only; the sender cancels; a canceled request cannot be paid", async () => {
    const [a, b, c] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    await Promise.all([fund(b, 1000), fund(c, 1000)]);
    const id = await start(a, b, c);
    const req = (await post(a, id, { request: { amount_sat: 50, from: [b.username] } })).json.message;
    expect(req.request.from).toEqual([b.username]);
    const payC = await api("POST", `/v1/conversations/${id}/messages/${req.id}/pay`, { token: c.access_token, key: newKey() });
    expect([payC.status, payC.json.error.code]).toEqual([403, "forbidden"]);
    const cancelByB = await api("POST", `/v1/conversations/${id}/messages/${req.id}/cancel`, { token: b.access_token });
    expect([cancelByB.status, cancelByB.json.error.code]).toEqual([403, "forbidden"]);
    const canceled = await api("POST", `/v1/conversations/${id}/messages/${req.id}/cancel`, { token: a.access_token });
    expect(canceled.json.message.request.status).toBe("canceled");
    const payB = await api("POST", `/v1/conversations/${id}/messages/${req.id}/pay`, { token: b.access_token, key: newKey() });
    expect([payB.status, payB.json.error.code]).toEqual([409, "conflict"]);
    expect((await api("POST", `/v1/conversations/${id}/messages/${req.id}/cancel`, { token: a.access_token })).status).toBe(409);
    expect(await balanceOf(b)).toBe(1_000_000);
    const notARequest = (await post(a, id, { text: "hi" })).json.message;
    expect((await api("POST", `/v1/conversations/${id}/messages/${notARequest.id}/pay`, { token: b.access_token, key: newKey() })).status).toBe(404);
    await booksHold(a, b, c);
  });

  it("a non-member gets 404 on every route of a conversation, as for one that does not exist", async () => {
    const [a, b, outsider] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    const id = await start(a, b);
    const msg = (await post(a, id, { request: { amount_sat: 1 } })).json.message;
    const missing = "conv_" + "0".repeat(32);
    for (const conv of [id, missing, "not-an-id"]) {
      const calls = [
        api("POST", `/v1/conversations/${conv}/messages`, { body: { text: "let me in" }, token: outsider.access_token, key: newKey() }),
        api("GET", `/v1/conversations/${conv}/messages`, { token: outsider.access_token }),
        api("POST", `/v1/conversations/${conv}/messages/${msg.id}/pay`, { token: outsider.access_token, key: newKey() }),
        api("POST", `/v1/conversations/${conv}/messages/${msg.id}/cancel`, { token: outsider.access_token }),
        api("POST", `/v1/conversations/${conv}/read`, { body: { seq: 1 }, token: outsider.access_token }),
        api("POST", `/v1/conversations/${conv}/leave`, { token: outsider.access_token }),
      ];
      for (const r of await Promise.all(calls)) expect([r.status, r.json.error.code], `${conv}`).toEqual([404, "not_found"]);
    }
    expect((await api("GET", "/v1/conversations", { token: outsider.access_token })).json.conversations).toEqual([]);
    expect(await eventsOf(outsider)).toEqual([]);
  });

  it("bad input is 4xx in the contract's shape and changes nothing", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    await fund(a, 100);
    const id = await start(a, b);
    const before = await auditOf(b.wallet_id);
    const cases: [unknown, number][] = [
      [{ text: "" }, 400],
      [{ text: "x".repeat(4001) }, 400],
      [{ ciphertext: "not base64!" }, 400],
      [{ ciphertext: btoa(String.fromCharCode(1, ...new Array(120).fill(7))) }, 400], // version 1
      [{ ciphertext: btoa(String.fromCharCode(2, ...new Array(60).fill(7))) }, 400], // too short
      [{ text: "a", ciphertext: "b" }, 400],
      [{}, 400],
      [{ payment: { amount_sat: 0 } }, 400],
      [{ payment: { amount_sat: 1.5 } }, 400],
      [{ payment: { amount_sat: 1, text: "a", ciphertext: "b" } }, 400],
      [{ request: { amount_sat: 1, from: ["nobody_here_at_all"] } }, 400],
      [{ request: { amount_sat: 1, from: [a.username] } }, 400],
      [{ text: "hi", extra: true }, 400],
    ];
    for (const [body, status] of cases) {
      const r = await post(a, id, body);
      expect([r.status, typeof r.json.error?.code], JSON.stringify(body).slice(0, 80)).toEqual([status, "string"]);
    }
    expect((await api("POST", `/v1/conversations/${id}/messages`, { body: { payment: { amount_sat: 1 } }, token: a.access_token })).status).toBe(400); // no key
    const tooMany = Array.from({ length: 101 }, (_, i) => `nobody_${i}`);
    expect((await api("POST", "/v1/conversations", { body: { members: tooMany }, token: a.access_token })).status).toBe(400);
    expect((await api("POST", "/v1/conversations", { body: { members: ["no_such_user_x"] }, token: a.access_token })).status).toBe(400);
    expect((await api("POST", "/v1/conversations", { body: { members: [a.username] }, token: a.access_token })).status).toBe(400);
    expect((await api("GET", `/v1/conversations/${id}/messages`, { token: a.access_token })).json.messages).toEqual([]);
    expect((await auditOf(b.wallet_id)).event_count).toBe(before.event_count);
    expect(await balanceOf(a)).toBe(100_000);
  });

  it("a group holds at most 100 members, the creator included", async () => {
    const creator = await createAccount("g");
    const others: TestAccount[] = [];
    for (let i = 0; i < 100; i += 20) others.push(...(await Promise.all(Array.from({ length: 20 }, () => createAccount("g")))));
    const over = await api("POST", "/v1/conversations", { body: { members: others.map((o) => o.username) }, token: creator.access_token });
    expect([over.status, over.json.error.code]).toEqual([400, "invalid_request"]);
    expect(await eventsOf(others[0]!)).toEqual([]);
    const full = await api("POST", "/v1/conversations", { body: { members: others.slice(0, 99).map((o) => o.username) }, token: creator.access_token });
    expect(full.status).toBe(201);
    expect(full.json.members).toHaveLength(100);
  });

  it("a member leaves a group and receives nothing more; a direct conversation cannot be left", async () => {
    const [a, b, c] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    const id = await start(a, b, c);
    await post(a, id, { text: "before" });
    expect((await api("POST", `/v1/conversations/${id}/leave`, { token: c.access_token })).status).toBe(200);
    await post(a, id, { text: "after" });
    expect((await eventsOf(c, "chat.message")).map((e) => e.data.message.text)).toEqual(["before"]);
    expect((await eventsOf(b, "chat.message")).map((e) => e.data.message.text)).toEqual(["before", "after"]);
    expect((await eventsOf(a, "chat.left")).map((e) => e.data.username)).toEqual([c.username]);
    expect((await api("GET", `/v1/conversations/${id}/messages`, { token: c.access_token })).status).toBe(404);
    expect((await post(a, id, { payment: { amount_sat: 1, to: c.username } })).json.error.code).toBe("invalid_request");
    const direct = await start(a, b);
    expect((await api("POST", `/v1/conversations/${direct}/leave`, { token: a.access_token })).status).toBe(400);
  });
});

describe("ordering", () => {
  it("messages posted at once by several members reach every member in the conversation's order, each once", async () => {
    const members = [await createAccount("o"), await createAccount("o"), await createAccount("o"), await createAccount("o")];
    const id = await start(members[0]!, ...members.slice(1));
    await Promise.all(members.flatMap((m, i) => Array.from({ length: 12 }, (_, k) => post(m, id, { text: `${i}:${k}` }))));
    for (const m of members) {
      const seqs = (await eventsOf(m, "chat.message")).map((e) => e.data.message.seq);
      expect(seqs).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    }
  });
});

describe("reading", () => {
  it("the list: most recent activity first, the last message, unread counts; read receipts go to the others", async () => {
    const [a, b, c] = [await createAccount("c"), await createAccount("c"), await createAccount("c")];
    const ab = await start(a, b);
    const ac = await start(a, c);
    await post(b, ab, { text: "b1" });
    await post(b, ab, { text: "b2" });
    await post(c, ac, { text: "c1" });
    let list = (await api("GET", "/v1/conversations", { token: a.access_token })).json.conversations;
    expect(list.map((x: any) => x.conversation_id)).toEqual([ac, ab]);
    expect(list.map((x: any) => [x.last_message.text, x.unread_count])).toEqual([["c1", 1], ["b2", 2]]);
    await post(a, ab, { text: "a1" });
    list = (await api("GET", "/v1/conversations", { token: a.access_token })).json.conversations;
    expect(list.map((x: any) => x.conversation_id)).toEqual([ab, ac]);
    expect(list[0].unread_count).toBe(2); // one's own messages are not unread
    const read = await api("POST", `/v1/conversations/${ab}/read`, { body: { seq: 2 }, token: a.access_token });
    expect(read.json).toEqual({ conversation_id: ab, seq: 2 });
    expect((await api("GET", "/v1/conversations", { token: a.access_token })).json.conversations[0].unread_count).toBe(0);
    expect((await eventsOf(b, "chat.read")).map((e) => e.data)).toEqual([{ conversation_id: ab, username: a.username, seq: 2 }]);
    expect(await eventsOf(a, "chat.read")).toEqual([]);
    // Never backwards, never past the last message.
    expect((await api("POST", `/v1/conversations/${ab}/read`, { body: { seq: 1 }, token: a.access_token })).json.seq).toBe(2);
    expect((await api("POST", `/v1/conversations/${ab}/read`, { body: { seq: 99 }, token: a.access_token })).json.seq).toBe(3);
    // Pages of the list.
    const first = await api("GET", "/v1/conversations?limit=1", { token: a.access_token });
    expect(first.json.conversations).toHaveLength(1);
    const second = await api("GET", `/v1/conversations?limit=1&cursor=${encodeURIComponent(first.json.next_cursor)}`, { token: a.access_token });
    expect(second.json.conversations.map((x: any) => x.conversation_id)).toEqual([ac]);
    expect(second.json.next_cursor).toBeNull();
  });

  it("message pages by before and after", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    const id = await start(a, b);
    for (let i = 1; i <= 7; i++) await post(i % 2 ? a : b, id, { text: `m${i}` });
    const page = (q: string) => api("GET", `/v1/conversations/${id}/messages?${q}`, { token: b.access_token }).then((r) => r.json);
    const newest = await page("limit=3");
    expect(newest.messages.map((m: any) => m.seq)).toEqual([7, 6, 5]);
    expect(newest.next_cursor).toBe("5");
    const older = await page(`limit=3&before=${newest.next_cursor}`);
    expect(older.messages.map((m: any) => m.seq)).toEqual([4, 3, 2]);
    const oldest = await page(`limit=3&before=${older.next_cursor}`);
    expect(oldest.messages.map((m: any) => m.seq)).toEqual([1]);
    expect(oldest.next_cursor).toBeNull();
    const after = await page("after=2&limit=3");
    expect(after.messages.map((m: any) => m.seq)).toEqual([3, 4, 5]);
    expect(after.next_cursor).toBe("5");
    expect((await page("after=7")).messages).toEqual([]);
  });
});

describe("end-to-end encryption", () => {
  it("a member encrypts to the other's published key; the hub relays the ciphertext byte for byte; the other decrypts", async () => {
    const [a, b] = [await createAccount("c"), await createAccount("c")];
    const secretA = "11".repeat(32);
    const secretB = "22".repeat(32);
    for (const [who, secret] of [[a, secretA], [b, secretB]] as const) {
      const r = await api("PUT", "/v1/account/encryption-key", { body: { public_key: getPublicKeyXOnly(secret) }, token: who.access_token });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
    const bKey = (await api("GET", `/v1/users/${b.username}`, { token: a.access_token })).json.encryption_public_key;
    const ciphertext = encrypt("meet at 7 — bring the invoice", getConversationKey(secretA, bKey));
    const id = await start(a, b);
    const sent = await post(a, id, { ciphertext });
    expect(sent.status).toBe(201);
    expect(sent.json.message).toMatchObject({ kind: "encrypted", text: null, ciphertext });
    const received = (await eventsOf(b, "chat.message"))[0]!.data.message;
    expect(received.ciphertext).toBe(ciphertext);
    const aKey = (await api("GET", `/v1/users/${a.username}`, { token: b.access_token })).json.encryption_public_key;
    expect(decrypt(received.ciphertext, getConversationKey(secretB, aKey))).toBe("meet at 7 — bring the invoice");
    // A payment can carry an encrypted note too.
    await fund(a, 10);
    const paid = await post(a, id, { payment: { amount_sat: 1, ciphertext: encrypt("thanks", getConversationKey(secretA, bKey)) } });
    expect(decrypt(paid.json.message.ciphertext, getConversationKey(secretB, aKey))).toBe("thanks");
    await booksHold(a, b);
  });
});
