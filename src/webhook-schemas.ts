import { z } from "@hono/zod-openapi";
import { WEBHOOK_URL_MAX_LENGTH } from "./webhooks/url-policy";

/** Webhook endpoints and deliveries (the contract's "Partners" section). */

const EventType = z.string().regex(/^(\*|[a-z_]+(\.[a-z_]+)*)$/, "an event type such as invoice.paid, or *").max(64);

export const CreateWebhookBody = z
  .object({
    url: z.string().min(1).max(WEBHOOK_URL_MAX_LENGTH).openapi({ example: "https://shop.example/flash/webhooks" }),
    events: z.array(EventType).min(1).max(50).openapi({ example: ["invoice.paid"] }),
    description: z.string().max(200).optional(),
  })
  .strict();

export const WebhookEndpoint = z
  .object({ id: z.string(), url: z.string(), events: z.array(z.string()), description: z.string().nullable(), created_at: z.string(), disabled_at: z.string().nullable() })
  .openapi("WebhookEndpoint");
export const WebhookCreated = WebhookEndpoint.extend({ secret: z.string().openapi({ description: "whsec_…: shown only here" }) }).openapi("WebhookCreated");
export const WebhookList = z.object({ webhooks: z.array(WebhookEndpoint) }).openapi("WebhookList");
export const WebhookSecret = z.object({ secret: z.string() }).openapi("WebhookSecret");
export const WebhookDeleted = z.object({ id: z.string(), deleted: z.literal(true) }).openapi("WebhookDeleted");

export const WebhookDelivery = z
  .object({
    id: z.string(),
    event_id: z.string(),
    type: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("WebhookDelivery");
export const DeliveryResult = z.object({ delivery: WebhookDelivery }).openapi("WebhookDeliveryResult");
export const DeliveryPage = z.object({ deliveries: z.array(WebhookDelivery), next_cursor: z.string().nullable() }).openapi("WebhookDeliveryPage");
export const DeliveriesQuery = z.object({
  status: z.enum(["pending", "delivered", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/).max(15).optional(),
});
export const WebhookParam = z.object({ id: z.string().max(64) });
export const DeliveryParam = z.object({ id: z.string().max(64), delivery_id: z.string().max(64) });
