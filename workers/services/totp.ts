import type { Context } from "hono";
import type { Refusal } from "../../src/errors";
import type { Msat } from "../../src/money";
import type { IdempotencyTag } from "../../durable/ports";
import { accountActor, type AppEnv } from "../env";
import { throwRefusal } from "../errors";

/**
 * The second factor at the gateway (docs/decisions/0011). The account actor decides (TOTP's state,
 * the threshold, the code, once), so every send asks it: one RPC per send, nothing cached across
 * requests that could go stale when TOTP is turned on. Codes travel in `X-TOTP-Code`.
 */

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
  const checked = await accountActor(c.env, c.get("principal").accountId).checkTotp(totpCodeOf(c), "send", amount_msat, request);
  return checked.ok ? null : checked;
}

/** Refuses (403 `totp_required` / `invalid_totp`) a send the account's TOTP does not let through. Call it before the wallet is asked. */
export async function requireTotpForSend(c: Context<AppEnv>, amount_msat: Msat | null, request: IdempotencyTag | null = null): Promise<void> {
  const refusal = await totpRefusalForSend(c, amount_msat, request);
  if (refusal) throwRefusal(refusal);
}

/** Refuses a sensitive action (a new API key, webhook or LNDHub credential) without a good code when TOTP is on. */
export async function requireTotpForSensitive(c: Context<AppEnv>): Promise<void> {
  const checked = await accountActor(c.env, c.get("principal").accountId).checkTotp(totpCodeOf(c), "sensitive");
  if (!checked.ok) throwRefusal(checked);
}
