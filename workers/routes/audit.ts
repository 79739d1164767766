import { ApiError } from "../../src/errors";
import { AUDIT_CHAINS, decodeAuditCursor, mergeAuditPages, type AuditChain, type AuditEntry } from "../../src/audit";
import * as a from "../../src/audit-schemas";
import { accountActor, walletActor, webhookActor } from "../env";
import { authedRoute, errorResponses, jsonResponse, newRouter } from "../openapi";

/** The account's audit trail (docs/decisions/0016): the chains of its three actors, merged newest first. */
export const audit = newRouter();

audit.openapi(
  authedRoute({
    method: "get",
    path: "/v1/account/audit",
    operationId: "listAuditEntries",
    summary: "The account's audit trail, newest first: logins, sessions, API keys, TOTP, level, freezes, webhook endpoints",
    description:
      "Append-only and hash-chained. Each of the account's actors keeps its own chain (`chain`): `seq` counts within it and `prev_hash` " +
      "is the hash of the chain's entry before. To verify, list every page, take each chain oldest first and recompute each hash " +
      "(src/audit.ts, verifyAuditChain). Pages are newest first; next_cursor continues with older entries.",
    scope: "read",
    request: { query: a.AuditQuery },
    responses: { 200: jsonResponse(a.AuditPage, "a page of the trail"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { limit, cursor: text } = c.req.valid("query");
    const cursor = decodeAuditCursor(text);
    if (!cursor) throw new ApiError("invalid_request", "cursor: use next_cursor from the previous page");
    const { accountId, walletId } = c.get("principal");
    // One more than a page from each chain: whether anything is left is known without another call.
    const fetchChain = (chain: AuditChain): Promise<AuditEntry[]> => {
      const before = cursor[chain];
      if (before === null) return Promise.resolve([]);
      if (chain === "account") return accountActor(c.env, accountId).auditEntries(before, limit + 1);
      if (chain === "wallet") return walletActor(c.env, walletId).auditEntries(before, limit + 1);
      return webhookActor(c.env, accountId).auditEntries(before, limit + 1);
    };
    const [account, wallet, webhooks] = await Promise.all(AUDIT_CHAINS.map(fetchChain));
    return c.json(mergeAuditPages(cursor, { account: account!, wallet: wallet!, webhooks: webhooks! }, limit), 200);
  },
);
