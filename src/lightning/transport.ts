// HTTP plumbing for LND's REST gateway: URL and header construction, time
// limits, and mapping of every failure onto LndError / LndUnreachableError.
// Knows nothing about individual endpoints.

import { LndError, LndUnreachableError, asGrpcStatus, errorFromHttpBody } from "./errors";
import { parseNdjson } from "./ndjson";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface LndTransportConfig {
  /** e.g. "https://lnd.example.com" (a path prefix is kept). */
  baseUrl: string;
  fetch: FetchLike;
  /** hex-encoded macaroon, sent as Grpc-Metadata-macaroon. */
  macaroonHex?: string;
  /** Cloudflare Access service token in front of LND. */
  accessClientId?: string;
  accessClientSecret?: string;
  /** limit for unary calls and for the first message of status streams; default 30 s. */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
  /**
   * Limit for the connection and the first message (LND sends response
   * headers only together with the first message). Undefined = no limit.
   */
  firstMessageTimeoutMs?: number;
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestParts {
  query?: Record<string, QueryValue>;
  body?: unknown;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class LndTransport {
  readonly timeoutMs: number;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly fetchFn: FetchLike;

  constructor(config: LndTransportConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const fetchImpl = config.fetch;
    // Called as a plain function: Workers' fetch rejects a foreign `this`.
    this.fetchFn = (input, init) => fetchImpl(input, init);
    this.headers = { Accept: "application/json" };
    if (config.macaroonHex) this.headers["Grpc-Metadata-macaroon"] = config.macaroonHex;
    if (config.accessClientId) this.headers["CF-Access-Client-Id"] = config.accessClientId;
    if (config.accessClientSecret) this.headers["CF-Access-Client-Secret"] = config.accessClientSecret;
  }

  /** One request, one JSON response. */
  async call(method: "GET" | "POST", path: string, parts: RequestParts = {}, options: CallOptions = {}): Promise<unknown> {
    const scope = new CallScope(options.signal);
    scope.startTimer(options.timeoutMs ?? this.timeoutMs, `${method} ${path}`);
    try {
      const response = await this.send(scope, method, path, parts);
      const text = await scope.race(response.text()).catch((e: unknown) => {
        throw scope.failure(e, `${method} ${path}: reading body`);
      });
      if (!response.ok) throw errorFromHttpBody(response.status, text);
      try {
        return JSON.parse(text);
      } catch (cause) {
        throw new LndUnreachableError("bad_response", `${method} ${path}: body is not JSON`, {
          httpStatus: response.status,
          cause,
        });
      }
    } finally {
      scope.dispose();
    }
  }

  /**
   * A server stream: yields the `result` of each message; an `error` message
   * ends the stream with LndError. Leaving the loop early closes the connection.
   */
  async *stream(
    method: "GET" | "POST",
    path: string,
    parts: RequestParts = {},
    options: StreamOptions = {},
  ): AsyncGenerator<unknown, void, undefined> {
    const scope = new CallScope(options.signal);
    if (options.firstMessageTimeoutMs !== undefined) {
      scope.startTimer(options.firstMessageTimeoutMs, `${method} ${path}: first message`);
    }
    try {
      const response = await this.send(scope, method, path, parts);
      if (!response.ok) {
        // A stream that fails before its first message gets a mapped HTTP status.
        const text = await scope.race(response.text()).catch((e: unknown) => {
          throw scope.failure(e, `${method} ${path}: reading body`);
        });
        throw errorFromHttpBody(response.status, text);
      }
      if (!response.body) throw new LndUnreachableError("bad_response", `${method} ${path}: no body`);
      const reader = response.body.getReader();
      try {
        for await (const message of parseNdjson(readChunks(reader, scope, `${method} ${path}`))) {
          scope.stopTimer();
          yield streamResult(message, response.status);
        }
      } finally {
        reader.cancel().catch(() => {});
      }
    } finally {
      scope.dispose();
    }
  }

  private async send(scope: CallScope, method: string, path: string, parts: RequestParts): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers };
    let body: string | undefined;
    if (parts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(parts.body);
    }
    const init: RequestInit = { method, headers, body, signal: scope.signal, redirect: "manual" };
    try {
      return await scope.race(this.fetchFn(this.url(path, parts.query), init));
    } catch (e) {
      throw scope.failure(e, `${method} ${path}`);
    }
  }

  private url(path: string, query: Record<string, QueryValue> | undefined): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.append(key, String(value));
    }
    const qs = params.toString();
    return this.baseUrl + path + (qs ? `?${qs}` : "");
  }
}

function streamResult(message: unknown, httpStatus: number): unknown {
  const m = typeof message === "object" && message !== null ? (message as Record<string, unknown>) : {};
  const status = asGrpcStatus(m.error);
  if (status) throw new LndError(status.code, status.message, httpStatus, status.details);
  if (!("result" in m)) throw new LndUnreachableError("bad_response", "stream message has neither result nor error");
  return m.result;
}

async function* readChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scope: CallScope,
  what: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await scope.race(reader.read());
    } catch (e) {
      throw scope.failure(e, `${what}: reading stream`);
    }
    if (read.done) return;
    yield read.value;
  }
}

/**
 * One call's cancellation: the caller's signal, an optional timer, and a
 * race helper so a fetch implementation that ignores AbortSignal still
 * cannot hang the caller.
 */
class CallScope {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private unlink: (() => void) | undefined;

  constructor(callerSignal: AbortSignal | undefined) {
    if (!callerSignal) return;
    if (callerSignal.aborted) {
      this.controller.abort(callerSignal.reason);
      return;
    }
    const onAbort = () => this.controller.abort(callerSignal.reason);
    callerSignal.addEventListener("abort", onAbort, { once: true });
    this.unlink = () => callerSignal.removeEventListener("abort", onAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  startTimer(ms: number, what: string): void {
    this.timer = setTimeout(() => {
      this.controller.abort(new LndUnreachableError("timeout", `${what}: no answer within ${ms} ms`));
    }, ms);
  }

  stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  /** The error to surface for `error` caught while talking to LND. */
  failure(error: unknown, what: string): unknown {
    if (this.controller.signal.aborted) return this.controller.signal.reason;
    if (error instanceof LndError || error instanceof LndUnreachableError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new LndUnreachableError("network", `${what}: ${detail}`, { cause: error });
  }

  dispose(): void {
    this.stopTimer();
    this.unlink?.();
    // Releases the connection if the body was not fully read (early exit).
    if (!this.controller.signal.aborted) this.controller.abort(new DOMException("call finished", "AbortError"));
  }
}
