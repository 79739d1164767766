import { ApiError } from "../../src/errors";
import { LndError } from "../../src/lightning";
import { satToMsat } from "../../src/money";
import { WITHDRAWAL_TARGET_CONF, bitcoinNetwork, checkAddress, feeHoldSat } from "../../src/onchain";
import * as o from "../../src/onchain-schemas";
import * as s from "../../src/schemas";
import { lndClient } from "../../durable/lnd";
import { lightningNode, walletActor, type Env } from "../env";
import { answer } from "../errors";
import { requireTotpForSend } from "../services/totp";
import { authedRoute, errorResponses, idempotencyTag, jsonBody, jsonResponse, newRouter, requiredIdempotencyKey } from "../openapi";

/** On-chain money through LND's wallet (docs/decisions/0023): receive addresses, fee estimates, withdrawals. */
export const onchain = newRouter();

/** An address the hub can pay on its network, lower-cased if bech32; else 400 `invalid_address` (nothing moves). */
function payableAddress(env: Env, address: string): string {
  const checked = checkAddress(address, bitcoinNetwork(env.BITCOIN_NETWORK));
  if (!checked.ok) throw new ApiError("invalid_address", checked.reason);
  return checked.address;
}

/**
 * LND's fee for paying `amount_sat` to `address`: at the caller's rate (the estimate's size at that
 * rate), else at WITHDRAWAL_TARGET_CONF blocks; and what a withdrawal holds for it (`feeHoldSat`).
 */
async function feeEstimate(env: Env, address: string, amount_sat: number, fee_rate_sat_vb?: number) {
  let estimate;
  try {
    estimate = await lndClient(env).estimateFee({ addr_to_amount: { [address]: amount_sat }, target_conf: WITHDRAWAL_TARGET_CONF });
  } catch (error) {
    if (error instanceof LndError) throw new ApiError("lightning_unavailable", `LND cannot estimate this withdrawal: ${error.message}`);
    throw new ApiError("lightning_unavailable", "the Lightning node could not be reached to estimate the fee");
  }
  let { fee_sat, sat_per_vbyte } = estimate;
  if (fee_rate_sat_vb !== undefined) {
    const vsize = sat_per_vbyte > 0 ? Math.ceil(fee_sat / sat_per_vbyte) : 0;
    fee_sat = vsize * fee_rate_sat_vb;
    sat_per_vbyte = fee_rate_sat_vb;
  }
  return { fee_sat, fee_rate_sat_vb: sat_per_vbyte, max_fee_sat: feeHoldSat(fee_sat) };
}

onchain.openapi(
  authedRoute({
    method: "post",
    path: "/v1/onchain/address",
    operationId: "createOnchainAddress",
    summary: "A new receive address of the hub's LND wallet, owned by the caller's wallet (deposits: `onchain.pending`, then credited at ONCHAIN_CONFIRMATIONS)",
    scope: "receive",
    responses: { 200: jsonResponse(o.OnchainAddress, "the address"), ...errorResponses(401, 403, 503) },
  }),
  async (c) => {
    const created = await lightningNode(c.env).newOnchainAddress(c.get("principal").walletId);
    if (!created.ok) throw new ApiError(created.code, created.message);
    return c.json({ address: created.address }, 200);
  },
);

onchain.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/onchain/estimate",
    operationId: "estimateOnchainFee",
    summary: "Estimate the miners' fee of a withdrawal (LND's EstimateFee), and what a withdrawal holds for it",
    scope: "read",
    request: jsonBody(o.OnchainEstimateBody),
    responses: { 200: jsonResponse(o.OnchainFeeEstimate, "estimate"), ...errorResponses(400, 401, 403, 413, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    return c.json(await feeEstimate(c.env, payableAddress(c.env, body.address), body.amount_sat), 200);
  },
);

onchain.openapi(
  authedRoute({
    method: "post",
    path: "/v1/payments/onchain",
    operationId: "payOnchain",
    summary: "Withdraw to a Bitcoin address through LND's wallet: amount + fee held, settled at the real fee once LND confirms it",
    scope: "send",
    request: { headers: requiredIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(o.OnchainPayBody) },
    responses: { 200: jsonResponse(o.OnchainPayment, "pending (until LND confirms it), succeeded, or failed (nothing sent; the hold released)"), ...errorResponses(400, 401, 403, 409, 413, 422, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const walletId = c.get("principal").walletId;
    const address = payableAddress(c.env, body.address);
    const idempotency = await idempotencyTag(c, "POST /v1/payments/onchain", body);
    const wallet = walletActor(c.env, walletId);
    const stored = await wallet.storedAnswer(idempotency);
    if (stored) return answer(c, stored) as never;
    const amount_msat = satToMsat(body.amount_sat);
    await requireTotpForSend(c, amount_msat, idempotency);
    const fee = await feeEstimate(c.env, address, body.amount_sat, body.fee_rate_sat_vb);
    const result = await wallet.payOnchain({ idempotency, address, amount_msat, fee_rate_sat_vb: body.fee_rate_sat_vb ?? null, max_fee_msat: satToMsat(fee.max_fee_sat) });
    return answer(c, result) as never;
  },
);
