import { newId } from "../../src/ids";
import { newWebhookSecret } from "../../src/webhooks/signature";
import type { AuditTrail } from "../kit/audit-trail";
import type { ActorKit, Part } from "../kit/part";
import type { WebhookEndpoint } from "../ports";

/** The old secret keeps signing beside the new one this long after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;
/** Endpoints an account may have at once. */
export const MAX_ENDPOINTS = 20;

interface EndpointRow {
  id: string;
  url: string;
  events: string;
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_until: number | null;
  created_at: string;
  disabled_at: string | null;
  deleted_at: string | null;
}

/**
 * An account's webhook endpoints and their signing secrets (kept here: they sign every delivery).
 * Creating, deleting and rotating are audited in their unit of work (by id: never a secret, and the
 * URL without its query, which may carry the partner's own token).
 */
export class Endpoints implements Part {
  readonly name = "endpoints";
  readonly migrations = [
    `CREATE TABLE endpoints (
       id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, description TEXT,
       secret TEXT NOT NULL, previous_secret TEXT, previous_until INTEGER,
       created_at TEXT NOT NULL, disabled_at TEXT, disabled_reason TEXT, deleted_at TEXT);`,
  ];

  constructor(
    private readonly kit: ActorKit,
    private readonly audit: AuditTrail,
  ) {}

  /** Creates an endpoint; its secret is returned only here. */
  create(url: string, events: string[], description: string | null): (WebhookEndpoint & { secret: string }) | null {
    if (this.kit.sql<{ n: number }>`SELECT COUNT(*) AS n FROM endpoints WHERE deleted_at IS NULL`[0]!.n >= MAX_ENDPOINTS) return null;
    const id = newId("whk");
    const secret = newWebhookSecret();
    const created_at = new Date().toISOString();
    this.kit.unitOfWork.run(() => {
      this.kit.sql`INSERT INTO endpoints (id, url, events, description, secret, created_at)
                   VALUES (${id}, ${url}, ${JSON.stringify(events)}, ${description}, ${secret}, ${created_at})`;
      this.audit.append("webhook.created", { id, url: withoutQuery(url), events });
    });
    return { ...this.get(id)!, secret };
  }

  /** A live (not deleted) endpoint, or null. */
  get(id: string): WebhookEndpoint | null {
    const row = this.kit.sql<EndpointRow>`SELECT * FROM endpoints WHERE id = ${id} AND deleted_at IS NULL`[0];
    return row ? toEndpoint(row) : null;
  }

  list(): WebhookEndpoint[] {
    return this.kit.sql<EndpointRow>`SELECT * FROM endpoints WHERE deleted_at IS NULL ORDER BY created_at, id`.map(toEndpoint);
  }

  /** Endpoints that take this event type now (live, not disabled). */
  subscribedTo(type: string): WebhookEndpoint[] {
    return this.list().filter((e) => !e.disabled_at && (e.events.includes("*") || e.events.includes(type)));
  }

  delete(id: string): boolean {
    return this.kit.unitOfWork.run(() => {
      const deleted = this.kit.sqlWrite`UPDATE endpoints SET deleted_at = ${new Date().toISOString()} WHERE id = ${id} AND deleted_at IS NULL` > 0;
      if (deleted) this.audit.append("webhook.deleted", { id });
      return deleted;
    });
  }

  /** A new secret; the old one signs beside it for a day. */
  rotate(id: string): string | null {
    const secret = newWebhookSecret();
    const changed = this.kit.unitOfWork.run(() => {
      const n = this.kit.sqlWrite`
        UPDATE endpoints SET previous_secret = secret, previous_until = ${Date.now() + SECRET_OVERLAP_MS}, secret = ${secret}
        WHERE id = ${id} AND deleted_at IS NULL`;
      if (n) this.audit.append("webhook.secret_rotated", { id });
      return n;
    });
    return changed ? secret : null;
  }

  /** The secrets that sign a delivery now: the current one, and the previous one during its overlap. */
  signingSecrets(id: string): string[] {
    const row = this.kit.sql<EndpointRow>`SELECT * FROM endpoints WHERE id = ${id}`[0];
    if (!row) return [];
    return row.previous_secret && (row.previous_until ?? 0) > Date.now() ? [row.secret, row.previous_secret] : [row.secret];
  }

  /** Where deliveries go (also for a deleted or disabled endpoint: the caller decides). */
  target(id: string): { url: string; live: boolean } | null {
    const row = this.kit.sql<EndpointRow>`SELECT * FROM endpoints WHERE id = ${id}`[0];
    return row ? { url: row.url, live: !row.deleted_at && !row.disabled_at } : null;
  }

  /** The receiver said 410 Gone: nothing more is sent to it. */
  disable(id: string, reason: string): void {
    this.kit.sql`UPDATE endpoints SET disabled_at = ${new Date().toISOString()}, disabled_reason = ${reason} WHERE id = ${id} AND disabled_at IS NULL`;
  }
}

/** A URL as audited: without its query and fragment. */
function withoutQuery(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return { id: r.id, url: r.url, events: JSON.parse(r.events) as string[], description: r.description, created_at: r.created_at, disabled_at: r.disabled_at };
}
