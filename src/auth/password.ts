import { constantTimeEqual, toHex } from "../hash";
import { randomHex } from "../ids";

/**
 * Passwords are stored as PBKDF2-SHA256 with a per-user salt. 100,000 iterations is the
 * most workerd's WebCrypto allows (it refuses more), and the floor.
 */
const ITERATIONS = 100_000;
const SCHEME = "pbkdf2-sha256";

async function derive(password: string, saltHex: string, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const salt = Uint8Array.from(saltHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return toHex(bits);
}

/** Hashes a password into a self-describing string `scheme$iterations$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomHex(16);
  return `${SCHEME}$${ITERATIONS}$${salt}$${await derive(password, salt, ITERATIONS)}`;
}

/** True when `password` matches `stored`; compares in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, hash] = stored.split("$");
  if (scheme !== SCHEME || !iterations || !salt || !hash) return false;
  return constantTimeEqual(await derive(password, salt, Number(iterations)), hash);
}

/** A hash of a random password: lets a login for an unknown user cost as much as a real one. */
export const DUMMY_PASSWORD_HASH = `${SCHEME}$${ITERATIONS}$${"00".repeat(16)}$${"00".repeat(32)}`;
