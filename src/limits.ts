import { refuse, type Refusal } from "./errors";
import { MSAT_PER_SAT, type Msat } from "./money";

/**
 * Account levels and their rolling 24 h spending limits (issue 12; docs/decisions/0012-limits.md).
 * The wallet checks and records them inside the money transaction of every outgoing payment
 * (durable/wallet/limits.ts), so concurrent payments cannot exceed them together.
 *
 * README: the lead documents this table there ("Account levels and limits") — keep the two the same.
 */

/** `send` is all outgoing money; `intraledger` payments to other hub wallets; `withdrawal` money leaving the hub. */
export const LIMIT_KINDS = ["send", "intraledger", "withdrawal"] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];
/** What one payment is recorded as (each also counts as `send`). */
export type SpendKind = Exclude<LimitKind, "send">;

/** Levels are integers; a new account is level 1. */
export const ACCOUNT_LEVELS = [0, 1, 2] as const;
export type AccountLevel = (typeof ACCOUNT_LEVELS)[number];
export const DEFAULT_ACCOUNT_LEVEL: AccountLevel = 1;
export const isAccountLevel = (x: unknown): x is AccountLevel => (ACCOUNT_LEVELS as readonly unknown[]).includes(x);

/** The window every limit rolls over: what was spent in the last 24 h counts. */
export const LIMIT_WINDOW_S = 24 * 60 * 60;
export const LIMIT_WINDOW_MS = LIMIT_WINDOW_S * 1000;

/**
 * Limits per level, in sat per rolling 24 h (amounts paid; a Lightning payment's fee is not counted).
 *
 * | level | meaning    | send        | intraledger | withdrawal |
 * |-------|------------|-------------|-------------|------------|
 * | 0     | restricted | 100,000     | 100,000     | 50,000     |
 * | 1     | standard   | 10,000,000  | 10,000,000  | 5,000,000  |
 * | 2     | verified   | 100,000,000 | 100,000,000 | 50,000,000 |
 */
export const LEVEL_LIMITS_SAT: Readonly<Record<AccountLevel, Readonly<Record<LimitKind, number>>>> = {
  0: { send: 100_000, intraledger: 100_000, withdrawal: 50_000 },
  1: { send: 10_000_000, intraledger: 10_000_000, withdrawal: 5_000_000 },
  2: { send: 100_000_000, intraledger: 100_000_000, withdrawal: 50_000_000 },
};

/** A send above this needs a TOTP code when TOTP is on (contract default; an account may change it). */
export const DEFAULT_TOTP_THRESHOLD_SAT = 100_000;

/** What was spent in the window, per recorded kind (msat). */
export type LimitUsage = Record<SpendKind, Msat>;
export const noUsage = (): LimitUsage => ({ intraledger: 0, withdrawal: 0 });

/** One line of `GET /v1/account/limits`. */
export interface LimitLine {
  kind: LimitKind;
  window_s: number;
  limit_sat: number;
  used_sat: number;
  remaining_sat: number;
}

/** The account's level and its limits as they stand (the route adds the TOTP threshold). */
export interface LimitsReport {
  level: AccountLevel;
  limits: LimitLine[];
}

const usedOf = (usage: LimitUsage, kind: LimitKind): Msat => (kind === "send" ? usage.intraledger + usage.withdrawal : usage[kind]);

/**
 * The limits with what was used. Amounts are msat inside, sat here: `used_sat` is rounded up and
 * `remaining_sat` down (so they never add up to more than the limit, and a payment of
 * `remaining_sat` always fits).
 */
export function limitsReport(level: AccountLevel, usage: LimitUsage): LimitsReport {
  return {
    level,
    limits: LIMIT_KINDS.map((kind) => {
      const limit_sat = LEVEL_LIMITS_SAT[level][kind];
      const used = usedOf(usage, kind);
      return {
        kind,
        window_s: LIMIT_WINDOW_S,
        limit_sat,
        used_sat: Math.ceil(used / MSAT_PER_SAT),
        remaining_sat: Math.max(0, Math.floor((limit_sat * MSAT_PER_SAT - used) / MSAT_PER_SAT)),
      };
    }),
  };
}

/** `limit_exceeded` if a payment of `amount_msat` of `kind` would take its kind or `send` past the level's limit; null if it fits. */
export function limitRefusal(level: AccountLevel, usage: LimitUsage, kind: SpendKind, amount_msat: Msat): Refusal | null {
  for (const k of [kind, "send"] as const) {
    const limit_msat = LEVEL_LIMITS_SAT[level][k] * MSAT_PER_SAT;
    const used = usedOf(usage, k);
    if (used + amount_msat > limit_msat) {
      const remaining = Math.max(0, limit_msat - used);
      return refuse(
        "limit_exceeded",
        `this payment of ${amount_msat / MSAT_PER_SAT} sat is over the ${k} limit of level ${level}: ${LEVEL_LIMITS_SAT[level][k]} sat per 24 h, ${remaining / MSAT_PER_SAT} sat left`,
      );
    }
  }
  return null;
}
