import type { z } from "@hono/zod-openapi";

/**
 * A schema failure in the user's words, naming the field: "amount_sat must be at most 100,000,000",
 * "Idempotency-Key header is required", not the validator's wording. `target` is where the value
 * came from (json, query, param, header).
 */
export function describeIssue(issue: z.core.$ZodIssue | undefined, target: string): string {
  if (!issue) return "invalid request";
  const path = issue.path.map(String).join(".");
  const field = target === "header" ? `${headerName(path)} header` : path || "the body";
  const n = (v: unknown) => (typeof v === "number" || typeof v === "bigint" ? Number(v).toLocaleString("en-US") : String(v));
  switch (issue.code) {
    case "invalid_type":
      // (Zod reports the input only on request; its message says when nothing was there.)
      if (/received undefined$/.test(issue.message)) return `${field} is required`;
      return `${field} must be ${article(issue.expected)}`;
    case "too_big":
      if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") return `${field} must be at most ${n(issue.maximum)}`;
      if (issue.origin === "array" || issue.origin === "set") return `${field} holds at most ${n(issue.maximum)} items`;
      return `${field} is limited to ${n(issue.maximum)} characters`;
    case "too_small":
      if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
        return issue.inclusive === false ? `${field} must be more than ${n(issue.minimum)}` : `${field} must be at least ${n(issue.minimum)}`;
      }
      if (issue.origin === "array" || issue.origin === "set") return `${field} needs at least ${n(issue.minimum)} item${Number(issue.minimum) === 1 ? "" : "s"}`;
      return Number(issue.minimum) === 1 ? `${field} must not be empty` : `${field} needs at least ${n(issue.minimum)} characters`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${path ? `${path}.` : ""}${k}"`).join(", ")}`;
    case "invalid_value":
      return `${field} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "not_multiple_of":
      return `${field} must be a whole number`;
    default:
      // Our own refinements and patterns already speak plainly ("3 to 32 characters: …").
      return path ? `${field}: ${issue.message}` : issue.message;
  }
}

const article = (type: string) => (type === "integer" || type === "int" ? "a whole number" : type === "object" ? "an object" : type === "array" ? "a list" : `a ${type}`);

/** `idempotency-key` → `Idempotency-Key`. */
const headerName = (h: string) => h.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()).replace(/^X-Totp-/, "X-TOTP-");
