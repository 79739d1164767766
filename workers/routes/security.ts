import type { Context } from "hono";
import { isRefusal, type Refusal } from "../../src/errors";
import * as s from "../../src/schemas";
import type { ApiAnswer } from "../../src/wallet-types";
import { accountActor, type AppEnv } from "../env";
import { answer } from "../errors";
import { authedRoute, errors, jsonBody, jsonResponse, newRouter } from "../openapi";
import { learnTotpSettings, totpCodeOf } from "../services/totp";

/**
 * The account's second factor and settings (decision 0011). Changing them needs a login session
 * (an API key cannot turn TOTP on and lock its owner out); the actor decides everything else.
 */
export const security = newRouter();

/** Answers a change of TOTP or the threshold, which this isolate's sends see at once (others within SESSION_EPOCH_TTL_MS). */
function changed(c: Context<AppEnv>, result: ApiAnswer<s.AccountSettings> | Refusal) {
  if (!isRefusal(result)) learnTotpSettings(c.get("principal").accountId, result.body);
  return answer(c, result) as never;
}

security.openapi(
  authedRoute({
    method: "post",
    path: "/v1/account/totp",
    operationId: "enrolTotp",
    summary: "Enrol in TOTP: a new secret (shown only here) and its otpauth:// URI; pending until confirmed",
    scope: "read",
    auth: { jwtOnly: true },
    responses: { 201: jsonResponse(s.TotpEnrolment, "pending: confirm with a code"), 401: errors[401], 403: errors[403], 409: errors[409] },
  }),
  async (c) => answer(c, await accountActor(c.env, c.get("principal").accountId).enrolTotp()) as never,
);

security.openapi(
  authedRoute({
    method: "post",
    path: "/v1/account/totp/confirm",
    operationId: "confirmTotp",
    summary: "Confirm the pending TOTP enrolment with a code: TOTP is on",
    scope: "read",
    auth: { jwtOnly: true },
    request: jsonBody(s.TotpCodeBody),
    responses: { 200: jsonResponse(s.AccountSettings, "enabled"), 400: errors[400], 401: errors[401], 403: errors[403], 409: errors[409] },
  }),
  async (c) => changed(c, await accountActor(c.env, c.get("principal").accountId).confirmTotp(c.req.valid("json").code)),
);

security.openapi(
  authedRoute({
    method: "delete",
    path: "/v1/account/totp",
    operationId: "disableTotp",
    summary: "Turn TOTP off (or drop a pending enrolment) with a code (`{code}`, or X-TOTP-Code)",
    scope: "read",
    auth: { jwtOnly: true },
    request: { headers: s.TotpCodeHeader, body: { content: { "application/json": { schema: s.TotpCodeBody } }, required: false } },
    responses: { 200: jsonResponse(s.AccountSettings, "off"), 400: errors[400], 401: errors[401], 403: errors[403], 409: errors[409] },
  }),
  async (c) => {
    const code = c.req.valid("json")?.code ?? totpCodeOf(c);
    return changed(c, await accountActor(c.env, c.get("principal").accountId).disableTotp(code));
  },
);

security.openapi(
  authedRoute({
    method: "get",
    path: "/v1/account/settings",
    operationId: "getSettings",
    summary: "The account's settings: TOTP's state and the send threshold (never the TOTP secret)",
    scope: "read",
    responses: { 200: jsonResponse(s.AccountSettings, "the settings"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => c.json(await accountActor(c.env, c.get("principal").accountId).settings(), 200),
);

security.openapi(
  authedRoute({
    method: "put",
    path: "/v1/account/settings",
    operationId: "updateSettings",
    summary: "Change the send threshold (with TOTP on, a code in X-TOTP-Code)",
    scope: "read",
    auth: { jwtOnly: true },
    request: { headers: s.TotpCodeHeader, ...jsonBody(s.AccountSettingsBody) },
    responses: { 200: jsonResponse(s.AccountSettings, "changed"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { totp_threshold_sat } = c.req.valid("json");
    return changed(c, await accountActor(c.env, c.get("principal").accountId).setTotpThreshold(totp_threshold_sat, totpCodeOf(c)));
  },
);
