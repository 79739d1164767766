import { ApiError } from "../../src/errors";
import { isUsername, isWalletId } from "../../src/identifiers";
import { satToMsat } from "../../src/money";
import { selfPaymentRefusal } from "../../src/payment-rules";
import * as s from "../../src/schemas";
import { usernameActor, walletActor, type Env } from "../env";
import { answer, throwRefusal } from "../errors";
import { authedRoute, errorResponses, idempotencyTag, jsonBody, jsonResponse, newRouter, requiredIdempotencyKey } from "../openapi";
import { requireTotpForSend } from "../services/totp";

export const payments = newRouter();

/**
 * Recipients already resolved by this isolate. A name never changes owner and a wallet is never
 * deleted, so a found recipient stays right; misses are not cached (the name may be claimed next).
 */
const knownRecipients = new Map<string, s.Counterparty>();
const KNOWN_RECIPIENTS_MAX = 10_000;

/** Finds the wallet a payment is addressed to: a wallet id, or a username (case-insensitive). */
async function resolveRecipient(env: Env, to: string): Promise<s.Counterparty> {
  const key = to.toLowerCase();
  const known = knownRecipients.get(key);
  if (known) return known;
  let found: s.Counterparty | null = null;
  if (isWalletId(to)) {
    const wallet = await walletActor(env, to).describe();
    if (wallet) found = { wallet_id: wallet.wallet_id, username: wallet.username };
  } else if (isUsername(to)) {
    const claim = await usernameActor(env, to).lookup();
    if (claim) found = { wallet_id: claim.wallet_id, username: claim.username };
  }
  if (!found) throw new ApiError("unknown_recipient", `no wallet or user "${to}"`);
  if (knownRecipients.size >= KNOWN_RECIPIENTS_MAX) knownRecipients.delete(knownRecipients.keys().next().value!);
  knownRecipients.set(key, found);
  return found;
}

payments.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/intraledger",
    operationId: "payIntraledger",
    summary: "Pay another user of the hub (username or wallet_id)",
    scope: "send",
    request: { headers: requiredIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(s.IntraledgerBody) },
    responses: {
      200: jsonResponse(s.TransferResult, "debited; `succeeded` once the receiver is credited, else `pending` (delivery is retried)"),
      ...errorResponses(400, 401, 403, 404, 409, 413, 422),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const principal = c.get("principal");
    const to = await resolveRecipient(c.env, body.to);
    const selfPayment = selfPaymentRefusal(principal.walletId, to.wallet_id);
    if (selfPayment) throwRefusal(selfPayment);
    const idempotency = await idempotencyTag(c, "POST /v1/payments/intraledger", body);
    const amount_msat = satToMsat(body.amount_sat);
    await requireTotpForSend(c, amount_msat, idempotency);
    const result = await walletActor(c.env, principal.walletId).sendTransfer({
      idempotency,
      to,
      amount_msat,
      memo: body.memo ?? null,
    });
    return answer(c, result) as never;
  },
);
