import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors";
import { hasLoneSurrogate } from "../../src/text";

/**
 * JSON that is valid but not valid text is refused: a string with a lone surrogate (`"\ud800"`)
 * would pass a byte bound and then be stored as U+FFFD, no longer what was signed or checked.
 * The parsed body is cached by Hono, so the route's validator does not parse it again.
 */
export const wellFormedJson: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && (c.req.header("content-type") ?? "").includes("json")) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return next(); // not JSON at all: the route's validator says so
    }
    if (hasLoneSurrogate(body)) throw new ApiError("invalid_request", "text must be well-formed Unicode (a lone surrogate such as \\ud800 is not)");
  }
  return next();
};
