#!/usr/bin/env node
// End-to-end smoke test of the regtest tier, without the hub: real btcd + lnd, and plain
// fetch against the hub node's REST API (the calls Flash Hub's src/lightning client makes).
//
//   scripts/regtest/build.sh && node test/regtest/smoke.mjs
//
// 1. GET /v1/getinfo
// 2. hold invoice on hub; alice pays (lncli payinvoice blocks until settled); ACCEPTED; settle; SETTLED
// 3. bob's invoice paid by hub via POST /v2/router/send, routed hub -> alice -> bob
// 4. an 8M sat invoice of alice's paid by hub as a multi-part payment over its two channels
// 5. a few REST facts the client relies on (base64 in paths/queries, error bodies, stream errors)
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { startNetwork } from "../../scripts/regtest/network.mjs";

const execFileP = promisify(execFile);
const t0 = Date.now();
const timings = {};
const mark = (name, since) => (timings[name] = Date.now() - since);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0;
function check(cond, msg, extra) {
  if (!cond) throw new Error(`FAILED: ${msg}${extra === undefined ? "" : ` (${JSON.stringify(extra)})`}`);
  passed++;
  console.log(`ok - ${msg}`);
}

const b64 = (buf) => buf.toString("base64");
const b64url = (buf) => b64(buf).replace(/\+/g, "-").replace(/\//g, "_"); // keeps '=' padding

let net;
try {
  let t = Date.now();
  net = await startNetwork();
  mark("network", t);
  const hub = net.info.nodes.hub;

  // Plain fetch, as the hub does: REST over HTTP (lnd --no-rest-tls), hex macaroon header.
  const call = async (method, path, body) => {
    const res = await fetch(hub.restUrl + path, {
      method,
      headers: { "Grpc-Metadata-macaroon": hub.macaroonHex },
      body: body && JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
  const ok = async (method, path, body) => {
    const r = await call(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  // Streaming RPC: NDJSON, one {"result": …} or {"error": …} object per line.
  async function* stream(method, path, body) {
    const res = await fetch(hub.restUrl + path, {
      method,
      headers: { "Grpc-Metadata-macaroon": hub.macaroonHex },
      body: body && JSON.stringify(body),
    });
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) yield { status: res.status, msg: JSON.parse(line) };
      }
    }
    if (buf.trim()) yield { status: res.status, msg: JSON.parse(buf) };
  }
  const pay = async (body) => {
    const updates = [];
    for await (const { msg } of stream("POST", "/v2/router/send", body)) {
      if (msg.error) throw new Error(`router/send: ${JSON.stringify(msg.error)}`);
      updates.push(msg.result.status);
      if (msg.result.status === "SUCCEEDED" || msg.result.status === "FAILED") return { final: msg.result, updates };
    }
    throw new Error("router/send stream ended without a final status");
  };

  // 1. getinfo
  const info = await ok("GET", "/v1/getinfo");
  check(info.identity_pubkey === hub.pubkey && info.synced_to_chain, "GET /v1/getinfo: hub synced", info.version);

  // 2. hold invoice, paid by alice, settled by us
  t = Date.now();
  const preimage = randomBytes(32);
  const hash = createHash("sha256").update(preimage).digest();
  const hodl = await ok("POST", "/v2/invoices/hodl", { memo: "smoke hodl", hash: b64(hash), value_msat: "50000000", expiry: "600" });
  check(hodl.payment_request?.startsWith("lnbcrt500u"), "POST /v2/invoices/hodl returns a regtest payment_request");
  const payer = execFileP(net.nodes.alice.lncli[0], [...net.nodes.alice.lncli.slice(1), "payinvoice", "--force", hodl.payment_request]);
  payer.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
  const lookup = (h) => ok("GET", `/v2/invoices/lookup?payment_hash=${b64url(h)}`);
  let inv;
  for (let i = 0; i < 300 && (inv = await lookup(hash)).state !== "ACCEPTED"; i++) await sleep(100);
  check(inv.state === "ACCEPTED", "hold invoice ACCEPTED while alice's payment is in flight", inv.state);
  mark("hodl_accepted", t);
  await ok("POST", "/v2/invoices/settle", { preimage: b64(preimage) });
  inv = await lookup(hash);
  check(inv.state === "SETTLED" && inv.amt_paid_msat === "50000000", "settled: state SETTLED, amt_paid_msat 50000000", inv.state);
  const paid = await payer;
  check(/SUCCEEDED/.test(paid.stdout), "alice's lncli payinvoice returned SUCCEEDED");
  mark("hodl_settled", t);

  // 3. hub pays bob, two hops via alice
  t = Date.now();
  const bobInv = await net.lncli("bob", "addinvoice", "--amt", "100000", "--memo", "smoke");
  const r = await pay({ payment_request: bobInv.payment_request, timeout_seconds: 60, fee_limit_sat: "1000" });
  check(r.final.status === "SUCCEEDED", "POST /v2/router/send to bob SUCCEEDED", r.updates);
  const hops = r.final.htlcs.find((h) => h.status === "SUCCEEDED").route.hops;
  check(hops.length === 2 && hops[0].pub_key === net.info.nodes.alice.pubkey, "routed hub -> alice -> bob", hops.map((h) => h.pub_key));
  // REST bytes are base64, but lncli prints them (r_hash) as hex; router/send's payment_hash
  // and payment_preimage are hex strings in the proto itself.
  check(r.final.payment_hash === bobInv.r_hash && /^[0-9a-f]{64}$/.test(r.final.payment_preimage), "payment_hash (hex) matches lncli's r_hash (hex)");
  mark("pay_two_hops", t);

  // 4. multi-part: 8M sat is more than either hub -> alice channel can carry alone
  t = Date.now();
  const aliceInv = await net.lncli("alice", "addinvoice", "--amt", "8000000");
  const mpp = await pay({ payment_request: aliceInv.payment_request, timeout_seconds: 60, fee_limit_sat: "10000", max_parts: 16 });
  const parts = mpp.final.htlcs.filter((h) => h.status === "SUCCEEDED");
  const chans = new Set(parts.map((h) => h.route.hops[0].chan_id));
  check(mpp.final.status === "SUCCEEDED" && chans.size >= 2, `8M sat MPP SUCCEEDED in ${parts.length} parts over ${chans.size} channels`, mpp.final.failure_reason);
  mark("pay_mpp", t);

  // 5. REST facts (lnd's grpc-gateway): bytes in a path must be *padded* base64url (std base64's
  //    '/' breaks routing, even as %2F); in a query, padded base64 of either alphabet (std needs
  //    + / = percent-encoded). Hex or unpadded base64 is a 400 with a {code, message} body.
  const pathOf = (h) => `/v2/router/track/${h}?no_inflight_updates=true`;
  const first = async (p) => {
    for await (const x of stream("GET", p)) return x;
  };
  const tracked = await first(pathOf(b64url(Buffer.from(r.final.payment_hash, "hex"))));
  check(tracked.status === 200 && tracked.msg.result?.status === "SUCCEEDED", "GET /v2/router/track/{base64url, padded} streams the final payment");
  const unpadded = await first(pathOf(b64url(Buffer.from(r.final.payment_hash, "hex")).replace(/=+$/, "")));
  check(unpadded.status === 400 && unpadded.msg.code === 3, "unpadded base64url in a path: HTTP 400 {code: 3, message}", unpadded);
  const byHex = await call("GET", `/v2/invoices/lookup?payment_hash=${hash.toString("hex")}`);
  check(byHex.status === 400 && typeof byHex.json.message === "string", "hex payment_hash in a query: HTTP 400", byHex.json);
  const missing = await call("GET", `/v2/invoices/lookup?payment_hash=${b64url(randomBytes(32))}`);
  check(missing.status === 404 && missing.json.code === 5, "unknown invoice: HTTP 404 {code: 5 (NOT_FOUND), message, details: []}", missing.json);
  const repay = [];
  for await (const x of stream("POST", "/v2/router/send", { payment_request: bobInv.payment_request, timeout_seconds: 60 })) repay.push(x);
  check(repay.length === 1 && repay[0].msg.error && repay[0].status !== 200,
    `paying twice: stream gives one {"error":…} line with HTTP ${repay[0]?.status}, no result`, repay[0]?.msg);

  const total = Date.now() - t0;
  console.log(JSON.stringify({ timings_ms: { ...timings, total } }));
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  console.error(e.stack ?? e.message);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  if (net) await net.stop();
}
