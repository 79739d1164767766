import type { ActorKit, Part, Task } from "./part";

/** Frames of the log a socket catches up on, oldest first; a short page means the end. */
export type ReplayPage = (after: number, limit: number) => { seq: number; frame: string }[];

const REPLAY_PAGE = 500;

/**
 * Why the hub closes a socket, in the private range 4000–4999 (docs/decisions/0014); the close
 * frame's reason says which credential and why in words.
 */
export const SOCKET_CLOSE = {
  /** The credential's time is up (an access token reached its `exp`): refresh it and reconnect. */
  expired: 4001,
  /** The credential was revoked (its API key deleted, or the account logged out everywhere): do not reconnect with it. */
  revoked: 4003,
} as const;

/** Which credential opened a socket: the socket lives no longer than it. */
export interface SocketCredential {
  /** The credential's name (`key:<id>`, `jwt:<jti>`): a tag of the socket, so it can be closed by name. */
  credential: string;
  /** When it was issued (ms) if a session epoch applies to it (access tokens); null otherwise (API keys). */
  issued_at_ms: number | null;
  /** When it stops being valid (ms); null: until revoked. */
  expires_at_ms: number | null;
}

/** Which sockets to close: those of one credential, and/or those issued before an epoch; {} is every socket. */
export interface SocketMatch {
  credential?: string;
  /** Closes sockets whose credential was issued before this (ms); credentials without an issue time are kept. */
  before_epoch?: number;
}

/** The internal header the worker names the socket's credential in (JSON of a SocketCredential). */
export const SOCKET_CREDENTIAL_HEADER = "x-socket-credential";

export const socketCredentialHeaders = (credential: SocketCredential): Record<string, string> => ({ [SOCKET_CREDENTIAL_HEADER]: JSON.stringify(credential) });

/** The credential an upgrade names, or null when the header is missing or malformed. */
export function socketCredentialOf(request: Request): SocketCredential | null {
  try {
    const c = JSON.parse(request.headers.get(SOCKET_CREDENTIAL_HEADER) ?? "null") as SocketCredential | null;
    const time = (t: unknown) => t === null || (typeof t === "number" && Number.isSafeInteger(t));
    if (!c || typeof c.credential !== "string" || !c.credential || c.credential.length > 200 || !time(c.issued_at_ms) || !time(c.expires_at_ms)) return null;
    return { credential: c.credential, issued_at_ms: c.issued_at_ms, expires_at_ms: c.expires_at_ms };
  } catch {
    return null;
  }
}

/** A revoked credential is remembered this long, against an upgrade it authorised just before (seconds at most). */
const REVOCATION_MEMORY_MS = 24 * 3600_000;

/**
 * Hibernatable WebSockets: accept with a replay of what the client missed (`after`), then push
 * frames once the unit of work that wrote them has committed. `ping` is answered by the runtime
 * without waking the actor.
 *
 * A socket lives no longer than the credential that opened it (docs/decisions/0014): the
 * credential rides in the socket's attachment and tag (so it survives hibernation); the expiry
 * task closes each socket at its credential's expiry (4001); `close` closes those of a revoked
 * credential or of sessions ended by an epoch (4003), and remembers the revocation so that an
 * upgrade the credential authorised just before it is refused.
 */
export class Sockets implements Part {
  readonly name = "sockets";
  readonly migrations = [
    `CREATE TABLE socket_revocations (credential TEXT PRIMARY KEY, revoked_at_ms INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE socket_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), before_ms INTEGER NOT NULL);`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "sockets:expiry",
      nextDueAt: () => this.earliestExpiry(),
      run: async (dueBy) => {
        this.closeExpired(dueBy);
      },
    },
  ];
  private pending: string[] = [];

  constructor(
    private readonly kit: ActorKit,
    private readonly replay: ReplayPage,
  ) {}

  onStart(): void {
    this.kit.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Accepts an upgrade (authenticated by the caller, who names the credential in
   * SOCKET_CREDENTIAL_HEADER): replays `seq > after`, then goes live until the credential ends.
   */
  accept(request: Request): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const credential = socketCredentialOf(request);
    if (!credential) return refusal(400, "invalid_request", "the upgrade names no credential");
    const ended = this.endedBecause(credential, Date.now());
    if (ended) return refusal(401, "unauthorized", ended);
    const after = Number(new URL(request.url).searchParams.get("after") ?? "0");
    const { 0: client, 1: server } = new WebSocketPair();
    this.kit.ctx.acceptWebSocket(server, [credential.credential]);
    server.serializeAttachment(credential);
    if (credential.expires_at_ms !== null) this.kit.scheduler.arm(credential.expires_at_ms);
    // Replay and acceptance happen in one synchronous stretch: no commit can slip between them.
    for (let from = Number.isSafeInteger(after) && after > 0 ? after : 0; ; ) {
      const page = this.replay(from, REPLAY_PAGE);
      for (const { frame } of page) server.send(frame);
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1]!.seq;
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Closes the sockets `match` names with `code` and `reason`, and remembers the revocation (a
   * credential, an epoch) so that an upgrade already on its way is refused. Returns how many closed.
   */
  close(match: SocketMatch, code: number, reason: string, nowMs = Date.now()): number {
    if (match.credential !== undefined) {
      this.kit.sql`DELETE FROM socket_revocations WHERE revoked_at_ms < ${nowMs - REVOCATION_MEMORY_MS}`;
      this.kit.sql`INSERT OR REPLACE INTO socket_revocations (credential, revoked_at_ms) VALUES (${match.credential}, ${nowMs})`;
    }
    if (match.before_epoch !== undefined) {
      this.kit.sql`INSERT INTO socket_epoch (id, before_ms) VALUES (1, ${match.before_epoch})
                   ON CONFLICT (id) DO UPDATE SET before_ms = MAX(before_ms, excluded.before_ms)`;
    }
    let closed = 0;
    const sockets = match.credential !== undefined ? this.kit.ctx.getWebSockets(match.credential) : this.kit.ctx.getWebSockets();
    for (const ws of sockets) {
      const credential = attachmentOf(ws);
      if (!isOpen(ws) || !credential) continue;
      if (match.credential !== undefined && credential.credential !== match.credential) continue;
      if (match.before_epoch !== undefined && !(credential.issued_at_ms !== null && credential.issued_at_ms < match.before_epoch)) continue;
      if (closeQuietly(ws, code, reason)) closed++;
    }
    return closed;
  }

  /** Queues a frame for every socket, sent when the current unit of work commits. */
  pushAfterCommit(frame: string): void {
    this.pending.push(frame);
  }

  onCommit(): void {
    if (!this.pending.length) return;
    const frames = this.pending;
    this.pending = [];
    this.broadcast(frames);
  }

  onRollback(): void {
    this.pending = [];
  }

  /** Sends frames to every open socket now. */
  broadcast(frames: readonly string[]): void {
    const sockets = this.kit.ctx.getWebSockets();
    for (const ws of sockets) {
      try {
        for (const frame of frames) ws.send(frame);
      } catch {
        // A socket closing under us; the client resumes with after=<seq>.
      }
    }
  }

  /** Anything but the auto-answered "ping" is not a command. */
  onMessage(ws: WebSocket): void {
    ws.send(JSON.stringify({ error: { code: "invalid_request", message: `unexpected message: send "ping"` } }));
  }

  onClose(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed by the runtime.
    }
  }

  /** Why a credential may no longer open a socket, or null if it may. */
  private endedBecause(credential: SocketCredential, nowMs: number): string | null {
    if (credential.expires_at_ms !== null && credential.expires_at_ms <= nowMs) return "invalid or expired credential";
    if (this.kit.sql`SELECT 1 FROM socket_revocations WHERE credential = ${credential.credential}`.length) return "this credential was revoked";
    const epoch = this.kit.sql<{ before_ms: number }>`SELECT before_ms FROM socket_epoch`[0]?.before_ms ?? 0;
    if (credential.issued_at_ms !== null && credential.issued_at_ms < epoch) return "this session was ended (logged out everywhere): log in again";
    return null;
  }

  /** The earliest expiry among open sockets (from their attachments: hibernation loses nothing). */
  private earliestExpiry(): number | null {
    let earliest: number | null = null;
    for (const ws of this.kit.ctx.getWebSockets()) {
      const at = isOpen(ws) ? attachmentOf(ws)?.expires_at_ms : null;
      if (at != null && (earliest === null || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Closes every open socket whose credential expired by `dueBy`. */
  private closeExpired(dueBy: number): void {
    for (const ws of this.kit.ctx.getWebSockets()) {
      const credential = isOpen(ws) ? attachmentOf(ws) : null;
      if (credential?.expires_at_ms != null && credential.expires_at_ms <= dueBy) {
        closeQuietly(ws, SOCKET_CLOSE.expired, "credential expired: refresh it and reconnect");
      }
    }
  }
}

function attachmentOf(ws: WebSocket): SocketCredential | null {
  try {
    return (ws.deserializeAttachment() as SocketCredential | null) ?? null;
  } catch {
    return null;
  }
}

const isOpen = (ws: WebSocket) => ws.readyState === WebSocket.OPEN;

function closeQuietly(ws: WebSocket, code: number, reason: string): boolean {
  try {
    ws.close(code, reason);
    return true;
  } catch {
    return false; // closed under us
  }
}

const refusal = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), { status, headers: { "content-type": "application/json" } });
