// Test knobs: faults and timing the simulator injects. Knobs live in scopes
// so tests sharing one simulator cannot disturb each other:
//
// - A request is in scope `s` when its path starts with /scope/s/ (so a client
//   whose base URL is http://lnd/scope/s is always in it) or when it carries
//   the header X-Sim-Scope: s. Otherwise it is in the global scope "".
// - A named scope starts from the defaults and sees only its own knobs, never
//   the global ones, so a test in its own scope is isolated from the rest.
// - Payment knobs can also ride on a /sim/invoices invoice (they apply when
//   the hub pays it) and drop_invoice_events on a /sim/pay call.

export interface Knobs {
  /** every send fails with FAILURE_REASON_NO_ROUTE. */
  no_route: boolean;
  /** sends stay IN_FLIGHT this long before resolving. */
  payment_in_flight_ms: number;
  /** a send stays this long IN_FLIGHT with no HTLC attempt (pathfinding) before its first attempt. */
  payment_pathfinding_ms: number;
  /** how a send to an outside node ends. */
  payment_outcome: "succeed" | "fail";
  /** every LND answer is delayed this long. */
  slow_ms: number;
  /** LND routes answer like a down tunnel: "503" (a non-LND error page) or "drop" (connection reset). */
  unreachable: false | "503" | "drop";
  /** single-invoice subscriptions never report ACCEPTED. */
  drop_invoice_events: boolean;
  /** require this macaroon (hex) instead of SIM_MACAROON_HEX; "" requires none. */
  macaroon_hex: string | null;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = {
  no_route: false,
  payment_in_flight_ms: 0,
  payment_pathfinding_ms: 0,
  payment_outcome: "succeed",
  slow_ms: 0,
  unreachable: false,
  drop_invoice_events: false,
  macaroon_hex: null,
};

/** Knobs a /sim/invoices invoice may carry. */
export const PAYMENT_KNOBS = ["no_route", "payment_in_flight_ms", "payment_outcome"] as const;

const MAX_MS = 600_000;

/** Validates a partial knob set; returns an error message or the normalized knobs. */
export function parseKnobs(input: unknown, allowed: readonly string[] = Object.keys(DEFAULT_KNOBS)): Partial<Knobs> | string {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return "knobs must be a JSON object";
  const out: Partial<Knobs> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (!allowed.includes(key)) return `unknown knob "${key}" (known: ${allowed.join(", ")})`;
    switch (key) {
      case "no_route":
      case "drop_invoice_events":
        if (typeof value !== "boolean") return `${key} must be a boolean`;
        out[key] = value;
        break;
      case "payment_in_flight_ms":
      case "payment_pathfinding_ms":
      case "slow_ms":
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_MS) {
          return `${key} must be an integer between 0 and ${MAX_MS}`;
        }
        out[key] = value as number;
        break;
      case "payment_outcome":
        if (value !== "succeed" && value !== "fail") return `payment_outcome must be "succeed" or "fail"`;
        out.payment_outcome = value;
        break;
      case "unreachable":
        if (value === true || value === "503") out.unreachable = "503";
        else if (value === "drop") out.unreachable = "drop";
        else if (value === false) out.unreachable = false;
        else return `unreachable must be false, true, "503" or "drop"`;
        break;
      case "macaroon_hex":
        if (value !== null && (typeof value !== "string" || !/^(?:[0-9a-f]{2})*$/i.test(value))) {
          return "macaroon_hex must be null or a hex string";
        }
        out.macaroon_hex = value === null ? null : (value as string).toLowerCase();
        break;
    }
  }
  return out;
}

const SCOPE_PREFIX = /^\/scope\/([A-Za-z0-9_.:-]{1,100})(\/.*)?$/;

/** Splits the scope off a request: its name and the path without the /scope/… prefix. */
export function scopeOf(request: Request, url: URL): { scope: string; path: string } {
  const match = SCOPE_PREFIX.exec(url.pathname);
  if (match) return { scope: match[1] as string, path: match[2] ?? "/" };
  return { scope: request.headers.get("X-Sim-Scope") ?? "", path: url.pathname };
}
