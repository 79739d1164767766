import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { schnorr, utils } from "@noble/secp256k1";
import { describe, expect, it } from "vitest";
import { EventStream, FlashHub, HubError, SessionEnded, type HubEvent, type Session, type SocketLike } from "../sdk/src/index";
import { decrypt, getConversationKey } from "../src/nip44";
import { waitFor, walletStub } from "./helpers";

/**
 * The SDK (sdk/, issue 13 point 1) against the real hub in workerd: its `fetch` is the hub's own
 * fetch handler (as a Worker's service binding would be), wrapped where a test needs a network
 * that loses answers or fails.
 */

const hubFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => (exports as any).default.fetch(new Request(input, init));
const BASE = "http://hub.test";
const PASSWORD = "correct horse battery staple";
let counter = 0;
const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 5)}`;

/** A fresh account signed up through the SDK, funded from the faucet when `sat` is given. */
async function signedUp(prefix: string, sat = 0, fetcher: typeof fetch = hubFetch as typeof fetch) {
  const hub = new FlashHub({ baseUrl: BASE, fetch: fetcher });
  const account = await hub.signUp(uniqueName(prefix), PASSWORD);
  if (sat) await hub.faucet(sat);
  return { hub, account, username: account.username };
}

const newPrivateKey = () => Buffer.from(utils.randomSecretKey()).toString("hex");

describe("SDK: calls and money", () => {
  it("pays someone in five lines, typed from the document", async () => {
    const { username: bob } = await signedUp("sdk_bob");
    const hub = new FlashHub({ baseUrl: BASE, fetch: hubFetch as typeof fetch });
    await hub.signUp(uniqueName("sdk_alice"), PASSWORD);
    await hub.faucet(5_000);
    const paid = await hub.pay(bob, 1_000, { memo: "coffee" });
    expect(paid.status).toBe("succeeded");
    expect((await hub.wallet()).balance_msat).toBe(4_000_000);
  });

  it("errors arrive as HubError with the contract's code", async () => {
    const { hub } = await signedUp("sdk_poor");
    const { username: bob } = await signedUp("sdk_bob");
    const err = await hub.pay(bob, 1_000).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect([err.status, err.code]).toEqual([422, "insufficient_balance"]);
  });

  it("a money call whose answer is lost is sent again with the same Idempotency-Key: paid once", async () => {
    const keys: string[] = [];
    let lose = 1;
    const lossy = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === "/v1/payments/intraledger") keys.push(request.headers.get("idempotency-key")!);
      const res = await hubFetch(request);
      // The hub did the work; the answer never arrives.
      if (new URL(request.url).pathname === "/v1/payments/intraledger" && lose-- > 0) throw new TypeError("network connection lost");
      return res;
    }) as typeof fetch;
    const { hub } = await signedUp("sdk_lossy", 10_000, lossy);
    const { hub: bobHub, username: bob } = await signedUp("sdk_bob");
    const paid = await hub.pay(bob, 1_000);
    expect(paid.status).toBe("succeeded");
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect((await hub.wallet()).balance_msat).toBe(9_000_000);
    expect((await bobHub.wallet()).balance_msat).toBe(1_000_000);
    // Each call has its own key: a second payment is a second payment.
    await hub.pay(bob, 1_000);
    expect(new Set(keys).size).toBe(2);
    expect((await bobHub.wallet()).balance_msat).toBe(2_000_000);
  });

  it("a 5xx is retried for a money call with its key, and a call without a key is not retried after a lost answer", async () => {
    let failures = 1;
    const calls: string[] = [];
    const flaky = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const path = new URL(request.url).pathname;
      calls.push(path);
      if (path === "/v1/payments/lnurl" && failures-- > 0) return new Response('{"error":{"code":"internal","message":"x"}}', { status: 503 });
      if (path === "/v1/invoices") {
        await hubFetch(request);
        throw new TypeError("network connection lost");
      }
      return hubFetch(request);
    }) as typeof fetch;
    const { hub } = await signedUp("sdk_flaky", 10_000, flaky);
    const { hub: bobHub, username: bob } = await signedUp("sdk_bob");
    const paid = await hub.payAddress(`${bob}@hub.test`, 2_000, { comment: "thanks" });
    expect(paid.status).toBe("succeeded");
    expect(calls.filter((p) => p === "/v1/payments/lnurl")).toHaveLength(2);
    expect((await bobHub.wallet()).balance_msat).toBe(2_000_000);
    // Not idempotent without a key: the SDK does not guess, the caller hears of the failure.
    await expect(hub.createInvoice({ amountSat: 10 })).rejects.toThrow("network connection lost");
    expect(calls.filter((p) => p === "/v1/invoices")).toHaveLength(1);
  });

  it("Lightning Address helpers: the hub's address of a user, recognised as one", async () => {
    const { hub, username } = await signedUp("sdk_addr");
    const address = await hub.lightningAddressOf(username);
    expect(address).toBe(`${username}@hub.test`);
    expect(FlashHub.isLightningAddress(address)).toBe(true);
    expect(FlashHub.isLightningAddress("lnbc1...")).toBe(false);
  });
});

describe("SDK: token refresh", () => {
  it("a refused access token is refreshed once for many concurrent calls, which all succeed", async () => {
    const { hub: first } = await signedUp("sdk_refresh");
    let refreshes = 0;
    const counting = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === "/v1/auth/refresh") refreshes++;
      return hubFetch(request);
    }) as typeof fetch;
    const sessions: (Session | null)[] = [];
    // The saved session's access token is no longer accepted (a key rotation, a restart after 15 minutes…).
    const stale: Session = { access_token: "stale.token.value", refresh_token: first.session!.refresh_token };
    const hub = new FlashHub({ baseUrl: BASE, fetch: counting, session: stale, onSession: (s) => sessions.push(s) });
    const wallets = await Promise.all(Array.from({ length: 8 }, () => hub.wallet()));
    expect(new Set(wallets.map((w) => w.wallet_id)).size).toBe(1);
    expect(refreshes).toBe(1);
    expect(sessions).toHaveLength(1);
    expect(hub.session!.refresh_token).not.toBe(stale.refresh_token);
    // The session goes on with the rotated tokens.
    await hub.wallet();
    expect(refreshes).toBe(1);
  });

  it("an access token about to expire is refreshed before it is sent", async () => {
    const { hub: first } = await signedUp("sdk_due");
    const seen: { path: string; status: number }[] = [];
    const watching = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const res = await hubFetch(request);
      seen.push({ path: new URL(request.url).pathname, status: res.status });
      return res;
    }) as typeof fetch;
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
    const due = `${b64({ alg: "EdDSA" })}.${b64({ exp: Math.floor(Date.now() / 1000) + 5 })}.sig`;
    const hub = new FlashHub({ baseUrl: BASE, fetch: watching, session: { access_token: due, refresh_token: first.session!.refresh_token } });
    await hub.wallet();
    expect(seen).toEqual([
      { path: "/v1/auth/refresh", status: 200 },
      { path: "/v1/wallet", status: 200 },
    ]);
  });

  it("a refresh lost on the way is tried again by the call's next attempt: before the hub, the session goes on; after it, it ends", async () => {
    for (const lostAfterTheHub of [false, true]) {
      const { hub: first } = await signedUp("sdk_lostrefresh");
      let lose = 1;
      const losing = (async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        if (new URL(request.url).pathname === "/v1/auth/refresh" && lose-- > 0) {
          if (lostAfterTheHub) await hubFetch(request.clone());
          throw new TypeError("network connection lost");
        }
        return hubFetch(request);
      }) as typeof fetch;
      const hub = new FlashHub({ baseUrl: BASE, fetch: losing, session: { access_token: "stale", refresh_token: first.session!.refresh_token } });
      if (lostAfterTheHub) await expect(hub.wallet()).rejects.toBeInstanceOf(SessionEnded);
      else expect((await hub.wallet()).wallet_id).toBe(first.session && (await first.wallet()).wallet_id);
    }
  });

  it("a refresh token the hub refuses ends the session: SessionEnded, onSession(null)", async () => {
    const { hub: first } = await signedUp("sdk_ended");
    const spent = first.session!.refresh_token;
    await first.api.POST("/v1/auth/refresh", { body: { refresh_token: spent } });
    const sessions: (Session | null)[] = [];
    const hub = new FlashHub({ baseUrl: BASE, fetch: hubFetch as typeof fetch, session: { access_token: "stale", refresh_token: `${spent}x` }, onSession: (s) => sessions.push(s) });
    await expect(hub.wallet()).rejects.toBeInstanceOf(SessionEnded);
    expect(sessions).toEqual([null]);
    expect(hub.session).toBeNull();
  });
});

describe("SDK: the event stream", () => {
  it("closing its socket server-side mid-stream, again and again, loses no event and doubles none", async () => {
    const { hub, account } = await signedUp("sdk_stream", 100_000);
    const { username: bob } = await signedUp("sdk_bob");
    const seqs: number[] = [];
    const statuses: string[] = [];
    const stream = hub.events({ after: 0, onEvent: (e: HubEvent) => void seqs.push(e.seq), onStatus: (s) => statuses.push(s), onError: (e) => statuses.push(`error ${e}`) });
    const killSockets = () =>
      runInDurableObject(walletStub(account.wallet_id), (_instance, state) => {
        for (const ws of state.getWebSockets()) ws.close(1012, "restarting");
      });
    try {
      const opens = () => statuses.filter((s) => s === "open").length;
      for (let round = 0; round < 4; round++) {
        await waitFor(() => opens() === round + 1, `the stream is open (${round + 1})`, 10_000);
        // Payments while the stream is open, then the server closes it with more on the way.
        const payments = Array.from({ length: 3 }, () => hub.pay(bob, 1));
        await killSockets();
        await Promise.all(payments);
        await hub.pay(bob, 1);
      }
      const { events } = (await hub.api.GET("/v1/events", { params: { query: { after: 0, limit: 1000 } } })).data!;
      const last = events[events.length - 1]!.seq;
      await waitFor(() => stream.lastSeq === last, `the stream reaches seq ${last}`, 15_000);
      expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(opens()).toBeGreaterThanOrEqual(5); // the first connection and one after each of the four closes
      expect(statuses.filter((s) => s.startsWith("error"))).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it("resumes after the seq it is given, and stops for good when the credential is revoked (4003)", async () => {
    const { hub, account } = await signedUp("sdk_revoke", 1_000);
    const key = (await hub.api.POST("/v1/api-keys", { body: { name: "stream", scopes: ["read"] } })).data!;
    const keyed = new FlashHub({ baseUrl: BASE, fetch: hubFetch as typeof fetch, apiKey: key.key });
    const seqs: number[] = [];
    const errors: unknown[] = [];
    const stream = keyed.events({ after: 1, onEvent: (e) => void seqs.push(e.seq), onError: (e) => errors.push(e) });
    try {
      await hub.faucet(1_000);
      await waitFor(() => seqs.includes(2), "the event after seq 1");
      expect(seqs).toEqual([2]); // seq 1 (the first faucet credit) was before `after`
      await hub.api.DELETE("/v1/api-keys/{id}", { params: { path: { id: key.id } } });
      await waitFor(() => errors.length === 1, "the stream gives up");
      expect(String(errors[0])).toContain("4003");
      expect(account.wallet_id).toBeTruthy();
    } finally {
      stream.close();
    }
  });
});

describe("SDK: end-to-end encrypted chat", () => {
  it("publishes keys, sends NIP-44 v2 ciphertext the hub cannot read, and the other member reads it in clear", async () => {
    const alice = await signedUp("sdk_alice");
    const bob = await signedUp("sdk_bob");
    const [aliceKey, bobKey] = [newPrivateKey(), newPrivateKey()];
    expect(await alice.hub.publishEncryptionKey(aliceKey)).toBe(Buffer.from(schnorr.getPublicKey(Buffer.from(aliceKey, "hex"))).toString("hex"));
    await bob.hub.publishEncryptionKey(bobKey);
    const conversation = await alice.hub.openConversation([bob.username]);
    const sent = await alice.hub.sendEncrypted(conversation.conversation_id, bob.username, "meet at noon", aliceKey);
    expect(sent.kind).toBe("encrypted");
    expect(sent.text).toBeNull();
    expect(sent.ciphertext).not.toContain("noon");

    // What the hub stores and gives Bob is the ciphertext; Bob's key (and only a member's) opens it.
    const { messages } = (await bob.hub.api.GET("/v1/conversations/{id}/messages", { params: { path: { id: conversation.conversation_id } } })).data!;
    const received = messages.find((m) => m.id === sent.id)!;
    expect(received.ciphertext).toBe(sent.ciphertext);
    expect(await bob.hub.readMessage(received, alice.username, bobKey)).toBe("meet at noon");
    expect(await alice.hub.readMessage(received, bob.username, aliceKey)).toBe("meet at noon");
    const outsider = newPrivateKey();
    expect(() => decrypt(received.ciphertext!, getConversationKey(outsider, Buffer.from(schnorr.getPublicKey(Buffer.from(aliceKey, "hex"))).toString("hex")))).toThrow();
    await expect(alice.hub.sendEncrypted(conversation.conversation_id, (await signedUp("sdk_nokey")).username, "x", aliceKey)).rejects.toThrow("no encryption key");
  });

  it("pays in chat with the payment's own key", async () => {
    const alice = await signedUp("sdk_alice", 5_000);
    const bob = await signedUp("sdk_bob");
    const conversation = await alice.hub.openConversation([bob.username]);
    const message = await alice.hub.payInChat(conversation.conversation_id, 1_500, { text: "lunch" });
    expect([message.kind, message.payment?.status, message.text]).toEqual(["payment", "succeeded", "lunch"]);
    expect((await bob.hub.wallet()).balance_msat).toBe(1_500_000);
  });
});

/** A socket the test drives: it records what the stream asked for and lets the test send and close. */
class ScriptedSocket implements SocketLike {
  private listeners: Record<string, ((e: any) => void)[]> = {};
  closedWith: number | null = null;
  constructor(readonly url: string, readonly bearer: string) {}
  send(): void {}
  close(code = 1000): void {
    if (this.closedWith !== null) return;
    this.closedWith = code;
    for (const l of this.listeners.close ?? []) l({ code, reason: "" });
  }
  addEventListener(type: string, listener: (e: any) => void): void {
    (this.listeners[type] ??= []).push(listener);
  }
  deliver(...seqs: number[]): void {
    for (const seq of seqs) for (const l of this.listeners.message ?? []) l({ data: JSON.stringify({ seq, type: "t", created_at: "", data: {} }) });
  }
}

describe("SDK: the event stream's rules, on a scripted socket", () => {
  function scripted() {
    const sockets: ScriptedSocket[] = [];
    const refreshed: string[] = [];
    let token = "token-1";
    const seqs: number[] = [];
    const errors: unknown[] = [];
    const stream = new EventStream(
      {
        streamUrl: (after) => `http://hub.test/v1/events/stream?after=${after}`,
        bearer: async () => token,
        refresh: async (stale) => {
          refreshed.push(stale);
          token = `token-${refreshed.length + 1}`;
        },
        connect: async (url, bearer) => {
          const ws = new ScriptedSocket(url, bearer);
          sockets.push(ws);
          return ws;
        },
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      },
      { after: 0, onEvent: (e) => void seqs.push(e.seq), onError: (e) => errors.push(e) },
    );
    return { sockets, refreshed, seqs, errors, stream };
  }

  it("skips replayed events, reconnects on a gap after the last delivered, and refreshes at once on 4001", async () => {
    const { sockets, refreshed, seqs, errors, stream } = scripted();
    try {
      await waitFor(() => sockets.length === 1, "first connection");
      sockets[0]!.deliver(1, 2, 2, 1, 3);
      await waitFor(() => seqs.length === 3, "three events");
      sockets[0]!.deliver(5); // 4 is missing: the stream asks again after 3
      await waitFor(() => sockets.length === 2, "reconnected after the gap");
      expect(sockets[0]!.closedWith).toBe(4000);
      expect(sockets[1]!.url).toMatch(/after=3$/);
      sockets[1]!.deliver(4, 5);
      await waitFor(() => seqs.length === 5, "five events");
      sockets[1]!.close(4001); // the token's time is up
      await waitFor(() => sockets.length === 3, "reconnected after 4001");
      expect(refreshed).toEqual(["token-1"]);
      expect([sockets[2]!.bearer, sockets[2]!.url.endsWith("after=5")]).toEqual(["token-2", true]);
      sockets[2]!.close(4003); // revoked: no more connections
      await waitFor(() => errors.length === 1, "gave up");
      await new Promise((r) => setTimeout(r, 50));
      expect(sockets).toHaveLength(3);
      expect(seqs).toEqual([1, 2, 3, 4, 5]);
    } finally {
      stream.close();
    }
  });
});
