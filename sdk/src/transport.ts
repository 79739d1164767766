/**
 * How every request of the SDK travels: the credential put on it (refreshed before it expires, and
 * once more when the hub refuses it), and retries where a retry cannot do anything twice.
 */

/** Tokens of a login session (`POST /v1/accounts`, `/v1/auth/login`, `/v1/auth/refresh`). */
export interface Session {
  access_token: string;
  refresh_token: string;
}

/** The hub refused the session's refresh token (spent, revoked, expired): log in again. */
export class SessionEnded extends Error {
  constructor(message = "the session has ended: log in again") {
    super(message);
    this.name = "SessionEnded";
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first included (default 4). */
  attempts: number;
  /** The first wait, doubled at each attempt, with jitter (default 200 ms). */
  baseDelayMs: number;
  /** The longest wait between attempts, and the longest `Retry-After` waited for (default 10 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };

/** Refresh an access token this long before its `exp` (clocks drift; a request takes time). */
const REFRESH_MARGIN_S = 30;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: attempt 1 waits up to base, then 2×, 4×… up to max. */
export const backoffMs = (attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">) =>
  Math.round(Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));

/** The `exp` (seconds) of a JWT, or null for anything else (an API key). Read only: the hub verifies. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.exp === "number" ? json.exp : null;
  } catch {
    return null;
  }
}

/**
 * The account's credential: an API key (used as it is), or a login session whose access token is
 * refreshed with its refresh token. The hub rotates refresh tokens and treats the reuse of a spent one
 * as theft (it revokes the whole session: decision 0003), so one refresh runs at a time: every caller
 * that finds the access token stale waits for the same refresh, and a caller whose token was already
 * replaced by someone else's refresh uses the new one without refreshing again.
 */
export class Credentials {
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: typeof fetch,
    private session: Session | null,
    private readonly apiKey: string | null,
    private readonly onSession: (session: Session | null) => void,
  ) {}

  get current(): Session | null {
    return this.session;
  }

  /** Starts a session (after a sign-up or a login). */
  use(session: Session | null): void {
    this.session = session;
    this.onSession(session);
  }

  /** Whether the credential is a login session (which can be refreshed). */
  get refreshable(): boolean {
    return !this.apiKey && !!this.session;
  }

  /** The bearer to send now: the API key, or an access token valid for REFRESH_MARGIN_S more at least. */
  async bearer(): Promise<string | null> {
    if (this.apiKey) return this.apiKey;
    if (!this.session) return null;
    const exp = tokenExpiry(this.session.access_token);
    if (exp !== null && exp - REFRESH_MARGIN_S <= Date.now() / 1000) await this.refresh(this.session.access_token);
    return this.session?.access_token ?? null;
  }

  /**
   * Replaces `stale` (an access token the hub refused, or about to expire) by a new one. Concurrent
   * callers share one refresh; a caller whose token has already been replaced returns at once.
   */
  async refresh(stale: string): Promise<void> {
    if (this.apiKey || !this.session) throw new SessionEnded("no session to refresh");
    if (this.session.access_token !== stale) return;
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
  }

  /**
   * One `POST /v1/auth/refresh`, not repeated here. If it fails on the way, the call that needed it
   * fails or (when safe to repeat) tries again, refreshing again with the same token: had the lost
   * attempt reached the hub, the token is spent and the hub ends the session (the theft rule), which
   * is what giving up would have done; had it not, the session goes on.
   */
  private async rotate(): Promise<void> {
    const session = this.session!;
    const res = await this.fetcher(
      new Request(`${this.baseUrl}/v1/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh_token }),
      }),
    );
    if (res.status === 401 || res.status === 400) {
      await res.body?.cancel();
      // Only if nobody started another session meanwhile.
      if (this.session === session) this.use(null);
      throw new SessionEnded();
    }
    if (!res.ok) throw new Error(`refreshing the session: the hub answered ${res.status}: ${await res.text()}`);
    const tokens = (await res.json()) as Session;
    if (this.session === session) this.use({ access_token: tokens.access_token, refresh_token: tokens.refresh_token });
  }
}

/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or null. */
function retryAfterMs(res: Response): number | null {
  const header = res.headers.get("retry-after");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/**
 * A `fetch` that sends `request` with the credential and retries it where that is safe:
 * - a GET, or a request carrying an `Idempotency-Key` (the hub answers a repeat with the stored
 *   answer: nothing moves twice), is retried after a network failure or a 5xx, with backoff;
 * - a 429 is retried after its `Retry-After` when that is short (the hub changed nothing);
 * - a 401 to a session's access token refreshes it (once) and sends the request again.
 * The request's body is read once and sent again as it was, so every attempt is the same request.
 */
export function authorizedFetch(credentials: Credentials, fetcher: typeof fetch, policy: RetryPolicy): (input: Request) => Promise<Response> {
  return async (request: Request) => {
    const body = request.body ? await request.arrayBuffer() : undefined;
    const safeToRepeat = request.method === "GET" || request.method === "HEAD" || request.headers.has("idempotency-key");
    const send = async (bearer: string | null) => {
      const headers = new Headers(request.headers);
      if (bearer && !headers.has("authorization")) headers.set("authorization", `Bearer ${bearer}`);
      return fetcher(new Request(request.url, { method: request.method, headers, body, signal: request.signal, redirect: request.redirect }));
    };
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= policy.attempts;
      let res: Response;
      try {
        const bearer = await credentials.bearer();
        res = await send(bearer);
        if (res.status === 401 && bearer && credentials.refreshable && !request.headers.has("authorization")) {
          await res.body?.cancel();
          await credentials.refresh(bearer);
          res = await send(await credentials.bearer());
        }
      } catch (err) {
        if (err instanceof SessionEnded || !safeToRepeat || last || request.signal.aborted) throw err;
        await sleep(backoffMs(attempt, policy));
        continue;
      }
      if (!last && res.status === 429) {
        const wait = retryAfterMs(res) ?? backoffMs(attempt, policy);
        if (wait <= policy.maxDelayMs) {
          await res.body?.cancel();
          await sleep(wait);
          continue;
        }
      }
      if (!last && safeToRepeat && res.status >= 500 && res.status !== 501) {
        await res.body?.cancel();
        await sleep(backoffMs(attempt, policy));
        continue;
      }
      return res;
    }
  };
}
