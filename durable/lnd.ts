import { createLndClient, type LndRestClient } from "../src/lightning";

/** How the hub reaches its LND node: the simulator's service binding, or a URL (tunnel / VPC). */
export interface LndEnv {
  /** Development and tests: the LND simulator Worker (sim/), used when no LND_REST_URL is set. */
  LND_SIM?: Fetcher;
  /** LND's REST base URL: the Cloudflare Tunnel hostname in production, loopback on regtest. */
  LND_REST_URL?: string;
  /** Worker secret: the macaroon, hex. */
  LND_MACAROON_HEX?: string;
  /** Worker secrets: Cloudflare Access service token guarding the tunnel. */
  CF_ACCESS_CLIENT_ID?: string;
  CF_ACCESS_CLIENT_SECRET?: string;
}

/** A configured LND URL wins (production, the regtest tier); otherwise the simulator binding. */
export function lndClient(env: LndEnv, timeoutMs = 10_000): LndRestClient {
  if (env.LND_REST_URL) {
    return createLndClient({
      baseUrl: env.LND_REST_URL,
      fetch: (input, init) => fetch(input, init),
      macaroonHex: env.LND_MACAROON_HEX,
      accessClientId: env.CF_ACCESS_CLIENT_ID,
      accessClientSecret: env.CF_ACCESS_CLIENT_SECRET,
      timeoutMs,
    });
  }
  if (!env.LND_SIM) throw new Error("no LND configured: set LND_REST_URL (or bind LND_SIM in development)");
  const sim = env.LND_SIM;
  return createLndClient({ baseUrl: "http://lnd", fetch: (input, init) => sim.fetch(input, init), macaroonHex: env.LND_MACAROON_HEX, timeoutMs });
}
