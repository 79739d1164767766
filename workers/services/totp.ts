import type { Context } from "hono";
import type { Refusal } from "../../src/errors";
import type { Msat } from "../../src/money";
import type { AccountSettings } from "../../src/schemas";
import { sendNeedsTotpCode } from "../../src/totp";
import type { IdempotencyTag } from "../../durable/ports";
import { accountActor, type AppEnv } from "../env";
import { throwRefusal } from "../errors";
import { AccountCache } from "../account-cache";
import { sessionEpochTtlMs } from "../middleware/auth";

/**
 * The second factor at the gateway (docs/decisions/0011). The account actor decides (TOTP's state,
 * the threshold, the code, once). So that a send needs no AccountActor call when the account's TOTP
 * cannot apply to it (off, or the amount within the threshold), each isolate remembers the settings
 * each account last answered for as long as it trusts a session epoch (SESSION_EPOCH_TTL_MS, 5 s):
 * TOTP turned on (or the threshold lowered) reaches every isolate within that, and the isolate that
 * served the change at once. Codes travel in `X-TOTP-Code`.
 */

/** Accounts whose TOTP settings each isolate remembers (a few dozen bytes each). */
const TOTP_SETTINGS_MAX = 10_000;
const knownSettings = new AccountCache<AccountSettings>(TOTP_SETTINGS_MAX);

/** Tells this isolate an account's TOTP settings at once (the change it served). */
export function learnTotpSettings(accountId: string, settings: AccountSettings): void {
  knownSettings.learn(accountId, settings, Date.now());
}

/** The code in `X-TOTP-Code`, or null if none was sent. */
export function totpCodeOf(c: Context<AppEnv>): string | null {
  const code = c.req.header("x-totp-code")?.trim();
  return code ? code : null;
}

/**
 * Why a send may not go ahead (TOTP on, above the threshold, the code missing or wrong), or null.
 * `amount_msat` null: the amount is not known before paying (a code is needed whenever TOTP is on).
 * `request`: the send's idempotency tag, so a retry of it may present the code its first attempt used.
 */
export async function totpRefusalForSend(c: Context<AppEnv>, amount_msat: Msat | null, request: IdempotencyTag | null = null): Promise<Refusal | null> {
  const { accountId } = c.get("principal");
  const now = Date.now();
  const known = knownSettings.fresh(accountId, now, sessionEpochTtlMs(c.env));
  if (known && !sendNeedsTotpCode(known, amount_msat)) return null;
  const checked = await accountActor(c.env, accountId).checkTotp(totpCodeOf(c), "send", amount_msat, request);
  if (!checked.ok) return checked;
  knownSettings.learn(accountId, checked.settings, now);
  return null;
}

/** Refuses (403 `totp_required` / `invalid_totp`) a send the account's TOTP does not let through. Call it before the wallet is asked. */
export async function requireTotpForSend(c: Context<AppEnv>, amount_msat: Msat | null, request: IdempotencyTag | null = null): Promise<void> {
  const refusal = await totpRefusalForSend(c, amount_msat, request);
  if (refusal) throwRefusal(refusal);
}

/** Refuses a sensitive action (a new API key, webhook or LNDHub credential) without a good code when TOTP is on: always asked of the account. */
export async function requireTotpForSensitive(c: Context<AppEnv>): Promise<void> {
  const checked = await accountActor(c.env, c.get("principal").accountId).checkTotp(totpCodeOf(c), "sensitive");
  if (!checked.ok) throwRefusal(checked);
}
