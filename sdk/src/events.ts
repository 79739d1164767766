/**
 * The account's event stream (`GET /v1/events/stream?after=<seq>`, a WebSocket) kept open: on any
 * loss it reconnects with backoff and resumes after the last event it delivered, so each event
 * reaches the handler once and in order (`seq` is per account, from 1, gapless: the hub's event log).
 */
import { backoffMs, type RetryPolicy } from "./transport.ts";

/** An event of the account's log: `{seq, type, created_at, data}`. */
export interface HubEvent {
  seq: number;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

/** What the stream needs of a WebSocket (browsers', Node's, or one a Worker accepted from `fetch`). */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

/** Opens a socket to `url` (the stream's address, `after` in it) with `bearer`; resolves once it is open. */
export type SocketConnector = (url: string, bearer: string) => Promise<SocketLike>;

/**
 * Browsers and Node 22: the WebSocket constructor. Browsers cannot set headers on a WebSocket, so the
 * credential travels as `?access_token=` (the hub accepts it on this route only).
 */
export const viaWebSocket: SocketConnector = (url, bearer) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("access_token", bearer);
    const ws = new WebSocket(u.href);
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error("the event stream could not be opened")), { once: true });
  });

/**
 * Workers (and anything whose `fetch` upgrades, such as a service binding's): `fetch` with
 * `Upgrade: websocket`, the credential in the Authorization header.
 */
export const viaFetchUpgrade =
  (fetcher: typeof fetch): SocketConnector =>
  async (url, bearer) => {
    const res = await fetcher(url, { headers: { Upgrade: "websocket", Authorization: `Bearer ${bearer}` } });
    const ws = (res as Response & { webSocket?: SocketLike & { accept(): void } }).webSocket;
    if (res.status !== 101 || !ws) throw new StreamRefused(res.status, await res.text());
    ws.accept();
    return ws;
  };

/** The hub refused to open the stream (its status and body): 401/403 are not retried. */
export class StreamRefused extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`the event stream was refused: ${status} ${body.slice(0, 200)}`);
    this.name = "StreamRefused";
  }
}

/** The close codes the hub uses (durable/kit/sockets.ts): the token's time is up; the credential was revoked. */
const CLOSE_EXPIRED = 4001;
const CLOSE_REVOKED = 4003;

export interface EventStreamOptions {
  /** Deliver the events after this seq (0: from the start). The stream resumes from the last one delivered. */
  after?: number;
  /** Called once per event, in `seq` order; the next event waits for a returned promise. */
  onEvent: (event: HubEvent) => void | Promise<void>;
  /** The stream stopped for good (credential revoked, session ended, or the handler threw). */
  onError?: (error: unknown) => void;
  /** Told each time the stream (re)opens and closes, e.g. to show "reconnecting…". */
  onStatus?: (status: "open" | "reconnecting") => void;
  /** Send "ping" this often; no answer of any kind for twice as long reconnects (default 20 s). */
  heartbeatMs?: number;
}

export interface EventStreamDeps {
  streamUrl: (after: number) => string;
  bearer: () => Promise<string | null>;
  /** The hub said the token's time is up (4001): refresh it. */
  refresh: (stale: string) => Promise<void>;
  connect: SocketConnector;
  retry: RetryPolicy;
}

/** A running stream: the last seq delivered, and `close()`. */
export class EventStream {
  lastSeq: number;
  private socket: SocketLike | null = null;
  private closed = false;
  private failures = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private heard = Date.now();
  /** Ends the wait before the next connection (set while the stream waits to reconnect). */
  private wake: (() => void) | null = null;
  /** Events are handed to `onEvent` one at a time, in order, across reconnections. */
  private delivering: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: EventStreamDeps,
    private readonly options: EventStreamOptions,
  ) {
    this.lastSeq = options.after ?? 0;
    void this.run();
  }

  /** Stops: the socket is closed and no reconnection follows. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.socket?.close(1000, "closed by the client");
    this.socket = null;
    this.wake?.();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.options.onError?.(error);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let bearer: string | null = null;
      let ended: { code: number } | null = null;
      try {
        bearer = await this.deps.bearer();
        if (!bearer) throw new Error("no credential: log in first");
        ended = await this.session(bearer);
      } catch (err) {
        if (err instanceof StreamRefused && (err.status === 401 || err.status === 403)) {
          // A 401 with a session may be a token that expired just now: one refresh, then give up.
          if (err.status === 401 && bearer && this.failures === 0) {
            try {
              await this.deps.refresh(bearer);
              this.failures++;
              continue;
            } catch (refreshError) {
              return this.fail(refreshError);
            }
          }
          return this.fail(err);
        }
        if (err instanceof Error && err.name === "SessionEnded") return this.fail(err);
      }
      if (this.closed) return;
      if (ended?.code === CLOSE_REVOKED) return this.fail(new Error("the credential was revoked (4003): log in again"));
      if (ended?.code === CLOSE_EXPIRED && bearer) {
        try {
          await this.deps.refresh(bearer);
        } catch (err) {
          return this.fail(err);
        }
        continue; // at once: the token was merely due
      }
      this.options.onStatus?.("reconnecting");
      this.failures++;
      await this.pause(backoffMs(Math.min(this.failures, 8), { baseDelayMs: this.deps.retry.baseDelayMs, maxDelayMs: 30_000 }));
    }
  }

  /** Waits `ms` before reconnecting, or less if the stream is closed meanwhile (no timer left behind). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** One connection, from open to close: resolves with how it closed. */
  private async session(bearer: string): Promise<{ code: number }> {
    const ws = await this.deps.connect(this.deps.streamUrl(this.lastSeq), bearer);
    if (this.closed) {
      ws.close(1000, "closed by the client");
      return { code: 1000 };
    }
    this.socket = ws;
    this.options.onStatus?.("open");
    this.heard = Date.now();
    const every = this.options.heartbeatMs ?? 20_000;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.heard > 2 * every) ws.close(4000, "no answer to ping");
      else ws.send("ping");
    }, every);
    return new Promise((resolve) => {
      ws.addEventListener("message", (m) => {
        this.heard = Date.now();
        if (typeof m.data !== "string" || !m.data.startsWith("{")) return; // "pong"
        let frame: HubEvent;
        try {
          frame = JSON.parse(m.data);
        } catch {
          return;
        }
        if (typeof frame.seq !== "number") return;
        this.delivering = this.delivering.then(() => this.deliver(frame, ws));
      });
      ws.addEventListener("close", (e) => {
        clearInterval(this.heartbeat);
        if (this.socket === ws) this.socket = null;
        // The events already received are handed over before the next connection asks after lastSeq.
        void this.delivering.then(() => resolve({ code: e.code }));
      });
      ws.addEventListener("error", () => ws.close(4000, "socket error"));
    });
  }

  /** Hands one event over if it is the next one: a replayed one is skipped, a gap reconnects (the hub replays it). */
  private async deliver(event: HubEvent, ws: SocketLike): Promise<void> {
    if (this.closed || event.seq <= this.lastSeq) return;
    if (event.seq !== this.lastSeq + 1) {
      ws.close(4000, "gap in the event log");
      return;
    }
    try {
      await this.options.onEvent(event);
    } catch (err) {
      return this.fail(err);
    }
    this.lastSeq = event.seq;
    this.failures = 0;
  }
}
