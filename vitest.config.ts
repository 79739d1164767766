import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSigningJwk } from "./src/auth/tokens";

// A fresh signing key per test run: no secret lives in the repository.
const JWT_PRIVATE_JWK = await generateSigningJwk();

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { ENVIRONMENT: "development", JWT_PRIVATE_JWK } },
    }),
  ],
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
