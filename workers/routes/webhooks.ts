import * as ws from "../../src/webhook-schemas";
import { ApiError } from "../../src/errors";
import { checkWebhookUrl } from "../../src/webhooks/url-policy";
import { isDevelopment, walletActor, webhookActor } from "../env";
import { answer } from "../errors";
import { authedRoute, errors, jsonBody, jsonResponse, newRouter } from "../openapi";
import { requireTotpForSensitive } from "../services/totp";
import { TotpCodeHeader } from "../../src/schemas";

export const webhooks = newRouter();

webhooks.openapi(
  authedRoute({
    method: "post",
    path: "/v1/webhooks",
    operationId: "createWebhook",
    summary: "Add a webhook endpoint: the account's events, signed (Standard Webhooks); the secret is shown only here",
    scope: "receive",
    request: { headers: TotpCodeHeader, ...jsonBody(ws.CreateWebhookBody) },
    responses: { 201: jsonResponse(ws.WebhookCreated, "created"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const checked = checkWebhookUrl(body.url, { development: isDevelopment(c.env) });
    if (!checked.ok) throw new ApiError("invalid_request", `url: ${checked.reason}`);
    await requireTotpForSensitive(c);
    const principal = c.get("principal");
    // The feed first: an endpoint never exists without the events that should reach it.
    await walletActor(c.env, principal.walletId).enableWebhooks();
    const events = [...new Set(body.events)];
    const created = await webhookActor(c.env, principal.accountId).createEndpoint({
      account_id: principal.accountId,
      url: checked.url.href,
      events: events.includes("*") ? ["*"] : events,
      description: body.description ?? null,
    });
    return answer(c, created) as never;
  },
);

webhooks.openapi(
  authedRoute({
    method: "get",
    path: "/v1/webhooks",
    operationId: "listWebhooks",
    summary: "The account's webhook endpoints",
    scope: "read",
    responses: { 200: jsonResponse(ws.WebhookList, "the endpoints"), 401: errors[401], 403: errors[403] },
  }),
  async (c) => c.json(await webhookActor(c.env, c.get("principal").accountId).listEndpoints(), 200),
);

webhooks.openapi(
  authedRoute({
    method: "delete",
    path: "/v1/webhooks/{id}",
    operationId: "deleteWebhook",
    summary: "Delete an endpoint (its pending deliveries end as failed)",
    scope: "receive",
    request: { params: ws.WebhookParam },
    responses: { 200: jsonResponse(ws.WebhookDeleted, "deleted"), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => answer(c, await webhookActor(c.env, c.get("principal").accountId).deleteEndpoint(c.req.valid("param").id)) as never,
);

webhooks.openapi(
  authedRoute({
    method: "post",
    path: "/v1/webhooks/{id}/rotate-secret",
    operationId: "rotateWebhookSecret",
    summary: "A new signing secret; the old one keeps signing beside it for 24 h",
    scope: "receive",
    request: { params: ws.WebhookParam },
    responses: { 200: jsonResponse(ws.WebhookSecret, "the new secret"), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => answer(c, await webhookActor(c.env, c.get("principal").accountId).rotateSecret(c.req.valid("param").id)) as never,
);

webhooks.openapi(
  authedRoute({
    method: "post",
    path: "/v1/webhooks/{id}/test",
    operationId: "testWebhook",
    summary: "Send a webhook.test event to the endpoint now",
    scope: "receive",
    request: { params: ws.WebhookParam },
    responses: { 200: jsonResponse(ws.DeliveryResult, "the delivery after its first attempt"), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => answer(c, await webhookActor(c.env, c.get("principal").accountId).sendTest(c.req.valid("param").id)) as never,
);

webhooks.openapi(
  authedRoute({
    method: "get",
    path: "/v1/webhooks/{id}/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "The endpoint's delivery log, newest first",
    scope: "read",
    request: { params: ws.WebhookParam, query: ws.DeliveriesQuery },
    responses: { 200: jsonResponse(ws.DeliveryPage, "a page"), 400: errors[400], 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const result = await webhookActor(c.env, c.get("principal").accountId).listDeliveries(c.req.valid("param").id, { status: q.status ?? null, limit: q.limit, cursor: q.cursor ?? null });
    return answer(c, result) as never;
  },
);

webhooks.openapi(
  authedRoute({
    method: "post",
    path: "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
    operationId: "retryWebhookDelivery",
    summary: "Send a delivery again now",
    scope: "receive",
    request: { params: ws.DeliveryParam },
    responses: { 200: jsonResponse(ws.DeliveryResult, "the delivery after this attempt"), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    return answer(c, await webhookActor(c.env, c.get("principal").accountId).retryDelivery(id, delivery_id)) as never;
  },
);
