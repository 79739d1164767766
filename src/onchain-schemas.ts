import { z } from "@hono/zod-openapi";
import { ERROR_MESSAGE_MAX_LENGTH } from "./errors";
import { MAX_ADDRESS_LENGTH, MAX_FEE_RATE_SAT_VB, MAX_WITHDRAWAL_SAT, MIN_WITHDRAWAL_SAT } from "./onchain";
import { MsatOut, SatOut, hexOut, hubId } from "./response-bounds";
import { Transaction } from "./schemas";

/** On-chain requests and answers (docs/decisions/0023); checked by src/onchain.ts `checkAddress` beyond their shape. */

/** An address as given: its network and checksum are checked by the route (400 `invalid_address`). */
export const AddressIn = z.string().min(1).max(MAX_ADDRESS_LENGTH).openapi({ example: "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" });
/** An address the hub answers: bech32 (at most 90) or base58 (at most 35). */
export const AddressOut = z.string().openapi({ pattern: "^[0-9A-Za-z]+$", maxLength: MAX_ADDRESS_LENGTH });

export const OnchainAddress = z.object({ address: AddressOut }).openapi("OnchainAddress");

const WithdrawalSat = z.number().int().min(MIN_WITHDRAWAL_SAT).max(MAX_WITHDRAWAL_SAT).openapi({ example: 25_000 });
const FeeRate = z.number().int().min(1).max(MAX_FEE_RATE_SAT_VB).openapi({ description: "sat per vbyte" });

export const OnchainEstimateBody = z.object({ address: AddressIn, amount_sat: WithdrawalSat }).strict();
export const OnchainFeeEstimate = z
  .object({
    fee_sat: SatOut,
    fee_rate_sat_vb: z.number().int().openapi({ minimum: 0, maximum: MAX_FEE_RATE_SAT_VB }),
    /** What a withdrawal holds for its fee until LND reports the real one. */
    max_fee_sat: SatOut,
  })
  .openapi("OnchainFeeEstimate");

export const OnchainPayBody = z.object({ address: AddressIn, amount_sat: WithdrawalSat, fee_rate_sat_vb: FeeRate.optional() }).strict();

export const OnchainPayment = z
  .object({
    status: z.enum(["pending", "succeeded", "failed"]),
    withdrawal_id: hubId("wd"),
    txid: hexOut(32).nullable(),
    address: AddressOut,
    amount_msat: MsatOut,
    fee_msat: MsatOut,
    /** Held until LND confirms (amount + the fee held), while pending. */
    reserved_msat: MsatOut,
    failure_reason: z.string().openapi({ maxLength: ERROR_MESSAGE_MAX_LENGTH }).optional(),
    transaction: Transaction,
  })
  .openapi("OnchainPayment");
export type OnchainPayment = z.infer<typeof OnchainPayment>;

export const SimOnchainSendBody = z.object({ address: AddressIn, amount_sat: z.number().int().min(1).max(MAX_WITHDRAWAL_SAT) }).strict();
export const SimMineBody = z.object({ blocks: z.number().int().min(1).max(1000) }).strict();
