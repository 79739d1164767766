// Bundles the simulator into one JavaScript module: Miniflare's auxiliary
// Workers (vitest.config.ts) take built JavaScript, not TypeScript. Also the
// Worker options that mirror sim/wrangler.toml, kept here next to it.

import { build } from "esbuild";

/** Git-ignored output, relative to the project root (where vitest and npm run). */
export const SIM_SCRIPT = ".cache/sim/index.js";

/** The simulator as a Miniflare worker: same name, dates, flags and Durable Object as sim/wrangler.toml. */
export const SIM_WORKER = {
  name: "flash-lnd-sim",
  modules: true,
  scriptPath: SIM_SCRIPT,
  compatibilityDate: "2026-10-01",
  compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
  durableObjects: { SIM: { className: "SimNetwork", useSQLite: true } },
};

export async function buildSim(outfile: string = SIM_SCRIPT): Promise<string> {
  await build({
    entryPoints: ["sim/index.ts"],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
  });
  return outfile;
}
