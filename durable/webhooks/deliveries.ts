import { refuse, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import { nextAttemptDelayMs, parseRetryAfter } from "../../src/webhooks/schedule";
import { webhookHeaders } from "../../src/webhooks/signature";
import type { WalletEvent } from "../../src/wallet-types";
import type { WebhookOutcome } from "../../src/metrics/catalog";
import type { ActorKit, Part, Task } from "../kit/part";
import type { WebhookDelivery, WebhookEndpoint, WebhookFeedDelivery } from "../ports";
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
/** Of those, one endpoint's at most: a receiver that hangs or crawls leaves the other half to the account's other endpoints. */
const PER_ENDPOINT = 5;
/**
 * A queued delivery is sent at once, from memory, after the unit of work that queued it commits; this
 * alarm brings it back if the instance dies before its outcome is recorded. It is a safety net, not a
 * schedule: armed once per this period on a busy actor (each one fires, and costs the thread a wake-up).
 */
const SAFETY_NET_MS = 30_000;
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

/** A pending delivery this instance is about to send (claimed: no other sender takes it meanwhile). */
interface Claimed {
  id: string;
  endpoint_id: string;
  event_id: string;
  body: string;
  /** Attempts already made. */
  attempts: number;
  /** Where it goes, when it was queued from memory just now for a live endpoint (else read at the attempt). */
  url?: string;
}

/** How an attempt ended. */
interface Outcome {
  delivery: Claimed;
  status: number | null;
  error: string | null;
  retryAfter: string | null;
}

/**
 * The account's events turned into deliveries (one per event and subscribed endpoint, once: the
 * feed is numbered by the wallet's `seq`), and their sending: Standard Webhooks headers, signed
 * with every current secret; 2xx within the timeout is delivered; 410 disables the endpoint; any
 * other answer, a timeout or a network error is retried on the schedule (src/webhooks/schedule.ts,
 * `Retry-After` honoured) until the last attempt, then the delivery is `failed` and stays in the log.
 * Redirects are not followed (a receiver cannot point the hub at another host).
 *
 * Cost (docs/performance.md, "Webhooks and LNURL"): the events of one push are queued in one unit of
 * work and sent from memory once it commits (no reading back); the table is searched for due
 * deliveries only when the alarm asks (retries, a restart), not after every send.
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
      nextDueAt: () => this.nextDueAt(),
      run: (dueBy) => this.sendDue(dueBy),
    },
  ];
  /** Deliveries claimed by this instance (waiting in `ready` or being sent, until their outcome is recorded): never sent twice at once. */
  private readonly claimed = new Set<string>();
  /** Deliveries being sent per endpoint (taken from `ready` or the table, outcome not yet recorded), for PER_ENDPOINT. */
  private readonly sendingTo = new Map<string, number>();
  /** Deliveries just queued, claimed, in order, waiting for a sending place. */
  private ready: Claimed[] = [];
  /** The senders at work, at most PARALLEL: each sends deliveries one after another until none is left. */
  private readonly senders = new Set<Promise<void>>();
  /** Senders look in the table for deliveries due by this (set by the alarm, kept while an endpoint at PER_ENDPOINT holds some back), or not at all (null). */
  private lookDueBy: number | null = null;
  /** The feed's position (null: no push yet), as committed. */
  private through: number | null = null;
  private position = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly endpoints: Endpoints,
    private readonly options: () => DeliveryOptions,
    /** Told how each attempt ended, once its outcome is recorded (the metrics: docs/decisions/0022). */
    private readonly onOutcome: (outcome: WebhookOutcome) => void = () => {},
  ) {}

  onStart(): void {
    this.position = this.kit.sql<{ p: number | null }>`SELECT MAX(position) AS p FROM deliveries`[0]?.p ?? 0;
    this.through = this.kit.sql<{ through_seq: number }>`SELECT through_seq FROM feed`[0]?.through_seq ?? null;
  }

  /** Takes the wallet's events after what it has, in order, queues their deliveries in one unit of work, then sends them. */
  receive(feed: WebhookFeedDelivery): { ok: true; through: number } | Refusal {
    const fresh: Claimed[] = [];
    const result = this.kit.unitOfWork.run(() => {
      const through = this.through ?? feed.first_seq - 1; // the first push starts where the wallet turned the feed on
      if (feed.first_seq > through + 1) return refuse("internal", `feed gap: have ${through}, got from ${feed.first_seq}`);
      let last = through;
      const subscribed = new Map<string, WebhookEndpoint[]>();
      for (const event of feed.events) {
        if (event.seq <= through) continue;
        let endpoints = subscribed.get(event.type);
        if (!endpoints) subscribed.set(event.type, (endpoints = this.endpoints.subscribedTo(event.type)));
        const body = endpoints.length ? bodyOf(event, feed.account_id) : "";
        for (const endpoint of endpoints) {
          const queued = this.queue(endpoint.id, eventIdOf(feed.account_id, event), event.type, body);
          if (queued) fresh.push({ ...queued, url: endpoint.url });
        }
        last = event.seq;
      }
      if (last !== this.through) {
        this.kit.sql`INSERT INTO feed (id, account_id, through_seq) VALUES (1, ${feed.account_id}, ${last})
                     ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq`;
      }
      return { ok: true as const, through: last };
    });
    if (!result.ok) return result;
    this.through = result.through;
    if (fresh.length) {
      for (const delivery of fresh) this.claim(delivery);
      this.ready.push(...fresh);
      this.sendReady();
    }
    return { ok: true, through: result.through };
  }

  /** Starts senders for what waits in `ready`, in the background. */
  private sendReady(): void {
    // A failure to record an outcome leaves its delivery pending: the alarm queued with it sends it again.
    this.kit.ctx.waitUntil(this.startSenders().catch((error) => console.warn(`webhook sends: ${(error as Error)?.message ?? String(error)}; the alarm sends again`)));
  }

  /** A `webhook.test` delivery to one endpoint, sent now. */
  async sendTest(endpoint_id: string): Promise<WebhookDelivery> {
    const account_id = this.kit.sql<{ account_id: string }>`SELECT account_id FROM feed`[0]?.account_id ?? null;
    const event: WalletEvent = { seq: 0, type: "webhook.test", created_at: new Date().toISOString(), data: { message: "a test event from Flash Hub" } };
    const queued = this.kit.unitOfWork.run(() => this.queue(endpoint_id, newId("evt"), event.type, bodyOf(event, account_id)))!;
    this.claim(queued);
    await this.attempt(this.begin(queued));
    // Deliveries held back by PER_ENDPOINT while this one was sent outside the senders go now.
    if (this.ready.length) this.sendReady();
    return this.get(queued.id)!;
  }

  /** Sends a delivery again now (whatever its status), then answers how it stands. */
  async retry(endpoint_id: string, delivery_id: string): Promise<WebhookDelivery | null> {
    const changed = this.kit.sqlWrite`UPDATE deliveries SET status = 'pending', next_attempt_at = ${Date.now()} WHERE id = ${delivery_id} AND endpoint_id = ${endpoint_id}`;
    if (!changed) return null;
    if (!this.claimed.has(delivery_id)) {
      // (Claimed: already on its way; the answer says how it stands now.)
      const row = this.kit.sql<Claimed>`SELECT id, endpoint_id, event_id, body, attempts FROM deliveries WHERE id = ${delivery_id}`[0]!;
      this.claim(row);
      await this.attempt(this.begin(row));
      if (this.ready.length) this.sendReady();
    }
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

  /** Pending deliveries of an endpoint that will never be sent (deleted or disabled) end as failed; those waiting in memory are dropped. */
  failPending(endpoint_id: string, reason: string): void {
    this.kit.sql`UPDATE deliveries SET status = 'failed', last_error = ${reason}, next_attempt_at = NULL WHERE endpoint_id = ${endpoint_id} AND status = 'pending'`;
    this.ready = this.ready.filter((d) => d.endpoint_id !== endpoint_id || !this.claimed.delete(d.id));
  }

  /** Queues one delivery (inside a unit of work); null if this event already has one for the endpoint. */
  private queue(endpoint_id: string, event_id: string, type: string, body: string): Claimed | null {
    const id = newId("dlv");
    const written = this.kit.sqlWrite`
      INSERT INTO deliveries (id, endpoint_id, event_id, type, body, status, next_attempt_at, created_at, position)
      VALUES (${id}, ${endpoint_id}, ${event_id}, ${type}, ${body}, 'pending', ${Date.now()}, ${new Date().toISOString()}, ${++this.position})
      ON CONFLICT (endpoint_id, event_id) DO NOTHING`;
    if (!written) return null;
    this.kit.scheduler.arm(Date.now() + SAFETY_NET_MS);
    return { id, endpoint_id, event_id, body, attempts: 0 };
  }

  private claim(d: Claimed): void {
    this.claimed.add(d.id);
  }

  /** A claimed delivery's send begins (its endpoint has a place: see `next`). */
  private begin(d: Claimed): Claimed {
    this.sendingTo.set(d.endpoint_id, (this.sendingTo.get(d.endpoint_id) ?? 0) + 1);
    return d;
  }

  /** Its send is over and its outcome recorded (or given up): another sender may take it again. */
  private end(d: Claimed): void {
    this.claimed.delete(d.id);
    const n = (this.sendingTo.get(d.endpoint_id) ?? 1) - 1;
    if (n > 0) this.sendingTo.set(d.endpoint_id, n);
    else this.sendingTo.delete(d.endpoint_id);
  }

  /**
   * When the alarm should next run the sends: the earliest pending delivery nobody is sending; while
   * some are being sent, at the latest SAFETY_NET_MS from now (should this instance die before their
   * outcomes are recorded). Deliveries in flight do not bring the alarm back every 100 ms.
   */
  private nextDueAt(): number | null {
    const at = this.kit.sql<{ at: number | null }>`
      SELECT MIN(next_attempt_at) AS at FROM deliveries
      WHERE status = 'pending' AND id NOT IN (SELECT value FROM json_each(${JSON.stringify([...this.claimed])}))`[0]?.at ?? null;
    if (this.claimed.size === 0) return at;
    const net = Date.now() + SAFETY_NET_MS;
    return at === null ? net : Math.min(at, net);
  }

  /**
   * Sends what is due (by `dueBy`, or by now if later): the senders look in the table until it has
   * nothing due left, then this waits for every sender at work, so the alarm stays until its sends
   * are recorded (and a crash meanwhile brings it back).
   */
  private sendDue(dueBy: number): Promise<void> {
    this.lookDueBy = Math.max(this.lookDueBy ?? 0, dueBy);
    return this.startSenders();
  }

  /** Starts senders for the free places while there is something to send; resolves when every sender at work is done. */
  private startSenders(): Promise<void> {
    while (this.senders.size < PARALLEL) {
      const first = this.next();
      if (first === null) break;
      const sender: Promise<void> = this.sendFrom(first).finally(() => this.senders.delete(sender));
      this.senders.add(sender);
    }
    return Promise.all(this.senders).then(() => undefined);
  }

  private async sendFrom(first: Claimed): Promise<void> {
    for (let d: Claimed | null = first; d !== null; d = this.next()) await this.attempt(d);
  }

  /**
   * The next delivery to send, claimed: the oldest in `ready` whose endpoint has a place left, else
   * (when asked to look) the longest-waiting due one in the table that is not claimed and whose
   * endpoint has a place left; null when there is none.
   */
  private next(): Claimed | null {
    const at = this.ready.findIndex((d) => (this.sendingTo.get(d.endpoint_id) ?? 0) < PER_ENDPOINT);
    if (at >= 0) return this.begin(this.ready.splice(at, 1)[0]!);
    if (this.lookDueBy === null) return null;
    const busy = [...this.sendingTo].filter(([, n]) => n >= PER_ENDPOINT).map(([e]) => e);
    const row = this.kit.sql<Claimed>`
      SELECT id, endpoint_id, event_id, body, attempts FROM deliveries
      WHERE status = 'pending' AND next_attempt_at <= ${Math.max(this.lookDueBy, Date.now())}
        AND id NOT IN (SELECT value FROM json_each(${JSON.stringify([...this.claimed])}))
        AND endpoint_id NOT IN (SELECT value FROM json_each(${JSON.stringify(busy)}))
      ORDER BY next_attempt_at LIMIT 1`[0];
    if (!row) {
      // Nothing due that a sender may take now: an endpoint's deliveries held back by PER_ENDPOINT are
      // taken by its senders as they finish (they look again), the rest by the alarm.
      if (busy.length === 0) this.lookDueBy = null;
      return null;
    }
    this.claim(row);
    return this.begin(row);
  }

  /**
   * One attempt of a claimed delivery: send, then record the outcome and what comes next in one unit
   * of work, then release the claim. A crash before the outcome is recorded leaves the delivery
   * pending: it is sent again, with the same webhook-id. (Outcomes are not held back to share a unit of
   * work: in workerd the answers of sends made together resume on separate turns, and a timer to gather
   * them fired tens of ms later in the tests, holding the claims and the log back for nothing.)
   */
  private async attempt(d: Claimed): Promise<void> {
    try {
      const target = d.url !== undefined ? { url: d.url, live: true } : this.endpoints.target(d.endpoint_id);
      if (!target?.live) {
        this.kit.sql`UPDATE deliveries SET status = 'failed', last_error = 'endpoint deleted or disabled', next_attempt_at = NULL WHERE id = ${d.id}`;
        this.onOutcome("dropped");
        return;
      }
      const { timeoutMs, fetch } = this.options();
      let status: number | null = null;
      let error: string | null = null;
      let retryAfter: string | null = null;
      try {
        const timestamp = Math.floor(Date.now() / 1000);
        const headers = await webhookHeaders(this.endpoints.signingSecrets(d.endpoint_id), { id: d.event_id, timestamp, body: d.body });
        const response = await fetch(target.url, { method: "POST", headers, body: d.body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
        status = response.status;
        retryAfter = response.headers.get("retry-after");
        if (status < 200 || status >= 300) error = (await response.text().catch(() => "")).slice(0, ERROR_TEXT_MAX) || `HTTP ${status}`;
        else await drain(response);
      } catch (e) {
        error = (e as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `network error: ${(e as Error)?.message ?? String(e)}`.slice(0, ERROR_TEXT_MAX);
      }
      this.onOutcome(this.kit.unitOfWork.run(() => this.recordOutcome({ delivery: d, status, error, retryAfter })));
    } finally {
      this.end(d);
    }
  }

  private recordOutcome({ delivery: d, status, error, retryAfter }: Outcome): WebhookOutcome {
    const attempts = d.attempts + 1;
    if (status !== null && status >= 200 && status < 300) {
      this.kit.sql`UPDATE deliveries SET status = 'delivered', attempts = ${attempts}, last_status_code = ${status}, last_error = NULL, next_attempt_at = NULL WHERE id = ${d.id}`;
      return "delivered";
    }
    if (status === 410) {
      this.endpoints.disable(d.endpoint_id, "the receiver answered 410 Gone");
      this.kit.sql`UPDATE deliveries SET status = 'failed', attempts = ${attempts}, last_status_code = 410, last_error = ${error}, next_attempt_at = NULL WHERE id = ${d.id}`;
      this.failPending(d.endpoint_id, "endpoint disabled: the receiver answered 410 Gone");
      return "gone";
    }
    if (status !== null && status >= 300 && status < 400) error = `redirects are not followed (HTTP ${status})`;
    // A manual retry is one more attempt on the same schedule: it neither restarts nor extends it.
    const delay = nextAttemptDelayMs(attempts, { scale: this.options().retryScale, retryAfterMs: parseRetryAfter(retryAfter, Date.now()) });
    const next = delay === null ? null : Date.now() + delay;
    this.kit.sql`UPDATE deliveries SET status = ${next === null ? "failed" : "pending"}, attempts = ${attempts}, last_status_code = ${status}, last_error = ${error},
                 next_attempt_at = ${next} WHERE id = ${d.id}`;
    if (next !== null) this.kit.scheduler.arm(next);
    return next === null ? "failed" : "retrying";
  }
}

/** The Standard Webhooks id of a wallet event: the same on every retry and for every endpoint. */
const eventIdOf = (account_id: string, event: WalletEvent): string => `evt_${account_id}_${event.seq}`;

/** A delivery's body: the event's type, its time, and its data with the account. */
const bodyOf = (event: WalletEvent, account_id: string | null): string =>
  JSON.stringify({ type: event.type, timestamp: event.created_at, data: { ...event.data, account_id } });

/**
 * Reads a 2xx answer's body to its end and drops it: a body left unread (or cancelled) closes the
 * connection instead of returning it to the pool, so the next delivery to that receiver would connect
 * again. One longer than BODY_READ_MAX is cancelled; one that fails after its 2xx changes nothing.
 */
async function drain(response: Response): Promise<void> {
  const body = response.body;
  if (!body) return;
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length >= 0 && length <= BODY_READ_MAX) {
    await response.arrayBuffer().catch(() => undefined); // one call, for the usual short answer
    return;
  }
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
