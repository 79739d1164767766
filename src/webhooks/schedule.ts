/**
 * When a webhook delivery is attempted again. The first attempt is immediate; after it, one retry per
 * delay below (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): 8 attempts in all, then the delivery
 * is `failed`. A 2xx within WEBHOOK_TIMEOUT_MS is delivered; anything else (another status, a timeout,
 * a network error) counts as a failed attempt. `410 Gone` disables the endpoint (the caller's rule).
 */

export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** Attempts in all: the first plus one per retry delay. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length + 1;

/** A response (headers and status) must arrive within this long. */
export const WEBHOOK_TIMEOUT_MS = 15_000;

/** The jitter: each scheduled delay is spread uniformly over ±10 %. */
export const WEBHOOK_JITTER = 0.1;

/** A receiver's `Retry-After` is honoured up to this long. */
export const WEBHOOK_RETRY_AFTER_CAP_MS = 86_400_000;

export interface NextAttemptOptions {
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
  /**
   * Multiplies the whole time axis: the schedule, a `Retry-After` and its cap (tests shorten the
   * schedule with e.g. 0.001). 1 by default.
   */
  scale?: number;
  /** The failed attempt's `Retry-After`, in ms from now (see parseRetryAfter); null or absent if none. */
  retryAfterMs?: number | null;
}

/**
 * The wait before the next attempt, after `failedAttempts` failed ones: 0 for none (the first attempt
 * is immediate), WEBHOOK_RETRY_DELAYS_MS[failedAttempts - 1] ± 10 % after 1..7, and null after 8 (no
 * retry left: the delivery has failed). A `Retry-After` longer than that delay wins, capped at 24 h;
 * a shorter one changes nothing. The result is whole milliseconds.
 */
export function nextAttemptDelayMs(failedAttempts: number, opts: NextAttemptOptions = {}): number | null {
  if (!Number.isSafeInteger(failedAttempts) || failedAttempts < 0) throw new RangeError("failedAttempts must be a non-negative integer");
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError("scale must be a finite number ≥ 0");
  if (failedAttempts === 0) return 0;
  const base = WEBHOOK_RETRY_DELAYS_MS[failedAttempts - 1];
  if (base === undefined) return null;
  const r = (opts.random ?? Math.random)();
  // A random source outside [0, 1) is clamped into it, so the jitter never leaves its ±10 %.
  const u = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0.5;
  const scheduled = base * scale * (1 + WEBHOOK_JITTER * (2 * u - 1));
  const retryAfter = opts.retryAfterMs;
  const honoured = retryAfter != null && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, WEBHOOK_RETRY_AFTER_CAP_MS) * scale : 0;
  return Math.round(Math.max(scheduled, honoured));
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY = "(?:mon|tue|wed|thu|fri|sat|sun)";
const LONG_DAY = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)";
const MONTH = "(?<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)";
const TIME = "(?<h>\\d{2}):(?<mi>\\d{2}):(?<s>\\d{2})";
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const HTTP_DATES = [
  new RegExp(`^${DAY}, (?<d>\\d{2}) ${MONTH} (?<y>\\d{4}) ${TIME} GMT$`, "i"),
  new RegExp(`^${LONG_DAY}, (?<d>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME} GMT$`, "i"),
  new RegExp(`^${DAY} ${MONTH} (?<d> \\d|\\d{2}) ${TIME} (?<y>\\d{4})$`, "i"),
];

/** An HTTP-date → epoch ms, or null. Date.parse is not used: it accepts too much ("1" is a date to V8). */
function parseHttpDate(text: string, now: number): number | null {
  const g = HTTP_DATES.map((re) => re.exec(text)?.groups).find((groups) => groups !== undefined);
  if (!g) return null;
  let year = Number(g.y);
  if (g.yy !== undefined) {
    // RFC 850's two-digit year: one more than 50 years ahead is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear();
    year = 2000 + Number(g.yy);
    while (year > thisYear + 50) year -= 100;
  }
  const mon = MONTHS.indexOf(g.mon!.toLowerCase());
  const [d, h, mi, s] = [Number(g.d!.trim()), Number(g.h), Number(g.mi), Number(g.s)];
  if (d < 1 || h > 23 || mi > 59 || s > 60) return null;
  // A leap second (:60) is read as :59.
  const t = Date.UTC(year, mon, d, h, mi, Math.min(s, 59));
  // No rolling over: 31 Feb is not 3 Mar.
  return new Date(t).getUTCDate() === d && new Date(t).getUTCMonth() === mon ? t : null;
}

/**
 * A `Retry-After` header → ms from `now` (epoch ms): delay-seconds (digits only) or an HTTP-date; a
 * date already past → 0; absent or anything else → null. Not capped here (nextAttemptDelayMs caps).
 */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header == null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : null;
  }
  const at = parseHttpDate(text, now);
  return at === null ? null : Math.max(0, at - now);
}
