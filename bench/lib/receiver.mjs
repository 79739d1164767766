// A local webhook receiver for the bench: a Node `http` server on 127.0.0.1:<free port> that answers
// every POST 200 at once and records each delivery (arrival time, path, Standard Webhooks headers,
// body). The hub runs in development mode, whose URL policy allows `http://127.0.0.1:<port>`.
import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "./build.mjs";

/**
 * Starts the receiver. `onDelivery(d)` (optional) sees each delivery as it arrives:
 * d = { at (Date.now(): the wall clock the hub's timestamps use), t (performance.now(), for the bench's windows),
 *       path, id (webhook-id), timestamp (webhook-timestamp), signature, body (string) }.
 * Deliveries are kept in `receiver.deliveries` until `reset()`; `connections()` counts the TCP
 * connections the hub opened to it (a hub that reuses them opens about one per delivery in flight).
 * → { port, url, deliveries, connections(), reset(), close() }
 */
export async function startReceiver({ onDelivery } = {}) {
  const deliveries = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const d = {
        at: Date.now(),
        t: performance.now(),
        method: req.method,
        path: req.url,
        id: req.headers["webhook-id"],
        timestamp: req.headers["webhook-timestamp"],
        signature: req.headers["webhook-signature"],
        body: Buffer.concat(chunks).toString("utf8"),
      };
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
      deliveries.push(d);
      onDelivery?.(d);
    });
  });
  // The hub keeps its connections to the receiver open (one per delivery in flight).
  server.keepAliveTimeout = 600_000;
  server.headersTimeout = 610_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  server.on("connection", () => connections++);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    deliveries,
    connections: () => connections,
    reset: () => {
      deliveries.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Lets the hub's outbound fetch reach loopback addresses (the receiver): workerd's default "internet"
 * service allows public addresses only, and a service of that name in the config replaces it.
 */
export function allowLoopbackOutbound(configPath) {
  const text = readFileSync(configPath, "utf8");
  const patched = text.replace(/services = \[\n/, (m) => `${m}    (name = "internet", network = (allow = ["public", "local"])),\n`);
  if (patched === text) throw new Error(`no services list in ${configPath}`);
  writeFileSync(configPath, patched);
}

let Webhook = null;
/** The `standardwebhooks` package's verifier (a devDependency), or null when it is not installed. */
export function standardWebhooks() {
  if (Webhook === null) {
    try {
      Webhook = createRequire(join(ROOT, "package.json"))("standardwebhooks").Webhook;
    } catch {
      Webhook = false;
    }
  }
  return Webhook || null;
}

/**
 * Verifies deliveries with `standardwebhooks`: `secretOf(delivery)` → the endpoint's `whsec_…` secret.
 * The package refuses a `webhook-timestamp` more than 5 minutes off its "now": verify within a few
 * minutes of the deliveries (the bench does it right after the measured window, off the clock).
 * → { checked, failed, samples: [reason…] } or null without the package.
 */
export function verifyDeliveries(deliveries, secretOf) {
  const W = standardWebhooks();
  if (!W) return null;
  const verifiers = new Map();
  let checked = 0;
  let failed = 0;
  const samples = [];
  for (const d of deliveries) {
    const secret = secretOf(d);
    let reason = null;
    if (!secret) reason = `no endpoint for ${d.path}`;
    else {
      let v = verifiers.get(secret);
      if (!v) verifiers.set(secret, (v = new W(secret)));
      try {
        v.verify(d.body, { "webhook-id": d.id, "webhook-timestamp": d.timestamp, "webhook-signature": d.signature });
      } catch (e) {
        reason = e?.message ?? String(e);
      }
    }
    checked++;
    if (reason !== null) {
      failed++;
      if (samples.length < 5) samples.push(`${d.path} ${d.id}: ${reason}`);
    }
  }
  return { checked, failed, samples };
}
