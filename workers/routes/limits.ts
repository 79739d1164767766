import { DEFAULT_TOTP_THRESHOLD_SAT } from "../../src/limits";
import * as s from "../../src/schemas";
import { walletActor } from "../env";
import { authedRoute, errors, jsonResponse, newRouter } from "../openapi";

export const limits = newRouter();

limits.openapi(
  authedRoute({
    method: "get",
    path: "/v1/account/limits",
    summary: "The account's level, its rolling 24 h limits per kind of payment with what was used, and the TOTP threshold",
    scope: "read",
    responses: { 200: jsonResponse(s.AccountLimits, "the limits"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { level, limits } = await walletActor(c.env, c.get("principal").walletId).limits();
    // The account's own threshold comes with TOTP's settings; until then, the contract's default.
    const answer: s.AccountLimits = { level, totp_threshold_sat: DEFAULT_TOTP_THRESHOLD_SAT, limits };
    return c.json(answer, 200);
  },
);
