import { createRequire } from "node:module";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSigningJwk } from "./src/auth/tokens.ts";
import { SIM_WORKER, buildSim } from "./sim/build.ts";
import { outsideWorld } from "./test/outside-world.ts";

// No Request.cf fetch from workers.cloudflare.com (offline here: a warning and an ENOTFOUND stack per test
// file): Miniflare instances the plugin makes without our options (`cf: false` below) read this.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

// A fresh signing key per test run: no secret lives in the repository.
const JWT_PRIVATE_JWK = await generateSigningJwk();
// And a fresh operator key (the /v1/admin/ routes' bearer).
const ADMIN_API_KEY = `fha_${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

// The LND simulator (sim/) runs as an auxiliary Worker named like its sim/wrangler.toml, so the
// hub's LND_SIM service binding reaches it. Auxiliary Workers take built JavaScript: bundle it
// (into the git-ignored .cache/sim/) every time this config loads.
await buildSim();

// Rate limits (docs/decisions/0015): the suites run wrangler.toml's development figures, except
// failed logins per address, which development has as production does: every request of the suites
// comes from one address (none), and they fail logins on purpose, so theirs is raised here.
// test/rate-limits.test.ts runs on its own with production's figures ([env.production.ratelimits]),
// the rules it trips.
type RateLimits = Record<string, { namespace_id: string; simple: { limit: number; period: 10 | 60 } }>;
const { unstable_readConfig } = createRequire(import.meta.url)("wrangler");
const rateLimitsOf = (env?: string): RateLimits =>
  Object.fromEntries(
    unstable_readConfig({ config: "./wrangler.toml", env }, { hideWarnings: true }).ratelimits.map((r: { name: string; namespace_id: string; simple: RateLimits[string]["simple"] }) => [
      r.name,
      { namespace_id: r.namespace_id, simple: r.simple },
    ]),
  );
const development = rateLimitsOf();
const suitesRateLimits: RateLimits = { ...development, FAILED_LOGINS_PER_IP: { ...development.FAILED_LOGINS_PER_IP!, simple: { limit: 100_000, period: 60 } } };
const RATE_LIMIT_TESTS = "test/rate-limits.test.ts";

const hub = (ratelimits: RateLimits) =>
  cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      // Request.cf from a placeholder: Miniflare would otherwise fetch it from workers.cloudflare.com (offline here: a warning on every run).
      cf: false,
      bindings: { ENVIRONMENT: "development", BITCOIN_NETWORK: "regtest", LND_PAY_WAIT_MS: "1500", JWT_PRIVATE_JWK, WEBHOOK_RETRY_SCALE: "0.001", WEBHOOK_TIMEOUT_MS: "1000", SESSION_EPOCH_TTL_MS: "0", TOTP_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))), ADMIN_API_KEY },
      ratelimits,
      workers: [SIM_WORKER],
      // The internet, as far as the tests are concerned: webhook receivers and whatever else the hub fetches.
      outboundService: outsideWorld,
    },
  });

const timeouts = { testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [hub(suitesRateLimits)],
        test: {
          name: "hub",
          // Only our suites: .cache/ holds Go module sources with their own spec files.
          include: ["test/**/*.test.ts"],
          // The regtest tier has its own config (vitest.regtest.config.ts): real lnd, not the simulator.
          exclude: ["test/regtest/**", RATE_LIMIT_TESTS],
          ...timeouts,
        },
      },
      {
        plugins: [hub(rateLimitsOf("production"))],
        test: { name: "rate-limits", include: [RATE_LIMIT_TESTS], ...timeouts },
      },
    ],
  },
});
