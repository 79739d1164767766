import { refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import { nextAttemptDelayMs, parseRetryAfter } from "../../src/webhooks/schedule";
import { webhookHeaders } from "../../src/webhooks/signature";
import type { WalletEvent } from "../../src/wallet-types";
import type { ActorKit, Part, Task } from "../kit/part";
import type { WebhookDelivery, WebhookFeedDelivery } from "../ports";
import type { Endpoints } from "./endpoints";

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  type: string;
  body: string;
  status: WebhookDelivery["status"];
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: string;
}

/** Deliveries an actor sends at once (a slow receiver holds one of these places, not the others). */
const PARALLEL = 10;
/** What of a receiver's answer is kept for the log. */
const ERROR_TEXT_MAX = 200;
/** A 2xx answer's body is read up to this much (so its connection carries the next delivery), then cancelled. */
const BODY_READ_MAX = 64 * 1024;

export interface DeliveryOptions {
  /** Multiplies the retry schedule (tests shorten it). */
  retryScale: number;
  timeoutMs: number;
  fetch: typeof fetch;
}

/**
 * The account's events turned into deliveries (one per event and subscribed endpoint, once: the
 * feed is numbered by the wallet's `seq`), and their sending: Standard Webhooks headers, signed
 * with every current secret; 2xx within the timeout is delivered; 410 disables the endpoint; any
 * other answer, a timeout or a network error is retried on the schedule (src/webhooks/schedule.ts,
 * `Retry-After` honoured) until the last attempt, then the delivery is `failed` and stays in the log.
 * Redirects are not followed (a receiver cannot point the hub at another host).
 */
export class Deliveries implements Part {
  readonly name = "deliveries";
  readonly migrations = [
    `CREATE TABLE feed (id INTEGER PRIMARY KEY CHECK (id = 1), account_id TEXT NOT NULL, through_seq INTEGER NOT NULL);
     CREATE TABLE deliveries (
       id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
       status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_status_code INTEGER, last_error TEXT,
       next_attempt_at INTEGER, created_at TEXT NOT NULL, position INTEGER NOT NULL);
     CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
     CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, position);
     CREATE UNIQUE INDEX deliveries_once ON deliveries (endpoint_id, event_id);`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "deliveries:send",
      nextDueAt: () => this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'`[0]?.at ?? null,
      run: (dueBy) => this.sendDue(dueBy),
    },
  ];
  /** Deliveries this instance is sending right now (not sent twice at once). */
  private readonly sending = new Set<string>();
  /** The senders at work, at most PARALLEL: each sends due deliveries one after another until none is left. */
  private readonly senders = new Set<Promise<void>>();
  private position = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly endpoints: Endpoints,
    private readonly options: () => DeliveryOptions,
  ) {}

  onStart(): void {
    this.position = this.kit.sql<{ p: number | null }>`SELECT MAX(position) AS p FROM deliveries`[0]?.p ?? 0;
  }

  /** Takes the wallet's events after what it has, in order, and queues their deliveries in one unit of work. */
  receive(feed: WebhookFeedDelivery): { ok: true; through: number } | Refusal {
    const result = this.kit.unitOfWork.run(() => {
      const row = this.kit.sql<{ through_seq: number }>`SELECT through_seq FROM feed`[0];
      const through = row?.through_seq ?? feed.first_seq - 1; // the first push starts where the wallet turned the feed on
      if (feed.first_seq > through + 1) return refuse("internal", `feed gap: have ${through}, got from ${feed.first_seq}`);
      let last = through;
      let queued = 0;
      for (const event of feed.events) {
        if (event.seq <= through) continue;
        for (const endpoint of this.endpoints.subscribedTo(event.type)) queued += this.queue(endpoint.id, feed.account_id, event) ? 1 : 0;
        last = event.seq;
      }
      this.kit.sql`INSERT INTO feed (id, account_id, through_seq) VALUES (1, ${feed.account_id}, ${last})
                   ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq`;
      return { ok: true as const, through: last, queued };
    });
    if (!result.ok) return result;
    if (result.queued) this.kit.ctx.waitUntil(this.sendDue(Date.now()));
    return { ok: true, through: result.through };
  }

  /** A `webhook.test` delivery to one endpoint, sent now. */
  async sendTest(endpoint_id: string): Promise<WebhookDelivery> {
    const account_id = this.kit.sql<{ account_id: string }>`SELECT account_id FROM feed`[0]?.account_id ?? null;
    const event: WalletEvent = { seq: 0, type: "webhook.test", created_at: new Date().toISOString(), data: { message: "a test event from Flash Hub" } };
    const id = this.kit.unitOfWork.run(() => this.queue(endpoint_id, account_id, event, newId("evt")))!;
    await this.attempt(id);
    return this.get(id)!;
  }

  /** Sends a delivery again now (whatever its status), then answers how it stands. */
  async retry(endpoint_id: string, delivery_id: string): Promise<WebhookDelivery | null> {
    const changed = this.kit.sqlWrite`UPDATE deliveries SET status = 'pending', next_attempt_at = ${Date.now()} WHERE id = ${delivery_id} AND endpoint_id = ${endpoint_id}`;
    if (!changed) return null;
    await this.attempt(delivery_id);
    return this.get(delivery_id);
  }

  get(id: string): WebhookDelivery | null {
    const row = this.kit.sql<DeliveryRow>`SELECT * FROM deliveries WHERE id = ${id}`[0];
    return row ? toDelivery(row) : null;
  }

  /** An endpoint's delivery log, newest first. */
  page(endpoint_id: string, q: { status: WebhookDelivery["status"] | null; limit: number; cursor: string | null }): { deliveries: WebhookDelivery[]; next_cursor: string | null } {
    const before = q.cursor === null ? Number.MAX_SAFE_INTEGER : Number(q.cursor);
    const rows = q.status
      ? this.kit.sql<DeliveryRow & { position: number }>`
          SELECT * FROM deliveries WHERE endpoint_id = ${endpoint_id} AND status = ${q.status} AND position < ${before} ORDER BY position DESC LIMIT ${q.limit + 1}`
      : this.kit.sql<DeliveryRow & { position: number }>`
          SELECT * FROM deliveries WHERE endpoint_id = ${endpoint_id} AND position < ${before} ORDER BY position DESC LIMIT ${q.limit + 1}`;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { deliveries: page.map(toDelivery), next_cursor: rows.length > q.limit && last ? String(last.position) : null };
  }

  /** Pending deliveries of an endpoint that will never be sent (deleted or disabled) end as failed. */
  failPending(endpoint_id: string, reason: string): void {
    this.kit.sql`UPDATE deliveries SET status = 'failed', last_error = ${reason}, next_attempt_at = NULL WHERE endpoint_id = ${endpoint_id} AND status = 'pending'`;
  }

  /** Queues one delivery (inside a unit of work); false if this event already has one for the endpoint. */
  private queue(endpoint_id: string, account_id: string | null, event: WalletEvent, event_id = `evt_${account_id ?? "unknown"}_${event.seq}`): string | null {
    const id = newId("dlv");
    const body = JSON.stringify({ type: event.type, timestamp: event.created_at, data: { ...event.data, account_id } });
    const written = this.kit.sqlWrite`
      INSERT INTO deliveries (id, endpoint_id, event_id, type, body, status, next_attempt_at, created_at, position)
      VALUES (${id}, ${endpoint_id}, ${event_id}, ${event.type}, ${body}, 'pending', ${Date.now()}, ${new Date().toISOString()}, ${++this.position})
      ON CONFLICT (endpoint_id, event_id) DO NOTHING`;
    if (!written) return null;
    this.kit.scheduler.arm(Date.now() + 5_000); // the safety net if the push below is lost
    return id;
  }

  /**
   * Sends what is due (by `dueBy`, or by now if later): starts senders for the free places, then waits
   * until every sender at work has run out of due deliveries, so the alarm stays until its sends are
   * recorded (and a crash meanwhile brings it back).
   */
  private sendDue(dueBy: number): Promise<void> {
    while (this.senders.size < PARALLEL) {
      const first = this.nextDue(dueBy);
      if (first === null) break;
      const sender: Promise<void> = this.sendFrom(first, dueBy).finally(() => this.senders.delete(sender));
      this.senders.add(sender);
    }
    return Promise.all(this.senders).then(() => undefined);
  }

  private async sendFrom(first: string, dueBy: number): Promise<void> {
    for (let id: string | null = first; id !== null; id = this.nextDue(dueBy)) await this.attempt(id);
  }

  /** The longest-waiting due delivery that is not being sent, or null. */
  private nextDue(dueBy: number): string | null {
    // Among any `sending.size + 1` due deliveries at least one is not in flight.
    const due = this.kit.sql<{ id: string }>`
      SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ${Math.max(dueBy, Date.now())}
      ORDER BY next_attempt_at LIMIT ${this.sending.size + 1}`;
    return due.find((r) => !this.sending.has(r.id))?.id ?? null;
  }

  /**
   * One attempt: send, then record the outcome and what comes next, in one unit of work. The delivery
   * joins `sending` before the first await (so `nextDue` never hands it to another sender).
   */
  private async attempt(id: string): Promise<void> {
    if (this.sending.has(id)) return;
    const row = this.kit.sql<DeliveryRow>`SELECT * FROM deliveries WHERE id = ${id} AND status = 'pending'`[0];
    if (!row) return;
    const target = this.endpoints.target(row.endpoint_id);
    if (!target?.live) {
      this.kit.sql`UPDATE deliveries SET status = 'failed', last_error = 'endpoint deleted or disabled', next_attempt_at = NULL WHERE id = ${id}`;
      return;
    }
    this.sending.add(id);
    const { retryScale, timeoutMs, fetch } = this.options();
    let status: number | null = null;
    let error: string | null = null;
    let retryAfter: string | null = null;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = await webhookHeaders(this.endpoints.signingSecrets(row.endpoint_id), { id: row.event_id, timestamp, body: row.body });
      const response = await fetch(target.url, { method: "POST", headers, body: row.body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      if (status < 200 || status >= 300) error = (await response.text().catch(() => "")).slice(0, ERROR_TEXT_MAX) || `HTTP ${status}`;
      else await drain(response.body);
    } catch (e) {
      error = (e as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `network error: ${(e as Error)?.message ?? String(e)}`.slice(0, ERROR_TEXT_MAX);
    } finally {
      this.sending.delete(id);
    }
    const attempts = row.attempts + 1;
    this.kit.unitOfWork.run(() => {
      if (status !== null && status >= 200 && status < 300) {
        this.kit.sql`UPDATE deliveries SET status = 'delivered', attempts = ${attempts}, last_status_code = ${status}, last_error = NULL, next_attempt_at = NULL WHERE id = ${id}`;
        return;
      }
      if (status === 410) {
        this.endpoints.disable(row.endpoint_id, "the receiver answered 410 Gone");
        this.kit.sql`UPDATE deliveries SET status = 'failed', attempts = ${attempts}, last_status_code = 410, last_error = ${error}, next_attempt_at = NULL WHERE id = ${id}`;
        this.failPending(row.endpoint_id, "endpoint disabled: the receiver answered 410 Gone");
        return;
      }
      if (status !== null && status >= 300 && status < 400) error = `redirects are not followed (HTTP ${status})`;
      // A manual retry is one more attempt on the same schedule: it neither restarts nor extends it.
      const delay = nextAttemptDelayMs(attempts, { scale: retryScale, retryAfterMs: parseRetryAfter(retryAfter, Date.now()) });
      const next = delay === null ? null : Date.now() + delay;
      this.kit.sql`UPDATE deliveries SET status = ${next === null ? "failed" : "pending"}, attempts = ${attempts}, last_status_code = ${status}, last_error = ${error},
                   next_attempt_at = ${next} WHERE id = ${id}`;
      if (next !== null) this.kit.scheduler.arm(next);
    });
  }
}

/**
 * Reads a 2xx answer's body to its end and drops it: a body left unread (or cancelled) closes the
 * connection instead of returning it to the pool, so the next delivery to that receiver would connect
 * again. One longer than BODY_READ_MAX is cancelled; one that fails after its 2xx changes nothing.
 */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (let read = 0; ; ) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
      if (read > BODY_READ_MAX) return void (await reader.cancel());
    }
  } catch {
    // The receiver answered 2xx: what happens to its body after that is not a failed delivery.
  }
}

function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    event_id: r.event_id,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    last_status_code: r.last_status_code,
    last_error: r.last_error,
    next_attempt_at: r.next_attempt_at === null ? null : new Date(r.next_attempt_at).toISOString(),
    created_at: r.created_at,
  };
}
