import * as s from "../../src/schemas";
import { accountActor, walletActor } from "../env";
import { authedRoute, errors, jsonResponse, newRouter } from "../openapi";

export const limits = newRouter();

limits.openapi(
  authedRoute({
    method: "get",
    path: "/v1/account/limits",
    operationId: "getLimits",
    summary: "The account's level, its rolling 24 h limits per kind of payment with what was used, and the TOTP threshold",
    scope: "read",
    responses: { 200: jsonResponse(s.AccountLimits, "the limits"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const principal = c.get("principal");
    const [{ level, limits }, settings] = await Promise.all([walletActor(c.env, principal.walletId).limits(), accountActor(c.env, principal.accountId).settings()]);
    const answer: s.AccountLimits = { level, totp_threshold_sat: settings.totp_threshold_sat, limits };
    return c.json(answer, 200);
  },
);
