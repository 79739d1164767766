// `npm start`: the hub in development mode on 127.0.0.1:$PORT (default 8787), local Durable Objects,
// together with the LND simulator (sim/wrangler.toml), which the hub reaches through its LND_SIM
// binding. wrangler's multi-config dev runs both; the first config is the one served on the port.
// The web app (web/) is built into web/dist first and served at / by the hub's static assets.
import { spawn } from "node:child_process";

await import("./dev-vars.mjs");
// The web app the hub serves at / (wrangler.toml [assets]: web/dist, git-ignored), built first.
const { buildWeb } = await import("../web/build.mjs");
const web = await buildWeb();
console.error(`web app built: first load ${web.kb_gzip.toFixed(1)} KB of JavaScript gzipped`);
const port = process.env.PORT || "8787";
const child = spawn(
  "wrangler",
  [
    "dev",
    "-c", "wrangler.toml",
    "-c", "sim/wrangler.toml",
    "--ip", "127.0.0.1",
    "--port", port,
    "--show-interactive-dev-session=false",
    "--log-level", process.env.LOG_LEVEL || "info",
    // More of wrangler dev's options, e.g. the browser tests' own --persist-to.
    ...process.argv.slice(2),
  ],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      // Otherwise miniflare fetches a real `request.cf` from workers.cloudflare.com at startup, and
      // offline prints a stack trace before falling back to its placeholder. The hub reads nothing
      // from request.cf; the tests run with the same placeholder. CLOUDFLARE_CF_FETCH_ENABLED=true
      // in the environment brings the real one back.
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
    },
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 1));
