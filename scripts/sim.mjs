// `npm run sim -- [--seed N] [--ops M] [--only 3,17,25] [--soak SECONDS] [--check-every K] [--no-shrink]`:
// the deterministic simulation (test/simulation.test.ts, docs/decisions/0024) with these options.
//   --seed N           replay seed N (repeat it, or N,M,…, for several)
//   --ops M            operations per seed (default 500)
//   --only a,b-c       only these operations of the seed's list (as a failure prints them: numbers and ranges)
//   --soak SECONDS     run fresh seeds for this long, reporting operations per second and faults injected
//   --check-every K    steps between checkpoints (default 25)
//   --no-shrink        print a failure without shrinking it
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    seed: { type: "string", multiple: true },
    ops: { type: "string" },
    only: { type: "string" },
    soak: { type: "string" },
    "check-every": { type: "string" },
    "no-shrink": { type: "boolean" },
  },
});
const int = (s, what) => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${what} takes a whole number, not ${s}`);
  return n;
};
const config = {};
if (values.seed) config.seeds = values.seed.flatMap((s) => s.split(",")).map((s) => int(s, "seed"));
if (values.ops) config.ops = int(values.ops, "ops");
if (values.only) {
  config.only = values.only.split(",").flatMap((part) => {
    const [from, to = from] = part.split("-").map((s) => int(s, "only"));
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}
if (values["check-every"]) config.check_every = int(values["check-every"], "check-every");
if (values["no-shrink"]) config.shrink_s = 0;
if (values.soak) {
  config.soak_s = int(values.soak, "soak");
  // Fresh seeds: the soak's base seed is the one number taken from the clock; each run's seed is printed with its failure.
  config.base = values.seed ? config.seeds[0] : Date.now() % 2 ** 32;
  console.log(`soak: base seed ${config.base}`);
}
const vitest = join(root, "node_modules/.bin/vitest");
const status = spawnSync(vitest, ["run", "-c", "vitest.sim.config.ts"], { cwd: root, stdio: "inherit", env: { ...process.env, SIM_CONFIG: JSON.stringify(config) } }).status;
process.exit(status ?? 1);
