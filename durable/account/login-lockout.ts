import { isRefusal, refuse, type ErrorCode, type Refusal } from "../../src/errors";
import type { LockoutRule } from "../../src/rate-limits";
import type { ActorKit, Part } from "../kit/part";

/** A login the lockout refused before any password check: `rate_limited`, and when to try again. */
export type LockedOut = Refusal & { code: "rate_limited"; retry_after_s: number };

export const isLockedOut = (x: unknown): x is LockedOut => isRefusal(x) && x.code === "rate_limited" && typeof (x as LockedOut).retry_after_s === "number";

/** The outcomes of a login attempt that are a failure in a row: a wrong password, a wrong TOTP code (a missing code is neither). */
const FAILED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["unauthorized", "invalid_totp"]);

interface LockoutState {
  /** Failed logins since the last success. */
  failures: number;
  /** Password login is refused until then (epoch ms; 0: not locked). */
  locked_until_ms: number;
}

/**
 * The exact per-account rule of the rate limits (docs/decisions/0015): after `after` failed logins
 * in a row, password login is refused for `lockMs`; each failure after a lock has ended locks it
 * again; a success resets the count. Exact under concurrency: attempts whose password is being
 * checked count with the failures (the actor interleaves requests while a hash is computed), so
 * however many arrive at once, no more than `after` password checks run before the lock.
 */
export class LoginLockout implements Part {
  readonly name = "login-lockout";
  readonly migrations = [`CREATE TABLE login_lockout (id INTEGER PRIMARY KEY CHECK (id = 1), failures INTEGER NOT NULL, locked_until_ms INTEGER NOT NULL);`];
  /** The stored state, once read. */
  private state: LockoutState | null = null;
  /** Attempts past the gate whose outcome is not known yet (they die with the instance, so memory is enough). */
  private checking = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly rule: () => LockoutRule,
  ) {}

  /**
   * Runs a login `attempt` (the password check, then TOTP) if the lockout lets it through, and
   * counts its outcome; refused attempts change nothing.
   */
  async guard<T>(attempt: () => Promise<T | Refusal>): Promise<T | Refusal | LockedOut> {
    const { after, lockMs } = this.rule();
    const now = Date.now();
    const { failures, locked_until_ms } = this.read();
    if (now < locked_until_ms) return lockedOut(locked_until_ms - now, `too many failed logins in a row: password login to this account is locked for ${Math.ceil((locked_until_ms - now) / 1000)} s`);
    // Once a lock has ended, one attempt at a time: its failure locks again.
    if (this.checking >= Math.max(1, after - failures)) return lockedOut(1000, "too many logins to this account at once: try again in a second");
    this.checking++;
    try {
      const result = await attempt();
      if (!isRefusal(result)) this.succeeded();
      else if (FAILED.has(result.code)) this.failed(after, lockMs);
      return result;
    } finally {
      this.checking--;
    }
  }

  private read(): LockoutState {
    this.state ??= this.kit.sql<LockoutState>`SELECT failures, locked_until_ms FROM login_lockout`[0] ?? { failures: 0, locked_until_ms: 0 };
    return this.state;
  }

  private failed(after: number, lockMs: number): void {
    const failures = this.read().failures + 1;
    this.write({ failures, locked_until_ms: failures >= after ? Date.now() + lockMs : 0 });
  }

  private succeeded(): void {
    const { failures, locked_until_ms } = this.read();
    if (failures || locked_until_ms) this.write({ failures: 0, locked_until_ms: 0 });
  }

  private write(state: LockoutState): void {
    this.kit.sql`INSERT OR REPLACE INTO login_lockout (id, failures, locked_until_ms) VALUES (1, ${state.failures}, ${state.locked_until_ms})`;
    this.state = state;
  }
}

const lockedOut = (retryAfterMs: number, message: string): LockedOut => ({ ...refuse("rate_limited", message), code: "rate_limited", retry_after_s: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
