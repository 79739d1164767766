// Calibration worker for the bench: the cheapest Durable Object work there is, served by the same
// workerd the same way as the hub. Each request is one RPC into a SQLite-backed DO that updates
// one row, so its throughput is the ceiling for anything that does a DO SQLite write per request.
//   GET /health            the Worker alone, no DO
//   GET /bump/<name>        Worker → DO <name>: UPDATE one row (RETURNING)
//   GET /chain/<a>/<b>      Worker → DO <a> → DO <b>, each updating one row (the shape of a transfer)
//   GET /ws/<name>          WebSocket accepted by DO <name> with the hibernation API, as the hub's
//                           event stream does (the bare runtime's cost of an idle socket)
//   GET /transfer/<a>/<b>   the shape of a hub payment without the hub's JavaScript: DO <a> runs a
//                           transaction of 4 inserts (key claim, history row, journal, event), calls DO
//                           <b> (one transaction of 3 inserts), then a transaction of an update and 2
//                           inserts: the same 2 calls, 3 commits and 10 statements, on tables of the
//                           same shape (bench/calibration: the runtime's floor for such a payment)
import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    ctx.storage.sql.exec("INSERT OR IGNORE INTO counter (id, n) VALUES (1, 0)");
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, tx TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, transfer_id TEXT, amount INTEGER NOT NULL,
        status TEXT NOT NULL, payload TEXT, delivered_at TEXT);
      CREATE UNIQUE INDEX IF NOT EXISTS history_by_transfer ON history (transfer_id) WHERE transfer_id IS NOT NULL;
      CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, journal TEXT NOT NULL, account TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS balance (account TEXT PRIMARY KEY, amount INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TRIGGER IF NOT EXISTS journal_balance AFTER INSERT ON journal BEGIN
        INSERT OR IGNORE INTO balance (account, amount) VALUES (NEW.account, 0);
        UPDATE balance SET amount = amount + NEW.amount WHERE account = NEW.account; END;
      CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL);`);
    this.seq = ctx.storage.sql.exec("SELECT COALESCE(MAX(seq), 0) AS s FROM log").one().s;
  }

  /** One transaction: history row, a two-entry journal (balances by trigger), an event. */
  record(id, transferId, amount, status, payload) {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO history (id, transfer_id, amount, status, payload) VALUES (?, ?, ?, ?, ?) ON CONFLICT (transfer_id) WHERE transfer_id IS NOT NULL DO NOTHING", id, transferId, amount, status, payload);
    sql.exec("INSERT INTO journal (journal, account, amount) SELECT ?, e.value ->> 'a', e.value ->> 'm' FROM json_each(?) AS e", id, JSON.stringify([{ a: "wallet", m: -amount }, { a: "in_flight", m: amount }]));
    sql.exec("INSERT INTO log (seq, type, data) VALUES (?, ?, ?)", ++this.seq, "x", JSON.stringify({ id, amount, status }));
  }

  receive(transferId, amount) {
    this.ctx.storage.transactionSync(() => this.record(crypto.randomUUID(), transferId, amount, "succeeded", null));
    return true;
  }

  async send(next) {
    const id = crypto.randomUUID();
    const transferId = crypto.randomUUID();
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("INSERT INTO keys (key, tx, created_at) VALUES (?, ?, ?)", crypto.randomUUID(), id, Date.now());
      this.record(id, transferId, 1000, "pending", `{"transfer_id":"${transferId}","amount":1000}`);
    });
    await this.env.COUNTER.get(this.env.COUNTER.idFromName(next)).receive(transferId, 1000);
    this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      sql.exec("UPDATE history SET status = 'succeeded', delivered_at = ? WHERE transfer_id = ? AND delivered_at IS NULL RETURNING id, amount, status", "now", transferId).toArray();
      sql.exec("INSERT INTO journal (journal, account, amount) SELECT ?, e.value ->> 'a', e.value ->> 'm' FROM json_each(?) AS e", transferId, JSON.stringify([{ a: "in_flight", m: -1000 }, { a: "peers", m: 1000 }]));
      sql.exec("INSERT INTO log (seq, type, data) VALUES (?, ?, ?)", ++this.seq, "y", JSON.stringify({ id, status: "succeeded" }));
    });
    return { status: "succeeded", id };
  }

  bump() {
    return this.ctx.storage.sql.exec("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n").one().n;
  }

  async fetch(request) {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  async bumpAndCall(next) {
    const n = this.bump();
    const m = await this.env.COUNTER.get(this.env.COUNTER.idFromName(next)).bump();
    return n + m;
  }
}

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/health") return Response.json({ ok: true });
    const parts = path.split("/");
    const stub = (name) => env.COUNTER.get(env.COUNTER.idFromName(name));
    if (parts[1] === "bump") return Response.json({ n: await stub(parts[2]).bump() });
    if (parts[1] === "chain") return Response.json({ n: await stub(parts[2]).bumpAndCall(parts[3]) });
    if (parts[1] === "ws") return stub(parts[2]).fetch(request);
    if (parts[1] === "transfer") return Response.json(await stub(parts[2]).send(parts[3]));
    return new Response("not found", { status: 404 });
  },
};
