// Bundles the hub and the LND simulator the way `wrangler deploy` does, and writes a workerd
// config that serves the bundles directly (no wrangler dev, no proxy in front of workerd).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BUILD = join(ROOT, "bench/.build");
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** Must match wrangler.toml (and be accepted by the workerd in node_modules). */
export const COMPATIBILITY_DATE = "2026-10-01";

/**
 * `wrangler deploy --dry-run`: the exact bundle production would upload (esbuild, nodejs_compat
 * polyfills, the same externals), written to bench/.build/{hub,sim}/index.js.
 */
export function bundle({ quiet = true } = {}) {
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
    WRANGLER_LOG_PATH: join(BUILD, "wrangler-logs"),
    CI: "1",
    NO_COLOR: "1",
  };
  const out = { hub: null, sim: null, simError: null };
  for (const [name, config] of [["hub", join(ROOT, "wrangler.toml")], ["sim", join(ROOT, "sim/wrangler.toml")]]) {
    rmSync(join(BUILD, name), { recursive: true, force: true });
    if (!existsSync(config)) {
      if (name === "sim") out.simError = "sim/wrangler.toml not found";
      continue;
    }
    // wrangler keeps its scratch files (.wrangler/tmp) next to the config it is given, so it gets a
    // copy under bench/.build with `main` made absolute: the bench writes nothing outside bench/.
    const dir = join(BUILD, `config-${name}`);
    mkdirSync(dir, { recursive: true });
    // The web app's files ([assets], served by Workers static assets in front of the Worker) are left out:
    // the bench's workerd serves the Worker alone, and the app is measured from web/dist (its size).
    const text = readFileSync(config, "utf8")
      .replace(/^main\s*=\s*"([^"]+)"/m, (_, main) => `main = ${JSON.stringify(resolve(dirname(config), main))}`)
      .replace(/^\[assets\][^]*?(?=^\[)/m, "");
    writeFileSync(join(dir, "wrangler.toml"), text);
    try {
      execFileSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--env=", "--config", join(dir, "wrangler.toml"), "--outdir", join(BUILD, name)], {
        cwd: dir,
        env,
        stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
      });
      out[name] = join(BUILD, name, "index.js");
    } catch (error) {
      const detail = `${error.stdout ?? ""}${error.stderr ?? ""}`.split("\n").filter((l) => /ERROR|error/.test(l)).slice(0, 3).join(" | ");
      // The hub is what the bench measures; the simulator is optional (Lightning phases are skipped).
      if (name === "hub") throw new Error(`bundling the hub failed: ${detail || error.message}`);
      out.simError = `bundling sim/ failed: ${detail || error.message}`;
    }
  }
  return out;
}

/**
 * The hub's Durable Object bindings as wrangler.toml declares them (read by wrangler itself), so the
 * bench serves the same actors under the same names as `wrangler dev`, the tests and production.
 */
export function hubActorBindings(config = join(ROOT, "wrangler.toml")) {
  return readWranglerConfig(config).durable_objects.bindings.map(({ name, class_name }) => ({ name, className: class_name }));
}

/** A wrangler.toml's default environment, as wrangler reads it. */
function readWranglerConfig(config) {
  const { unstable_readConfig } = createRequire(import.meta.url)("wrangler");
  return unstable_readConfig({ config }, { hideWarnings: true });
}

/**
 * The hub's rate-limiting bindings (`[[ratelimits]]`) and its vars as wrangler.toml's default
 * environment declares them (development's figures, as `npm start` and the tests have them).
 */
export function hubWranglerConfig(config = join(ROOT, "wrangler.toml")) {
  const read = readWranglerConfig(config);
  return { rateLimits: read.ratelimits.map(({ name, simple }) => ({ name, limit: simple.limit, period: simple.period })), vars: read.vars };
}

/** workerd serves each rate-limiting binding from this module (the binding's rule, counted in the isolate's memory). */
const RATELIMIT_MODULE = "bench-internal:ratelimit";

/** The operator's bearer (/v1/admin/*, /metrics) of every hub the bench serves: fresh per bench process. */
export const BENCH_ADMIN_KEY = `fha_${Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;

/** A fresh Ed25519 private JWK, as `npm start` writes into .dev.vars. */
export async function generateJwk() {
  const { privateKey } = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", privateKey);
  return JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d });
}

const q = (s) => JSON.stringify(s); // capnp text strings use the same escapes as JSON

/**
 * The workerd config (capnp text). The HTTP socket is named "http" and bound at start with
 * `--socket-addr http=127.0.0.1:0`; workerd reports the port it got on the control fd.
 *
 * storage: "disk" (SQLite files under `dataDir`) or "memory" (workerd's in-memory storage, which
 * this workerd does not offer to SQLite-backed classes: the hub cannot run on it).
 * extra: more workers served on their own sockets (the calibration worker).
 * actors: the hub's Durable Object bindings (default: wrangler.toml's; bench/ab.mjs may give the
 * base commit's, `hubActorBindings(<its wrangler.toml>)`).
 * limits: "off" serves the hub with `LIMITS=off` (no rolling account limits, no rate limits: the
 * limits on/off comparison, bench/lib/limits-ab.mjs); rate limits are wrangler.toml's development
 * figures otherwise, and the lockout vars are wrangler.toml's.
 */
export function writeConfig({ dir = BUILD, jwk, storage = "disk", dataDir, sim = true, extra = [], hubBundle = join(BUILD, "hub/index.js"), v8Flags = [], actors = hubActorBindings(), limits = "on" }) {
  mkdirSync(dir, { recursive: true });
  const rel = (p) => relative(dir, p);
  const storageOf = storage === "disk" ? `(localDisk = "do-storage")` : `(inMemory = void)`;
  const hubBindings = [
    `(name = "ENVIRONMENT", text = "development")`,
    `(name = "BITCOIN_NETWORK", text = "regtest")`,
    `(name = "JWT_PRIVATE_JWK", text = ${q(jwk)})`,
    `(name = "ADMIN_API_KEY", text = ${q(BENCH_ADMIN_KEY)})`,
    `(name = "TOTP_ENCRYPTION_KEY", text = ${q(Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString("base64"))})`,
    ...actors.map((a) => `(name = ${q(a.name)}, durableObjectNamespace = ${q(a.className)})`),
  ];
  const { rateLimits, vars } = hubWranglerConfig();
  for (const name of ["LOGIN_LOCKOUT_AFTER", "LOGIN_LOCKOUT_S"]) if (vars[name] !== undefined) hubBindings.push(`(name = ${q(name)}, text = ${q(vars[name])})`);
  if (limits === "off") hubBindings.push(`(name = "LIMITS", text = "off")`);
  for (const r of rateLimits) {
    const inner = [`(name = "name", json = ${q(JSON.stringify(r.name))})`, `(name = "limit", json = ${q(String(r.limit))})`, `(name = "period", json = ${q(String(r.period))})`];
    hubBindings.push(`(name = ${q(r.name)}, wrapped = (moduleName = ${q(RATELIMIT_MODULE)}, innerBindings = [${inner.join(", ")}]))`);
  }
  if (sim) hubBindings.push(`(name = "LND_SIM", service = "flash-lnd-sim")`);
  const ns = (cls, prefix) => `(className = "${cls}", uniqueKey = "${prefix}-${cls}", enableSql = true)`;
  const services = [
    `(name = "hub", worker = .hub)`,
    ...(sim ? [`(name = "flash-lnd-sim", worker = .sim)`] : []),
    ...extra.map((w) => `(name = "${w.name}", worker = .${w.name})`),
  ];
  if (storage === "disk") {
    mkdirSync(dataDir, { recursive: true });
    services.push(`(name = "do-storage", disk = (path = ${q(dataDir)}, writable = true))`);
  }
  const sockets = [`(name = "http", http = (), service = "hub")`, ...extra.map((w) => `(name = "${w.name}", http = (), service = "${w.name}")`)];
  let text = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (${v8Flags.length ? `\n  v8Flags = [${v8Flags.map(q).join(", ")}],` : ""}
  services = [
    ${services.join(",\n    ")}
  ],
  sockets = [
    ${sockets.join(",\n    ")}
  ],
  extensions = [(modules = [(name = ${q(RATELIMIT_MODULE)}, esModule = embed ${q(rel(join(ROOT, "bench/lib/ratelimit.js")))}, internal = true)])],
);

const hub :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${q(rel(hubBundle))})],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    ${hubBindings.join(",\n    ")}
  ],
  durableObjectNamespaces = [
    ${[...new Set(actors.map((a) => a.className))].map((c) => ns(c, "flash-hub")).join(",\n    ")}
  ],
  durableObjectStorage = ${storageOf},
);
`;
  if (sim) {
    text += `
const sim :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${q(rel(join(BUILD, "sim/index.js")))})],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ["nodejs_compat", "enable_request_signal"],
  bindings = [(name = "SIM", durableObjectNamespace = "SimNetwork")],
  durableObjectNamespaces = [${ns("SimNetwork", "flash-lnd-sim")}],
  durableObjectStorage = ${storageOf},
);
`;
  }
  for (const w of extra) {
    text += `
const ${w.name} :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${q(rel(w.path))})],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [(name = "COUNTER", durableObjectNamespace = "Counter")],
  durableObjectNamespaces = [${ns("Counter", "bench-calibration")}],
  durableObjectStorage = ${storageOf},
);
`;
  }
  const path = join(dir, "workerd.capnp");
  writeFileSync(path, text);
  return path;
}

/** Builds the calibration worker (a bare DO that updates one SQLite row per request). */
export function calibrationWorkerPath() {
  return join(ROOT, "bench/calibration/counter.js");
}
