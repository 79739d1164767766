import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { flushSoon, isolateMetrics } from "../../durable/metrics/isolate";
import type { AppEnv } from "../env";

/** The label of a request no route of the app matched (404, 405). */
export const UNMATCHED_ROUTE = "unmatched";

/** Hono's route patterns as the API documents them (`/v1/invoices/:payment_hash` → `/v1/invoices/{payment_hash}`), each converted once. */
const documented = new Map<string, string>();

/**
 * The pattern of the route that answered: the last route of the app the request matched (middleware
 * mounted on `*` for every method is not a route), never the raw path, so the label's values are the
 * routes the app declares and no more.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method === "ALL") continue;
    let label = documented.get(route.path);
    if (label === undefined) documented.set(route.path, (label = route.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")));
    return label;
  }
  return UNMATCHED_ROUTE;
}

/**
 * Every request counted in this isolate's memory (docs/decisions/0022): its method, route pattern,
 * status and duration into the request histogram, its account (if it carried one) into the active
 * accounts' sketch. No actor call and no storage write: a few map updates after the answer is made;
 * the isolate's counts go to a metrics shard in the background at most every 10 s (`flushSoon`).
 * Mounted first, so it times everything the gateway does, refusals included.
 */
export const requestMetrics: MiddlewareHandler<AppEnv> = async (c, next) => {
  const start = Date.now();
  await next();
  const now = Date.now();
  isolateMetrics.request(c.req.method, routeLabel(c), c.res.status, (now - start) / 1000, now);
  const principal = c.get("principal");
  if (principal) isolateMetrics.active(principal.accountId, now);
  let waitUntil: (promise: Promise<unknown>) => void;
  try {
    const ctx = c.executionCtx;
    waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    return; // no execution context (a direct app.request in a test): nothing to hand over with
  }
  flushSoon(c.env, waitUntil);
};
