// Node side of the regtest tier (vitest.regtest.config.ts): builds lnd/btcd if needed, starts
// btcd + hub/alice/bob lnd and the control server, provides their coordinates to the tests
// (`inject("regtest")`, see ./context.ts) and to the pool options (the hub Worker's
// LND_REST_URL), and stops everything at the end, whether the tests passed or failed.
// (Plain JavaScript: it runs in Node, and the project's tsconfig has no Node types.)

import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startNetwork } from "../../scripts/regtest/network.mjs";
import { startControlServer } from "../../scripts/regtest/control.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const log = (msg) => process.stderr.write(`[regtest] ${msg}\n`);

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  const t0 = Date.now();
  // ~0.1 s when the binaries are cached; ~6 min on a fresh machine (Go module downloads + build).
  execFileSync("bash", [path.join(ROOT, "scripts/regtest/build.sh")], { stdio: ["ignore", process.stderr, process.stderr] });
  const net = await startNetwork();
  let control;
  try {
    control = await startControlServer(net, { log: process.env.REGTEST_VERBOSE ? log : undefined });
    const node = (name) => {
      const n = net.info.nodes[name];
      return { name, pubkey: n.pubkey, restUrl: n.restUrl, macaroonHex: n.macaroonHex };
    };
    project.provide("regtest", { hub: node("hub"), alice: node("alice"), bob: node("bob"), controlUrl: control.url });
    log(`network and control server up in ${((Date.now() - t0) / 1000).toFixed(1)}s (${net.dir})`);
  } catch (e) {
    await control?.close();
    await net.stop({ keepDir: true });
    throw e;
  }
  return async () => {
    await control.close();
    // A daemon that died during the run is worth its logs: keep the directory then.
    let healthy = true;
    try {
      net.check();
    } catch (e) {
      healthy = false;
      log(`${e.message.split("\n")[0]}; logs kept in ${net.dir}`);
    }
    await net.stop({ keepDir: !healthy });
  };
}
