import { AdmissionGate, admissionOptions, DEFAULT_ADMISSION } from "../src/admission";
import { boundedMessage } from "../src/errors";
import { lndhubFailureOf } from "../src/lndhub";
import type { Env } from "./env";

type Fetch = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;

/** This isolate's gate, and the setting it was made for (a test's env may differ). */
let gate: AdmissionGate | null = null;
let gateSetting: string | undefined;

function gateFor(setting: string | undefined): AdmissionGate {
  if (gate && gateSetting === setting) return gate;
  let options = admissionOptions(setting);
  if (!options) {
    console.error(`ADMISSION_LIMIT ${JSON.stringify(setting)} is not a whole number: the default (${DEFAULT_ADMISSION.limit}) applies`);
    options = DEFAULT_ADMISSION;
  }
  gateSetting = setting;
  return (gate = new AdmissionGate(options));
}

/**
 * The edge entry behind the admission gate (src/admission.ts, docs/decisions/0026): a request waits
 * its turn while the isolate has `ADMISSION_LIMIT` at work, first come first served; with too many
 * waiting it is refused with 503 `overloaded` and Retry-After, before any work.
 */
export function admitted(fetch: Fetch, gateOf: (env: Env) => AdmissionGate = (env) => gateFor(env.ADMISSION_LIMIT)): Fetch {
  return async (request, env, ctx) => {
    const turn = gateOf(env).enter();
    if (turn === null) return overloaded(request);
    const leave = typeof turn === "function" ? turn : await turn;
    try {
      return await fetch(request, env, ctx);
    } finally {
      leave();
    }
  };
}

const OVERLOADED = "the hub is overloaded; retry in a second";

/** 503 with Retry-After, in the contract's shape (LndHub's under /lndhub/). */
function overloaded(request: Request): Response {
  const headers = { "Retry-After": "1" };
  if (new URL(request.url).pathname.startsWith("/lndhub/")) {
    const failure = lndhubFailureOf("overloaded", OVERLOADED);
    return Response.json(failure.body, { status: failure.status, headers });
  }
  return Response.json({ error: { code: "overloaded", message: boundedMessage(OVERLOADED) } }, { status: 503, headers });
}
