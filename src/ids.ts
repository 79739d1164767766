/** Random identifiers: 128 bits of entropy, lowercase hex, with a short prefix saying what they name. */
export const randomHex = (bytes: number): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

export const newId = (prefix: string): string => `${prefix}_${randomHex(16)}`;
