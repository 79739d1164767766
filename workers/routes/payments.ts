import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../src/errors";
import { requestFingerprint } from "../../src/idempotency";
import { satToMsat } from "../../src/money";
import type { Counterparty } from "../../src/wallet-types";
import * as s from "../../src/schemas";
import { requireAuth } from "../middleware/auth";
import { usernameActor, walletActor, type Env } from "../env";
import { answer } from "../errors";
import { bearer, errors, requiredIdempotencyKey, jsonBody, jsonResponse, newRouter } from "../openapi";

export const payments = newRouter();

const WALLET_ID = /^wal_[0-9a-f]{32}$/;
const USERNAME = /^[A-Za-z0-9_]{3,32}$/;

/**
 * Recipients already resolved by this isolate. A name never changes owner and a wallet is never
 * deleted, so a found recipient stays right; misses are not cached (the name may be claimed next).
 */
const knownRecipients = new Map<string, Counterparty>();
const KNOWN_RECIPIENTS_MAX = 10_000;

/** Finds the wallet a payment is addressed to: a wallet id, or a username (case-insensitive). */
async function resolveRecipient(env: Env, to: string): Promise<Counterparty> {
  const key = to.toLowerCase();
  const known = knownRecipients.get(key);
  if (known) return known;
  let found: Counterparty | null = null;
  if (WALLET_ID.test(to)) {
    const wallet = await walletActor(env, to).describe();
    if (wallet) found = { wallet_id: wallet.wallet_id, username: wallet.username };
  } else if (USERNAME.test(to)) {
    const claim = await usernameActor(env, to).lookup();
    if (claim) found = { wallet_id: claim.wallet_id, username: claim.username };
  }
  if (!found) throw new ApiError("unknown_recipient", `no wallet or user "${to}"`);
  if (knownRecipients.size >= KNOWN_RECIPIENTS_MAX) knownRecipients.delete(knownRecipients.keys().next().value!);
  knownRecipients.set(key, found);
  return found;
}

payments.openapi(
  createRoute({
    method: "post",
    path: "/v1/payments/intraledger",
    summary: "Pay another user of the hub (username or wallet_id)",
    security: bearer,
    middleware: [requireAuth("send")] as const,
    request: { headers: requiredIdempotencyKey, ...jsonBody(s.IntraledgerBody) },
    responses: {
      200: jsonResponse(s.TransferResult, "debited; `succeeded` once the receiver is credited, else `pending` (delivery is retried)"),
      ...errors,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const principal = c.get("principal");
    const to = await resolveRecipient(c.env, body.to);
    if (to.wallet_id === principal.walletId) throw new ApiError("self_payment", "a wallet cannot pay itself");
    const result = await walletActor(c.env, principal.walletId).sendTransfer({
      idempotency: { key, fingerprint: await requestFingerprint("POST /v1/payments/intraledger", body) },
      to,
      amount_msat: satToMsat(body.amount_sat),
      memo: body.memo ?? null,
    });
    return answer(c, result) as never;
  },
);
