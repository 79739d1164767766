import { z } from "@hono/zod-openapi";
import { transactionsCsv } from "../../src/csv";
import * as s from "../../src/schemas";
import { SOCKET_CLOSE, socketCredentialHeaders } from "../../durable/kit/sockets";
import { walletActor } from "../env";
import { errorJson } from "../errors";
import { credentialOf } from "../middleware/auth";
import { authedRoute, errors, jsonResponse, newRouter } from "../openapi";

export const wallet = newRouter();

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/wallet",
    operationId: "getWallet",
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
    operationId: "listTransactions",
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

/** Pages of this size are read from the wallet while the export streams. */
const CSV_PAGE = 500;

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/wallet/transactions.csv",
    operationId: "exportTransactionsCsv",
    summary: "The whole payment history as CSV (RFC 4180, header row, newest first), streamed",
    description:
      "Columns: id,kind,direction,amount_msat,fee_msat,status,counterparty,memo,created_at. Amounts are integers of msat; " +
      "counterparty is a username. A memo or counterparty starting with =, +, -, @, TAB or CR is prefixed with ' (CSV injection); " +
      "the JSON history has the exact text.",
    scope: "read",
    responses: {
      // A file as long as the history (no bound: test/openapi.test.ts bounds JSON answers' fields).
      200: { content: { "text/csv": { schema: z.string() } }, description: "the history, as an attachment named transactions.csv" },
      401: errors[401],
      403: errors[403],
    },
  }),
  async (c) => {
    const stub = walletActor(c.env, c.get("principal").walletId);
    const body = transactionsCsv((cursor) => stub.listTransactions(CSV_PAGE, cursor));
    return new Response(body, {
      status: 200,
      headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="transactions.csv"', "cache-control": "no-store" },
    }) as never;
  },
);

wallet.openapi(
  authedRoute({
    method: "get",
    path: "/v1/events",
    operationId: "listEvents",
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
    operationId: "streamEvents",
    summary: "WebSocket: replays events after `after`, then pushes each new one; send \"ping\" to get \"pong\"",
    description:
      `The socket lives no longer than its credential: it closes with ${SOCKET_CLOSE.expired} when the access token expires (refresh, reconnect with after=<last seq>), ` +
      `${SOCKET_CLOSE.revoked} when the credential is revoked (its API key deleted, or the account logged out everywhere: do not reconnect with it).`,
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
    // The wallet binds the socket to the credential that opened it (its expiry, its revocation).
    const headers = { Upgrade: "websocket", ...socketCredentialHeaders(credentialOf(c.get("principal"))) };
    const forward = new Request(`https://wallet.internal/events/stream?after=${after}`, { headers });
    return walletActor(c.env, c.get("principal").walletId).fetch(forward) as never;
  },
);
