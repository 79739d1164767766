// `npm run sim` (scripts/sim.mjs): the simulation alone (test/simulation.test.ts, docs/decisions/0024), in the hub's
// project as vitest.config.ts makes it, with the run's options (seed, operations, soak) provided to the test as `sim`.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

type Project = { test: { name: string } & Record<string, unknown> } & Record<string, unknown>;
const hub = (base as unknown as { test: { projects: Project[] } }).test.projects.find((p) => p.test.name === "hub")!;
const long = 24 * 60 * 60 * 1000;

export default defineConfig({
  test: {
    projects: [
      {
        ...hub,
        test: { ...hub.test, name: "sim", include: ["test/simulation.test.ts"], exclude: [], testTimeout: long, hookTimeout: long, provide: { sim: process.env.SIM_CONFIG ?? "" } },
      },
    ],
  },
});
