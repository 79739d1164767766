import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../src/errors";
import { sha256Hex } from "../../src/hash";
import { newId } from "../../src/ids";
import { satToMsat } from "../../src/money";
import * as r from "../../src/reward-schemas";
import { ErrorBody } from "../../src/schemas";
import { rewardDirectory, rewardProgramActor, walletActor } from "../env";
import { answer } from "../errors";
import { authedRoute, errorResponses, idempotencyTag, jsonBody, jsonResponse, newRouter, optionalIdempotencyKey, requiredIdempotencyKey } from "../openapi";
import { adminSecurity, requireAdmin } from "./admin";

/**
 * Reward programs (the contract's "Operations"; docs/decisions/0021): the operator creates a
 * program funded from its own ledger account; accounts list the programs and claim each once. Every
 * program is its own actor (its budget, books and claims); a directory actor lists them.
 */
export const rewards = newRouter();

const error = (description: string) => jsonResponse(ErrorBody, description);

rewards.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/rewards",
    operationId: "createRewardProgram",
    summary: "Create a reward program: each account may claim amount_sat once, paid from budget_sat, funded from the operator's account",
    description:
      "The budget is funded from the operator's own ledger account in the program's books (operator → budget → paid out), " +
      "in the unit of work that creates the program and its audit entry. With an `Idempotency-Key`, a retry answers the same program " +
      "(as it stands now); the same key with another body is 409 `idempotency_conflict`.",
    security: adminSecurity,
    middleware: [requireAdmin],
    request: { headers: optionalIdempotencyKey, ...jsonBody(r.CreateRewardBody) },
    responses: {
      201: jsonResponse(r.RewardProgram, "the program, funded"),
      ...errorResponses(400, 401),
      409: error("idempotency_conflict: this Idempotency-Key created a program with another request"),
      ...errorResponses(413),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    if (body.budget_sat < body.amount_sat) throw new ApiError("invalid_request", "budget_sat must be at least amount_sat (one claim)");
    const ends_at = body.ends_at === undefined ? null : new Date(body.ends_at).toISOString();
    if (ends_at !== null && Date.parse(ends_at) <= Date.now()) throw new ApiError("invalid_request", "ends_at must be in the future");
    const idempotency = await idempotencyTag(c, "POST /v1/admin/rewards", body);
    // A key names its program: the same key reaches the same actor, which compares the request.
    const program_id = idempotency ? `rwp_${(await sha256Hex(`reward program\n${idempotency.key}`)).slice(0, 32)}` : newId("rwp");
    const result = await rewardProgramActor(c.env, program_id).create({
      program_id,
      name: body.name,
      amount_msat: satToMsat(body.amount_sat),
      budget_msat: satToMsat(body.budget_sat),
      ends_at,
      fingerprint: idempotency?.fingerprint ?? null,
    });
    return answer(c, result) as never;
  },
);

rewards.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/rewards/{program_id}",
    operationId: "getRewardProgram",
    summary: "A reward program's figures, the invariants of its books, and its audit trail (operator)",
    security: adminSecurity,
    middleware: [requireAdmin],
    request: { params: r.RewardProgramParam },
    responses: { 200: jsonResponse(r.RewardProgramDetail, "the program"), ...errorResponses(400, 401, 404) },
  }),
  async (c) => {
    const detail = await rewardProgramActor(c.env, c.req.valid("param").program_id).details();
    if (!detail) throw new ApiError("not_found", "no such reward program");
    return c.json(detail, 200);
  },
);

rewards.openapi(
  authedRoute({
    method: "get",
    path: "/v1/rewards",
    operationId: "listRewards",
    summary: "The reward programs, newest first: what each pays, what is left, and whether this account claimed it",
    scope: "read",
    request: { query: r.RewardsQuery },
    responses: { 200: jsonResponse(r.RewardsPage, "a page of programs"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const { accountId } = c.get("principal");
    const page = await rewardDirectory(c.env).page(limit, cursor ?? null);
    const programs = await Promise.all(page.program_ids.map((id) => rewardProgramActor(c.env, id).view(accountId)));
    return c.json({ programs: programs.filter((p) => p !== null), next_cursor: page.next_cursor }, 200);
  },
);

rewards.openapi(
  authedRoute({
    method: "post",
    path: "/v1/rewards/{program_id}/claim",
    operationId: "claimReward",
    summary: "Claim a reward program's amount: once per account and program, credited to the wallet as a `reward` transaction",
    description:
      "Paid from the program's funded budget. `succeeded` once the wallet is credited (`reward.credited` on the event log); " +
      "`pending` when the credit is left to the program's redelivery (it happens exactly once). The same Idempotency-Key replays " +
      "the claim as it stands. A frozen account cannot claim (403 `account_frozen`); it still receives a claim made before the freeze.",
    scope: "receive",
    request: { params: r.RewardProgramParam, headers: requiredIdempotencyKey },
    responses: {
      200: jsonResponse(r.RewardClaim, "claimed"),
      ...errorResponses(400, 401),
      403: error("the credential lacks the scope, or account_frozen: the operator froze the account"),
      404: error("not_found: no such reward program"),
      409: error("already_claimed: this account claimed this program before (with another Idempotency-Key); idempotency_conflict"),
      410: error("program_ended: the program's ends_at has passed"),
      422: error("budget_spent: the program's budget cannot pay another claim"),
      ...errorResponses(413),
    },
  }),
  async (c) => {
    const { program_id } = c.req.valid("param");
    const principal = c.get("principal");
    const idempotency = await idempotencyTag(c, "POST /v1/rewards/{program_id}/claim", { program_id });
    // Read before the claim: a freeze that commits meanwhile lets this one claim through, into an account that cannot spend it.
    const frozen = await walletActor(c.env, principal.walletId).frozen();
    const result = await rewardProgramActor(c.env, program_id).claim({ account_id: principal.accountId, wallet_id: principal.walletId, idempotency, frozen });
    return answer(c, result) as never;
  },
);
