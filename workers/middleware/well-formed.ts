import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors";
import { MAX_JSON_DEPTH, textProblem } from "../../src/text";

/**
 * JSON that is valid but not valid text is refused: a string with a lone surrogate (`"\ud800"`)
 * would pass a byte bound and then be stored as U+FFFD, no longer what was signed or checked.
 * The parsed body is cached by Hono, so the route's validator does not parse it again.
 */
export const wellFormedJson: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && isJsonType(c.req.header("content-type"))) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return next(); // not JSON at all: the route's validator says so
    }
    const problem = textProblem(body);
    if (problem === "lone_surrogate") throw new ApiError("invalid_request", "text must be well-formed Unicode (a lone surrogate such as \\ud800 is not)");
    if (problem === "too_deep") throw new ApiError("invalid_request", `JSON may be nested at most ${MAX_JSON_DEPTH} levels deep`);
  }
  return next();
};

/** `application/json` or a `+json` type, as the routes' validators read them (not merely containing "json"). */
function isJsonType(header: string | undefined): boolean {
  const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.-]+\+json$/.test(type);
}
