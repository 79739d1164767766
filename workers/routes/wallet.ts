import * as s from "../../src/schemas";
import { walletActor } from "../env";
import { errorJson } from "../errors";
import { authedRoute, errors, jsonResponse, newRouter } from "../openapi";

export const wallet = newRouter();

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/wallet",
    summary: "Balance and funds reserved for pending payments",
    scope: "read",
    responses: { 200: jsonResponse(s.Wallet, "the wallet"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => c.json(await walletActor(c.env, c.get("principal").walletId).getWallet(), 200),
);

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/wallet/transactions",
    summary: "Payment history, newest first",
    scope: "read",
    request: { query: s.TransactionsQuery },
    responses: { 200: jsonResponse(s.TransactionPage, "a page"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await walletActor(c.env, c.get("principal").walletId).listTransactions(limit, cursor ?? null), 200);
  },
);

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/events",
    summary: "The wallet's event log after a sequence number",
    scope: "read",
    request: { query: s.EventsQuery },
    responses: { 200: jsonResponse(s.EventPage, "events, oldest first"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { after, limit } = c.req.valid("query");
    return c.json(await walletActor(c.env, c.get("principal").walletId).listEvents(after, limit), 200);
  },
);

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/events/stream",
    summary: "WebSocket: replays events after `after`, then pushes each new one; send \"ping\" to get \"pong\"",
    scope: "read",
    auth: { allowQueryToken: true },
    request: { query: s.EventStreamQuery },
    responses: { 101: { description: "switching to WebSocket" }, 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      return errorJson(c, 400, "invalid_request", "this endpoint needs a WebSocket upgrade") as never;
    }
    const { after } = c.req.valid("query");
    const forward = new Request(`https://wallet.internal/events/stream?after=${after}`, { headers: { Upgrade: "websocket" } });
    return walletActor(c.env, c.get("principal").walletId).fetch(forward) as never;
  },
);
