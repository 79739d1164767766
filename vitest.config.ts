import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSigningJwk } from "./src/auth/tokens.ts";
import { SIM_WORKER, buildSim } from "./sim/build.ts";

// A fresh signing key per test run: no secret lives in the repository.
const JWT_PRIVATE_JWK = await generateSigningJwk();

// The LND simulator (sim/) runs as an auxiliary Worker named like its sim/wrangler.toml, so the
// hub's LND_SIM service binding reaches it. Auxiliary Workers take built JavaScript: bundle it
// (into the git-ignored .cache/sim/) every time this config loads.
await buildSim();

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { ENVIRONMENT: "development", BITCOIN_NETWORK: "regtest", LND_PAY_WAIT_MS: "1500", JWT_PRIVATE_JWK },
        workers: [SIM_WORKER],
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
