import { constantTimeEqual, toHex } from "../hash";
import { randomHex } from "../ids";

/**
 * Password hashes (decision 0013). PBKDF2-HMAC-SHA256 with a 16-byte salt per user and a 32-byte
 * output, 600,000 iterations in all (OWASP's figure since 2023). Cloudflare's runtime refuses a
 * single PBKDF2 call above 100,000 iterations (its CPU limiter cannot interrupt one), so the work
 * is done as a chain of 6 runs of 100,000: each run's output is the next run's password.
 *
 *   h0 = UTF-8(password); h(r) = PBKDF2-HMAC-SHA256(h(r-1), salt, 100,000, 32 bytes), r = 1..6
 *   stored: `pbkdf2-sha256-chain$6x100000$<salt hex>$<h6 hex>`
 *
 * Every hash names its scheme and parameters, so hashes made with other parameters still verify;
 * `needsRehash` tells which ones to replace on the next successful login. Hashes of before this
 * decision are `pbkdf2-sha256$100000$<salt hex>$<hash hex>` (one plain PBKDF2 run: a chain of one).
 */
const SCHEME = "pbkdf2-sha256-chain";
const ROUNDS = 6;
const ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** The hashes stored before decision 0013: one PBKDF2 run. */
const LEGACY_SCHEME = "pbkdf2-sha256";
/** The most iterations one PBKDF2 call may ask of Cloudflare's runtime. */
const MAX_ITERATIONS_PER_CALL = 100_000;
/** Bounds a stored hash's parameters: a corrupted row must not buy unbounded CPU. */
const MAX_ROUNDS = 20;

interface Parsed {
  rounds: number;
  iterations: number;
  saltHex: string;
  hashHex: string;
  /** Made with today's scheme and parameters. */
  current: boolean;
}

const HEX_BYTES = (min: number, max: number) => new RegExp(`^(?:[0-9a-f]{2}){${min},${max}}$`);
const SALT_HEX = HEX_BYTES(8, 64);
const HASH_HEX = HEX_BYTES(16, 64);

function parse(stored: string): Parsed | null {
  const parts = stored.split("$");
  if (parts.length !== 4) return null;
  const [scheme, params, saltHex, hashHex] = parts as [string, string, string, string];
  let rounds: number;
  let iterations: number;
  if (scheme === SCHEME) {
    const m = /^([1-9][0-9]?)x([1-9][0-9]{0,5})$/.exec(params);
    if (!m) return null;
    [rounds, iterations] = [Number(m[1]), Number(m[2])];
  } else if (scheme === LEGACY_SCHEME) {
    if (!/^[1-9][0-9]{0,5}$/.test(params)) return null;
    [rounds, iterations] = [1, Number(params)];
  } else {
    return null;
  }
  if (rounds > MAX_ROUNDS || iterations > MAX_ITERATIONS_PER_CALL || !SALT_HEX.test(saltHex) || !HASH_HEX.test(hashHex)) return null;
  const current = scheme === SCHEME && rounds === ROUNDS && iterations === ITERATIONS && saltHex.length === 2 * SALT_BYTES && hashHex.length === 2 * HASH_BYTES;
  return { rounds, iterations, saltHex, hashHex, current };
}

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));

async function pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 8 * bytes));
}

async function derive(password: string, p: { rounds: number; iterations: number; saltHex: string; hashBytes: number }): Promise<string> {
  const salt = fromHex(p.saltHex);
  let h = new TextEncoder().encode(password);
  for (let r = 0; r < p.rounds; r++) h = await pbkdf2(h, salt, p.iterations, p.hashBytes);
  return toHex(h);
}

/** Hashes a password with today's parameters: `pbkdf2-sha256-chain$6x100000$<salt>$<hash>`. */
export async function hashPassword(password: string): Promise<string> {
  const saltHex = randomHex(SALT_BYTES);
  const hash = await derive(password, { rounds: ROUNDS, iterations: ITERATIONS, saltHex, hashBytes: HASH_BYTES });
  return `${SCHEME}$${ROUNDS}x${ITERATIONS}$${saltHex}$${hash}`;
}

/**
 * True when `password` matches `stored` (today's scheme or an older one); compares in constant
 * time. A hash made with less work than today's is topped up with throw-away work, so a wrong
 * password costs the same for every account (and for none: `DUMMY_PASSWORD_HASH`) and the
 * response time does not tell which accounts still have an old hash.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const p = parse(stored);
  if (!p) return false;
  const derived = await derive(password, { ...p, hashBytes: p.hashHex.length / 2 });
  let missing = ROUNDS * ITERATIONS - p.rounds * p.iterations;
  while (missing > 0) {
    const step = Math.min(missing, MAX_ITERATIONS_PER_CALL);
    await pbkdf2(new Uint8Array(HASH_BYTES), new Uint8Array(SALT_BYTES), step, HASH_BYTES);
    missing -= step;
  }
  return constantTimeEqual(derived, p.hashHex);
}

/**
 * True when `stored` was not made with today's scheme and parameters: after a successful login,
 * hash the password again (`hashPassword`) and store the new hash in its place.
 */
export function needsRehash(stored: string): boolean {
  return !parse(stored)?.current;
}

/** A hash no password matches, with today's parameters: a login for an unknown user costs as much as a real one. */
export const DUMMY_PASSWORD_HASH = `${SCHEME}$${ROUNDS}x${ITERATIONS}$${"00".repeat(SALT_BYTES)}$${"00".repeat(HASH_BYTES)}`;
