#!/usr/bin/env node
// Regtest Lightning network for Flash Hub's regtest tier: one btcd and three lnd nodes
// (hub, alice, bob) on loopback, each with its own data dir under one temp dir.
//
//   node scripts/regtest/network.mjs start   # bring up, print one JSON line, run until SIGINT/SIGTERM
//   node scripts/regtest/network.mjs stop    # stop the network recorded in .cache/regtest/network.json
//   import { startNetwork } from "./scripts/regtest/network.mjs"
//
// Channels (sat), all public:
//   hub   -> alice  10M, 4M pushed to alice     hub -> alice 5M (second channel: MPP)
//   alice -> bob    10M, 4M pushed to bob       bob -> hub  10M, nothing pushed
// hub has no local balance on its channel with bob, so hub -> bob payments route via alice.
//
// Binaries come from scripts/regtest/build.sh (.cache/regtest/bin, or $REGTEST_BIN).
// Env: REGTEST_KEEP=1 keeps the temp dir (logs, data) after stop.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.REGTEST_BIN ?? path.join(ROOT, ".cache/regtest/bin");
export const NETWORK_JSON = path.join(ROOT, ".cache/regtest/network.json");
const NAMES = ["hub", "alice", "bob"];
const RPC_USER = "regtest";
const RPC_PASS = "regtest";
const FEE = "5"; // sat/vB, explicit so nothing depends on btcd's fee estimator on a fresh chain
const CHANNELS = [
  ["hub", "alice", 10_000_000, 4_000_000],
  ["hub", "alice", 5_000_000, 0],
  ["alice", "bob", 10_000_000, 4_000_000],
  ["bob", "hub", 10_000_000, 0],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);
let T0 = Date.now();
const log = (msg) => process.stderr.write(`[regtest +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);

// ---------------------------------------------------------------- processes

const LIVE = new Set(); // daemons we spawned and have not seen exit
// Last resort when our process exits without stop() (crash, process.exit): daemons are
// detached, so nothing else would kill them.
process.on("exit", () => {
  for (const d of LIVE) killGroup(d.pid, "SIGKILL");
});

function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {}
}

function spawnDaemon(name, bin, args, logFile) {
  const out = fs.openSync(logFile, "a");
  // detached = own process group: we kill the whole group, and a terminal Ctrl-C reaches only
  // us, so we can stop lnd before btcd instead of everything dying at once.
  const child = spawn(path.join(BIN, bin), args, { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const d = { name, pid: child.pid, logFile, exited: false, stopping: false };
  const gone = (why) => {
    d.exited = true;
    d.exitInfo = why;
    LIVE.delete(d);
  };
  child.on("exit", (code, sig) => gone(sig ?? `code ${code}`));
  child.on("error", (e) => gone(e.message));
  d.done = new Promise((r) => child.once("close", r));
  LIVE.add(d);
  return d;
}

// Fail fast (with the log tail) instead of timing out when a daemon died.
function assertAlive(daemons) {
  for (const d of daemons) {
    if (d.exited && !d.stopping) {
      const tail = fs.existsSync(d.logFile) ? fs.readFileSync(d.logFile, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new Error(`${d.name} exited (${d.exitInfo}); log ${d.logFile}:\n${tail}`);
    }
  }
}

// lnd and btcd both shut down gracefully on SIGTERM (lnd's signal interceptor runs the same
// shutdown as `lncli stop`, and also works before its RPC server is up); SIGKILL if they hang.
async function stopDaemon(d, timeoutMs = 15_000) {
  d.stopping = true;
  if (d.exited) return;
  killGroup(d.pid, "SIGTERM");
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(r, timeoutMs, "timeout")));
  const winner = await Promise.race([d.done, timeout]);
  clearTimeout(timer); // a pending timer would keep the process alive
  if (winner === "timeout") {
    log(`${d.name} ignored SIGTERM for ${timeoutMs / 1000}s; SIGKILL`);
    killGroup(d.pid, "SIGKILL");
    await d.done;
  }
}

async function waitFor(what, fn, { timeout = 60_000, interval = 200, daemons = [] } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    assertAlive(daemons);
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(interval);
  }
}

// Bind port 0 on all sockets at once (so no two are the same), then release them.
async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((res, rej) => {
      const s = net.createServer().once("error", rej);
      s.listen(0, "127.0.0.1", () => res(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

// ---------------------------------------------------------------- RPC helpers

// btcd JSON-RPC over HTTPS (btcd always serves TLS to lnd; its self-signed cert is the CA).
function btcdRpc(b, method, params = []) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port: b.rpcPort, method: "POST", path: "/", ca: b.cert(), auth: `${RPC_USER}:${RPC_PASS}`, timeout: 300_000 },
      (res) => {
        let data = "";
        res.setEncoding("utf8").on("data", (c) => (data += c));
        res.on("end", () => {
          let j;
          try {
            j = JSON.parse(data);
          } catch {
            return reject(new Error(`btcd ${method}: HTTP ${res.statusCode} ${data.slice(0, 200)}`));
          }
          if (j.error) reject(new Error(`btcd ${method}: ${j.error.message}`));
          else resolve(j.result);
        });
      },
    );
    req.on("error", reject).on("timeout", () => req.destroy(new Error(`btcd ${method}: timeout`)));
    req.end(JSON.stringify({ jsonrpc: "1.0", id: 1, method, params }));
  });
}

// lnd REST (plain HTTP: started with --no-rest-tls, which lnd allows on loopback only).
export async function lndRest(node, method, p, body) {
  const res = await fetch(node.restUrl + p, {
    method,
    headers: { "Grpc-Metadata-macaroon": node.macaroonHex },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${node.name} ${method} ${p}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

// ---------------------------------------------------------------- btcd / lnd

function btcdConfig(dir, rpcPort) {
  const b = {
    name: "btcd",
    dir,
    rpcPort,
    rpcHost: `127.0.0.1:${rpcPort}`,
    rpcCertPath: path.join(dir, "rpc.cert"),
    cert: () => (b._cert ??= fs.readFileSync(b.rpcCertPath)),
  };
  fs.mkdirSync(dir, { recursive: true });
  // An explicit (empty) config file: otherwise btcd/btcctl write ~/.btcd/btcd.conf etc.
  // (btcd still creates an empty ~/.btcd dir, unconditionally, via os/user's home.)
  fs.writeFileSync(path.join(dir, "btcd.conf"), "");
  b.btcctl = [path.join(BIN, "btcctl"), `--configfile=${path.join(dir, "btcd.conf")}`, "--regtest",
    `--rpcserver=${b.rpcHost}`, `--rpcuser=${RPC_USER}`, `--rpcpass=${RPC_PASS}`, `--rpccert=${b.rpcCertPath}`];
  return b;
}

async function startBtcd(b, miningAddrs) {
  const args = [
    "--regtest", `--configfile=${path.join(b.dir, "btcd.conf")}`,
    `--datadir=${path.join(b.dir, "data")}`, `--logdir=${path.join(b.dir, "logs")}`,
    `--rpclisten=${b.rpcHost}`, `--rpcuser=${RPC_USER}`, `--rpcpass=${RPC_PASS}`,
    // btcd generates this self-signed pair on first start; lnd's btcd backend requires TLS.
    `--rpccert=${b.rpcCertPath}`, `--rpckey=${path.join(b.dir, "rpc.key")}`,
    "--txindex", // lnd's btcd backend needs it
    "--nolisten", // no p2p: lnd talks to btcd over RPC websockets only
    "--rpcmaxwebsockets=100", // each lnd holds several websocket clients (default 25)
    ...miningAddrs.map((a) => `--miningaddr=${a}`), // `generate` pays one of these at random
  ];
  b.daemon = spawnDaemon("btcd", "btcd", args, path.join(b.dir, "btcd.out.log"));
  b.onSpawn?.();
  await waitFor("btcd RPC", async () => {
    if (!fs.existsSync(b.rpcCertPath)) return false;
    b._cert = undefined; // read again until RPC works: under load a first read can catch the file half written
    await btcdRpc(b, "getblockcount");
    return true;
  }, { daemons: [b.daemon], timeout: 30_000, interval: 100 });
}

function lndConfig(name, dir, ports, b) {
  const [p2p, rpc, rest] = ports;
  const macaroonPath = path.join(dir, "data/chain/bitcoin/regtest/admin.macaroon");
  fs.mkdirSync(dir, { recursive: true });
  const node = {
    name,
    dir,
    restUrl: `http://127.0.0.1:${rest}`,
    rpcHost: `127.0.0.1:${rpc}`,
    p2pHost: `127.0.0.1:${p2p}`,
    tlsCertPath: path.join(dir, "tls.cert"), // gRPC (lncli) still uses TLS
    macaroonPath,
    lncli: [path.join(BIN, "lncli"), "--network=regtest", `--lnddir=${dir}`, `--rpcserver=127.0.0.1:${rpc}`],
  };
  node.args = [
    `--lnddir=${dir}`, `--alias=${name}`, "--debuglevel=info",
    "--bitcoin.regtest", "--bitcoin.node=btcd",
    `--btcd.rpchost=${b.rpcHost}`, `--btcd.rpcuser=${RPC_USER}`, `--btcd.rpcpass=${RPC_PASS}`, `--btcd.rpccert=${b.rpcCertPath}`,
    "--noseedbackup", // wallet created unencrypted at start, no seed prompt
    "--nobootstrap",
    `--listen=${node.p2pHost}`, `--rpclisten=${node.rpcHost}`, `--restlisten=127.0.0.1:${rest}`,
    "--no-rest-tls", // REST as plain HTTP: Node's fetch and workerd need no custom CA (loopback only)
    "--maxpendingchannels=10", // hub opens two channels to alice at once (default: 1 pending per peer)
    "--trickledelay=50", "--gossip.sub-batch-delay=5ms", // gossip in ms, not the mainnet-tuned 90s
    // The outside nodes take keysend and spontaneous AMP payments (the hub's POST /v1/payments/keysend pays
    // alice, with amp: true too); the hub's own node needs neither to send one (and advertises no keysend
    // feature bit, as in production).
    ...(name === "hub" ? [] : ["--accept-keysend", "--accept-amp"]),
  ];
  return node;
}

// Start lnd and wait until `ready(node)` succeeds. The admin macaroon appears once the wallet
// exists; before its RPC server is up lnd answers "in the process of starting up".
async function startLnd(node, ready) {
  node.daemon = spawnDaemon(node.name, "lnd", node.args, path.join(node.dir, "lnd.out.log"));
  node.onSpawn?.();
  await waitFor(`${node.name} RPC`, async () => {
    if (!fs.existsSync(node.macaroonPath)) return false;
    // Read again on every try until the node answers: lnd writes the file in place, so under
    // load a first read can see it empty or half written (then every call fails "empty
    // macaroon data" until the timeout).
    const macaroon = fs.readFileSync(node.macaroonPath);
    if (macaroon.length === 0) return false;
    node.macaroonHex = macaroon.toString("hex");
    return ready(node);
  }, { daemons: [node.daemon], timeout: 90_000 });
}

// ---------------------------------------------------------------- network

// writeJson: record the network in .cache/regtest/network.json (for `stop`, and for other
// processes to find it). Off by default so a test run does not clobber a dev network's record.
export async function startNetwork({ keep = process.env.REGTEST_KEEP === "1", writeJson = false } = {}) {
  T0 = Date.now();
  for (const bin of ["lnd", "lncli", "btcd", "btcctl"]) {
    if (!fs.existsSync(path.join(BIN, bin))) throw new Error(`missing ${path.join(BIN, bin)}: run scripts/regtest/build.sh`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-regtest-"));
  const ports = await freePorts(1 + 3 * NAMES.length);
  const btcd = btcdConfig(path.join(dir, "btcd"), ports[0]);
  const nodes = Object.fromEntries(NAMES.map((n, i) =>
    [n, lndConfig(n, path.join(dir, n), ports.slice(1 + 3 * i, 4 + 3 * i), btcd)]));
  const all = () => [btcd.daemon, ...NAMES.map((n) => nodes[n].daemon)].filter(Boolean);
  const lnds = NAMES.map((n) => nodes[n]);

  // Written as soon as each daemon is spawned, so `stop` can clean up even after this process
  // was SIGKILLed mid-startup; completed with connection details once the network is up.
  const pids = {};
  let info = { dir, controllerPid: process.pid, pids, bin: BIN };
  const record = () => {
    for (const d of all()) pids[d.name] = d.pid;
    if (writeJson) fs.writeFileSync(NETWORK_JSON, JSON.stringify(info, null, 2) + "\n");
  };
  btcd.onSpawn = record;
  for (const n of lnds) n.onSpawn = record;

  const onSignal = (sig) => stop().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  let stopping;
  const stop = (opts = {}) => (stopping ??= (async () => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    const t = Date.now();
    await Promise.all(lnds.filter((n) => n.daemon).map((n) => stopDaemon(n.daemon)));
    if (btcd.daemon) await stopDaemon(btcd.daemon);
    log(`stopped in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    if (!keep && !opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
    if (writeJson && readJson()?.dir === dir) fs.rmSync(NETWORK_JSON, { force: true });
  })());
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);

  // Mine n (>= 0) blocks (coinbases go to hub/alice/bob at random), then wait until every lnd
  // has processed them, so callers can rely on the new height.
  const mine = async (n) => {
    const hashes = n > 0 ? await btcdRpc(btcd, "generate", [n]) : [];
    const height = await btcdRpc(btcd, "getblockcount");
    await Promise.all(lnds.map((node) => waitFor(`${node.name} synced to ${height}`, async () => {
      const info = await lndRest(node, "GET", "/v1/getinfo");
      return info.synced_to_chain && info.block_height >= height;
    }, { daemons: all(), timeout: 120_000 })));
    return hashes;
  };
  // Every channel of these nodes active, and each one's graph has all edges with both policies.
  const want = (n) => CHANNELS.filter(([a, b]) => a === n || b === n).length;
  const channelsActive = (names) => Promise.all(names.map((name) => waitFor(`${name} channels active + graph`, async () => {
    const node = nodes[name];
    const { channels = [] } = await lndRest(node, "GET", "/v1/channels?active_only=true");
    if (channels.length < want(name)) return false;
    const { edges = [] } = await lndRest(node, "GET", "/v1/graph");
    return edges.filter((e) => e.node1_policy && e.node2_policy).length >= CHANNELS.length;
  }, { daemons: all(), timeout: 120_000, interval: 250 })));
  const balance = async (node) => BigInt((await lndRest(node, "GET", "/v1/balance/blockchain")).confirmed_balance);

  try {
    log(`dir ${dir}`);
    // 1. btcd has no wallet and no generatetoaddress: `generate` pays a random --miningaddr,
    //    fixed at start. So first start lnd against an empty chain just to create the wallets
    //    (RPC works at genesis, before lnd considers itself synced) and take one address each.
    await startBtcd(btcd, []);
    await Promise.all(lnds.map((node) => startLnd(node, async () => {
      node.fundingAddr = (await lndRest(node, "GET", "/v1/newaddress?type=WITNESS_PUBKEY_HASH")).address;
      return true;
    })));
    log("wallets created");

    // 2. Restart btcd paying coinbases to those addresses (at random, per block) with every lnd
    //    down: lnd's btcd client does not recover cleanly from a btcd restart (its notifier
    //    misses the blocks mined meanwhile). 150 blocks mature ~50 coinbases (100 confs) spread
    //    over the three wallets. btcd >= 0.26 has segwit active from height 1 on regtest; older
    //    ones need BIP9 signalling (active at 432), hence the loop.
    await Promise.all(lnds.map((n) => stopDaemon(n.daemon)));
    await stopDaemon(btcd.daemon);
    await startBtcd(btcd, lnds.map((n) => n.fundingAddr));
    for (;;) {
      const info = await btcdRpc(btcd, "getblockchaininfo");
      const segwit = info.softforks?.segwit ?? info.bip9_softforks?.segwit;
      if (segwit?.status === "active" && info.blocks >= 150) break;
      await btcdRpc(btcd, "generate", [info.blocks < 150 ? 150 - info.blocks : 144]);
    }
    log(`btcd at height ${await btcdRpc(btcd, "getblockcount")}, segwit active`);

    // 3. lnd again, in parallel; wait until synced and each wallet sees mature coins.
    await Promise.all(lnds.map((node) => startLnd(node, async () => {
      node.pubkey = (await lndRest(node, "GET", "/v1/getinfo")).identity_pubkey;
      return true;
    })));
    await mine(0);
    await Promise.all(lnds.map((n) =>
      waitFor(`${n.name} mature coins`, async () => (await balance(n)) >= 100_000_000n, { daemons: all() })));
    log("lnd nodes synced and funded");

    // 4. peers, then all channels at once; 6 blocks confirm and make them announceable.
    const peers = [["hub", "alice"], ["alice", "bob"], ["bob", "hub"]];
    await Promise.all(peers.map(async ([a, b]) => {
      await lndRest(nodes[a], "POST", "/v1/peers", { addr: { pubkey: nodes[b].pubkey, host: nodes[b].p2pHost }, perm: false });
      await waitFor(`${a} sees peer ${b}`, async () =>
        (await lndRest(nodes[a], "GET", "/v1/peers")).peers?.some((p) => p.pub_key === nodes[b].pubkey), { daemons: all() });
    }));
    await Promise.all(CHANNELS.map(([a, b, amt, push]) => lndRest(nodes[a], "POST", "/v1/channels", {
      node_pubkey: Buffer.from(nodes[b].pubkey, "hex").toString("base64"),
      local_funding_amount: String(amt), push_sat: String(push), sat_per_vbyte: FEE,
    })));
    await waitFor("funding txs in mempool", async () => (await btcdRpc(btcd, "getrawmempool")).length >= CHANNELS.length);
    await mine(6);
    log("channels confirmed");

    // 5. every channel active on both ends, and every node's graph has all edges with both
    //    directions' policies (pathfinding needs them).
    await channelsActive(NAMES);
    log("channels active and gossiped");
  } catch (e) {
    log(`startup failed; stopping, logs kept in ${dir}`);
    await stop({ keepDir: true });
    throw e;
  }

  info = {
    dir,
    startedAt: new Date().toISOString(),
    controllerPid: process.pid, // this process: `stop` asks it to shut down in order
    pids,
    bin: BIN,
    btcd: {
      pid: btcd.daemon.pid, rpcHost: btcd.rpcHost, rpcUser: RPC_USER, rpcPass: RPC_PASS,
      rpcCertPath: btcd.rpcCertPath, btcctl: btcd.btcctl.join(" "),
    },
    nodes: Object.fromEntries(lnds.map((n) => [n.name, {
      pid: n.daemon.pid, pubkey: n.pubkey, restUrl: n.restUrl, tlsCertPath: n.tlsCertPath,
      macaroonPath: n.macaroonPath, macaroonHex: n.macaroonHex, rpcHost: n.rpcHost, p2pHost: n.p2pHost,
      lncli: n.lncli.join(" "),
    }])),
  };
  record();
  log(`network up in ${((Date.now() - T0) / 1000).toFixed(1)}s`);

  // Run lncli against a node and parse its JSON output.
  const lncli = async (name, ...args) => {
    const { stdout } = await execFileP(nodes[name].lncli[0], [...nodes[name].lncli.slice(1), ...args], { maxBuffer: 1 << 26 });
    return JSON.parse(stdout);
  };
  // Throws if a daemon died behind our back.
  const check = () => assertAlive(all());

  // One lnd node down and up again (same data dir, ports and macaroon), e.g. to test that the hub
  // reconciles what was in flight. startNode waits until the node is synced and every channel it
  // has is active again on both ends, so payments can cross it right away.
  const stopNode = async (name) => {
    const node = nodes[name];
    if (!node) throw new Error(`no lnd node ${name}`);
    if (node.daemon && !node.daemon.exited) await stopDaemon(node.daemon);
  };
  const startNode = async (name) => {
    const node = nodes[name];
    if (!node) throw new Error(`no lnd node ${name}`);
    if (node.daemon && !node.daemon.exited) return;
    const t = Date.now();
    await startLnd(node, async () => (await lndRest(node, "GET", "/v1/getinfo")).synced_to_chain);
    // Reconnect to every channel peer at once: lnd does not announce loopback addresses, so a
    // node only knows the addresses it dialled itself, and the peers that dialled it wait for
    // their reconnection backoff.
    const peers = NAMES.filter((n) => n !== name && CHANNELS.some(([a, b]) => [a, b].includes(n) && [a, b].includes(name)));
    await Promise.all(peers.map((peer) => lndRest(node, "POST", "/v1/peers", {
      addr: { pubkey: nodes[peer].pubkey, host: nodes[peer].p2pHost }, perm: true,
    }).catch((e) => {
      if (!/already connected/.test(e.message)) throw e;
    })));
    await channelsActive([name, ...peers]);
    log(`${name} restarted in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  };
  const restart = async (name) => {
    await stopNode(name);
    await startNode(name);
  };
  // info: the JSON-able summary (also in network.json); nodes/btcd: internal state, incl. args.
  return { info, nodes, btcd, dir, mine, stop, stopNode, startNode, restart, check, lncli, rest: (name, ...a) => lndRest(nodes[name], ...a), btcdRpc: (...a) => btcdRpc(btcd, ...a) };
}

function readJson() {
  try {
    return JSON.parse(fs.readFileSync(NETWORK_JSON, "utf8"));
  } catch {
    return undefined;
  }
}

// `stop` for a network started by another process: pids from network.json, checked against
// /proc so a recycled pid is never signalled.
export async function stopRecorded() {
  const info = readJson();
  if (!info) return log(`no ${NETWORK_JSON}`);
  const ours = (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(info.bin ?? BIN);
    } catch {
      return false;
    }
  };
  const stopPid = async (pid) => {
    if (!ours(pid)) return;
    killGroup(pid, "SIGTERM");
    for (let i = 0; i < 150 && ours(pid); i++) await sleep(100);
    if (ours(pid)) killGroup(pid, "SIGKILL");
  };
  // The controlling node process, if alive, stops everything itself on SIGTERM.
  const controller = info.controllerPid;
  const isController = () => {
    try {
      return fs.readFileSync(`/proc/${controller}/cmdline`, "utf8").split("\0")[0].endsWith("node");
    } catch {
      return false;
    }
  };
  if (controller !== process.pid && isController()) {
    process.kill(controller, "SIGTERM");
    for (let i = 0; i < 300 && isController(); i++) await sleep(100);
  }
  const { btcd, ...lnds } = info.pids ?? {};
  await Promise.all(Object.values(lnds).map(stopPid));
  if (btcd) await stopPid(btcd);
  if (process.env.REGTEST_KEEP !== "1") fs.rmSync(info.dir, { recursive: true, force: true });
  fs.rmSync(NETWORK_JSON, { force: true });
  log(`stopped network in ${info.dir}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  if (cmd === "start") {
    startNetwork({ writeJson: true }).then((net) => {
      process.stdout.write(JSON.stringify(net.info) + "\n");
      log("running; SIGINT/SIGTERM stops it");
      // Stay alive (signal handlers stop everything); give up if a daemon dies.
      setInterval(() => {
        try {
          net.check();
        } catch (e) {
          console.error(e.message);
          net.stop({ keepDir: true }).finally(() => process.exit(1));
        }
      }, 1000);
    }, (e) => {
      console.error(e.message);
      process.exit(1);
    });
  } else if (cmd === "stop") {
    await stopRecorded();
  } else {
    console.error("usage: network.mjs start|stop");
    process.exit(2);
  }
}
