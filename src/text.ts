/** True if any string in a JSON value (keys included) holds a lone UTF-16 surrogate. */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === "string") return !isWellFormed(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => !isWellFormed(k) || hasLoneSurrogate(v));
  return false;
}

/** A string that is valid Unicode: every surrogate is part of a pair. */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
