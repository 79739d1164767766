import { z } from "@hono/zod-openapi";
import { CONVERSATION_ID_PATTERN, CONVERSATION_MEMBERS, directConversationId, type ChatMember, type NewMessage } from "../../src/chat";
import * as cs from "../../src/chat-schemas";
import * as s from "../../src/schemas";
import { ApiError } from "../../src/errors";
import { randomHex } from "../../src/ids";
import { satToMsat } from "../../src/money";
import { conversationActor, usernameActor, walletActor, type Env } from "../env";
import { answer } from "../errors";
import { requireTotpForSend } from "../services/totp";
import { authedRoute, errors, idempotencyTag, jsonBody, jsonResponse, newRouter, optionalIdempotencyKey } from "../openapi";

export const chat = newRouter();

const ConversationParam = z.object({ id: z.string().max(64) });
const MessageParam = z.object({ id: z.string().max(64), message_id: z.string().max(64) });

/** A conversation id that cannot exist is the same 404 as one the caller is not in (no existence leak). */
function conversation(env: Env, id: string) {
  if (!CONVERSATION_ID_PATTERN.test(id)) throw new ApiError("not_found", "no such conversation");
  return conversationActor(env, id);
}

/** Members by username (case-insensitive), each once; an unknown name is refused before anything is created. */
async function resolveMembers(env: Env, usernames: string[]): Promise<ChatMember[]> {
  const unique = [...new Map(usernames.map((u) => [u.toLowerCase(), u])).values()];
  const claims = await Promise.all(unique.map((u) => usernameActor(env, u).lookup()));
  return claims.map((claim, i) => {
    if (!claim) throw new ApiError("invalid_request", `no such user: ${unique[i]}`);
    return { username: claim.username, wallet_id: claim.wallet_id };
  });
}

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations",
    operationId: "createConversation",
    summary: "Start a conversation: one other member makes it direct (found again if it exists), more a group",
    scope: "send",
    request: jsonBody(cs.CreateConversationBody),
    responses: { 201: jsonResponse(cs.Conversation, "created"), 200: jsonResponse(cs.Conversation, "the existing direct conversation"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const principal = c.get("principal");
    const me: ChatMember = { username: principal.username, wallet_id: principal.walletId };
    const others = (await resolveMembers(c.env, body.members)).filter((m) => m.wallet_id !== me.wallet_id);
    if (others.length === 0) throw new ApiError("invalid_request", "a conversation needs another member");
    if (others.length + 1 > CONVERSATION_MEMBERS.max) throw new ApiError("invalid_request", `a conversation has at most ${CONVERSATION_MEMBERS.max} members`);
    const direct = others.length === 1;
    const conversation_id = direct ? directConversationId(me.wallet_id, others[0]!.wallet_id) : `conv_${randomHex(16)}`;
    const created = await conversationActor(c.env, conversation_id).create({
      conversation_id,
      kind: direct ? "direct" : "group",
      title: direct ? null : (body.title ?? null),
      members: [me, ...others],
    });
    return answer(c, created) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "get",
    path: "/v1/conversations",
    operationId: "listConversations",
    summary: "The caller's conversations, most recent activity first, with the last message and unread count",
    scope: "read",
    request: { query: cs.ConversationsQuery },
    responses: { 200: jsonResponse(cs.ConversationPage, "a page"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    if (cursor !== undefined && !isInboxCursor(cursor)) throw new ApiError("invalid_request", "cursor: use next_cursor from the previous page");
    const me = c.get("principal").walletId;
    const page = await walletActor(c.env, me).listConversations(limit, cursor ?? null);
    const summaries = await Promise.all(page.conversation_ids.map((id) => conversationActor(c.env, id).summary(me)));
    return c.json({ conversations: summaries.filter((s) => s !== null), next_cursor: page.next_cursor }, 200);
  },
);

/** A cursor the conversation list issued: base64 of `[last_activity_at, conversation_id]`. */
function isInboxCursor(cursor: string): boolean {
  try {
    const v: unknown = JSON.parse(atob(cursor));
    return Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string";
  } catch {
    return false;
  }
}

/** The body of a message as the conversation takes it (amounts in msat, text or ciphertext). */
function newMessage(body: z.infer<typeof cs.MessageBodySchema>): NewMessage {
  if (body.text !== undefined) return { kind: "text", text: body.text };
  if (body.ciphertext !== undefined) return { kind: "encrypted", ciphertext: body.ciphertext };
  const bodyOf = (b: { text?: string; ciphertext?: string }) =>
    b.text !== undefined ? { text: b.text } : b.ciphertext !== undefined ? { ciphertext: b.ciphertext } : {};
  if (body.payment) return { kind: "payment", amount_msat: satToMsat(body.payment.amount_sat), to: body.payment.to ?? null, body: bodyOf(body.payment) };
  const request = body.request!;
  return { kind: "request", amount_msat: satToMsat(request.amount_sat), from: request.from ?? null, body: bodyOf(request) };
}

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations/{id}/messages",
    operationId: "postMessage",
    summary: "Post a message: text, ciphertext (NIP-44 v2), a payment (moved exactly once with its message) or a payment request",
    scope: "send",
    request: { params: ConversationParam, headers: optionalIdempotencyKey.extend(s.TotpCodeHeader.shape), ...jsonBody(cs.MessageBodySchema) },
    responses: {
      201: jsonResponse(cs.MessageResult, "posted, and on its way to every member's event log"),
      ...errors,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const tag = await idempotencyTag(c, "POST /v1/conversations/{id}/messages", { id, ...body });
    if (body.payment && !tag) throw new ApiError("invalid_request", "a payment needs an Idempotency-Key header");
    if (body.payment) await requireTotpForSend(c, satToMsat(body.payment.amount_sat), tag);
    const result = await conversation(c.env, id).postMessage(c.get("principal").walletId, newMessage(body), tag);
    return answer(c, result) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations/{id}/messages/{message_id}/pay",
    operationId: "payRequestMessage",
    summary: "Pay the caller's share of a payment request (once per payer)",
    scope: "send",
    request: { params: MessageParam, headers: optionalIdempotencyKey.extend(s.TotpCodeHeader.shape) },
    responses: { 200: jsonResponse(cs.MessageResult, "paid: the request as it stands"), ...errors },
  }),
  async (c) => {
    const { id, message_id } = c.req.valid("param");
    const tag = await idempotencyTag(c, "POST /v1/conversations/{id}/messages/{message_id}/pay", { id, message_id });
    // The share's amount is the conversation's to know: with TOTP on, paying one always needs a code.
    await requireTotpForSend(c, null, tag);
    return answer(c, await conversation(c.env, id).payRequest(c.get("principal").walletId, message_id, tag)) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations/{id}/messages/{message_id}/cancel",
    operationId: "cancelRequestMessage",
    summary: "Cancel an open payment request (its sender only)",
    scope: "send",
    request: { params: MessageParam },
    responses: { 200: jsonResponse(cs.MessageResult, "canceled"), 401: errors[401], 403: errors[403], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const { id, message_id } = c.req.valid("param");
    return answer(c, await conversation(c.env, id).cancelRequest(c.get("principal").walletId, message_id)) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "get",
    path: "/v1/conversations/{id}/messages",
    operationId: "listMessages",
    summary: "Messages: with `after`, those after it oldest first; otherwise the newest (below `before`), newest first",
    scope: "read",
    request: { params: ConversationParam, query: cs.MessagesQuery },
    responses: { 200: jsonResponse(cs.MessagePage, "a page"), 400: errors[400], 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const result = await conversation(c.env, id).messages(c.get("principal").walletId, { before: q.before ?? null, after: q.after ?? null, limit: q.limit });
    return answer(c, result) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations/{id}/read",
    operationId: "markConversationRead",
    summary: "Mark messages read up to `seq`; the other members receive `chat.read`",
    scope: "read",
    request: { params: ConversationParam, ...jsonBody(cs.ReadBody) },
    responses: { 200: jsonResponse(cs.ReadResult, "the caller's read position"), 400: errors[400], 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    return answer(c, await conversation(c.env, id).markRead(c.get("principal").walletId, c.req.valid("json").seq)) as never;
  },
);

chat.openapi(
  authedRoute({
    method: "post",
    path: "/v1/conversations/{id}/leave",
    operationId: "leaveConversation",
    summary: "Leave a group; the others receive `chat.left`, the caller receives nothing more from it",
    scope: "send",
    request: { params: ConversationParam },
    responses: { 200: jsonResponse(cs.LeaveResult, "left"), 400: errors[400], 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    return answer(c, await conversation(c.env, id).leave(c.get("principal").walletId)) as never;
  },
);
