import { Secret, TOTP } from "otpauth/slim";
import { MSAT_PER_SAT, type Msat } from "./money";
import type { AccountSettings } from "./schemas";

/**
 * Time-based one-time passwords (RFC 6238) as authenticator apps compute them: HMAC-SHA-1,
 * 6 digits, 30-second steps, a code of the step before or after also accepted (clock drift).
 * Pure: the caller gives the time and stores which step was last used (a code is accepted once).
 * `otpauth/slim` is the build on @noble/hashes (no node:crypto), so it runs in workerd.
 */

export const TOTP_ALGORITHM = "SHA1";
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_S = 30;
/** Steps accepted on either side of the current one. */
export const TOTP_WINDOW = 1;
/** 160 bits: the HMAC-SHA-1 key length RFC 4226 recommends. */
export const TOTP_SECRET_BYTES = 20;
/** The name authenticator apps show beside the account. */
export const TOTP_ISSUER = "Flash";

/** A new random secret: its bytes (to store, sealed) and base32 (to show the user once). */
export function newTotpSecret(): { bytes: Uint8Array; base32: string } {
  const secret = new Secret({ buffer: crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES)).buffer });
  return { bytes: secret.bytes, base32: secret.base32 };
}

/** The time step a moment falls in (RFC 6238's T). */
export const totpStep = (now_ms: number): number => Math.floor(now_ms / 1000 / TOTP_PERIOD_S);

const isCodeShape = (code: string) => code.length === TOTP_DIGITS && /^\d+$/.test(code);

/**
 * The step whose code `code` is, within ±TOTP_WINDOW of `now_ms`, or null if it is none of them.
 * Whether that step was already used is the caller's to decide (refuse any step ≤ the last accepted).
 */
export function verifyTotp(secret: Uint8Array, code: string, now_ms: number): number | null {
  if (!isCodeShape(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: new Secret({ buffer: secret.slice().buffer }),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    timestamp: now_ms,
    window: TOTP_WINDOW,
  });
  return delta === null ? null : totpStep(now_ms) + delta;
}

/** The code of a step (what an authenticator app shows during it); for tests and tools. */
export function totpCode(secret: Uint8Array, step: number): string {
  return TOTP.generate({ secret: new Secret({ buffer: secret.slice().buffer }), algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD_S, timestamp: step * TOTP_PERIOD_S * 1000 });
}

/** The `otpauth://totp/…` URI authenticator apps read from a QR code (Key Uri Format). */
export function otpauthUrl(base32: string, accountName: string): string {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label: accountName,
    secret: Secret.fromBase32(base32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
  }).toString();
}

/**
 * Whether a send needs a code (decision 0011): TOTP is on and the amount is above the account's
 * threshold, or not known before paying (null). The account actor decides with it, and the gateway
 * with the settings it last learnt (workers/services/totp.ts).
 */
export function sendNeedsTotpCode(settings: AccountSettings, amount_msat: Msat | null): boolean {
  return settings.totp === "enabled" && (amount_msat === null || amount_msat > settings.totp_threshold_sat * MSAT_PER_SAT);
}
