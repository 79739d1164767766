// The hub's API as the bench uses it: accounts, funding, payments, invoices, event sockets, chat,
// webhook endpoints, the LNURL-pay callback.
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pool } from "./load.mjs";
import { ROOT } from "./build.mjs";

/** Node 22 has a global WebSocket; older Node uses the `ws` package installed with wrangler. */
const WebSocketImpl = globalThis.WebSocket ?? createRequire(join(ROOT, "package.json"))("ws");

const PASSWORD = "bench-password-0123";
/** Access tokens live 15 minutes; phases refresh them when they are older than this. */
const TOKEN_REFRESH_AFTER_MS = 10 * 60_000;

export class Hub {
  constructor(client, baseUrl, runTag) {
    this.client = client;
    this.baseUrl = baseUrl;
    this.runTag = runTag;
    this.accounts = [];
    this.keySeq = 0;
    /** Sockets the hub closed while the bench listened: { account, code, reason }. */
    this.socketsClosedByHub = [];
  }

  headers(account, idempotencyKey) {
    const h = { "content-type": "application/json", authorization: `Bearer ${account.token}` };
    if (idempotencyKey) h["idempotency-key"] = idempotencyKey;
    return h;
  }

  nextKey(prefix) {
    return `${prefix}-${this.runTag}-${this.keySeq++}`;
  }

  /** Creates `n` accounts (POST /v1/accounts) and funds each (POST /dev/faucet, Idempotency-Key). */
  async createAccounts(n, { concurrency = 8, fundSat = 1_000_000, onProgress } = {}) {
    let done = 0;
    const first = this.accounts.length; // more accounts later continue the numbering
    const created = await pool(n, concurrency, async (k) => {
      const i = first + k;
      const username = `b${this.runTag}_${i}`;
      const res = await this.client.request("POST", "/v1/accounts", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/accounts → ${res.status} ${res.text.slice(0, 200)}`);
      const a = JSON.parse(res.text);
      const account = { index: i, username, wallet_id: a.wallet_id, token: a.access_token, refresh: a.refresh_token, issuedAt: Date.now(), lastSeq: 0 };
      const fund = await this.client.request("POST", "/dev/faucet", {
        headers: this.headers(account, `fund-${this.runTag}-${i}`),
        body: JSON.stringify({ amount_sat: fundSat }),
      });
      if (fund.status !== 200) throw new Error(`POST /dev/faucet → ${fund.status} ${fund.text.slice(0, 200)}`);
      account.lastSeq = 1; // the faucet's event: the first of a new wallet's log
      if (onProgress && ++done % 100 === 0) onProgress(done);
      return account;
    });
    this.accounts.push(...created);
    return created;
  }

  /** Trades refresh tokens for new access tokens when the old ones near their 15-minute expiry. */
  /**
   * Refreshes the access tokens issued more than `maxAgeMs` ago. A socket opened with a token closes
   * when the token expires (4001, decision 0014): before opening sockets that must last a phase, pass
   * a small age so each has nearly a token's whole life ahead.
   */
  async refreshTokensIfOld(maxAgeMs = TOKEN_REFRESH_AFTER_MS) {
    const old = this.accounts.filter((a) => Date.now() - a.issuedAt > maxAgeMs);
    await pool(old.length, 16, async (i) => {
      const a = old[i];
      const res = await this.client.request("POST", "/v1/auth/refresh", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: a.refresh }),
      });
      if (res.status !== 200) throw new Error(`POST /v1/auth/refresh → ${res.status} ${res.text.slice(0, 200)}`);
      const t = JSON.parse(res.text);
      a.token = t.access_token;
      a.refresh = t.refresh_token;
      a.issuedAt = Date.now();
    });
    return old.length;
  }

  /** A random account (among the first `limit`), other than the one at index `except`. */
  randomAccount(except = -1, limit = this.accounts.length) {
    for (;;) {
      const i = (Math.random() * limit) | 0;
      if (i !== except) return this.accounts[i];
    }
  }

  /** One payment between a random pair of distinct accounts. */
  payRandomPair(options) {
    const to = this.randomAccount();
    return this.pay(this.randomAccount(to.index), to, options);
  }

  /** One intraledger payment of `amountSat` from `from` to `to` (by username or wallet id). */
  async pay(from, to, { by = "username", memo, amountSat = 1 } = {}) {
    const body = memo
      ? `{"to":"${by === "wallet" ? to.wallet_id : to.username}","amount_sat":${amountSat},"memo":"${memo}"}`
      : `{"to":"${by === "wallet" ? to.wallet_id : to.username}","amount_sat":${amountSat}}`;
    const res = await this.client.request("POST", "/v1/payments/intraledger", { headers: this.headers(from, this.nextKey("pay")), body });
    // The answer starts with its status; `pending` means delivery was left to the sender's alarm.
    if (res.status === 200) return { ok: true, status: 200, pending: !res.text.startsWith('{"status":"succeeded"') };
    return { ok: false, status: res.status, detail: res.text };
  }

  async createInvoice(account, amountSat = 1) {
    const res = await this.client.request("POST", "/v1/invoices", { headers: this.headers(account), body: `{"amount_sat":${amountSat}}` });
    if (res.status !== 201) return { ok: false, status: res.status, detail: res.text };
    return { ok: true, status: 201, payment_request: JSON.parse(res.text).payment_request };
  }

  async simPay(payment_request) {
    const res = await this.client.request("POST", "/dev/sim/pay", { headers: { "content-type": "application/json" }, body: JSON.stringify({ payment_request }) });
    if (res.status !== 200) return { ok: false, status: res.status, detail: res.text };
    const status = /"status":"([a-z_]+)"/.exec(res.text)?.[1];
    return status === "succeeded" ? { ok: true, status: 200 } : { ok: false, status: `sim:${status ?? "?"}`, detail: res.text };
  }

  // ── Webhooks and LNURL ───────────────────────────────────────────────────

  /**
   * POST /v1/webhooks {url, events} by `account`: one endpoint (the hub turns the wallet's webhook
   * feed on first). → { ok, status, id, secret (whsec_…, shown only here) }
   */
  async createWebhook(account, url, events = ["*"]) {
    const res = await this.client.request("POST", "/v1/webhooks", { headers: this.headers(account), body: JSON.stringify({ url, events }) });
    if (res.status !== 201) return { ok: false, status: res.status, detail: res.text };
    const w = JSON.parse(res.text);
    return { ok: true, status: 201, id: w.id, secret: w.secret };
  }

  /** DELETE /v1/webhooks/{id} (its pending deliveries end as failed). */
  async deleteWebhook(account, id) {
    const res = await this.client.request("DELETE", `/v1/webhooks/${id}`, { headers: this.headers(account) });
    return res.status === 200 ? { ok: true, status: 200 } : { ok: false, status: res.status, detail: res.text };
  }

  /**
   * The public LNURL-pay callback (GET /lnurlp/{username}/callback?amount=<msat>, no credential): the
   * hub issues an invoice of exactly that amount through its Lightning node. → { ok, status, pr }
   */
  async lnurlCallback(account, amountMsat = 1000) {
    const res = await this.client.request("GET", `/lnurlp/${account.username}/callback?amount=${amountMsat}`);
    if (res.status !== 200) return { ok: false, status: res.status, detail: res.text };
    const pr = /"pr":"(ln[a-z0-9]+)"/.exec(res.text)?.[1];
    return pr ? { ok: true, status: 200, pr } : { ok: false, status: "no pr", detail: res.text };
  }

  // ── Operations (the operator's routes, ADMIN_API_KEY) ─────────────────────

  /** POST /v1/admin/rewards: a program paying `amountSat` per claim from a budget of `budgetSat`. → { ok, status, program_id } */
  async createRewardProgram(adminKey, name, amountSat, budgetSat) {
    const res = await this.client.request("POST", "/v1/admin/rewards", {
      headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ name, amount_sat: amountSat, budget_sat: budgetSat }),
    });
    if (res.status !== 201) return { ok: false, status: res.status, detail: res.text };
    return { ok: true, status: 201, program_id: JSON.parse(res.text).program_id };
  }

  /** POST /v1/rewards/{program_id}/claim by `account` (Idempotency-Key). → { ok, status } */
  async claimReward(account, programId) {
    const res = await this.client.request("POST", `/v1/rewards/${programId}/claim`, { headers: this.headers(account, this.nextKey("claim")) });
    return res.status === 200 || res.status === 201 ? { ok: true, status: res.status } : { ok: false, status: res.status, detail: res.text };
  }

  /** GET `path` with the operator's bearer (GET /v1/admin/solvency, GET /metrics). → { ok, status, text } */
  async adminGet(adminKey, path) {
    const res = await this.client.request("GET", path, { headers: { authorization: `Bearer ${adminKey}` } });
    return { ok: res.status === 200, status: res.status, text: res.text, detail: res.status === 200 ? undefined : res.text };
  }

  /** Moves `account.lastSeq` to the last event of its log (GET /v1/events, pages of 1,000), so a socket opened after replays nothing old. */
  async catchUpEvents(account) {
    for (;;) {
      const res = await this.client.request("GET", `/v1/events?after=${account.lastSeq}&limit=1000`, { headers: this.headers(account) });
      if (res.status !== 200) throw new Error(`GET /v1/events → ${res.status} ${res.text.slice(0, 200)}`);
      const { events } = JSON.parse(res.text);
      if (events.length) account.lastSeq = events[events.length - 1].seq;
      if (events.length < 1000) return account.lastSeq;
    }
  }

  // ── Chat ──────────────────────────────────────────────────────────────────

  /**
   * POST /v1/conversations by `account` with `members` (other accounts): one makes a direct
   * conversation (200 when it exists), more a group. → { ok, status, conversation_id, kind, members }
   */
  async createConversation(account, members, title) {
    const body = JSON.stringify(title === undefined ? { members: members.map((m) => m.username) } : { members: members.map((m) => m.username), title });
    const res = await this.client.request("POST", "/v1/conversations", { headers: this.headers(account), body });
    if (res.status !== 201 && res.status !== 200) return { ok: false, status: res.status, detail: res.text };
    const c = JSON.parse(res.text);
    return { ok: true, status: res.status, conversation_id: c.conversation_id, kind: c.kind, members: c.members };
  }

  /** A text message (POST /v1/conversations/{id}/messages {text}). → { ok, status, id, seq } */
  async postMessage(account, conversationId, text) {
    const res = await this.client.request("POST", `/v1/conversations/${conversationId}/messages`, { headers: this.headers(account), body: JSON.stringify({ text }) });
    if (res.status !== 201) return { ok: false, status: res.status, detail: res.text };
    const m = /"id":"(msg_[0-9a-f]+)","conversation_id":"[^"]*","seq":([0-9]+)/.exec(res.text);
    return { ok: true, status: 201, id: m?.[1], seq: Number(m?.[2]) };
  }

  /**
   * A payment message ({payment:{amount_sat, to?, text?}}, unique Idempotency-Key); `to` (an account)
   * is required in a group. → { ok, status, pending, id } (`pending`: the transfer was not final yet).
   */
  async payInConversation(account, conversationId, { amountSat = 1, to, text } = {}) {
    const payment = { amount_sat: amountSat };
    if (to) payment.to = to.username;
    if (text !== undefined) payment.text = text;
    const res = await this.client.request("POST", `/v1/conversations/${conversationId}/messages`, {
      headers: this.headers(account, this.nextKey("chatpay")),
      body: JSON.stringify({ payment }),
    });
    if (res.status !== 201) return { ok: false, status: res.status, detail: res.text };
    const status = /"payment":\{[^}]*"status":"([a-z]+)"/.exec(res.text)?.[1];
    if (status === "failed") return { ok: false, status: "payment:failed", detail: res.text };
    return { ok: true, status: 201, pending: status !== "succeeded", id: /"id":"(msg_[0-9a-f]+)"/.exec(res.text)?.[1] };
  }

  /**
   * Opens the account's event stream (`?after=<last seq>&access_token=`); `onMessage(account, text, t)`
   * sees every frame with its arrival time.
   */
  openStream(account, onMessage) {
    const url = `${this.baseUrl.replace(/^http/, "ws")}/v1/events/stream?after=${account.lastSeq}&access_token=${encodeURIComponent(account.token)}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocketImpl(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error("WebSocket did not open in 30 s"));
      }, 30_000);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(ws);
      });
      ws.addEventListener("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket error: ${e.message ?? "connection failed"}`));
      });
      ws.addEventListener("message", (e) => onMessage(account, e.data, performance.now()));
      // A socket the hub closes (an expired token: 4001) would silently stop a phase's frames.
      const closeByBench = ws.close.bind(ws);
      ws.close = (...args) => {
        ws.closedByBench = true;
        closeByBench(...args);
      };
      ws.addEventListener("close", (e) => {
        if (!ws.closedByBench) this.socketsClosedByHub.push({ account: account.index, code: e.code, reason: e.reason });
      });
    });
  }
}
