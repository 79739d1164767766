import { Actor } from "./kit/actor";
import { AuditTrail } from "./kit/audit-trail";
import type { Env } from "./env";
import type { WebhookDelivery, WebhookEndpoint, WebhookFeedDelivery, WebhookPort } from "./ports";
import { flushSoon, isolateMetrics } from "./metrics/isolate";
import { Deliveries } from "./webhooks/deliveries";
import { Endpoints, MAX_ENDPOINTS } from "./webhooks/endpoints";
import { refuse, type Refusal } from "../src/errors";
import { WEBHOOK_TIMEOUT_MS } from "../src/webhooks/schedule";
import type { ApiAnswer } from "../src/wallet-types";
import type { AuditEntry } from "../src/audit";
import { M, WEBHOOK_OUTCOMES, type WebhookOutcome } from "../src/metrics/catalog";

const noEndpoint = () => refuse("not_found", "no such webhook endpoint");
/** One label object per outcome (the metrics recorder spells each once). */
const OUTCOME_LABELS = new Map(WEBHOOK_OUTCOMES.map((outcome) => [outcome, { outcome }]));

/**
 * One per account that has webhook endpoints (docs/decisions/0010): the endpoints and their secrets,
 * the account's events as they arrive from its wallet (in order, once), and the deliveries with
 * their retries and log. A partner's slow receiver only ever slows this actor, never a wallet.
 */
export class WebhookActor extends Actor<Env> implements WebhookPort {
  /** The webhooks chain of the account's audit trail: endpoint changes (docs/decisions/0016). */
  readonly audit = new AuditTrail(this.kit, "webhooks");
  readonly endpoints = new Endpoints(this.kit, this.audit);
  readonly deliveries = new Deliveries(
    this.kit,
    this.endpoints,
    () => ({
      retryScale: Number(this.env.WEBHOOK_RETRY_SCALE) || 1,
      timeoutMs: Number(this.env.WEBHOOK_TIMEOUT_MS) || WEBHOOK_TIMEOUT_MS,
      fetch: (input, init) => fetch(input, init),
    }),
    // Each attempt's outcome, counted in this isolate's memory (docs/decisions/0022).
    (outcome: WebhookOutcome) => {
      isolateMetrics.count(M.webhookDeliveries, OUTCOME_LABELS.get(outcome)!);
      flushSoon(this.env, (promise) => this.ctx.waitUntil(promise));
    },
  );
  protected readonly parts = [this.endpoints, this.deliveries, this.audit];

  /** Creates an endpoint (the URL was checked by the worker); the secret is shown only here. */
  async createEndpoint(request: { account_id: string; url: string; events: string[]; description: string | null }): Promise<ApiAnswer<WebhookEndpoint & { secret: string }> | Refusal> {
    const created = this.endpoints.create(request.url, request.events, request.description);
    return created ? { ok: true, status: 201, body: created } : refuse("invalid_request", `an account has at most ${MAX_ENDPOINTS} webhook endpoints`);
  }

  /** The account's endpoints (never their secrets). */
  async listEndpoints(): Promise<{ webhooks: WebhookEndpoint[] }> {
    return { webhooks: this.endpoints.list() };
  }

  /** Deletes an endpoint; what it still had pending ends as failed. */
  async deleteEndpoint(id: string): Promise<ApiAnswer<{ id: string; deleted: true }> | Refusal> {
    const deleted = this.transaction(() => {
      if (!this.endpoints.delete(id)) return false;
      this.deliveries.failPending(id, "endpoint deleted");
      return true;
    });
    return deleted ? { ok: true, status: 200, body: { id, deleted: true } } : noEndpoint();
  }

  /** A new signing secret; the old one keeps signing beside it for 24 h. */
  async rotateSecret(id: string): Promise<ApiAnswer<{ secret: string }> | Refusal> {
    const secret = this.endpoints.rotate(id);
    return secret ? { ok: true, status: 200, body: { secret } } : noEndpoint();
  }

  /** Sends a `webhook.test` event to the endpoint now. */
  async sendTest(id: string): Promise<ApiAnswer<{ delivery: WebhookDelivery }> | Refusal> {
    if (!this.endpoints.get(id)) return noEndpoint();
    return { ok: true, status: 200, body: { delivery: await this.deliveries.sendTest(id) } };
  }

  /** The endpoint's delivery log, newest first, optionally by status. */
  async listDeliveries(id: string, query: { status: WebhookDelivery["status"] | null; limit: number; cursor: string | null }): Promise<ApiAnswer<{ deliveries: WebhookDelivery[]; next_cursor: string | null }> | Refusal> {
    if (!this.endpoints.get(id)) return noEndpoint();
    return { ok: true, status: 200, body: this.deliveries.page(id, query) };
  }

  /** Sends one delivery again now. */
  async retryDelivery(id: string, delivery_id: string): Promise<ApiAnswer<{ delivery: WebhookDelivery }> | Refusal> {
    if (!this.endpoints.get(id)) return noEndpoint();
    const delivery = await this.deliveries.retry(id, delivery_id);
    return delivery ? { ok: true, status: 200, body: { delivery } } : refuse("not_found", "no such delivery");
  }

  /** The account's wallet events, in order from `first_seq`: turned into deliveries once. */
  async receiveEvents(delivery: WebhookFeedDelivery): Promise<{ ok: true; through: number } | Refusal> {
    return this.deliveries.receive(delivery);
  }

  /** The webhooks chain of the account's audit trail: the newest entries below seq `before` (null: from the newest), newest first. */
  async auditEntries(before: number | null, limit: number): Promise<AuditEntry[]> {
    return this.audit.entries(before, limit);
  }
}
