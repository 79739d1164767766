import { z } from "@hono/zod-openapi";
import { OPERATOR_AUDIT_CHAINS } from "./audit";
import { CountOut, MsatOut, PositionCursorOut, TimestampOut, hexOut, hubId } from "./response-bounds";
import { MAX_REWARD_AMOUNT_SAT, MAX_REWARD_BUDGET_SAT, REWARD_NAME_MAX_LENGTH } from "./rewards";
import { ErrorMessageOut, EventTypeOut, PageQuery, amountSat } from "./schemas";

/** Reward programs: `POST /v1/admin/rewards`, `GET /v1/rewards`, `POST /v1/rewards/{program_id}/claim` (docs/decisions/0021). */

export const REWARD_PROGRAM_ID_PATTERN = /^rwp_[0-9a-f]{32}$/;

export const CreateRewardBody = z
  .object({
    name: z.string().trim().min(1).max(REWARD_NAME_MAX_LENGTH).openapi({ example: "Welcome bonus" }),
    amount_sat: amountSat(MAX_REWARD_AMOUNT_SAT).openapi({ description: "what one claim pays", example: 100 }),
    budget_sat: amountSat(MAX_REWARD_BUDGET_SAT).openapi({ description: "funded from the operator's account; at least amount_sat", example: 10_000 }),
    ends_at: z.iso
      .datetime()
      .max(30)
      .optional()
      .openapi({ description: "claims are refused from this instant on (410 program_ended); in the future; none: open until the budget is spent", example: "2027-01-01T00:00:00Z" }),
  })
  .strict();

export const RewardProgramParam = z.object({
  program_id: z.string().regex(REWARD_PROGRAM_ID_PATTERN, "a reward program id (rwp_ and 32 hex digits)").max(36),
});

export const RewardsQuery = PageQuery;

const ProgramIdOut = hubId("rwp");
const StatusOut = z.enum(["open", "spent", "ended"]).openapi({ description: "open: claims are paid; spent: the budget cannot pay another; ended: past ends_at" });

/** One account's claim of a program. */
export const RewardClaim = z
  .object({
    claim_id: hubId("rwc"),
    program_id: ProgramIdOut,
    amount_msat: MsatOut,
    status: z.enum(["pending", "succeeded", "failed"]).openapi({ description: "succeeded once the wallet is credited (a `reward` transaction); pending while that is retried" }),
    transaction_id: hubId("tx").nullable().openapi({ description: "the wallet's `reward` transaction, once credited" }),
    created_at: TimestampOut,
    credited_at: TimestampOut.nullable(),
  })
  .openapi("RewardClaim");
export type RewardClaim = z.infer<typeof RewardClaim>;

const ProgramFields = {
  program_id: ProgramIdOut,
  name: z.string().openapi({ maxLength: REWARD_NAME_MAX_LENGTH }),
  amount_msat: MsatOut,
  budget_msat: MsatOut,
  remaining_msat: MsatOut,
  ends_at: TimestampOut.nullable(),
  status: StatusOut,
  created_at: TimestampOut,
};

/** A program as an account sees it: whether it claimed, and what is left. */
export const Reward = z
  // A union, not RewardClaim.nullable() (that would register the component itself as nullable).
  .object({ ...ProgramFields, claimed: z.boolean(), claim: z.union([RewardClaim, z.null()]) })
  .openapi("Reward");
export type Reward = z.infer<typeof Reward>;

export const RewardsPage = z
  .object({ programs: z.array(Reward), next_cursor: PositionCursorOut.nullable().openapi({ description: "older programs: pass as cursor; null at the end" }) })
  .openapi("RewardsPage");

/** A program as the operator sees it: its books' figures. */
export const RewardProgram = z
  .object({
    ...ProgramFields,
    in_flight_msat: MsatOut.openapi({ description: "claimed, being credited to the claimants' wallets" }),
    paid_msat: MsatOut.openapi({ description: "credited to the claimants' wallets" }),
    claims: CountOut,
  })
  .openapi("RewardProgram");
export type RewardProgram = z.infer<typeof RewardProgram>;

const ProgramAuditEntry = z
  .object({
    chain: z.enum(OPERATOR_AUDIT_CHAINS),
    seq: CountOut,
    type: EventTypeOut.openapi({ example: "reward_program.created" }),
    data: z.record(z.string(), z.unknown()),
    created_at: TimestampOut,
    prev_hash: hexOut(32),
    hash: hexOut(32),
  })
  .openapi("RewardProgramAuditEntry");

export const RewardProgramDetail = RewardProgram.extend({
  books_balanced: z.boolean().openapi({ description: "funded = paid + in flight + remaining, every journal sums to zero, each claim paid once" }),
  problems: z.array(ErrorMessageOut).max(16),
  audit: z.array(ProgramAuditEntry).openapi({ description: "the program's audit trail (its creation), newest first, hash-chained as an account's (docs/decisions/0016)" }),
}).openapi("RewardProgramDetail");
export type RewardProgramDetail = z.infer<typeof RewardProgramDetail>;
