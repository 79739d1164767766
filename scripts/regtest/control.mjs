// The regtest tier's control server: what tests running inside workerd cannot do themselves
// (they can reach the nodes' REST APIs, but not their processes, btcd or lncli).
// Plain HTTP on 127.0.0.1, JSON in and out; started by test/regtest/global-setup.ts.
//
//   POST /nodes/{name}/stop | /start | /restart   lnd down / up / both (up = synced, channels active)
//   POST /mine            {blocks}                mine blocks, wait until every lnd has them
//   POST /lncli           {node, args: [...]}     run lncli against a node, its JSON output
//   GET  /info                                    the network's summary (startNetwork().info)
//
// Errors: {error: message} with status 400 (bad request) or 500 (the operation failed).
import http from "node:http";

const NODE_OPS = /^\/nodes\/(hub|alice|bob)\/(stop|start|restart)$/;

/** Starts the server for a network from startNetwork(); resolves to {url, close()}. */
export function startControlServer(net, { log = () => {} } = {}) {
  const handle = async (method, path, body) => {
    const op = NODE_OPS.exec(path);
    if (method === "POST" && op) {
      const [, name, action] = op;
      const t = Date.now();
      if (action === "stop") await net.stopNode(name);
      else if (action === "start") await net.startNode(name);
      else await net.restart(name);
      return { node: name, action, ms: Date.now() - t };
    }
    if (method === "POST" && path === "/mine") {
      const blocks = body.blocks ?? 1;
      if (!Number.isInteger(blocks) || blocks < 0 || blocks > 1000) throw new BadRequest("blocks must be an integer 0..1000");
      return { hashes: await net.mine(blocks) };
    }
    if (method === "POST" && path === "/lncli") {
      if (!["hub", "alice", "bob"].includes(body.node) || !Array.isArray(body.args) || !body.args.every((a) => typeof a === "string")) {
        throw new BadRequest("need {node: hub|alice|bob, args: string[]}");
      }
      return await net.lncli(body.node, ...body.args);
    }
    if (method === "GET" && path === "/info") return net.info;
    throw new BadRequest(`no route ${method} ${path}`, 404);
  };

  const server = http.createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8").on("data", (c) => (text += c));
    req.on("end", async () => {
      const reply = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      try {
        const body = text ? JSON.parse(text) : {};
        const path = new URL(req.url, "http://control").pathname;
        log(`control: ${req.method} ${path}`);
        reply(200, await handle(req.method, path, body));
      } catch (e) {
        reply(e instanceof BadRequest ? e.status : e instanceof SyntaxError ? 400 : 500, { error: e.message });
      }
    });
  });
  // A test may hold a request open while a node restarts (tens of seconds).
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => {
          server.closeAllConnections?.();
          server.close(() => r());
        }),
      });
    });
  });
}

class BadRequest extends Error {
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}
