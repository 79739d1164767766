/** JSON nested deeper than this is refused (no legitimate body comes near it). */
export const MAX_JSON_DEPTH = 64;

/**
 * What is wrong with the text of a JSON value, if anything: a lone UTF-16 surrogate in any string
 * (keys included), or nesting deeper than MAX_JSON_DEPTH. Walks with its own stack, so no input can
 * overflow the runtime's.
 */
export function textProblem(value: unknown): "lone_surrogate" | "too_deep" | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (!isWellFormed(v)) return "lone_surrogate";
    } else if (v && typeof v === "object") {
      if (depth >= MAX_JSON_DEPTH) return "too_deep";
      for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
        if (typeof k === "string" && !isWellFormed(k)) return "lone_surrogate";
        stack.push([child, depth + 1]);
      }
    }
  }
  return null;
}

/** True if any string in a JSON value (keys included) holds a lone UTF-16 surrogate. */
export const hasLoneSurrogate = (value: unknown): boolean => textProblem(value) === "lone_surrogate";

/** A string that is valid Unicode: every surrogate is part of a pair. */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
