// The hub for the Node suites of test/node/: bundled and served by workerd the way the benchmark
// does it (bench/lib: ENVIRONMENT development, regtest, the LND simulator bound), on its own port
// and data directory, with a small client for its HTTP API.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BUILD, bundle, generateJwk, writeConfig } from "../../bench/lib/build.mjs";
import { startWorkerd } from "../../bench/lib/runtime.mjs";

/** Give `before()` this long: bundling, waiting for another suite's start, workerd's start. */
export const START_TIMEOUT_MS = 240_000;

/**
 * Starts a hub. `name` names its scratch directory. Returns { url, call, account, stop }:
 * `call(method, path, {body, token, headers})` → {status, json}; `account(sat, prefix)` → a new
 * account's POST /v1/accounts answer (plus `username`), funded from the development faucet when
 * `sat` is given.
 */
export async function startHub(name) {
  const dir = mkdtempSync(join(tmpdir(), `flash-${name}-`));
  let server;
  try {
    server = await whileBuildIsOurs(async () => {
      const built = bundle();
      if (!built.sim) throw new Error(`the LND simulator is needed (hub invoices are made through it): ${built.simError}`);
      const configPath = writeConfig({ dir, jwk: await generateJwk(), storage: "disk", dataDir: join(dir, "do") });
      return startWorkerd({ configPath, logPath: join(dir, "workerd.log") });
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  async function call(method, path, { body, token, headers = {} } = {}) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  async function account(sat = 0, prefix = "node_") {
    const username = `${prefix}${randomBytes(6).toString("hex")}`;
    const created = await call("POST", "/v1/accounts", { body: { username, password: "correct horse battery staple" } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    if (sat) {
      const funded = await call("POST", "/dev/faucet", { body: { amount_sat: sat }, token: created.json.access_token, headers: { "idempotency-key": randomBytes(8).toString("hex") } });
      assert.equal(funded.status, 200, JSON.stringify(funded.json));
    }
    return { ...created.json, username };
  }

  return {
    url: server.url,
    call,
    account,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn` while no other suite (node --test runs files in parallel processes) is bundling into
 * bench/.build or starting a workerd that reads its bundles: `bundle()` empties and rewrites that
 * directory, and workerd reads the bundles only when it starts. A directory is the lock; one left
 * by a process that died is taken over.
 */
async function whileBuildIsOurs(fn) {
  const lock = join(BUILD, ".node-tests.lock");
  mkdirSync(BUILD, { recursive: true });
  const deadline = Date.now() + START_TIMEOUT_MS - 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    if (abandoned(lock)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another suite has held ${lock} too long`);
    await sleep(200);
  }
  try {
    writeFileSync(join(lock, "pid"), String(process.pid));
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The lock's holder has exited (or never wrote its pid within 10 s of taking it). */
function abandoned(lock) {
  let pid;
  try {
    pid = Number(readFileSync(join(lock, "pid"), "utf8"));
  } catch {
    try {
      return Date.now() - statSync(lock).mtimeMs > 10_000;
    } catch {
      return false; // released meanwhile: try again
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code === "ESRCH";
  }
}
