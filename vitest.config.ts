import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSigningJwk } from "./src/auth/tokens.ts";
import { SIM_WORKER, buildSim } from "./sim/build.ts";
import { outsideWorld } from "./test/outside-world.ts";

// A fresh signing key per test run: no secret lives in the repository.
const JWT_PRIVATE_JWK = await generateSigningJwk();
// And a fresh operator key (the /v1/admin/ routes' bearer).
const ADMIN_API_KEY = `fha_${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

// The LND simulator (sim/) runs as an auxiliary Worker named like its sim/wrangler.toml, so the
// hub's LND_SIM service binding reaches it. Auxiliary Workers take built JavaScript: bundle it
// (into the git-ignored .cache/sim/) every time this config loads.
await buildSim();

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { ENVIRONMENT: "development", BITCOIN_NETWORK: "regtest", LND_PAY_WAIT_MS: "1500", JWT_PRIVATE_JWK, WEBHOOK_RETRY_SCALE: "0.001", WEBHOOK_TIMEOUT_MS: "1000", SESSION_EPOCH_TTL_MS: "0", TOTP_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))), ADMIN_API_KEY },
        workers: [SIM_WORKER],
        // The internet, as far as the tests are concerned: webhook receivers and whatever else the hub fetches.
        outboundService: outsideWorld,
      },
    }),
  ],
  test: {
    // Only our suites: .cache/ holds Go module sources with their own spec files.
    include: ["test/**/*.test.ts"],
    // The regtest tier has its own config (vitest.regtest.config.ts): real lnd, not the simulator.
    exclude: ["test/regtest/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
