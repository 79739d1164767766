import { refuse, type Refusal } from "../../src/errors";
import { DEFAULT_TOTP_THRESHOLD_SAT } from "../../src/limits";
import { MSAT_PER_SAT, type Msat } from "../../src/money";
import { open, seal, secretBoxKey } from "../../src/secret-box";
import { newTotpSecret, otpauthUrl, sendNeedsTotpCode, verifyTotp } from "../../src/totp";
import type { AuditTrail } from "../kit/audit-trail";
import type { ActorKit, Part } from "../kit/part";
import type { AccountSettings, IdempotencyTag, TotpEnrolment, TotpPurpose } from "../ports";

type TotpState = AccountSettings["totp"];

interface TotpRow {
  state: TotpState;
  secret_ciphertext: ArrayBuffer | null;
  secret_iv: ArrayBuffer | null;
  last_step: number;
  last_request: string | null;
  threshold_sat: number | null;
}

export interface TotpConfig {
  /** The Worker secret TOTP_ENCRYPTION_KEY (32 bytes, base64). */
  encryptionKey(): string | undefined;
  /** Whose secret it is: sealed secrets are bound to it (they do not open for another account). */
  accountId(): string;
}

/** The header a code travels in (named in refusals so a client knows what to send). */
const CODE_HEADER = "X-TOTP-Code";

/**
 * The account's second factor (docs/decisions/0011): a TOTP secret, sealed with AES-GCM under the
 * Worker's TOTP_ENCRYPTION_KEY and never shown after enrolment; its state (off, pending until the
 * first code confirms it, enabled); the last time step accepted (a code is accepted once: any step
 * at or before it is refused); and the threshold above which a send needs a code.
 */
export class Totp implements Part {
  readonly name = "totp";
  readonly migrations = [
    `CREATE TABLE totp (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       state TEXT NOT NULL CHECK (state IN ('off', 'pending', 'enabled')),
       secret_ciphertext BLOB, secret_iv BLOB,
       last_step INTEGER NOT NULL,
       last_request TEXT,
       threshold_sat INTEGER,
       updated_at TEXT,
       CHECK ((state = 'off') = (secret_ciphertext IS NULL)));
     INSERT INTO totp (id, state, last_step) VALUES (1, 'off', -1);`,
  ];

  private key: Promise<CryptoKey> | null = null;

  constructor(
    private readonly kit: ActorKit,
    private readonly config: TotpConfig,
    /** Every change of TOTP's state or threshold is audited in its unit of work (never the secret or a code). */
    private readonly audit: AuditTrail,
  ) {}

  settings(): AccountSettings {
    return settingsOf(this.row());
  }

  /** A new secret (replacing a pending one), shown only in this answer; refused while TOTP is on. */
  async enrol(accountName: string): Promise<TotpEnrolment | Refusal> {
    if (this.row().state === "enabled") return refuse("conflict", "TOTP is already on: turn it off (DELETE /v1/account/totp) before enrolling again");
    const secret = newTotpSecret();
    const sealed = await seal(await this.boxKey(), secret.bytes, this.context());
    // Checked again after the await: an enrolment confirmed meanwhile is not replaced.
    const written = this.kit.unitOfWork.run(() => {
      const n = this.kit.sqlWrite`
        UPDATE totp SET state = 'pending', secret_ciphertext = ${bytes(sealed.ciphertext)}, secret_iv = ${bytes(sealed.iv)},
                        last_step = -1, last_request = NULL, updated_at = ${new Date().toISOString()}
        WHERE state <> 'enabled'`;
      if (n) this.audit.append("totp.enrolment_started", {});
      return n;
    });
    if (!written) return refuse("conflict", "TOTP is already on");
    return { secret: secret.base32, otpauth_url: otpauthUrl(secret.base32, accountName) };
  }

  /** The first code of a pending enrolment turns TOTP on. */
  async confirm(code: string): Promise<AccountSettings | Refusal> {
    const row = this.row();
    if (row.state !== "pending") return refuse("conflict", row.state === "enabled" ? "TOTP is already on" : "no TOTP enrolment is pending: POST /v1/account/totp first");
    const used = await this.consume(row, code, null, "pending");
    if (used) return used;
    this.kit.unitOfWork.run(() => {
      if (this.kit.sqlWrite`UPDATE totp SET state = 'enabled', updated_at = ${new Date().toISOString()} WHERE state = 'pending'`) this.audit.append("totp.enabled", {});
    });
    return this.settings();
  }

  /** Turns TOTP off (or drops a pending enrolment); needs a code of the current secret. */
  async disable(code: string | null): Promise<AccountSettings | Refusal> {
    const row = this.row();
    if (row.state === "off") return refuse("conflict", "TOTP is off");
    if (code === null) return refuse("totp_required", "give the code from your authenticator app");
    const used = await this.consume(row, code, null, row.state);
    if (used) return used;
    this.kit.unitOfWork.run(() => {
      this.kit.sqlWrite`UPDATE totp SET state = 'off', secret_ciphertext = NULL, secret_iv = NULL, updated_at = ${new Date().toISOString()}`;
      this.audit.append("totp.disabled", { was: row.state });
    });
    return this.settings();
  }

  /**
   * Whether an action may go ahead: with TOTP on, a login, a sensitive action and a send above the
   * threshold (or of an amount not known here: null) need a code, accepted once. A send retried with
   * the same idempotency key and body may present the code its first attempt used (decision 0011).
   * An answer that lets the action through carries the settings it was decided on (the gateway
   * remembers them for a few seconds: workers/services/totp.ts).
   */
  async check(code: string | null, purpose: TotpPurpose, amount_msat: Msat | null = null, request: IdempotencyTag | null = null): Promise<{ ok: true; checked: boolean; settings: AccountSettings } | Refusal> {
    const row = this.row();
    const settings = settingsOf(row);
    const needed = row.state === "enabled" && (purpose !== "send" || sendNeedsTotpCode(settings, amount_msat));
    if (!needed) return { ok: true, checked: false, settings };
    if (code === null) return refuse("totp_required", requiredMessage(purpose, amount_msat, settings.totp_threshold_sat));
    const used = await this.consume(row, code, purpose === "send" ? request : null, "enabled");
    return used ?? { ok: true, checked: true, settings: this.settings() };
  }

  /** Changes the threshold; with TOTP on, only with a code. */
  async setThreshold(threshold_sat: number, code: string | null): Promise<AccountSettings | Refusal> {
    const allowed = await this.check(code, "sensitive");
    if (!allowed.ok) return allowed;
    this.kit.unitOfWork.run(() => {
      const from_sat = this.settings().totp_threshold_sat;
      this.kit.sqlWrite`UPDATE totp SET threshold_sat = ${threshold_sat}, updated_at = ${new Date().toISOString()}`;
      this.audit.append("totp.threshold_changed", { from_sat, to_sat: threshold_sat });
    });
    return this.settings();
  }

  /**
   * Accepts `code` once: its step must be within ±1 of now and after the last accepted step. The
   * step is recorded by a conditional write after the (asynchronous) decryption, so two requests
   * racing with one code cannot both pass. Null when accepted, else the refusal.
   */
  private async consume(row: TotpRow, code: string, request: IdempotencyTag | null, state: TotpState): Promise<Refusal | null> {
    const secret = await this.secretOf(row);
    const step = verifyTotp(secret, code.trim(), Date.now());
    secret.fill(0);
    if (step === null) return refuse("invalid_totp", "wrong TOTP code");
    const requestText = request ? JSON.stringify([request.key, request.fingerprint]) : null;
    const written = this.kit.sqlWrite`
      UPDATE totp SET last_step = ${step}, last_request = ${requestText}
      WHERE last_step < ${step} AND state = ${state}`;
    if (written) return null;
    const now = this.row();
    // The same send again (a retry after a lost answer): the wallet's idempotency answers it once.
    if (requestText !== null && now.state === state && now.last_step === step && now.last_request === requestText) return null;
    return refuse("invalid_totp", "this TOTP code was already used: wait for the next one");
  }

  private async secretOf(row: TotpRow): Promise<Uint8Array> {
    if (!row.secret_ciphertext || !row.secret_iv) throw new Error("TOTP secret missing");
    return open(await this.boxKey(), { ciphertext: new Uint8Array(row.secret_ciphertext), iv: new Uint8Array(row.secret_iv) }, this.context());
  }

  private boxKey(): Promise<CryptoKey> {
    this.key ??= secretBoxKey(this.config.encryptionKey()).catch((error: Error) => {
      this.key = null;
      throw new Error(`TOTP_ENCRYPTION_KEY: ${error.message}`);
    });
    return this.key;
  }

  /** What a sealed secret is bound to (AES-GCM's additional data). */
  private context(): string {
    return `totp:${this.config.accountId()}`;
  }

  private row(): TotpRow {
    return this.kit.sql<TotpRow>`SELECT state, secret_ciphertext, secret_iv, last_step, last_request, threshold_sat FROM totp`[0]!;
  }
}

const settingsOf = (row: TotpRow): AccountSettings => ({ totp: row.state, totp_threshold_sat: row.threshold_sat ?? DEFAULT_TOTP_THRESHOLD_SAT });

/** A copy of the bytes as an ArrayBuffer of exactly their length (what SQLite binds as a BLOB). */
const bytes = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

function requiredMessage(purpose: TotpPurpose, amount_msat: Msat | null, threshold_sat: number): string {
  if (purpose === "send" && amount_msat !== null) {
    return `this payment (${amount_msat / MSAT_PER_SAT} sat) is above your TOTP threshold (${threshold_sat} sat): send the code from your authenticator app in ${CODE_HEADER}`;
  }
  if (purpose === "send") return `TOTP is on and this payment's amount is not known before paying: send the code from your authenticator app in ${CODE_HEADER}`;
  if (purpose === "login") return "TOTP is on: give totp_code, the code from your authenticator app";
  return `TOTP is on: send the code from your authenticator app in ${CODE_HEADER}`;
}
