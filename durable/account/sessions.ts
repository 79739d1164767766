import type { AuditTrail } from "../kit/audit-trail";
import type { ActorKit, Part } from "../kit/part";

/** How an event socket names the credential that opened it (durable/kit/sockets.ts): an API key by its id. */
export const apiKeyCredential = (id: string) => `key:${id}`;
/** … and an access token by its `jti`. */
export const accessTokenCredential = (jti: string) => `jwt:${jti}`;

/** Where the account's sessions stand: the epoch, and how many logout-alls moved it. */
export interface SessionsState {
  /** Access tokens issued before this (ms) are refused; 0 when the account never logged out everywhere. */
  revoked_before_ms: number;
  /** Logout-alls so far: tokens decided before one and signed after it are told apart by this, not by their `iat`. */
  logouts: number;
}

/**
 * The ends of the account's login sessions (docs/decisions/0014): logging out one session revokes
 * its refresh-token family; logging out everywhere revokes every family and moves the account's
 * session epoch, before which no access token is accepted. The families are the credentials
 * part's tables (`refresh_tokens`, `revoked_families`); the epoch is this part's.
 */
export class Sessions implements Part {
  readonly name = "sessions";
  readonly migrations = [`CREATE TABLE sessions (id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before_ms INTEGER NOT NULL, logouts INTEGER NOT NULL);`];

  constructor(
    private readonly kit: ActorKit,
    /** Logging out (one session, or everywhere) is audited in its unit of work. */
    private readonly audit: AuditTrail,
  ) {}

  state(): SessionsState {
    return this.kit.sql<SessionsState>`SELECT revoked_before_ms, logouts FROM sessions`[0] ?? { revoked_before_ms: 0, logouts: 0 };
  }

  /** Revokes the family of the refresh token whose hash is given; false if there is no such token. */
  logout(token_hash: string, nowIso: string): boolean {
    const row = this.kit.sql<{ family_id: string }>`SELECT family_id FROM refresh_tokens WHERE token_hash = ${token_hash}`[0];
    if (!row) return false;
    this.kit.unitOfWork.run(() => {
      const revoked = this.kit.sqlWrite`INSERT OR IGNORE INTO revoked_families (family_id, revoked_at) VALUES (${row.family_id}, ${nowIso})`;
      if (revoked) this.audit.append("session.logged_out", { family_id: row.family_id });
    });
    return true;
  }

  /**
   * Revokes every family and moves the epoch past every access token issued so far: a token's `iat`
   * is in whole seconds, so the epoch is the next whole second (a token signed in the current one,
   * before or after this call, is refused; a login waits for the epoch before signing). The epoch
   * never moves back; `logouts` always grows.
   */
  logoutAll(nowMs: number): SessionsState {
    const before = this.state();
    const after = { revoked_before_ms: Math.max(before.revoked_before_ms, (Math.floor(nowMs / 1000) + 1) * 1000), logouts: before.logouts + 1 };
    this.kit.unitOfWork.run(() => {
      this.kit.sql`INSERT OR IGNORE INTO revoked_families (family_id, revoked_at)
                   SELECT DISTINCT family_id, ${new Date(nowMs).toISOString()} FROM refresh_tokens`;
      this.kit.sql`INSERT OR REPLACE INTO sessions (id, revoked_before_ms, logouts) VALUES (1, ${after.revoked_before_ms}, ${after.logouts})`;
      this.audit.append("session.logged_out_everywhere", { revoked_before: new Date(after.revoked_before_ms).toISOString() });
    });
    return after;
  }
}
