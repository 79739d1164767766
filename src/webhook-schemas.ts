import { z } from "@hono/zod-openapi";
import { CountOut, PositionCursorOut, TimestampOut, hubId } from "./response-bounds";
import { EventTypeOut } from "./schemas";
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

// Answers' bounds (src/response-bounds.ts): as CreateWebhookBody took them, or as the hub made them.
const EndpointIdOut = hubId("whk");
/** `whsec_` and the standard base64 of 32 random bytes (src/webhooks/signature.ts). */
const SecretOut = z.string().openapi({ pattern: "^whsec_[A-Za-z0-9+/]{43}=$", maxLength: 50 });

export const WebhookEndpoint = z
  .object({
    id: EndpointIdOut,
    url: z.string().openapi({ maxLength: WEBHOOK_URL_MAX_LENGTH }),
    events: z.array(z.string().openapi({ pattern: "^(\\*|[a-z_]+(\\.[a-z_]+)*)$", maxLength: 64 })),
    description: z.string().openapi({ maxLength: 200 }).nullable(),
    created_at: TimestampOut,
    disabled_at: TimestampOut.nullable(),
  })
  .openapi("WebhookEndpoint");
export const WebhookCreated = WebhookEndpoint.extend({ secret: SecretOut.openapi({ description: "whsec_…: shown only here" }) }).openapi("WebhookCreated");
export const WebhookList = z.object({ webhooks: z.array(WebhookEndpoint) }).openapi("WebhookList");
export const WebhookSecret = z.object({ secret: SecretOut }).openapi("WebhookSecret");
export const WebhookDeleted = z.object({ id: EndpointIdOut, deleted: z.literal(true) }).openapi("WebhookDeleted");

export const WebhookDelivery = z
  .object({
    id: hubId("dlv"),
    // A wallet event's (`evt_<account id>_<seq>`), or a test delivery's own (`newId("evt")`): durable/webhooks/deliveries.ts.
    event_id: z.string().openapi({ pattern: "^evt_(acc_[0-9a-f]{32}_\\d{1,16}|[0-9a-f]{32})$", maxLength: 57 }),
    type: EventTypeOut,
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: CountOut,
    // The receiver's HTTP status: three digits.
    last_status_code: z.number().int().openapi({ minimum: 100, maximum: 999 }).nullable(),
    // The receiver's answer or the network's error, cut at 200 characters (ERROR_TEXT_MAX, durable/webhooks/deliveries.ts), or the hub's own few words.
    last_error: z.string().openapi({ maxLength: 200 }).nullable(),
    next_attempt_at: TimestampOut.nullable(),
    created_at: TimestampOut,
  })
  .openapi("WebhookDelivery");
export const DeliveryResult = z.object({ delivery: WebhookDelivery }).openapi("WebhookDeliveryResult");
export const DeliveryPage = z.object({ deliveries: z.array(WebhookDelivery), next_cursor: PositionCursorOut.nullable() }).openapi("WebhookDeliveryPage");
export const DeliveriesQuery = z.object({
  status: z.enum(["pending", "delivered", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/).max(15).optional(),
});
export const WebhookParam = z.object({ id: z.string().max(64) });
export const DeliveryParam = z.object({ id: z.string().max(64), delivery_id: z.string().max(64) });
