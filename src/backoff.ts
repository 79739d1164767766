/** Retries of an unacknowledged cross-actor delivery: 1 s, doubling, capped at a minute. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_CAP_MS = 60_000;

/** How long to wait before the next attempt, after `attempts` failed ones (0 for the first retry). */
export function retryDelayMs(attempts: number, baseMs = RETRY_BASE_MS, capMs = RETRY_CAP_MS): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts), capMs);
}
