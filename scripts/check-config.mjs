// The deployment's configuration agrees with the code (run by `npm test` after the layering check):
//   [env.production] has every Durable Object binding and var of the default environment (an
//   environment inherits neither from the top level: one left out is undefined in production only),
//   LND_REST_URL instead of the simulator's binding, ENVIRONMENT not "development", LIMITS not "off";
//   both environments have every rate-limiting binding the gateway uses, with the period it answers
//   in Retry-After, and the same failed-login limit;
//   every actor class bound is exported by workers/index.ts and created by a migration, and every
//   actor class exported is bound;
//   every name of the hub's Env (durable/env.ts, durable/lnd.ts) is set in wrangler.toml or
//   documented in README.md's Configuration table (secrets are set with `wrangler secret put`).
// wrangler reads wrangler.toml, as `wrangler deploy` does.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { unstable_readConfig } = createRequire(import.meta.url)("wrangler");
const read = (env) => unstable_readConfig({ config: join(root, "wrangler.toml"), env }, { hideWarnings: true });
const text = (file) => readFileSync(join(root, file), "utf8");
const base = read(undefined);
const production = read("production");

const problems = [];
const actorsOf = (config) => new Map(config.durable_objects.bindings.map((b) => [b.name, b.class_name]));
const [baseActors, productionActors] = [actorsOf(base), actorsOf(production)];
for (const [name, cls] of baseActors) {
  if (productionActors.get(name) !== cls) problems.push(`[env.production] lacks the Durable Object binding ${name} → ${cls}`);
}
for (const name of Object.keys(base.vars)) {
  if (!(name in production.vars)) problems.push(`[env.production.vars] lacks ${name}`);
}
if (production.vars.ENVIRONMENT === "development") problems.push(`[env.production.vars] ENVIRONMENT is "development": /dev/* would be open`);
if (production.vars.LIMITS === "off") problems.push(`[env.production.vars] LIMITS is "off": production never runs without its limits (the hub refuses it)`);
// The liquidity policy (src/liquidity.ts parses it at run time; a malformed one stops the evaluation): JSON with the seed's keys, sizes in order.
for (const [where, config] of [["[vars]", base], ["[env.production.vars]", production]]) {
  const text = config.vars.LIQUIDITY_POLICY;
  if (text === undefined) continue;
  let policy;
  try {
    policy = JSON.parse(text);
  } catch {
    problems.push(`${where} LIQUIDITY_POLICY is not JSON`);
    continue;
  }
  for (const key of ["minChannelSize", "maxChannelSize", "targetUtilization", "rebalanceThreshold", "autoOpenChannels", "preferredPeers"]) {
    if (!(key in policy)) problems.push(`${where} LIQUIDITY_POLICY lacks ${key}`);
  }
  if (!(policy.minChannelSize <= policy.maxChannelSize)) problems.push(`${where} LIQUIDITY_POLICY: minChannelSize above maxChannelSize`);
  if (!(policy.targetUtilization > 0 && policy.targetUtilization < 1)) problems.push(`${where} LIQUIDITY_POLICY: targetUtilization outside (0, 1)`);
  for (const peer of policy.preferredPeers ?? []) {
    if (!/^0[23][0-9a-f]{64}(@\S+)?$/.test(peer)) problems.push(`${where} LIQUIDITY_POLICY: preferred peer ${JSON.stringify(peer)} is not <pubkey>[@host:port]`);
  }
}
if (!production.vars.LND_REST_URL) problems.push(`[env.production.vars] lacks LND_REST_URL (production has no simulator binding)`);

const exported = new Set([...text("workers/index.ts").matchAll(/^export \{ (\w+) \} from/gm)].map((m) => m[1]));
const created = new Set(base.migrations.flatMap((m) => [...(m.new_sqlite_classes ?? []), ...(m.new_classes ?? [])]));
const bound = new Set(baseActors.values());
for (const cls of bound) {
  if (!exported.has(cls)) problems.push(`${cls} is bound in wrangler.toml but not exported by workers/index.ts`);
  if (!created.has(cls)) problems.push(`${cls} is bound in wrangler.toml but no [[migrations]] step creates it`);
}
for (const cls of exported) if (!bound.has(cls)) problems.push(`workers/index.ts exports ${cls}, which wrangler.toml does not bind`);

// Rate limits: the bindings the gateway uses (with the window it answers in Retry-After) exist in
// both environments with that period; failed logins are limited in development as in production.
const windows = new Map(
  [...text("workers/middleware/rate-limits.ts").matchAll(/^ {2}([A-Z][A-Z0-9_]*): (\d+),$/gm)].map((m) => [m[1], Number(m[2])]),
);
if (!windows.size) problems.push("workers/middleware/rate-limits.ts: no RATE_LIMIT_WINDOW_S entries found");
const limitsOf = (config) => new Map(config.ratelimits.map((r) => [r.name, r.simple]));
const [baseLimits, productionLimits] = [limitsOf(base), limitsOf(production)];
for (const [where, limits] of [["[[ratelimits]]", baseLimits], ["[[env.production.ratelimits]]", productionLimits]]) {
  for (const [name, period] of windows) {
    if (!limits.has(name)) problems.push(`${where} lacks ${name} (workers/middleware/rate-limits.ts uses it)`);
    else if (limits.get(name).period !== period) problems.push(`${where} ${name}: period ${limits.get(name).period} s, but the gateway answers Retry-After: ${period}`);
  }
}
const failedLogins = (limits) => JSON.stringify(limits.get("FAILED_LOGINS_PER_IP"));
if (failedLogins(baseLimits) !== failedLogins(productionLimits)) problems.push("FAILED_LOGINS_PER_IP differs between development and production (the contract: as in production)");

const envNames = ["durable/env.ts", "durable/lnd.ts"].flatMap((file) => [...text(file).matchAll(/^ {2}([A-Z][A-Z0-9_]*)\??:/gm)].map((m) => m[1]));
const inWrangler = new Set([...baseActors.keys(), ...base.services.map((s) => s.binding), ...baseLimits.keys(), ...Object.keys(base.vars), ...Object.keys(production.vars)]);
const readme = text("README.md");
const at = readme.indexOf("\n## Configuration");
if (at < 0) problems.push(`README.md has no "## Configuration" section`);
const configuration = at < 0 ? "" : readme.slice(at, readme.indexOf("\n## ", at + 1) >>> 0);
for (const name of envNames) {
  if (!inWrangler.has(name) && !configuration.includes(`\`${name}\``)) problems.push(`${name} (Env) is neither set in wrangler.toml nor documented in README.md's Configuration table`);
}

if (problems.length) {
  console.error(`configuration: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`configuration: ok (${bound.size} actor classes, ${envNames.length} Env names, production against the default environment)`);
