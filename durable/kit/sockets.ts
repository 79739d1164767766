import type { Part } from "./part";

/** Frames of the log a socket catches up on, oldest first; a short page means the end. */
export type ReplayPage = (after: number, limit: number) => { seq: number; frame: string }[];

const REPLAY_PAGE = 500;

/**
 * Hibernatable WebSockets: accept with a replay of what the client missed (`after`), then push
 * frames once the unit of work that wrote them has committed. `ping` is answered by the runtime
 * without waking the actor.
 */
export class Sockets implements Part {
  readonly name = "sockets";
  private pending: string[] = [];

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly replay: ReplayPage,
  ) {}

  onStart(): void {
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts an upgrade (authenticated by the caller): replays `seq > after`, then goes live. */
  accept(request: Request): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const after = Number(new URL(request.url).searchParams.get("after") ?? "0");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    // Replay and acceptance happen in one synchronous stretch: no commit can slip between them.
    for (let from = Number.isSafeInteger(after) && after > 0 ? after : 0; ; ) {
      const page = this.replay(from, REPLAY_PAGE);
      for (const { frame } of page) server.send(frame);
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1]!.seq;
    }
    return new Response(null, { status: 101, webSocket: client });
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
    const sockets = this.ctx.getWebSockets();
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
}
