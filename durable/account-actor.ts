import { Actor } from "./kit/actor";
import { AuditTrail } from "./kit/audit-trail";
import type { Part } from "./kit/part";
import { walletActor, type Env } from "./env";
import { SOCKET_CLOSE } from "./kit/sockets";
import { Sessions, apiKeyCredential, type SessionsState } from "./account/sessions";
import { Totp } from "./account/totp";
import { LoginLockout, type LockedOut } from "./account/login-lockout";
import type { AccountIdentity, AccountPort, AccountSettings, ApiKeyInfo, IdempotencyTag, TotpEnrolment, TotpPurpose } from "./ports";
import type { ApiKeyCreated } from "../src/schemas";
import type { AuditEntry } from "../src/audit";
import { isRefusal, refuse, type Refusal } from "../src/errors";
import type { Msat } from "../src/money";
import type { ApiAnswer } from "../src/wallet-types";
import { sha256Hex } from "../src/hash";
import { newId } from "../src/ids";
import { hashPassword, needsRehash, verifyPassword } from "../src/auth/password";
import { REFRESH_TOKEN_TTL_S, newAccountSecret, type Scope } from "../src/auth/tokens";
import { lockoutRule } from "../src/rate-limits";

/** The schema before the actor kit; its one step is the credentials part's first. */
const CREDENTIALS_SCHEMA = [
  `CREATE TABLE account (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     account_id TEXT NOT NULL, wallet_id TEXT NOT NULL, username TEXT NOT NULL,
     password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE refresh_tokens (
     token_hash TEXT PRIMARY KEY, family_id TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at TEXT);
   CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
   CREATE TABLE revoked_families (family_id TEXT PRIMARY KEY, revoked_at TEXT NOT NULL);
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, scopes TEXT NOT NULL,
     created_at TEXT NOT NULL, revoked_at TEXT);`,
];

/**
 * One per account: its credentials and its second factor. Passwords are checked here (so a login
 * costs only its own account's time); refresh tokens and API keys are stored as SHA-256 hashes,
 * never in clear; the TOTP secret is sealed (decision 0011).
 */
export class AccountActor extends Actor<Env> implements AccountPort {
  /** Password hash, refresh-token families and API keys: one part, they are one concern. */
  private readonly credentials: Part = { name: "credentials", migrations: CREDENTIALS_SCHEMA };
  /** The account chain of the audit trail: logins, sessions, API keys, TOTP (docs/decisions/0016). */
  readonly audit = new AuditTrail(this.kit, "account");
  /** TOTP: the sealed secret, its state, the last step used, the send threshold. */
  readonly totp = new Totp(
    this.kit,
    {
      encryptionKey: () => this.env.TOTP_ENCRYPTION_KEY,
      accountId: () => this.created().account_id,
    },
    this.audit,
  );
  /** Logging out: one refresh-token family, or every one and the access tokens issued so far (the epoch). */
  readonly sessions = new Sessions(this.kit, this.audit);
  /** Failed logins in a row lock password login for a while (docs/decisions/0015). */
  readonly loginLockout = new LoginLockout(this.kit, () => lockoutRule(this.env.LOGIN_LOCKOUT_AFTER, this.env.LOGIN_LOCKOUT_S));
  protected readonly parts = [this.credentials, this.totp, this.sessions, this.audit, this.loginLockout];
  protected override readonly legacySchema = { steps: CREDENTIALS_SCHEMA, adopts: { credentials: 1 } };

  /** Whose account this is (its wallet and username), or null if it was never created. */
  async describe(): Promise<AccountIdentity | null> {
    return this.identity();
  }

  /** Creates the account (idempotent for the same id) and returns its first refresh token. */
  async create(identity: AccountIdentity, password_hash: string): Promise<{ refresh_token: string }> {
    if (!this.identity()) {
      this.sql`INSERT INTO account (id, account_id, wallet_id, username, password_hash, created_at)
               VALUES (1, ${identity.account_id}, ${identity.wallet_id}, ${identity.username}, ${password_hash}, ${new Date().toISOString()})`;
    }
    return { refresh_token: await this.issueRefreshToken(newId("fam")) };
  }

  /**
   * A password login, through the lockout: while the account is locked (too many failed logins in a
   * row) it is refused (`rate_limited`, with `retry_after_s`) before any password check.
   */
  async login(password: string, totp_code: string | null = null, ip: string | null = null): Promise<{ ok: true; identity: AccountIdentity; refresh_token: string; sessions: SessionsState } | Refusal | LockedOut> {
    return this.loginLockout.guard(() => this.checkLogin(password, totp_code, ip));
  }

  /**
   * Checks the password, then (only after it: TOTP's state is not told to whoever lacks the
   * password) the TOTP code when TOTP is on; on success starts a new refresh-token family. Every
   * outcome is audited with the client's IP (`CF-Connecting-IP`), a success in the unit of work
   * that stores the new refresh token.
   */
  private async checkLogin(password: string, totp_code: string | null, ip: string | null): Promise<{ ok: true; identity: AccountIdentity; refresh_token: string; sessions: SessionsState } | Refusal> {
    const row = this.sql<AccountIdentity & { password_hash: string }>`SELECT account_id, wallet_id, username, password_hash FROM account`[0];
    if (!row) return refuse("unauthorized", "wrong username or password");
    if (!(await verifyPassword(password, row.password_hash))) {
      this.audit.append("login.failed", { ip, reason: "password" });
      return refuse("unauthorized", "wrong username or password");
    }
    const second = await this.totp.check(totp_code ?? null, "login");
    if (!second.ok) {
      this.audit.append("login.failed", { ip, reason: second.code });
      return second;
    }
    // A hash made with older parameters is upgraded on the first full login (decision 0013).
    const rehashed = needsRehash(row.password_hash) ? await hashPassword(password) : null;
    const refresh_token = newAccountSecret("rt", row.account_id);
    const token_hash = await sha256Hex(refresh_token);
    this.transaction(() => {
      if (rehashed) this.sql`UPDATE account SET password_hash = ${rehashed} WHERE id = 1`;
      this.storeRefreshToken(token_hash, newId("fam"));
      this.audit.append("login.succeeded", { ip, totp: second.checked });
    });
    return { ok: true, identity: this.identity()!, refresh_token, sessions: this.sessions.state() };
  }

  /**
   * Rotates a refresh token: the presented one is spent and a new one of the same family
   * returned. Presenting a spent token means it leaked: the whole family is revoked. The successor
   * is made first, so that checking the family, spending the token and storing the successor are one
   * synchronous stretch: a logout (or logout-all) cannot fall between the check and the new token.
   */
  async rotateRefreshToken(token: string, ip: string | null = null): Promise<{ ok: true; identity: AccountIdentity; refresh_token: string; sessions: SessionsState } | Refusal> {
    const identity = this.identity();
    const hash = await sha256Hex(token);
    const next = identity ? newAccountSecret("rt", identity.account_id) : "";
    const nextHash = await sha256Hex(next);
    const row = this.sql<{ family_id: string; expires_at: number; used_at: string | null }>`
      SELECT family_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = ${hash}`[0];
    const invalid = refuse("unauthorized", "invalid refresh token");
    if (!identity || !row) return invalid;
    if (this.sql`SELECT 1 FROM revoked_families WHERE family_id = ${row.family_id}`.length) return invalid;
    if (row.used_at) {
      this.transaction(() => {
        this.sql`INSERT OR IGNORE INTO revoked_families (family_id, revoked_at) VALUES (${row.family_id}, ${new Date().toISOString()})`;
        this.audit.append("refresh_token.reused", { ip, family_id: row.family_id });
      });
      return refuse("unauthorized", "refresh token reused: its session is revoked");
    }
    if (row.expires_at < Date.now()) return invalid;
    this.sql`UPDATE refresh_tokens SET used_at = ${new Date().toISOString()} WHERE token_hash = ${hash}`;
    this.storeRefreshToken(nextHash, row.family_id);
    return { ok: true, identity, refresh_token: next, sessions: this.sessions.state() };
  }

  /** Revokes the refresh token's family (the session it belongs to); false if the account has no such token. */
  async logout(refresh_token: string): Promise<boolean> {
    return this.sessions.logout(await sha256Hex(refresh_token), new Date().toISOString());
  }

  /**
   * Logs out everywhere: every refresh-token family is revoked, access tokens issued so far are
   * refused from the epoch on (the worker learns it within SESSION_EPOCH_TTL_MS), and the event
   * sockets they opened are closed. A failed closing throws: the caller retries (the epoch only grows).
   */
  async logoutAll(): Promise<SessionsState> {
    const identity = this.created();
    const sessions = this.sessions.logoutAll(Date.now());
    await walletActor(this.env, identity.wallet_id).closeSockets({ before_epoch: sessions.revoked_before_ms }, SOCKET_CLOSE.revoked, "logged out everywhere");
    return sessions;
  }

  async sessionsState(): Promise<SessionsState> {
    return this.sessions.state();
  }

  /** Creates an API key (LNDHub credentials are one: their login is its id); the key itself is returned only here. Audited by id, name and scopes. */
  async createApiKey(name: string, scopes: Scope[]): Promise<ApiKeyCreated> {
    const identity = this.identity();
    if (!identity) throw new Error("account not created");
    const key = newAccountSecret("fhk", identity.account_id);
    const key_hash = await sha256Hex(key);
    const id = newId("key");
    const created_at = new Date().toISOString();
    const unique = [...new Set(scopes)];
    this.transaction(() => {
      this.sql`INSERT INTO api_keys (id, key_hash, name, scopes, created_at) VALUES (${id}, ${key_hash}, ${name}, ${unique.join(",")}, ${created_at})`;
      this.audit.append("api_key.created", { id, name, scopes: unique });
    });
    return { id, key, scopes: unique, name, created_at };
  }

  /** The account's API keys (never the keys themselves). */
  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return this.sql<{ id: string; name: string; scopes: string; created_at: string; revoked_at: string | null }>`
      SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at`.map((r) => ({ ...r, scopes: r.scopes.split(",") as Scope[] }));
  }

  /**
   * Revokes a key at once and closes the event sockets it opened; false if the account has no such
   * key. A repeat closes them again (a failed closing throws after the revocation: the caller retries).
   */
  async revokeApiKey(id: string): Promise<boolean> {
    const found = this.sql`SELECT 1 FROM api_keys WHERE id = ${id}`.length > 0;
    if (!found) return false;
    this.transaction(() => {
      if (this.kit.sqlWrite`UPDATE api_keys SET revoked_at = ${new Date().toISOString()} WHERE id = ${id} AND revoked_at IS NULL`) this.audit.append("api_key.revoked", { id });
    });
    await walletActor(this.env, this.created().wallet_id).closeSockets({ credential: apiKeyCredential(id) }, SOCKET_CLOSE.revoked, "API key deleted");
    return true;
  }

  /** The key's id, and the account and scopes it grants, or null if unknown or revoked. */
  async verifyApiKey(key: string): Promise<{ id: string; identity: AccountIdentity; scopes: Scope[] } | null> {
    const identity = this.identity();
    const row = this.sql<{ id: string; scopes: string }>`SELECT id, scopes FROM api_keys WHERE key_hash = ${await sha256Hex(key)} AND revoked_at IS NULL`[0];
    return identity && row ? { id: row.id, identity, scopes: row.scopes.split(",") as Scope[] } : null;
  }

  /** A new TOTP secret, shown only in this answer (a pending one is replaced); `conflict` while TOTP is on. */
  async enrolTotp(): Promise<ApiAnswer<TotpEnrolment> | Refusal> {
    const enrolment = await this.totp.enrol(this.created().username);
    return isRefusal(enrolment) ? enrolment : { ok: true, status: 201, body: enrolment };
  }

  /** The first code of the pending secret turns TOTP on. */
  async confirmTotp(code: string): Promise<ApiAnswer<AccountSettings> | Refusal> {
    return answered(await this.totp.confirm(code));
  }

  /** Turns TOTP off (or drops a pending enrolment) with a code of the current secret. */
  async disableTotp(code: string | null): Promise<ApiAnswer<AccountSettings> | Refusal> {
    return answered(await this.totp.disable(code));
  }

  /** Whether a send (of `amount_msat`, null if not known beforehand) or a sensitive action may go ahead. */
  async checkTotp(code: string | null, purpose: Exclude<TotpPurpose, "login">, amount_msat: Msat | null = null, request: IdempotencyTag | null = null): Promise<{ ok: true; checked: boolean; settings: AccountSettings } | Refusal> {
    return this.totp.check(code, purpose, amount_msat, request);
  }

  async settings(): Promise<AccountSettings> {
    return this.totp.settings();
  }

  /** Changes the send threshold; with TOTP on, only with a code. */
  async setTotpThreshold(totp_threshold_sat: number, code: string | null): Promise<ApiAnswer<AccountSettings> | Refusal> {
    return answered(await this.totp.setThreshold(totp_threshold_sat, code));
  }

  /** The account chain of its audit trail: the newest entries below seq `before` (null: from the newest), newest first. */
  async auditEntries(before: number | null, limit: number): Promise<AuditEntry[]> {
    return this.audit.entries(before, limit);
  }

  private async issueRefreshToken(family_id: string): Promise<string> {
    const token = newAccountSecret("rt", this.identity()!.account_id);
    this.storeRefreshToken(await sha256Hex(token), family_id);
    return token;
  }

  private storeRefreshToken(token_hash: string, family_id: string): void {
    this.sql`INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (${token_hash}, ${family_id}, ${Date.now() + REFRESH_TOKEN_TTL_S * 1000})`;
  }

  private identity(): AccountIdentity | null {
    return this.sql<AccountIdentity>`SELECT account_id, wallet_id, username FROM account`[0] ?? null;
  }

  private created(): AccountIdentity {
    const identity = this.identity();
    if (!identity) throw new Error("account not created");
    return identity;
  }
}

const answered = (result: AccountSettings | Refusal): ApiAnswer<AccountSettings> | Refusal => (isRefusal(result) ? result : { ok: true, status: 200, body: result });
