// Server streams as LND's REST gateway (grpc-gateway v2.16) writes them:
// each message a line `{"result":…}\n`; response headers go out only with
// the first message (gRPC sends headers with it), so the Response itself
// resolves then; an error ends the stream as a line `{"error":{…}}\n` (with
// the mapped HTTP status if nothing was sent yet). Also the registry of open subscriptions, so state
// changes reach them and a client disconnect removes them.

import { GrpcError, streamLine } from "./wire";

const encoder = new TextEncoder();

/** Headers grpc-gateway adds from the gRPC response metadata. */
const STREAM_HEADERS = { "Content-Type": "application/json", "Grpc-Metadata-Content-Type": "application/grpc" };

export class NdjsonStream {
  /** resolves with the HTTP response once the first message (or an error, or the end) is ready. */
  readonly response: Promise<Response>;
  private resolveResponse!: (r: Response) => void;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly body: ReadableStream<Uint8Array>;
  private started = false;
  private ended = false;
  private readonly onEnd: (() => void)[] = [];

  constructor(clientSignal?: AbortSignal) {
    this.response = new Promise((resolve) => (this.resolveResponse = resolve));
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      // The client went away (or left the loop early).
      cancel: () => this.finish(),
    });
    // A client that leaves before the first message never sees the body.
    clientSignal?.addEventListener("abort", () => this.finish(), { once: true });
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Runs `fn` once when the stream ends for any reason. */
  whenEnded(fn: () => void): void {
    if (this.ended) fn();
    else this.onEnd.push(fn);
  }

  send(result: unknown): void {
    if (this.ended) return;
    this.start(200);
    this.controller.enqueue(encoder.encode(streamLine({ result })));
  }

  /** Ends the stream with a gRPC status. */
  fail(error: GrpcError): void {
    if (this.ended) return;
    // Before the first message there is no gRPC metadata to forward: plain JSON headers.
    this.start(error.httpStatus, this.started ? STREAM_HEADERS : { "Content-Type": "application/json" });
    this.controller.enqueue(encoder.encode(streamLine({ error: error.status() })));
    this.close();
  }

  /** Ends the stream normally (an empty 200 body if nothing was sent). */
  close(): void {
    if (this.ended) return;
    this.start(200);
    try {
      this.controller.close();
    } catch {
      // already canceled by the client
    }
    this.finish();
  }

  private start(status: number, headers: Record<string, string> = STREAM_HEADERS): void {
    if (this.started) return;
    this.started = true;
    this.resolveResponse(new Response(this.body, { status, headers }));
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.started) {
      // Nobody will read it: settle the pending response so nothing waits forever.
      this.started = true;
      this.resolveResponse(new Response(null, { status: 499 }));
    }
    for (const fn of this.onEnd.splice(0)) fn();
  }
}

/** Open streams grouped by key (an invoice or payment hash, or "*" for all invoices). */
export class Subscribers<Meta> {
  private readonly byKey = new Map<string, Map<NdjsonStream, Meta>>();

  add(key: string, stream: NdjsonStream, meta: Meta): void {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Map()));
    set.set(stream, meta);
    stream.whenEnded(() => {
      set.delete(stream);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    });
  }

  /** A snapshot, so callbacks may close streams while iterating. */
  of(key: string): [NdjsonStream, Meta][] {
    return [...(this.byKey.get(key) ?? new Map<NdjsonStream, Meta>()).entries()];
  }

  count(key?: string): number {
    if (key !== undefined) return this.byKey.get(key)?.size ?? 0;
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.byKey.entries()].map(([k, set]) => [k, set.size]));
  }

  closeAll(): void {
    for (const set of [...this.byKey.values()]) for (const stream of [...set.keys()]) stream.close();
  }
}
