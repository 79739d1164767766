// The regtest tier: the hub inside workerd against real lnd (v0.21.3) on a local regtest network.
// `npm run test:regtest` (vitest run -c vitest.regtest.config.ts). See scripts/regtest/README.md.
//
// test/regtest/global-setup.mjs (Node) builds lnd/btcd when missing, starts btcd + hub/alice/bob lnd
// and a control server, and provides their coordinates; the pool options below read them, so the
// hub Worker talks to the hub node's REST API (LND_REST_URL wins over the LND_SIM binding).

import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSigningJwk } from "./src/auth/tokens.ts";
import { SIM_WORKER, buildSim } from "./sim/build.ts";
import type { RegtestContext } from "./test/regtest/context.ts";

// No Request.cf fetch from workers.cloudflare.com (offline: a warning per test file), as in vitest.config.ts.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const JWT_PRIVATE_JWK = await generateSigningJwk();

// wrangler.toml binds LND_SIM: the simulator Worker must exist for that binding to resolve,
// even though the hub reaches real lnd here.
await buildSim();

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const regtest: RegtestContext = inject("regtest");
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Request.cf from a placeholder (Miniflare would fetch it from workers.cloudflare.com: offline, a warning).
          cf: false,
          bindings: {
            ENVIRONMENT: "development",
            BITCOIN_NETWORK: "regtest",
            JWT_PRIVATE_JWK,
            LND_REST_URL: regtest.hub.restUrl,
            LND_MACAROON_HEX: regtest.hub.macaroonHex,
            // A payment answers `pending` after this long; the alarm follows it up.
            LND_PAY_WAIT_MS: "3000",
          },
          workers: [SIM_WORKER],
        },
      };
    }),
  ],
  test: {
    include: ["test/regtest/**/*.test.ts"],
    globalSetup: ["./test/regtest/global-setup.mjs"],
    // One network for the whole run: files one after another, each file's tests in order.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
