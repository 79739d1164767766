// The LND simulator Worker (flash-lnd-sim): forwards every request to the one
// SimNetwork Durable Object. See sim/README.md for the API and the knobs.

import { DROP_HEADER, SimNetwork, type SimEnv } from "./network";

export { SimNetwork };

export default {
  async fetch(request: Request, env: SimEnv): Promise<Response> {
    const response = await env.SIM.get(env.SIM.idFromName("default")).fetch(request);
    // Knob unreachable = "drop": the caller's fetch fails as if the tunnel reset the connection.
    if (response.headers.has(DROP_HEADER)) throw new Error("connection reset by peer (simulated: LND unreachable)");
    return response;
  },
} satisfies ExportedHandler<SimEnv>;
