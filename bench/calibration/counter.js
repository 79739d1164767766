// Calibration worker for the bench: the cheapest Durable Object work there is, served by the same
// workerd the same way as the hub. Each request is one RPC into a SQLite-backed DO that updates
// one row, so its throughput is the ceiling for anything that does a DO SQLite write per request.
//   GET /health            the Worker alone, no DO
//   GET /bump/<name>        Worker → DO <name>: UPDATE one row (RETURNING)
//   GET /chain/<a>/<b>      Worker → DO <a> → DO <b>, each updating one row (the shape of a transfer)
//   GET /ws/<name>          WebSocket accepted by DO <name> with the hibernation API, as the hub's
//                           event stream does (the bare runtime's cost of an idle socket)
import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    ctx.storage.sql.exec("INSERT OR IGNORE INTO counter (id, n) VALUES (1, 0)");
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
    return new Response("not found", { status: 404 });
  },
};
